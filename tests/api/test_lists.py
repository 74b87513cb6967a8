"""The API's lists: the pages' filters, limit/offset paging, and the same number of SQL
queries for 1 row as for many. Every list the API routes is counted here."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from groups.api.urls import router
from groups.models import AuditEntry, Consent, Device, Job, Person, Voiceprint, VoiceprintGroup

from .. import factories
from .conftest import api_for

LISTS = [
    "/api/devices/",
    "/api/devices/?q=device",
    "/api/groups/",
    "/api/groups/?device={device}",
    "/api/groups/?device=none&state=all",
    "/api/groups/?q=group",
    "/api/audit/",
    "/api/audit/?outcome=failure&action=group.create",
    "/api/audit/?device={device}&user=ada",
    "/api/audit/?limit=10&offset=1",
    "/api/jobs/",
    "/api/quota/",
    "/api/voiceprints/",
    "/api/voiceprints/?device={device}&state=all",
    "/api/voiceprints/?group={group}&person=none",
    "/api/voiceprints/?q=voice",
    "/api/people/",
    "/api/people/?q=person",
]


def test_every_list_the_api_routes_is_counted():
    """A new resource fails here until its list is in LISTS."""
    routed = {f"/api/{prefix}/" for prefix, _, _ in router.registry}
    assert routed <= {path.split("?")[0] for path in LISTS}


def add_rows(n, creator):
    devices = Device.objects.bulk_create(
        Device(name=f"device {i}", serial=f"S-{Device.objects.count()}-{i}") for i in range(n)
    )
    VoiceprintGroup.objects.bulk_create(
        VoiceprintGroup(coze_id=f"{len(devices)}{i}{n}", name=f"group {i}", device=d, creator=c)
        for i, (d, c) in enumerate((d, creator) for d in devices)
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            action="group.create",
            outcome=outcome,
            actor=creator,
            actor_username="ada",
            device=devices[0],
            facts={"say": "quota_full", "used": 1, "limit": 1},
        )
        for _ in range(n)
        for outcome in ("success", "failure")
    )
    Job.objects.bulk_create(Job(kind="sync", state="succeeded", username="ada") for _ in range(n))
    people = Person.objects.bulk_create(
        Person(name=f"person {i}", created_by=creator) for i in range(n)
    )
    today = datetime.date.today()
    Consent.objects.bulk_create(
        Consent(person=p, given_by="person", method="in_person", given_on=today, keep_until=today)
        for p in people
    )
    group = VoiceprintGroup.objects.filter(device=devices[0]).first()
    Voiceprint.objects.bulk_create(
        Voiceprint(coze_id=f"v{group.coze_id}-{i}", group=group, name=f"voice {i}", person=person)
        for i, person in enumerate([None, *people])
    )
    return devices[0]


def count(api, path):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path)
    assert response.status_code == 200, (path, response.json())
    return len(queries)


@pytest.mark.parametrize("path", LISTS)
def test_list_queries_do_not_grow_with_rows(administrator, path):
    api = api_for(administrator)
    device = add_rows(1, administrator)
    api.get("/api/quota/")  # the token's first use is written once
    group = device.voiceprint_groups.get()
    url = path.format(device=device.pk, group=group.pk)
    few = count(api, url)
    add_rows(40, administrator)
    VoiceprintGroup.objects.bulk_create(
        VoiceprintGroup(coze_id=f"9{i}", name=f"group x{i}", device=device) for i in range(20)
    )
    someone = Person.objects.last()
    Voiceprint.objects.bulk_create(
        Voiceprint(coze_id=f"x{i}", group=group, name=f"voice x{i}", person=person)
        for i, person in enumerate([None, someone] * 10)
    )
    assert count(api, url) == few


def test_lists_filter_as_the_pages_do(viewer, device):
    api = api_for(viewer)
    other = factories.device("Other", "O-1")
    factories.group(device, "alpha", "1")
    factories.group(other, "beta", "2")
    factories.group(None, "gamma", "3")
    factories.group(device, "old", "4", state="deleted")

    def names(query):
        return sorted(g["name"] for g in api.get(f"/api/groups/{query}").json()["results"])

    assert names("") == ["alpha", "beta", "gamma"]
    assert names(f"?device={device.pk}") == ["alpha"]
    assert names("?device=none") == ["gamma"]
    assert names("?q=ALP") == ["alpha"]
    assert names("?state=all") == ["alpha", "beta", "gamma", "old"]
    bad = api.get("/api/groups/?device=abc")
    assert bad.status_code == 400 and bad.json()["fields"]["device"]


def test_the_audit_log_filters_by_outcome_and_pages(viewer):
    api = api_for(viewer)
    for logid, outcome in [("A", "failure"), ("B", "success"), ("C", "failure")]:
        factories.audit_row(outcome=outcome, coze_logid=logid)
    failures = api.get("/api/audit/?outcome=failure").json()
    assert [row["coze_logid"] for row in failures["results"]] == ["C", "A"]
    assert failures["count"] == 2
    page = api.get("/api/audit/?limit=1&offset=1").json()
    assert [row["coze_logid"] for row in page["results"]] == ["B"] and page["next"]
    limited = api.get("/api/audit/?limit=100000").json()  # capped at 500, not refused
    assert limited["count"] == 4 and len(limited["results"]) == 4  # and the token issued


def test_an_audit_row_reads_in_the_readers_language(viewer):
    api = api_for(viewer)
    factories.audit_row(facts={"say": "quota_full", "used": 1, "limit": 1})
    english = api.get("/api/audit/").json()["results"][0]["explanation"]
    chinese = api.get("/api/audit/", accept_language="zh-Hans").json()["results"][0]
    assert "full" in english and chinese["explanation"] != english


def test_a_person_reads_in_the_same_queries_whatever_they_hold(viewer, device):
    api = api_for(viewer)
    api.get("/api/quota/")  # the token's first use is written once
    mum = factories.enrollee("Mum")
    group = factories.group(device)

    def hold(n):
        for _ in range(n):
            factories.consent_for(mum)
            factories.voiceprint(group, person=mum)

    hold(1)
    few = count(api, f"/api/people/{mum.pk}/")
    hold(10)
    assert count(api, f"/api/people/{mum.pk}/") == few
    assert len(api.get(f"/api/people/{mum.pk}/").json()["voiceprints"]) == 11


@pytest.mark.parametrize("path", ["/api/audit/?outcome=failure", "/api/people/?q=person"])
def test_long_lists_choose_a_pages_keys_from_the_nearer_end(viewer, path):
    """The audit log and the people page as their pages do (DeferredJoinPaging): every
    offset, near the start or the end, gives the rows the plain order gives, in one
    statement that picks the page's keys by a subquery."""
    api = api_for(viewer)
    for n in range(23):
        factories.audit_row(outcome="failure", coze_logid=f"L{n:02d}")
        factories.enrollee(f"person {n % 7}")  # names repeat: the order's key decides
    key, table = ("coze_logid", "auditentry") if "audit" in path else ("id", "person")
    whole = [row[key] for row in api.get(f"{path}&limit=500").json()["results"]]
    assert len(whole) == 23
    for offset in (0, 5, 16, 20, 22, 23, 30):
        with CaptureQueriesContext(connection) as captured:
            page = api.get(f"{path}&limit=5&offset={offset}").json()
        assert [row[key] for row in page["results"]] == whole[offset : offset + 5], offset
        assert page["count"] == 23
        picked = [
            q["sql"]
            for q in captured.captured_queries
            if "LIMIT" in q["sql"] and f'FROM "groups_{table}"' in q["sql"]
        ]
        if offset < 23:
            assert len(picked) == 1 and " IN (SELECT " in picked[0], picked
