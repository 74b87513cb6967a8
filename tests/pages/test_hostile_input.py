"""Hostile input: whatever people paste or type into forms, filters and URLs, vpadmin
answers with a page or a clear message (never a 500), escapes it everywhere, and changes
nothing it should not."""

import csv
import io
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groups.models import AuditEntry, Device, Person, VoiceprintGroup
from groups.text import canonical_serial, invisible_character

EXAMPLES = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE groups_device; --",
    "1 OR 1=1",
    '=HYPERLINK("http://evil.example")',
    "+1+1",
    "-1-1",
    "@SUM(A1)",
    "\x00",
    "\u202e",
    "\ud7ff",
    "𝕏" * 30,
    "a" * 10_000,
]
hostile_text = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(max_size=600),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)


def assert_answered(response):
    assert response.status_code in (200, 302, 403, 404), response.status_code


@EXAMPLES
@given(name=hostile_text, desc=hostile_text)
def test_the_group_form(operator_client, device, coze_sim, name, desc):
    response = operator_client.post(
        "/groups/new/",
        {"name": name, "desc": desc, "device": device.pk, "submission": str(uuid.uuid4())},
    )
    assert_answered(response)
    if response.status_code == 302:
        group = VoiceprintGroup.objects.get(pk=response["Location"].split("/")[2])
        assert group.name == name.strip() and 1 <= len(group.name) <= 20


@EXAMPLES
@given(name=hostile_text, serial=hostile_text, location=hostile_text, notes=hostile_text)
def test_the_device_form(operator_client, name, serial, location, notes):
    response = operator_client.post(
        "/devices/new/", {"name": name, "serial": serial, "location": location, "notes": notes}
    )
    assert_answered(response)
    if response.status_code == 302:
        device = Device.objects.get(pk=response["Location"].split("/")[2])
        assert device.serial == canonical_serial(serial) and " " not in device.serial
        assert not any(map(invisible_character, (device.name, device.serial, device.location)))


@pytest.fixture
def group(device):
    return VoiceprintGroup.objects.create(coze_id="7000000000000000001", name="g", device=device)


@EXAMPLES
@given(name=hostile_text, desc=hostile_text, device_value=hostile_text)
def test_the_edit_form(operator_client, group, coze_sim, name, desc, device_value):
    coze_sim.groups.setdefault(
        group.coze_id,
        {"id": group.coze_id, "name": "g", "desc": "", "created_at": 0, "updated_at": 0},
    )
    response = operator_client.post(
        f"/groups/{group.pk}/edit/", {"name": name, "desc": desc, "device": device_value}
    )
    assert_answered(response)


FILTER_PAGES = [
    "/audit/",
    "/groups/",
    "/devices/",
    "/people/",
    "/audit/export.csv",
    "/team/",
    "/me/",
]
FILTERS = ["user", "action", "outcome", "device", "since", "until", "q", "page", "sort", "state"]


@pytest.mark.parametrize("path", FILTER_PAGES)
@settings(EXAMPLES, max_examples=100)
@given(params=st.dictionaries(st.sampled_from(FILTERS), hostile_text, max_size=6))
def test_every_filter(administrator_client, path, params, db):
    response = administrator_client.get(path, params)
    assert response.status_code == 200, params
    if response.streaming:
        b"".join(response.streaming_content)


@pytest.mark.parametrize("value", ["\x00", "²", "١", "9" * 19, "9" * 40, "-1", "1e3"])
def test_odd_ids_in_filters(administrator_client, value):
    for path in ["/audit/", "/groups/", "/audit/export.csv"]:
        assert administrator_client.get(path, {"device": value, "user": value}).status_code == 200


@EXAMPLES
@given(username=hostile_text, password=hostile_text)
def test_the_login_form(client, db, username, password):
    response = client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=f"10.0.{len(username) % 250}.{len(password) % 250}",
    )
    assert response.status_code in (200, 429)


@pytest.mark.parametrize(
    "path",
    [
        "/devices/{n}/",
        "/devices/{n}/edit/",
        "/devices/{n}/delete/",
        "/groups/{n}/",
        "/groups/{n}/edit/",
        "/groups/{n}/delete/",
    ],
)
@pytest.mark.parametrize("n", ["0", "999999", "9" * 19, "9" * 40, "-1", "1.5", "abc", "%00"])
def test_invalid_ids_in_urls_are_404(administrator_client, path, n):
    assert administrator_client.get(path.format(n=n)).status_code == 404


def test_payloads_are_escaped_everywhere(administrator_client, device, coze_sim):
    script = "<script>alert(1)</script>"
    device.name = script
    device.save()
    AuditEntry.objects.create(
        action="group.create",
        outcome="failure",
        device=device,
        sent_name=script,
        coze_msg=script,
        detail=script,
        actor_username=script,
        target_label=script,
    )
    VoiceprintGroup.objects.create(coze_id="1", name=script[:20], desc=script, device=device)
    for path in [
        "/",
        "/devices/",
        f"/devices/{device.pk}/",
        "/groups/",
        "/audit/",
        "/quota/",
        "/team/",
        "/me/",
        f"/groups/{VoiceprintGroup.objects.get().pk}/",
    ]:
        page = administrator_client.get(path).content.decode()
        assert "<script>alert" not in page and "<script" not in page.split("<main>")[1], path


