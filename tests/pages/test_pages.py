"""Every page renders, in a constant number of SQL queries whatever the data size."""

import datetime
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone

from groups.models import (
    ApiToken,
    AuditEntry,
    Consent,
    Device,
    DeviceImport,
    ImportRow,
    Job,
    Person,
    Voiceprint,
    VoiceprintGroup,
)

from .. import factories


def add_rows(n, offset, creator):
    devices = Device.objects.bulk_create(
        Device(name=f"device {i}", serial=f"S-{i}") for i in range(offset, offset + n)
    )
    VoiceprintGroup.objects.bulk_create(
        VoiceprintGroup(coze_id=str(7_000_000 + i), name=f"group {i}", device=d, creator=creator)
        for i, d in zip(range(offset, offset + n), devices, strict=True)
    )
    VoiceprintGroup.objects.bulk_create(
        VoiceprintGroup(coze_id=str(8_000_000 + i), name=f"loose {i}")
        for i in range(offset, offset + n)
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            action=action,
            outcome=outcome,
            actor=creator,
            actor_username="ada",
            device=devices[i % n],
            target_type="voiceprintgroup",
            target_id=str(i),
            target_label=f"group {i}",
            coze_logid=f"LOG{i}",
        )
        for i in range(n * 3)
        for action, outcome in [("group.create", "success"), ("group.create", "failure")]
    )
    add_identification_tests(n)
    Job.objects.bulk_create(Job(kind="sync", state="succeeded", username="ada") for _ in range(n))
    ApiToken.objects.bulk_create(
        ApiToken(user=creator, name=f"token {i}", key_hash=f"{i:064d}", prefix=f"{i:08d}")
        for i in range(offset, offset + n)
    )
    add_voiceprints(n, offset, devices[0])
    add_people(n, offset, devices)
    add_import(n, offset, devices)
    return devices[0]


def add_import(n, offset, devices):
    """Rows of the one import (run, with a row of problems in two): it grows with n."""
    device_import = DeviceImport.objects.first()
    if device_import is None:
        job = Job.objects.create(kind="import", state="succeeded", username="ada", done=1, total=1)
        plan = {"devices": {"create": 1}, "groups": {"create": 1}, "errors": 1, "quota": {}}
        device_import = DeviceImport.objects.create(username="ada", job=job, plan=plan)
    groups = list(VoiceprintGroup.objects.filter(device__in=devices).order_by("pk")[:n])
    result = {"say": "import_row", "device": "create", "group": "created", "name": "g"}
    ImportRow.objects.bulk_create(
        ImportRow(
            device_import=device_import,
            line=offset + i + 2,
            serial=device.serial,
            name=device.name,
            group_name=group.name,
            device_plan="create",
            group_plan="create",
            problems=[{"say": "group_desc_without_name"}] if i % 2 else [],
            outcome="success",
            device_done="create",
            device=device,
            group=group,
            group_done="created",
            facts={**result, "coze_id": group.coze_id},
            logid=f"LOGIMP{offset + i}",
        )
        for i, (device, group) in enumerate(zip(devices, groups, strict=True))
    )


def add_identification_tests(n):
    """Identification tests on the first device ever added (its page lists the latest)."""
    first = Device.objects.order_by("pk").first()
    top = {"feature_id": "1", "name": "Mum", "person": "Mum", "person_id": 1, "score": 81.5}
    top["recognised"] = True
    AuditEntry.objects.bulk_create(
        AuditEntry(
            action="voiceprint.identify",
            outcome=outcome,
            actor_username="ada",
            device=first,
            target_type="voiceprintgroup",
            target_id=str(i),
            target_label=f"group {i}",
            coze_logid=f"LOGID{i}",
            facts={"clip_seconds": 5.2, "threshold": 40, **facts},
        )
        for i in range(n)
        for outcome, facts in (
            ("success", {"say": "identified", "top": top, "scores": [top], "count": 1}),
            ("failure", {"say": "coze_refused", "reason": "invalid parameter"}),
        )
    )


