"""Sortable tables that keep their filters, and the small SVG charts."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from groups.charts import DayNumber
from groups.models import AuditEntry, CozeAccount, Device, VoiceprintGroup


def names(response):
    return [row.name for row in response.context["page"]]


def test_devices_sort_by_each_main_column(viewer_client, db):
    a = Device.objects.create(name="A speaker", serial="Z-9", location="hall")
    Device.objects.create(name="B kiosk", serial="A-1", location="attic")
    VoiceprintGroup.objects.create(coze_id="1", name="g", device=a)
    VoiceprintGroup.objects.create(coze_id="2", name="h", device=a)
    assert names(viewer_client.get("/devices/")) == ["A speaker", "B kiosk"]
    assert names(viewer_client.get("/devices/?sort=-name")) == ["B kiosk", "A speaker"]
    assert names(viewer_client.get("/devices/?sort=serial")) == ["B kiosk", "A speaker"]
    assert names(viewer_client.get("/devices/?sort=location")) == ["B kiosk", "A speaker"]
    assert names(viewer_client.get("/devices/?sort=-groups")) == ["A speaker", "B kiosk"]
    assert names(viewer_client.get("/devices/?sort=bogus")) == ["A speaker", "B kiosk"]


def test_sort_links_keep_the_filters_and_toggle(viewer_client, device):
    VoiceprintGroup.objects.create(coze_id="1", name="kitchen")
    page = viewer_client.get("/groups/?q=kit&device=none&sort=name&page=2").content.decode()
    assert (
        '<th aria-sort="ascending"><a class="sort ascending" '
        'href="?q=kit&amp;device=none&amp;sort=-name">'
    ) in page
    assert '<th><a class="sort " href="?q=kit&amp;device=none&amp;sort=created">' in page
    page = viewer_client.get("/groups/?sort=-name").content.decode()
    assert '<th aria-sort="descending"><a class="sort descending" href="?sort=name">' in page


def test_groups_sort_by_device_name(viewer_client, db):
    zoo = Device.objects.create(name="Zoo", serial="Z")
    ant = Device.objects.create(name="Ant", serial="A")
    VoiceprintGroup.objects.create(coze_id="1", name="at the zoo", device=zoo)
    VoiceprintGroup.objects.create(coze_id="2", name="with the ants", device=ant)
    assert names(viewer_client.get("/groups/?sort=device")) == ["with the ants", "at the zoo"]
    assert names(viewer_client.get("/groups/?sort=-device")) == ["at the zoo", "with the ants"]


def test_the_dashboard_charts_coze_outcomes_per_day(viewer_client, db):
    for outcome, n in [("success", 3), ("failure", 2), ("unknown", 1), ("refused", 4)]:
        for _ in range(n):
            AuditEntry.objects.create(action="group.create", outcome=outcome)
    AuditEntry.objects.create(action="auth.login", outcome="success")  # not a Coze call
    response = viewer_client.get("/")
    chart = response.context["outcomes"]
    # Refusals (the form, the quota) were stopped before any call: no Coze operation.
    assert {item["name"]: item["n"] for item in chart["legend"]} == {
        "success": 3,
        "failure": 2,
        "unknown": 1,
    }
    today = chart["bars"][-1]
    assert today["total"] == 6 and chart["peak"] == 6
    assert [part["name"] for part in today["parts"]] == ["success", "failure", "unknown"]
    assert abs(sum(part["h"] for part in today["parts"]) - chart["height"]) < 0.5
    assert 'class="bar failure"' in response.content.decode()


def test_the_gauge_marks_cozes_own_count(viewer_client, settings, device):
    settings.COZE_GROUP_QUOTA = 10
    VoiceprintGroup.objects.create(coze_id="1", name="g", device=device)
    CozeAccount.objects.update_or_create(pk=1, defaults={"remote_total": 4})
    page = viewer_client.get("/quota/")
    assert page.context["quota"].remote_percent == 40
    assert '<line class="remote" x1="40' in page.content.decode()


def test_the_quota_page_lists_the_devices_holding_the_most(
    viewer_client, django_assert_num_queries, db
):
    """Counted over the active groups: deleted ones hold no quota; a device without active
    groups is not listed; ties go by name. The queries do not grow with the devices."""
    bravo, alpha, charlie, empty = (
        Device.objects.create(name=name, serial=name.upper())
        for name in ("bravo", "alpha", "charlie", "empty")
    )
    for n, (device, state) in enumerate(
        [(bravo, "active"), (bravo, "active"), (alpha, "active"), (alpha, "active")]
        + [(alpha, "deleted"), (alpha, "deleted"), (charlie, "active"), (empty, "deleted")]
    ):
        VoiceprintGroup.objects.create(coze_id=str(n), name=f"g{n}", device=device, state=state)
    page = viewer_client.get("/quota/")
    assert [(d.name, d.group_count) for d in page.context["per_device"]] == [
        ("alpha", 2),
        ("bravo", 2),
        ("charlie", 1),
    ]
    for n in range(60):
        device = Device.objects.create(name=f"more {n}", serial=f"MORE-{n}")
        VoiceprintGroup.objects.create(coze_id=f"m{n}", name=f"m{n}", device=device)
    with CaptureQueriesContext(connection) as before:
        viewer_client.get("/quota/")
    for n in range(60, 120):
        device = Device.objects.create(name=f"more {n}", serial=f"MORE-{n}")
        VoiceprintGroup.objects.create(coze_id=f"m{n}", name=f"m{n}", device=device)
    with django_assert_num_queries(len(before)):
        page = viewer_client.get("/quota/")
    listed = [(d.name, d.group_count) for d in page.context["per_device"]]
    assert len(listed) == 50
    assert listed[:6] == [
        ("alpha", 2),
        ("bravo", 2),
        ("charlie", 1),
        ("more 0", 1),
        ("more 1", 1),
        ("more 10", 1),
    ]


def test_when_more_than_fifty_devices_hold_several_the_most_come_first(viewer_client, db):
    for n in range(55):
        device = Device.objects.create(name=f"d{n:02}", serial=f"D{n}")
        for k in range(2 + (n == 40) + 2 * (n == 3)):
            VoiceprintGroup.objects.create(coze_id=f"{n}-{k}", name=f"g{n}-{k}", device=device)
    single = Device.objects.create(name="a single", serial="SINGLE")
    VoiceprintGroup.objects.create(coze_id="single", name="single", device=single)
    listed = [(d.name, d.group_count) for d in viewer_client.get("/quota/").context["per_device"]]
    assert listed[:3] == [("d03", 4), ("d40", 3), ("d00", 2)]
    assert len(listed) == 50 and listed[-1] == ("d49", 2)  # d03 and d40 came first


def test_days_are_local_days_even_when_the_clocks_change(settings, db):
    """Berlin's clocks went forward on 29 March 2026: that day had 23 hours."""
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    first = date(2026, 3, 27)
    expected = {}
    for number in range(5):
        day = first + timedelta(days=number)
        edges = [
            datetime.combine(day, datetime.min.time()),
            datetime(day.year, day.month, day.day, 23, 59, 59),
        ]
        for moment in edges[: 1 + number % 2]:  # 1, 2, 1, 2, 1 rows
            AuditEntry.objects.create(
                action="group.sync", outcome="success", created_at=moment.replace(tzinfo=berlin)
            )
        expected[number] = 1 + number % 2
    # Outside the five days: the evening before, and the first second after.
    AuditEntry.objects.create(
        action="group.sync",
        outcome="success",
        created_at=datetime(2026, 3, 26, 23, 59, 59, tzinfo=berlin),
    )
    AuditEntry.objects.create(
        action="group.sync",
        outcome="success",
        created_at=datetime(2026, 4, 1, 0, 0, 0, tzinfo=berlin),
    )
    rows = (
        AuditEntry.objects.filter(created_at__gte=datetime(2026, 3, 27, tzinfo=berlin))
        .annotate(day=DayNumber("created_at", first, 5))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    assert dict(rows) == {**expected, None: 1}


def test_the_gauge_counts_a_creation_without_an_answer_as_used(viewer_client, settings, device):
    settings.COZE_GROUP_QUOTA = 10
    VoiceprintGroup.objects.create(coze_id="1", name="g", device=device)
    AuditEntry.objects.create(action="group.create", outcome="unknown", device=device)

    page = viewer_client.get("/")

    usage = page.context["quota"]
    assert (usage.held, usage.pending, usage.used, usage.free) == (1, 1, 2, 8)
    assert "Of these, 1 is a creation whose answer from Coze is not known yet" in (
        page.content.decode()
    )


def test_the_dashboard_keeps_the_counts_of_days_long_over_and_reads_today_only(viewer_client, db):
    from datetime import UTC

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    three_days_ago = timezone.now() - timedelta(days=3)
    AuditEntry.objects.create(action="group.sync", outcome="success", created_at=three_days_ago)
    AuditEntry.objects.create(action="group.create", outcome="failure")
    first = viewer_client.get("/").context["outcomes"]
    assert first["total"] == 2

    with CaptureQueriesContext(connection) as queries:
        again = viewer_client.get("/").context["outcomes"]
    assert again["bars"] == first["bars"] and again["legend"] == first["legend"]
    [chart] = [q["sql"] for q in queries.captured_queries if "CASE WHEN" in q["sql"]]
    # Read from today's midnight (or yesterday's, just after midnight), not 30 days back.
    first_day = timezone.localdate() - timedelta(days=29)
    month_ago = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    for text in (month_ago.astimezone(UTC).isoformat(sep=sep)[:19] for sep in " T"):
        assert text not in chart
    assert first["bars"][-4]["total"] == 1  # three days ago, before and after keeping it
    # A day long over is counted as it was (its rows never change); today's as they come.
    AuditEntry.objects.create(action="group.update", outcome="success")
    assert viewer_client.get("/").context["outcomes"]["total"] == 3
