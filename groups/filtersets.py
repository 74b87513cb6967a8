"""What each list can be filtered by, one FilterSet per list: its page, its export and the API."""

import re
from datetime import UTC, datetime, time, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Q, Value
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from .coze.accounts import DEFAULT
from .models import AuditEntry, Device, Person, Voiceprint, VoiceprintGroup

ID_PATTERN = re.compile(r"[0-9]{1,18}")  # what a bigint primary key can be
NONE = "none"  # `device=none`: groups that serve no device
ALL = "all"  # `state=all`: deleted groups (or voiceprints) too
# The audit actions of a group's or voiceprint's Coze calls: their rows name the account
# (those older than several accounts do not).
ACCOUNT_ACTIONS = [
    action for action in AuditEntry.Action if action.startswith(("group.", "voiceprint."))
]


class TextField(forms.CharField):
    """Free text as the database can take it: NUL characters are dropped, not refused."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace("\x00", "")
        return super().to_python(value)


class IdField(forms.IntegerField):
    """A primary key: 1 to 18 ASCII digits, nothing else (no sign, exponent or other digits)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not ID_PATTERN.fullmatch(str(value)):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(value)


class IdOrNoneField(IdField):
    """A primary key, or `none` for no object at all."""

    def to_python(self, value):
        return NONE if value == NONE else super().to_python(value)


class DayField(forms.DateField):
    """A day written YYYY-MM-DD (or another ISO 8601 form of a date)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            day = parse_date(str(value))
        except ValueError:  # well formed but no such day, as 2026-02-31
            day = None
        if day is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return day


class TextFilter(django_filters.CharFilter):
    field_class = TextField


class IdFilter(django_filters.Filter):
    field_class = IdField


class IdOrNoneFilter(django_filters.Filter):
    """An object by id, or `none` for rows without one."""

    field_class = IdOrNoneField

    def filter(self, qs, value):
        if value == NONE:
            return qs.filter(**{f"{self.field_name}__isnull": True})
        return super().filter(qs, value)


class DayFilter(django_filters.Filter):
    """A local day compared with a time: `gte` from its first moment; `lt` with
    `days_later=1` before the next day's, so that the day itself is included."""

    field_class = DayField

    def __init__(self, *args, days_later=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.days_later = days_later

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        # Past the last day a date can name there is no bound: the filter is left out.
        start = day_start(value, self.days_later)
        if start is None:
            return qs
        return qs.filter(**{f"{self.field_name}__{self.lookup_expr}": start})


def day_start(day, days_later=0):
    """The start (local midnight) of `day`, `days_later` days on, or None when that is no
    time the database can store."""
    try:
        start = timezone.make_aware(datetime.combine(day + timedelta(days=days_later), time.min))
        start.astimezone(UTC)  # stored in UTC: year 1 ahead of UTC has no such time
    except (ValueError, OverflowError):
        return None
    return start


class ListFilterSet(django_filters.FilterSet):
    """A bad value leaves its filter out (a form error, never shown) and the rest apply."""

    @property
    def applied(self):
        """The filters in effect, by name, with their values."""
        self.form.is_valid()  # fills cleaned_data with the valid values
        return {
            name: value
            for name, value in self.form.cleaned_data.items()
            if value not in EMPTY_VALUES
        }


class DeviceFilterSet(ListFilterSet):
    q = TextFilter(method="search")
    account = TextFilter(field_name="account__name")  # the Coze account's name

    class Meta:
        model = Device
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(serial__icontains=value) | Q(location__icontains=value)
        )


class PersonFilterSet(ListFilterSet):
    q = TextFilter(method="search")

    class Meta:
        model = Person
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(reference__icontains=value))