def add_voiceprints(n, offset, device):
    """People with consents, and their voiceprints in the first device's first group (up
    to Coze's ten) and in groups of their own."""
    today = datetime.date.today()
    people = Person.objects.bulk_create(
        Person(name=f"person {i}") for i in range(offset, offset + n)
    )
    consents = Consent.objects.bulk_create(
        Consent(
            person=person,
            given_by="person",
            method="in_person",
            purpose="recognition",
            given_on=today,
            keep_until=today + datetime.timedelta(days=30),
        )
        for person in people
    )
    shared = VoiceprintGroup.objects.filter(device=device).order_by("pk").first()
    room = 10 - shared.voiceprints.count()
    Voiceprint.objects.bulk_create(
        Voiceprint(
            coze_id=str(6_000_000 + i),
            group=shared if k < room else VoiceprintGroup.objects.filter(device=device).last(),
            name=f"voice {i}",
            person=person,
            consent=consent,
            duration=12.5,
            speech_seconds=11.0,
        )
        for k, (i, person, consent) in enumerate(
            zip(range(offset, offset + n), people, consents, strict=True)
        )
    )


def add_people(n, offset, devices):
    """People with consents (in force, withdrawn, expired) and voiceprints on the devices'
    groups; the first person ever added gets more of each, and audit rows, every time."""
    today = timezone.localdate()
    people = Person.objects.bulk_create(
        Person(name=f"someone {i}", reference=f"P-{i}") for i in range(offset, offset + n)
    )
    subject = Person.objects.order_by("pk").first()
    ended = {"withdrawn_at": timezone.now()}
    Consent.objects.bulk_create(
        Consent(
            person=person,
            given_by="person",
            method="signed_form",
            purpose="Recognising their voice.",
            given_on=today - datetime.timedelta(days=days),
            keep_until=today + datetime.timedelta(days=1095 - days),
            recorded_by_name="ada",
            **(ended if i % 3 == 1 else {}),
        )
        for i, person in enumerate([*people, subject, subject])
        for days in ([10] if i % 3 != 2 else [2000])
    )
    groups = VoiceprintGroup.objects.filter(device__in=devices)
    voiceprints = Voiceprint.objects.bulk_create(
        Voiceprint(
            coze_id=f"{9_000_000 + offset + i}{k}",
            group=group,
            name=f"vp {i}",
            person=p,
            **(deletion(i) if p == subject else {}),
        )
        for i, group in enumerate(groups)
        for k, p in enumerate([people[i % n], subject])
    )
    AuditEntry.objects.bulk_create(  # the subject's deletions (their page and report)
        AuditEntry(
            action="voiceprint.delete",
            outcome=outcome,
            target_type="voiceprint",
            target_id=str(voiceprint.pk),
            device_id=voiceprint.group.device_id,
            coze_logid=f"DEL{voiceprint.pk}",
        )
        for voiceprint in voiceprints
        if voiceprint.person_id == subject.pk
        for outcome in ("failure", "success")
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            action="consent.create",
            outcome="success",
            target_type="person",
            target_id=str(subject.pk),
            target_label=subject.name,
            facts={
                "say": "consent_recorded",
                "consent": 1,
                "given_by": "person",
                "method": "in_person",
                "given_on": "2026-01-01",
                "keep_until": "2028-12-31",
                "shorter": False,
            },
        )
        for _ in range(n)
    )


def deletion(i):
    """A requested deletion, in each of the states a person's page tells: waiting to be
    tried again, waiting for its maker, done."""
    now = timezone.now()
    requested = {"deletion_requested_at": now, "deletion_reason": "withdrawal"}
    states = [
        {"deletion_next_try_at": now, "deletion_attempts": 2, "deletion_error": "timeout"},
        {"deletion_error": "not_the_maker", "coze_creator_name": "Wang"},
        {"state": "deleted", "ended_at": now, "logid": f"LOGDEL{i}"},
    ]
    return {**requested, **states[i % 3]}


