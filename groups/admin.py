"""The Django admin: a superusers' tool. The register and the audit log are read-only here;
every change list refuses filters the database cannot take instead of failing."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import EmptyResultSet
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from .models import AuditEntry, Consent, Device, Person, Voiceprint, VoiceprintGroup

# People and roles are managed on /team/, where every change is checked and audited.
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


class GuardedChangeList(ChangeList):
    """A change list whose query-string filters (list filters, dates, any field lookup the
    admin allows, the search) are checked against what the database can take: a value it
    cannot (a year past 9999, a NUL character) sends to the unfiltered list with Django's
    `?e=1`, as any other filter the admin cannot apply, instead of an error page."""

    def get_queryset(self, request, exclude_parameters=None):
        try:
            queryset = super().get_queryset(request, exclude_parameters)
            # Compiled, not run: the values are converted for the database as they would be.
            sql, params = queryset.query.sql_with_params()
        except EmptyResultSet:  # e.g. an id past the column's range: no rows, a valid answer
            return queryset
        except (ValueError, OverflowError, TypeError) as error:
            raise IncorrectLookupParameters(error) from error
        if any("\x00" in value for value in _texts(params)):
            raise IncorrectLookupParameters("a NUL character, which the database refuses")
        return queryset


def _texts(params):
    for value in params:
        if isinstance(value, str):
            yield value
        elif isinstance(value, list | tuple):
            yield from _texts(value)


class GuardedLookups:
    """For every ModelAdmin (tests/test_hostile_input.py checks each has it)."""

    def get_changelist(self, request, **kwargs):
        return GuardedChangeList


class ReadOnlyAdmin(GuardedLookups, admin.ModelAdmin):
    """Shown, never changed here: these rows change only through vpadmin's own pages."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    """Devices are edited on vpadmin's pages, where every change is audited."""

    list_display = ["name", "serial", "location", "created_at"]
    search_fields = ["name", "serial", "location"]


@admin.register(VoiceprintGroup)
class VoiceprintGroupAdmin(ReadOnlyAdmin):
    """Groups change only through Coze, so only from vpadmin's pages."""

    list_display = ["name", "coze_id", "device", "creator", "created_at"]
    list_select_related = ["device", "creator"]
    search_fields = ["name", "coze_id"]


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    """People are recorded on vpadmin's pages, where every change is audited."""

    list_display = ["name", "reference", "created_at"]
    search_fields = ["name", "reference"]


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    """A consent is a record of proof: recorded on vpadmin's pages, never changed."""

    list_display = ["person", "given_by", "method", "given_on", "keep_until", "withdrawn_at"]
    list_select_related = ["person"]
    list_filter = ["given_by", "method"]
    search_fields = ["person__name", "person__reference", "guardian_name"]


@admin.register(Voiceprint)
class VoiceprintAdmin(ReadOnlyAdmin):
    """Voiceprints change only through Coze, so only from vpadmin's pages."""

    list_display = ["name", "group", "person", "state", "created_at"]
    list_select_related = ["group", "person"]
    list_filter = ["state"]
    search_fields = ["name", "coze_id", "person__name"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log is read-only everywhere."""

    list_display = [
        "created_at", "actor_username", "action", "outcome", "target_label", "coze_logid",
    ]  # fmt: skip
    list_filter = ["action", "outcome"]
    search_fields = ["coze_logid", "request_id", "target_label", "actor_username"]
    date_hierarchy = "created_at"
    show_full_result_count = False


# django-tasks-db's task results (each run of a job): its own read-only admin, with the
# same guarded filters. Imported first, so that its registration is there to replace.
admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(GuardedLookups, DBTaskResultAdmin):
    """The worker's record of each job run (the job itself is on /jobs/)."""