class VoiceprintGroupFilterSet(ListFilterSet):
    device = IdOrNoneFilter(field_name="device")
    account = TextFilter(field_name="account__name")
    state = django_filters.ChoiceFilter(
        choices=[*VoiceprintGroup.State.choices, (ALL, _("all"))], method="in_state"
    )
    q = TextFilter(method="search")

    class Meta:
        model = VoiceprintGroup
        fields = []

    def filter_queryset(self, queryset):
        # Deleted groups are history: listed when a state (or all of them) is asked for.
        if "state" not in self.applied:
            queryset = queryset.exclude(state=VoiceprintGroup.State.DELETED)
        return super().filter_queryset(queryset)

    def in_state(self, queryset, name, value):
        return queryset if value == ALL else queryset.filter(state=value)

    def search(self, queryset, name, value):
        # PostgreSQL compares the name upper-cased as stored (search_name), as icontains
        # would compare it, instead of upper-casing each name of the account: at 10,000
        # groups a search's count and page took 20 ms, now 12. SQLite's LIKE ignores case
        # by itself, at no cost; given the stored column it was slower (7.3 -> 8.6 ms).
        if connections[queryset.db].vendor == "postgresql":
            named = Q(search_name__contains=Upper(Value(value)))
        else:
            named = Q(name__icontains=value)
        return queryset.filter(named | Q(coze_id=value))


class VoiceprintFilterSet(ListFilterSet):
    """Voiceprints as the groups are filtered: by group, device (`none`: groups serving no
    device), person (`none`: imported, nobody said whose), state and name or Coze id;
    deleted ones are history, listed when a state (or all) is asked for."""

    group = IdFilter(field_name="group")
    device = IdOrNoneFilter(field_name="group__device")
    account = TextFilter(field_name="group__account__name")
    person = IdOrNoneFilter(field_name="person")
    state = django_filters.ChoiceFilter(
        choices=[*Voiceprint.State.choices, (ALL, _("all"))], method="in_state"
    )
    q = TextFilter(method="search")

    class Meta:
        model = Voiceprint
        fields = []

    def filter_queryset(self, queryset):
        if "state" not in self.applied:
            queryset = queryset.exclude(state=Voiceprint.State.DELETED)
        return super().filter_queryset(queryset)

    def in_state(self, queryset, name, value):
        return queryset if value == ALL else queryset.filter(state=value)

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(coze_id=value))


class AuditEntryFilterSet(ListFilterSet):
    user = TextFilter(method="by_actor")
    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices)
    outcome = django_filters.ChoiceFilter(choices=AuditEntry.Outcome.choices)
    device = IdFilter(field_name="device")
    account = TextFilter(method="of_account")  # rows of one Coze account's calls
    # A deleted device's rows keep its id; its name is looked up only among today's devices.
    device_name = TextFilter(method="device_named")
    since = DayFilter(field_name="created_at", lookup_expr="gte")
    until = DayFilter(field_name="created_at", lookup_expr="lt", days_later=1)
    q = TextFilter(method="search")

    class Meta:
        model = AuditEntry
        fields = []

    def of_account(self, queryset, name, value):
        """The rows of one account's calls. Those older than several accounts name none
        (and, final, are never rewritten): they were the default account's."""
        rows = Q(account__name=value)
        if value == DEFAULT:
            rows |= Q(account__isnull=True, action__in=ACCOUNT_ACTIONS)
        return queryset.filter(rows)

    def by_actor(self, queryset, name, value):
        """A username, or the command or job that acted with none (`manage.py prune_audit`):
        usernames hold no spaces, the names of programs do."""
        if " " in value:
            return queryset.filter(actor_username="", user_agent=value).exclude(
                via=AuditEntry.Via.WEB
            )
        return queryset.filter(actor_username=value)

    def device_named(self, queryset, name, value):
        if "device" in self.applied:  # an id names the device exactly: the name is not read
            return queryset
        named = Device.objects.filter(Q(name__icontains=value) | Q(serial__icontains=value))
        return queryset.filter(device_id__in=named.values("pk"))

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(coze_logid=value)
            | Q(request_id=value)
            | Q(target_id=value)
            | Q(target_label__icontains=value)
            | Q(sent_name__icontains=value)
        )