PAGES = [
    "/",
    "/devices/",
    "/devices/{device}/",
    "/devices/{device}/edit/",
    "/groups/",
    "/groups/?device={device}",
    "/groups/?device=none",
    "/groups/?q=group",
    "/groups/{group}/",
    "/groups/new/",
    "/audit/",
    "/audit/?outcome=failure&action=group.create",
    "/audit/?page=2",
    "/audit/?q=LOG1&user=ada",
    "/audit/?device={device}",
    "/audit/?device_name=device",
    "/me/",
    "/quota/",
    "/devices/?q=device",
    "/team/",
    "/team/new/",
    "/team/{person}/",
    "/devices/new/",
    "/devices/{device}/delete/",
    "/groups/{group}/edit/",
    "/groups/{group}/delete/",
    "/audit/export.csv",
    "/healthz",
    "/jobs/",
    "/jobs/{job}/",
    "/groups/{group}/voiceprints/new/",
    "/voiceprints/{voiceprint}/",
    "/voiceprints/{voiceprint}/edit/",
    "/voiceprints/{voiceprint}/delete/",
    "/people/",
    "/people/?q=person",
    "/people/?q=someone&sort=-consent",
    "/people/?sort=voiceprints&page=2",
    "/people/new/",
    "/people/{subject}/",
    "/people/{subject}/edit/",
    "/people/{subject}/consent/",
    "/people/{subject}/report.csv",
    "/people/{subject}/withdraw/",
    "/tokens/{token}/revoke/",
    "/identify/",
    "/identify/?device={device}",
    "/identify/?group={group}",
    "/identify/?q=group",
    "/devices/export.csv",
    "/devices/export.csv?q=device",
    "/imports/new/",
    "/imports/{device_import}/",
    "/imports/{device_import}/?rows=all",
    "/imports/{device_import}/results.csv",
    "/jobs/{import_job}/",
]
# Named URLs that answer only a POST (a button), so no page to count.
POST_ONLY = {
    "group_sync",
    "attempt_check",
    "team_password",
    "unlock_sign_in",
    "my_password",
    "my_token_new",
    "team_token_new",
    "import_run",
}


def test_every_page_is_in_the_query_count_checks():
    """A new URL pattern fails here until its page is added to PAGES (or to POST_ONLY)."""
    from groups import urls

    named = {pattern.name for pattern in urls.urlpatterns}
    counted = {
        resolve(
            page.split("?")[0].format(
                device=1,
                group=1,
                person=1,
                job=uuid.UUID(int=1),
                voiceprint=1,
                subject=1,
                token=1,
                device_import=1,
                import_job=uuid.UUID(int=1),
            )
        ).url_name
        for page in PAGES
    }
    assert named - POST_ONLY - counted == set()
    assert named >= POST_ONLY


def count_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
        if response.streaming:
            b"".join(response.streaming_content)  # a streamed export queries as it is read
    assert response.status_code == 200, path
    return len(queries)


@pytest.mark.parametrize("page", PAGES)
def test_page_queries_do_not_grow_with_rows(administrator_client, administrator, page):
    device = add_rows(3, 0, administrator)
    group = VoiceprintGroup.objects.filter(device=device).first()
    AuditEntry.objects.create(  # the group has a history from the start, as in real life
        action="group.create",
        outcome="success",
        device=device,
        target_type="voiceprintgroup",
        target_id=str(group.pk),
    )
    job = Job.objects.create(kind="sync", state="running", username="ada", done=1, total=2)
    voiceprint = Voiceprint.objects.filter(group=group, deletion_requested_at=None).first()
    path = page.format(
        device=device.pk,
        group=group.pk,
        person=administrator.pk,
        job=job.pk,
        voiceprint=voiceprint.pk,
        subject=Person.objects.order_by("pk").first().pk,  # the one add_people() grows
        token=ApiToken.objects.order_by("pk").first().pk,
        device_import=DeviceImport.objects.get().pk,  # the one add_import() grows
        import_job=DeviceImport.objects.get().job_id,
    )
    small = count_queries(administrator_client, path)
    add_rows(60, 100, administrator)
    VoiceprintGroup.objects.bulk_create(
        VoiceprintGroup(coze_id=str(9_000_000 + i), name=f"group x{i}", device=device)
        for i in range(30)
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            action="group.create",
            outcome="success",
            device=device,
            target_type="voiceprintgroup",
            target_id=str(group.pk),
        )
        for _ in range(30)
    )
    assert count_queries(administrator_client, path) == small


def test_the_simulator_banner_is_on_every_page(viewer_client, settings, db):
    settings.COZE_SIMULATED = True
    for path in ["/", "/devices/", "/groups/", "/audit/", "/quota/"]:
        assert "Simulator mode" in viewer_client.get(path).content.decode()
    settings.COZE_SIMULATED = False
    assert "Simulator mode" not in viewer_client.get("/").content.decode()


def test_the_login_page_shows_the_banner_too(client, settings, db):
    settings.COZE_SIMULATED = True
    assert "Simulator mode" in client.get("/accounts/login/").content.decode()