def test_csv_cells_cannot_start_a_formula(administrator_client, db):
    for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "plain", "-"]:
        AuditEntry.objects.create(
            action="group.create", outcome="failure", sent_name=text, coze_msg=text
        )
    body = b"".join(administrator_client.get("/audit/export.csv").streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    names = sorted(row["sent_name"] for row in rows if row["sent_name"])
    assert names == sorted(["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\t=1", "'\r=1", "plain", "'-"])
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        for row in rows
        for cell in row.values()
    )


POSTS = [
    "/devices/new/",
    "/devices/{device}/edit/",
    "/devices/{device}/delete/",
    "/groups/new/",
    "/groups/{group}/edit/",
    "/groups/{group}/delete/",
    "/groups/sync/",
    "/people/new/",
    "/people/{person}/edit/",
    "/people/{person}/consent/",
    "/accounts/logout/",
    "/i18n/setlang/",
]


@pytest.mark.parametrize("path", POSTS)
def test_csrf_is_enforced_on_every_post(administrator, device, group, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    person = Person.objects.create(name="Wang Wei")
    path = path.format(device=device.pk, group=group.pk, person=person.pk)
    response = client.post(path, {"name": "x"})
    assert response.status_code == 403
    assert Device.objects.filter(pk=device.pk, name="Living room speaker").exists()
    assert list(Person.objects.values_list("name", flat=True)) == ["Wang Wei"]


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "http:evil.example", "/\\evil.example"]
)
def test_no_open_redirect_through_next(client, viewer, administrator_client, coze_sim, target):
    response = client.post(
        f"/accounts/login/?next={target}",
        {"username": "vera", "password": "pw-vera", "next": target},
    )
    assert response["Location"] == "/"
    response = administrator_client.post("/groups/sync/", {"next": target})
    assert response["Location"].startswith("/jobs/")  # the sync's job page, whatever `next`
    response = administrator_client.post("/i18n/setlang/", {"language": "en", "next": target})
    assert "evil.example" not in response.get("Location", "")


# Dates and numbers in filters: each is read as a value the database can take, or ignored.

dates = st.one_of(
    st.dates().map(str),
    st.sampled_from(["9999-12-31", "0001-01-01", "10000-01-01", "2026-02-30", "0000-00-00"]),
    hostile_text,
)


@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv", "/me/"])
@settings(EXAMPLES, max_examples=100)
@given(since=dates, until=dates)
def test_the_audit_date_filters(administrator_client, path, since, until, db):
    response = administrator_client.get(path, {"since": since, "until": until})
    assert response.status_code == 200, (since, until)
    if response.streaming:
        b"".join(response.streaming_content)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
@pytest.mark.parametrize(
    "dates", [{"until": "9999-12-31"}, {"until": "9999-12-30"}, {"since": "0001-01-01"}]
)
def test_the_first_and_last_days_a_date_can_name_are_filters_like_any(
    administrator_client, settings, zone, dates
):
    settings.TIME_ZONE = zone
    AuditEntry.objects.create(action="group.create", outcome="failure", sent_name="kept")
    page = administrator_client.get("/audit/", dates)
    assert page.status_code == 200 and "kept" in page.content.decode()
    export = administrator_client.get("/audit/export.csv", dates)
    assert b"kept" in b"".join(export.streaming_content)


ADMIN_LISTS = [
    "/admin/groups/auditentry/",
    "/admin/groups/device/",
    "/admin/groups/voiceprintgroup/",
    "/admin/groups/person/",
    "/admin/groups/consent/",
]
ADMIN_PARAMS = [
    "action",
    "action__exact",
    "outcome__exact",
    "created_at__year",
    "created_at__month",
    "created_at__day",
    "is_staff__exact",
    "is_superuser__exact",
    "is_active__exact",
    "groups__id__exact",
    "given_by__exact",
    "method__exact",
    "q",
    "o",
    "p",
]
numbers = st.one_of(
    st.integers().map(str),
    st.sampled_from(["99999999999", "9999", "10000", "0", "-1", "9" * 40, "1e3", "²"]),
)


@pytest.mark.parametrize("path", ADMIN_LISTS)
@settings(EXAMPLES, max_examples=100)
@given(params=st.dictionaries(st.sampled_from(ADMIN_PARAMS), hostile_text | numbers, max_size=4))
def test_the_admin_change_lists(admin_client, path, params):
    response = admin_client.get(path, params)
    # A filter the list cannot apply sends to the unfiltered list (Django's `?e=1`).
    assert response.status_code in (200, 302), params
    if response.status_code == 302:
        assert response["Location"] == f"{path}?e=1"
        assert admin_client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "action=%00",
        "action__exact=%00",
        "q=%00",
        "created_at__year=99999999999",
        "created_at__year=9999",
        "created_at__year=9999&created_at__month=12",
        "created_at__year=9999&created_at__month=12&created_at__day=31",
        "created_at__year=1",
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_admin_filters_the_database_cannot_take(admin_client, settings, zone, query):
    settings.TIME_ZONE = zone
    response = admin_client.get(f"/admin/groups/auditentry/?{query}")
    assert response.status_code in (200, 302), query
    if response.status_code == 302:
        assert admin_client.get(response["Location"]).status_code == 200


def test_every_admin_change_list_is_guarded():
    from django.contrib import admin

    from groups.admin import GuardedChangeList

    for model, model_admin in admin.site._registry.items():
        assert issubclass(model_admin.get_changelist(None), GuardedChangeList), model
