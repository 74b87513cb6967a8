"""The FilterSets of the lists: each filter, filters together, and bad values left out."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from groups.filtersets import AuditEntryFilterSet, DeviceFilterSet, VoiceprintGroupFilterSet
from groups.models import AuditEntry, VoiceprintGroup

from .. import factories

# Values that are no id: a sign, an exponent, other scripts' digits, more than a bigint
# holds, a NUL, a decimal.
NOT_IDS = ["abc", "-1", "1e3", "²", "١", "9" * 19, "9" * 40, "\x00", "1.5", " 1", ""]


def found(filterset, query, queryset=None):
    return filterset(QueryDict(query), queryset)


# Devices


@pytest.fixture
def devices(db):
    return [
        factories.device("Living room speaker", "SPK-001", location="Home"),
        factories.device("Lobby kiosk", "KIOSK-7", location="Front desk"),
        factories.device("Car", "CAR-1"),
    ]


def device_names(query):
    return sorted(d.name for d in found(DeviceFilterSet, query).qs)


def test_devices_are_found_by_name_serial_or_location_in_any_case(devices):
    assert device_names("q=LOBBY") == ["Lobby kiosk"]
    assert device_names("q=spk-0") == ["Living room speaker"]
    assert device_names("q=desk") == ["Lobby kiosk"]
    assert device_names("q=o") == ["Living room speaker", "Lobby kiosk"]
    assert device_names("q=nothing-like-it") == []


def test_device_search_text_is_trimmed_and_nuls_are_dropped(devices):
    assert device_names("q=%20%20car%20") == ["Car"]
    assert device_names("q=ca%00r") == ["Car"]
    everything = ["Car", "Living room speaker", "Lobby kiosk"]
    assert device_names("q=%20") == device_names("") == everything
    assert found(DeviceFilterSet, "q=%00%20").applied == {}


# Voiceprint groups


@pytest.fixture
def groups(device):
    other = factories.device("Kiosk", "K-1")
    State = VoiceprintGroup.State
    for coze_id, name, on, state in [
        ("7001", "kitchen", device, State.ACTIVE),
        ("7002", "hall", other, State.ACTIVE),
        ("7003", "loose", None, State.ACTIVE),
        ("7004", "lost", device, State.GONE),
        ("7005", "old kitchen", device, State.DELETED),
        ("7006", "old loose", None, State.DELETED),
    ]:
        factories.group(on, name, coze_id, state=state)
    return other


def group_names(query):
    return sorted(g.name for g in found(VoiceprintGroupFilterSet, query).qs)


def test_groups_are_filtered_by_device_or_unassigned(device, groups):
    assert group_names(f"device={device.pk}") == ["kitchen", "lost"]
    assert group_names(f"device={groups.pk}") == ["hall"]
    assert group_names("device=none") == ["loose"]
    assert group_names("device=999999") == []


def test_groups_are_found_by_name_or_exact_coze_id(groups):
    assert group_names("q=KITCH") == ["kitchen"]
    assert group_names("q=7002") == ["hall"]
    assert group_names("q=700") == []  # a Coze id matches whole, not in part
    assert group_names("q=%20lo%00ose%20") == ["loose"]
    # Wildcards are letters like any other (PostgreSQL compares its stored upper-case name).
    assert group_names("q=%25") == group_names("q=_") == group_names("q=k_t") == []
    assert group_names("q=Itch") == ["kitchen"]


def test_a_renamed_group_is_found_by_its_new_name(groups):
    group = VoiceprintGroup.objects.get(name="hall")
    group.name = "Atrium"
    group.save()
    assert group_names("q=TRI") == ["Atrium"]
    assert group_names("q=hall") == []


def test_deleted_groups_are_listed_only_when_asked_for(groups):
    assert group_names("") == ["hall", "kitchen", "loose", "lost"]
    assert group_names("state=gone") == ["lost"]
    assert group_names("state=deleted") == ["old kitchen", "old loose"]
    assert len(group_names("state=all")) == 6


def test_group_filters_combine(device, groups):
    assert group_names(f"device={device.pk}&state=all&q=kitchen") == ["kitchen", "old kitchen"]
    assert group_names("device=none&state=deleted") == ["old loose"]
    assert group_names(f"device={groups.pk}&q=kitchen") == []


@pytest.mark.parametrize("value", NOT_IDS + ["None", "NONE", "null"])
def test_a_device_that_is_no_id_is_left_out_and_the_rest_apply(groups, value):
    query = QueryDict(mutable=True)
    query.update({"device": value, "q": "l"})
    filterset = VoiceprintGroupFilterSet(query)
    assert sorted(g.name for g in filterset.qs) == ["hall", "loose", "lost"]
    assert filterset.applied == {"q": "l"}


@pytest.mark.parametrize("value", ["bogus", "ACTIVE", "\x00", "deleted "])
def test_an_unknown_state_is_the_default_active_and_gone(groups, value):
    query = QueryDict(mutable=True)
    query["state"] = value
    assert sorted(g.name for g in VoiceprintGroupFilterSet(query).qs) == [
        "hall",
        "kitchen",
        "loose",
        "lost",
    ]


# The audit log


@pytest.fixture
def log(device, operator, administrator):
    kiosk = factories.device("Lobby kiosk", "KIOSK-7")
    now = timezone.now()
    rows = [
        # logid, days ago, actor, action, outcome, device, name, request id, target id
        ("LOG-A", 1, operator, "group.create", "failure", device, "客厅", "req1", ""),
        ("LOG-B", 3, operator, "group.create", "success", device, "书房", "req2", "41"),
        ("LOG-C", 3, administrator, "group.delete", "failure", kiosk, "卧室", "req3", "42"),
        ("LOG-D", 20, operator, "device.create", "success", kiosk, "", "req4", ""),
        ("LOG-E", 2, administrator, "group.create", "refused", None, "大厅", "req5", ""),
    ]
    for logid, days, actor, action, outcome, on, name, request_id, target_id in rows:
        factories.audit_row(
            action,
            outcome,
            coze_logid=logid,
            created_at=now - timedelta(days=days),
            actor=actor,
            actor_username=actor.username,
            device=on,
            sent_name=name,
            # A refused creation made nothing: it has the name sent, and no target.
            target_label=f"group {name}" if name and outcome != "refused" else "",
            request_id=request_id,
            target_id=target_id,
        )
    return kiosk


def logids(query):
    if isinstance(query, str):
        query = QueryDict(query)
    # Rows without a logid (the test client's own sign-ins) are not the log's rows here.
    return sorted(e.coze_logid for e in AuditEntryFilterSet(query).qs if e.coze_logid)


def day(days_ago):
    return (timezone.localdate() - timedelta(days=days_ago)).isoformat()


def test_the_log_is_filtered_by_username_exactly(log):
    assert logids("user=ada") == ["LOG-C", "LOG-E"]
    assert logids("user=%20olga%20") == ["LOG-A", "LOG-B", "LOG-D"]
    assert logids("user=ad") == []


def test_the_log_is_filtered_by_action_and_outcome(log):
    assert logids("action=group.create") == ["LOG-A", "LOG-B", "LOG-E"]
    assert logids("outcome=failure") == ["LOG-A", "LOG-C"]
    assert logids("action=device.create&outcome=success") == ["LOG-D"]


def test_the_log_is_filtered_by_device_id_or_by_device_name(device, log):
    assert logids(f"device={device.pk}") == ["LOG-A", "LOG-B"]
    assert logids(f"device={log.pk}") == ["LOG-C", "LOG-D"]
    assert logids("device_name=LOBBY") == ["LOG-C", "LOG-D"]  # by name
    assert logids("device_name=spk-0") == ["LOG-A", "LOG-B"]  # by serial
    assert logids("device_name=nothing-like-it") == []


def test_a_device_id_wins_over_a_device_name(device, log):
    assert logids(f"device={device.pk}&device_name=kiosk") == ["LOG-A", "LOG-B"]
    # A bad id is no id: the name is read instead.
    assert logids("device=abc&device_name=kiosk") == ["LOG-C", "LOG-D"]


def test_a_deleted_devices_rows_are_still_found_by_its_id(log):
    pk = log.pk
    log.delete()
    assert logids(f"device={pk}") == ["LOG-C", "LOG-D"]
    assert logids("device_name=kiosk") == []


def test_since_and_until_are_whole_days_both_included(log):
    assert logids(f"since={day(3)}") == ["LOG-A", "LOG-B", "LOG-C", "LOG-E"]
    assert logids(f"until={day(3)}") == ["LOG-B", "LOG-C", "LOG-D"]
    assert logids(f"since={day(3)}&until={day(3)}") == ["LOG-B", "LOG-C"]
    assert logids(f"since={day(2)}&until={day(3)}") == []


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_a_day_runs_from_local_midnight_to_local_midnight(settings, zone, db):
    settings.TIME_ZONE = zone
    first, last = datetime(2026, 3, 1), datetime(2026, 3, 1, 23, 59, 59, 999999)
    for moment, logid in [
        (first - timedelta(microseconds=1), "BEFORE"),
        (first, "FIRST"),
        (last, "LAST"),
        (last + timedelta(microseconds=1), "AFTER"),
    ]:
        factories.audit_row(
            "auth.login",
            coze_logid=logid,
            created_at=timezone.make_aware(moment),
        )
    assert logids("since=2026-03-01&until=2026-03-01") == ["FIRST", "LAST"]
    assert logids("since=2026-03-01") == ["AFTER", "FIRST", "LAST"]
    assert logids("until=2026-03-01") == ["BEFORE", "FIRST", "LAST"]


def test_the_free_text_finds_logids_request_ids_targets_and_names(log):
    assert logids("q=LOG-C") == ["LOG-C"]
    assert logids("q=LOG") == []  # a logid matches whole, not in part
    assert logids("q=req4") == ["LOG-D"]
    assert logids("q=41") == ["LOG-B"]  # the target's id, e.g. a Coze id
    assert logids("q=GROUP%20书") == ["LOG-B"]  # the target's label, in any case
    assert logids("q=大") == ["LOG-E"]  # the name sent to Coze
    assert logids("q=%20LOG-%00A%20") == ["LOG-A"]


def test_audit_filters_combine(device, log):
    query = f"device={device.pk}&action=group.create&since={day(7)}"
    assert logids(query) == ["LOG-A", "LOG-B"]
    assert logids(query + "&outcome=failure") == ["LOG-A"]
    assert logids(query + "&user=ada") == []
    assert logids(query + f"&until={day(2)}") == ["LOG-B"]
    assert logids(query + "&q=书房") == ["LOG-B"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *[("device", value) for value in NOT_IDS],
        ("action", "group"),
        ("action", "GROUP.CREATE"),
        ("action", "\x00"),
        ("outcome", "<b>"),
        ("outcome", "success "),
        ("since", "yesterday"),
        ("since", "2026-02-31"),
        ("since", "0000-00-00"),
        ("until", "10000-01-01"),
        ("until", "2026-13-01"),
        ("until", "\x00"),
        ("user", "\x00"),
        ("q", "\x00 "),
    ],
)
def test_a_bad_value_leaves_its_filter_out_and_the_rest_apply(log, name, value):
    other, expected = ("action", "group.delete"), ["LOG-C"]
    if name != "outcome":
        other, expected = ("outcome", "failure"), ["LOG-A", "LOG-C"]
    query = QueryDict(mutable=True)
    query.update({name: value, other[0]: other[1]})
    filterset = AuditEntryFilterSet(query)
    assert sorted(e.coze_logid for e in filterset.qs) == expected
    assert list(filterset.applied) == [other[0]]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_days_the_database_cannot_bound_leave_the_filter_out(settings, zone, log):
    """The day after 9999-12-31 cannot be named; 0001-01-01 starts before year 1 in UTC east
    of Greenwich. Either is no bound at all, never an error."""
    settings.TIME_ZONE = zone
    everything = logids("")
    assert logids("until=9999-12-31") == everything
    assert logids("since=0001-01-01") == everything
    assert logids("since=0001-01-02") == everything
    assert logids("until=0001-01-02") == []


def test_applied_names_the_filters_in_effect_with_their_values(device, log):
    query = QueryDict(f"user=%20ada&device={device.pk}&since={day(1)}&action=&q=x&page=3&sort=a")
    assert AuditEntryFilterSet(query).applied == {
        "user": "ada",
        "device": device.pk,
        "since": date.fromisoformat(day(1)),
        "q": "x",
    }


# The page and the export read the same filters.


@pytest.mark.parametrize(
    "query",
    [
        "",
        "user=olga",
        "action=group.create&outcome=failure",
        "device_name=kiosk",
        "since={since}&until={until}",
        "q=LOG-B",
        "device={kiosk}&q=卧",
        "device=abc&outcome=nope&since=yesterday",
    ],
)
def test_the_page_and_the_export_list_the_same_rows(administrator_client, log, query):
    query = query.format(since=day(5), until=day(2), kiosk=log.pk)
    page = administrator_client.get(f"/audit/?{query}")
    shown = sorted(e.coze_logid for e in page.context["page"] if e.coze_logid)
    export = administrator_client.get(f"/audit/export.csv?{query}")
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    exported = sorted(r["coze_logid"] for r in csv.DictReader(io.StringIO(body)) if r["coze_logid"])
    assert shown == exported == logids(query)


def test_a_filterset_reads_the_queryset_it_is_given(device, log):
    """The views pass their own queryset (with its joins or prefetches) to be filtered."""
    mine = AuditEntry.objects.filter(actor_username="olga")
    assert sorted(e.coze_logid for e in found(AuditEntryFilterSet, "outcome=success", mine).qs) == [
        "LOG-B",
        "LOG-D",
    ]