def test_dashboard_shows_quota_counts_and_failures(viewer_client, settings, device):
    settings.COZE_GROUP_QUOTA = 5
    for n in range(4):
        VoiceprintGroup.objects.create(coze_id=str(n), name=f"g{n}", device=device if n else None)
    AuditEntry.objects.create(
        action="group.create",
        outcome="failure",
        coze_logid="LOGFAIL",
        coze_code=4101,
        coze_msg="no permission",
    )
    page = viewer_client.get("/").content.decode()
    assert "<strong>4</strong> / 5" in page and "80%" in page and "Above 80%" in page
    assert "LOGFAIL" in page and "no permission" in page


def test_a_full_quota_says_so(viewer_client, settings, device):
    settings.COZE_GROUP_QUOTA = 1
    VoiceprintGroup.objects.create(coze_id="1", name="g", device=device)
    assert "Full: no group can be created" in viewer_client.get("/quota/").content.decode()


def test_group_list_filters_by_device_and_name(viewer_client, device):
    other = Device.objects.create(name="Other", serial="O-1")
    VoiceprintGroup.objects.create(coze_id="1", name="alpha", device=device)
    VoiceprintGroup.objects.create(coze_id="2", name="beta", device=other)
    VoiceprintGroup.objects.create(coze_id="3", name="gamma")

    def names(query):
        page = viewer_client.get(f"/groups/{query}").context["page"]
        return sorted(g.name for g in page)

    assert names("") == ["alpha", "beta", "gamma"]
    assert names(f"?device={device.pk}") == ["alpha"]
    assert names("?device=none") == ["gamma"]
    assert names("?q=ALP") == ["alpha"]
    assert names("?q=2") == ["beta"]  # exact Coze id
    assert names(f"?device={other.pk}&q=alpha") == []


def test_audit_list_filters_by_outcome_and_action(viewer_client, db):
    AuditEntry.objects.create(action="group.create", outcome="failure", coze_logid="A")
    AuditEntry.objects.create(action="group.create", outcome="success", coze_logid="B")
    AuditEntry.objects.create(action="device.create", outcome="success", coze_logid="C")

    def logids(query):
        return [e.coze_logid for e in viewer_client.get(f"/audit/{query}").context["page"]]

    assert logids("?outcome=failure") == ["A"]
    assert logids("?action=group.create") == ["B", "A"]
    assert logids("?action=device.create&outcome=success") == ["C"]
    assert logids("?q=B") == ["B"]
    assert logids("?outcome=bogus&action=bogus")[:3] == ["C", "B", "A"]  # ignored


def test_audit_pages_keep_the_filters(viewer_client, db):
    AuditEntry.objects.bulk_create(
        AuditEntry(action="group.create", outcome="failure") for _ in range(60)
    )
    page = viewer_client.get("/audit/?outcome=failure").content.decode()
    assert "?outcome=failure&amp;page=2" in page


def test_healthz_needs_no_login(client, db):
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok\n")


def test_healthz_answers_a_load_balancers_head_request(client, db):
    response = client.head("/healthz")
    assert (response.status_code, response.content) == (200, b"")
    assert client.post("/healthz").status_code == 405


def test_quota_page_charts_creations_per_day(viewer_client, device):
    VoiceprintGroup.objects.create(coze_id="1", name="g", device=device)
    page = viewer_client.get("/quota/")
    chart = page.context["chart"]
    assert chart["total"] == 1 and chart["bars"][-1]["total"] == 1
    assert len(chart["bars"]) == 90 and "<svg" in page.content.decode()


def test_a_devices_page_and_the_group_list_show_groups_in_the_same_table(viewer_client, device):
    factories.group(device, "kitchen", "7001")
    factories.group(device, "old", "7002", state="deleted")

    def cells(path):
        response = viewer_client.get(path)
        assert "includes/group_table.html" in [t.name for t in response.templates]
        tables = re.findall(r"<table>.*?</table>", response.content.decode(), re.DOTALL)
        (table,) = [table for table in tables if "<th>Coze id</th>" in table]
        rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.DOTALL)
        return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL) for row in rows]

    listed = cells("/groups/?state=all")
    on_device = cells(f"/devices/{device.pk}/")
    # The same columns, less the device on the device's own page.
    assert [row[:2] + row[3:] for row in listed] == on_device
    assert [row[2] for row in listed] == [f'<a href="/devices/{device.pk}/">{device.name}</a>'] * 2
    assert "kitchen" in on_device[1][0] and "7001" in on_device[1][2]
