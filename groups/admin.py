from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from .models import AuditEntry, Device, VoiceprintGroup

# People and roles are managed on /team/, where every change is checked and audited.
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


class ReadOnlyAdmin(admin.ModelAdmin):
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
