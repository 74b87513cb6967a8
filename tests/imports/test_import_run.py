"""An import's run, as a job: devices created or updated by serial and groups created one by
one through the pages' services (audited as the Operator, acting through the job), Coze's
rate limits waited out, any other failure ending one row only, the results kept as rows
and downloadable as CSV, and a run resumed after its worker died creating nothing twice."""

import csv
import io
import re
import subprocess
import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from groups import audit, coze
from groups.actors import Actor
from groups.models import AuditEntry, Device, DeviceImport, Job, VoiceprintGroup
from groups.services import create_group, jobs
from groups.services.imports import submission_id
from groups.services.jobs import HOST
from tests import factories
from tests.serving.test_workers import wait_for

from .helpers import devices_csv, dry_run, fleet

pytestmark = pytest.mark.django_db
CREATE = ("POST", "/v1/audio/voiceprint_groups")


def creations(sim):
    return [r for r in sim.requests if (r["method"], r["path"]) == CREATE]


def start(client, device_import):
    """Confirm the dry run; returns the import's job."""
    response = client.post(f"/imports/{device_import.pk}/run/")
    assert response.status_code == 302
    match = re.fullmatch(r"/jobs/([0-9a-f-]{36})/", response["Location"])
    assert match, response["Location"]
    return Job.objects.get(pk=match[1])


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def results_of(device_import):
    return {row.line: row for row in device_import.rows.all()}


@pytest.fixture(autouse=True)
def _quick_backoff(settings):
    settings.IMPORT_BACKOFF = 0.01


def test_a_confirmed_import_runs_as_a_job_through_the_pages_services(
    operator_client, operator, coze_sim, run_jobs
):
    factories.device("Old name", "KIOSK-0001")
    device_import = dry_run(operator_client, devices_csv(fleet(5)))

    job = start(operator_client, device_import)

    assert job.kind == "import" and job.state == "queued" and job.username == "olga"
    assert creations(coze_sim) == []  # the request only queued it
    run_jobs()
    job.refresh_from_db()
    assert job.state == "succeeded" and (job.done, job.total) == (5, 5)
    assert sorted(g["name"] for g in coze_sim.groups.values()) == [
        f"kiosk {i}" for i in range(1, 6)
    ]
    assert Device.objects.get(serial="KIOSK-0001").name == "Kiosk 1"
    rows = results_of(device_import)
    assert {row.outcome for row in rows.values()} == {"success"}
    assert rows[2].result_text.startswith("Device updated. Group “kiosk 1” created on Coze (")
    assert rows[3].group.device.serial == "KIOSK-0002" and rows[3].logid == rows[3].group.logid
    creations_audited = AuditEntry.objects.filter(action="group.create", outcome="success")
    assert creations_audited.count() == 5
    assert {(e.actor_id, e.via, e.request_id) for e in creations_audited} == {
        (operator.pk, "job", job.request_id)
    }
    assert AuditEntry.objects.filter(action="device.create", via="job").count() == 4
    assert AuditEntry.objects.filter(action="device.update", via="job").count() == 1
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert (
        "Import done: 4 devices created, 1 updated, 0 unchanged, 5 groups created, 0 rows failed."
        in page
    )
    assert '<progress value="5" max="5">' in page
    assert f'href="/imports/{device_import.pk}/results.csv"' in page


def test_a_second_click_starts_nothing_more(operator_client, coze_sim, run_jobs):
    device_import = dry_run(operator_client, devices_csv(fleet(2)))

    first, second = start(operator_client, device_import), start(operator_client, device_import)

    assert first == second and Job.objects.filter(kind="import").count() == 1
    run_jobs()
    assert len(coze_sim.groups) == 2
    page = operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    assert "This import has been started." in page and "Run the import" not in page


def test_rate_limits_are_waited_out_and_the_import_goes_on(operator_client, coze_sim, run_jobs):
    device_import = dry_run(operator_client, devices_csv(fleet(4)))
    coze_sim.add_fault("code", method="POST", code=4009, after=1, times=2)
    coze_sim.add_fault("code", method="POST", code=4020, times=1)
    coze_sim.add_fault("http", method="POST", status=429, times=1)

    job = start(operator_client, device_import)
    run_jobs()

    job.refresh_from_db()
    assert job.state == "succeeded"
    assert len(coze_sim.groups) == 4 and len(creations(coze_sim)) == 8
    rows = results_of(device_import)
    assert {row.outcome for row in rows.values()} == {"success"}
    assert [rows[line].tries for line in (2, 3, 4, 5)] == [1, 5, 1, 1]
    refused = AuditEntry.objects.filter(action="group.create", outcome="failure")
    assert sorted(str(e.coze_code) for e in refused) == ["4009", "4009", "4020", "5000"]
    assert VoiceprintGroup.objects.count() == 4


def test_a_row_that_keeps_being_rate_limited_is_given_up_and_the_rest_go_on(
    operator_client, coze_sim, run_jobs, settings
):
    device_import = dry_run(operator_client, devices_csv(fleet(2)))
    coze_sim.add_fault("code", method="POST", code=4009, times=11)

    start(operator_client, device_import)
    run_jobs()

    rows = results_of(device_import)
    assert rows[2].outcome == "failure" and rows[2].tries == 11
    assert "Coze asked to slow down" in rows[2].result_text
    assert rows[3].outcome == "success" and len(coze_sim.groups) == 1


def test_another_error_fails_that_row_and_the_rest_go_on(operator_client, coze_sim, run_jobs):
    device_import = dry_run(operator_client, devices_csv(fleet(3)))
    coze_sim.add_fault("code", method="POST", code=4000, msg="参数错误", after=1)

    job = start(operator_client, device_import)
    run_jobs()

    job.refresh_from_db()
    assert job.state == "succeeded"
    rows = results_of(device_import)
    assert [rows[line].outcome for line in (2, 3, 4)] == ["success", "failure", "success"]
    assert rows[3].result_text == "Device created. Coze refused: 参数错误"
    assert rows[3].tries == 1 and rows[3].logid  # Coze's logid of the refusal
    assert rows[3].device is not None and rows[3].group is None
    assert len(coze_sim.groups) == 2
    assert "1 row failed" in job.summary_text


def test_the_results_download_as_csv_safe_for_spreadsheets(
    operator_client, viewer_client, coze_sim, run_jobs
):
    rows = [["=CMD-1", "=HYPERLINK(1)", "", "", "+group", ""], ["OK-2", "Fine", "", "", "", ""]]
    device_import = dry_run(operator_client, devices_csv(rows))
    start(operator_client, device_import)
    run_jobs()

    response = viewer_client.get(f"/imports/{device_import.pk}/results.csv")

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert table[0][:5] == ["Row", "Serial", "Name", "Group name", "Outcome"]
    assert table[1][:5] == ["2", "'=CMD-1", "'=HYPERLINK(1)", "'+group", "success"]
    assert table[1][6] == VoiceprintGroup.objects.get().coze_id
    assert table[2][4:6] == ["success", "create"] and table[2][7] == "Device created."


def test_viewers_may_follow_an_import_but_not_run_one(
    operator_client, viewer_client, coze_sim, run_jobs
):
    device_import = dry_run(operator_client, devices_csv(fleet(1)))

    assert viewer_client.post(f"/imports/{device_import.pk}/run/").status_code == 403
    page = viewer_client.get(f"/imports/{device_import.pk}/")
    assert page.status_code == 200  # as its job's page: every role reads it
    text = page.content.decode()
    assert "Not run yet: an Operator can run this import." in text
    assert "Run the import" not in text and "Upload another file" not in text
    assert "Run the import" in operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    job = start(operator_client, device_import)
    run_jobs()
    assert viewer_client.get(f"/jobs/{job.pk}/").status_code == 200
    job_page = viewer_client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'href="/imports/{device_import.pk}/"' in job_page  # its dry run, readable too
    assert viewer_client.get(f"/imports/{device_import.pk}/").status_code == 200


def test_the_job_page_of_an_import_answers_in_constant_queries(operator_client, coze_sim, run_jobs):
    def queries(n):
        device_import = dry_run(operator_client, devices_csv(fleet(n, prefix=f"Q{n}")))
        job = start(operator_client, device_import)
        run_jobs()
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(f"/jobs/{job.pk}/").status_code == 200
        return len(captured)

    assert queries(10) == queries(30)


def test_every_row_of_a_run_costs_the_same_queries(operator_client, coze_sim, run_jobs):
    def queries(n):
        device_import = dry_run(operator_client, devices_csv(fleet(n, prefix=f"R{n}")))
        start(operator_client, device_import)
        with CaptureQueriesContext(connection) as captured:
            run_jobs()
        assert len(coze_sim.groups) == n
        coze_sim.reset()
        return len(captured)

    ten, twenty, thirty = queries(10), queries(20), queries(30)
    assert thirty - twenty == twenty - ten  # so many a row, whatever the import's size
    assert (thirty - twenty) / 10 <= 30


def test_a_resumed_run_finds_what_the_lost_run_did_and_creates_nothing_twice(
    operator_client, operator, coze_sim, run_jobs
):
    device_import = dry_run(operator_client, devices_csv(fleet(3)))
    job = start(operator_client, device_import)
    rows = results_of(device_import)
    actor = Actor.for_job(job.pk, operator, task="import")
    # The lost run created row 2's device and group, and died before noting the group.
    device = factories.device("Kiosk 1", "KIOSK-0001", location="Hall 1")
    rows[2].device, rows[2].device_done, rows[2].tries = device, "create", 1
    rows[2].save()
    made = create_group(
        actor, name="kiosk 1", desc="", device=device, submission=submission_id(job, 2, 1)
    )
    # ... and sent row 3's creation, whose answer it never heard (its row now `unknown`).
    device = factories.device("Kiosk 2", "KIOSK-0002", location="Hall 2")
    rows[3].device, rows[3].device_done, rows[3].tries = device, "create", 1
    rows[3].save()
    coze.get_client().create_group("kiosk 2", "")  # Coze made it; the answer was lost
    audit.record(
        actor,
        "group.create",
        "unknown",
        submission=submission_id(job, 3, 1),
        device=device,
        sent_name="kiosk 2",
        sent_desc="",
    )
    assert len(coze_sim.groups) == 2 and VoiceprintGroup.objects.count() == 1

    run_jobs()

    assert len(coze_sim.groups) == 3 and VoiceprintGroup.objects.count() == 3
    rows = results_of(device_import)
    assert rows[2].group == made and rows[2].group_done == "created"
    assert rows[3].group_done == "found" and rows[3].outcome == "success"
    assert rows[4].group_done == "created"
    assert Device.objects.count() == 3
    assert len(creations(coze_sim)) == 3  # row 3's creation was looked up, not sent again


def test_the_import_is_listed_with_the_jobs(operator_client, coze_sim, run_jobs):
    device_import = dry_run(operator_client, devices_csv(fleet(1)))
    start(operator_client, device_import)
    run_jobs()

    assert "Import of devices" in operator_client.get("/jobs/").content.decode()
    assert DeviceImport.objects.get().job.state == "succeeded"


def test_a_device_made_since_the_dry_run_is_updated_not_made_twice(
    operator_client, coze_sim, run_jobs
):
    device_import = dry_run(operator_client, devices_csv(fleet(1)))
    factories.device("Made meanwhile", "KIOSK-0001")  # by someone else, after the dry run

    start(operator_client, device_import)
    run_jobs()

    [row] = device_import.rows.all()
    assert (row.outcome, row.device_done) == ("success", "update")
    assert Device.objects.get().name == "Kiosk 1" and len(coze_sim.groups) == 1


# A worker killed in the middle of a row's creation (the states it can leave)


def killed_mid_creation(sim, job, rows, line, *, coze_got):
    """The state a worker killed during row `line`'s creation leaves: the row's device made
    and its first try's `pending` row committed; then Coze got nothing (`coze_got` None),
    or made the group and the answer was never recorded ("made"), or had received the
    request and makes the group a moment later ("late": returns the thread sending it). The
    job is still `running`, under a process that has ended, its task result claimed."""
    actor = Actor.for_job(job.pk, job.user, task="import")
    i = line - 1
    device = factories.device(f"Kiosk {i}", f"KIOSK-{i:04d}", location=f"Hall {i % 7}")
    rows[line].device, rows[line].device_done, rows[line].tries = device, "create", 1
    rows[line].save()
    audit.record(
        actor,
        "group.create",
        "pending",
        submission=submission_id(job, line, 1),
        device=device,
        sent_name=f"kiosk {i}",
        sent_desc="",
    )
    sent = None
    if coze_got == "made":
        coze.get_client().create_group(f"kiosk {i}", "")
    elif coze_got == "late":
        sim.add_fault("delay", method="POST", seconds=0.4)  # Coze makes it 0.4 s after
        sent = threading.Thread(target=coze.get_client().create_group, args=(f"kiosk {i}", ""))
        sent.start()
        wait_for(lambda: creations(sim), "Coze to receive the lost run's creation")
    ended = subprocess.Popen(["true"])
    ended.wait()
    DBTaskResult.objects.filter(id=job.task_result_id).update(status="RUNNING")
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        state="running", attempts=1, started_at=now, heartbeat_at=now, worker=f"{HOST}:{ended.pid}"
    )
    return sent


@pytest.mark.parametrize("coze_got", [None, "made", "late"])
def test_a_row_whose_worker_was_killed_mid_creation_gets_its_group_once(
    operator_client, coze_sim, run_jobs, settings, coze_got
):
    # How long Coze may still make what a stopped worker had sent (and the client waits).
    settings.COZE_TIMEOUT = 1.0
    device_import = dry_run(operator_client, devices_csv(fleet(3)))
    job = start(operator_client, device_import)
    rows = results_of(device_import)
    sent = killed_mid_creation(coze_sim, job, rows, 3, coze_got=coze_got)
    attempt = AuditEntry.objects.get(submission=submission_id(job, 3, 1))

    assert jobs.recover() == 1  # as the next worker does when it starts
    attempt.refresh_from_db()
    assert attempt.outcome == "unknown" and attempt.facts["say"] == "job_stopped"
    run_jobs()
    if sent is not None:
        sent.join()

    job.refresh_from_db()
    assert (job.state, job.attempts) == ("succeeded", 2)
    assert sorted(g["name"] for g in coze_sim.groups.values()) == ["kiosk 1", "kiosk 2", "kiosk 3"]
    rows = results_of(device_import)
    assert {row.outcome for row in rows.values()} == {"success"}
    assert VoiceprintGroup.objects.count() == 3 and rows[3].group.name == "kiosk 2"
    assert len(creations(coze_sim)) == 3  # row 3's creation was made once, whatever the case
    resolution = attempt.resolution_or_none(fresh=True)
    if coze_got:  # found on Coze's list (at once, or when Coze made it), and registered
        assert rows[3].group_done == "found" and resolution.outcome == "success"
        assert (resolution.target_id, rows[3].tries) == (str(rows[3].group.pk), 1)
    else:  # not on Coze, even after the margin: concluded so, then made by a second try
        assert rows[3].group_done == "created" and resolution.outcome == "failure"
        assert resolution.facts["say"] == "not_on_coze" and rows[3].tries == 2
    assert not AuditEntry.objects.filter(outcome="pending").exists()
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "3 groups created, 0 rows failed" in page


@pytest.mark.parametrize("change", ["deactivated", "made a viewer"])
def test_a_run_acts_only_while_its_starter_may_still_start_imports(
    operator_client, operator, viewer_client, coze_sim, run_jobs, change
):
    from django.contrib.auth.models import Group

    device_import = dry_run(operator_client, devices_csv(fleet(3)))
    job = start(operator_client, device_import)
    if change == "deactivated":
        operator.is_active = False
        operator.save()
    else:
        operator.groups.set([Group.objects.get(name="Viewer")])

    run_jobs()

    job.refresh_from_db()
    assert job.state == "failed" and creations(coze_sim) == []
    assert {row.outcome for row in results_of(device_import).values()} == {""}
    assert not Device.objects.filter(serial__startswith="KIOSK").exists()
    page = viewer_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "olga, who started this import, may no longer start imports" in page


def test_an_import_interrupted_after_its_last_run_is_resumed_by_an_operator(
    operator_client, make_user, viewer_client, coze_sim, run_jobs, settings
):
    settings.COZE_TIMEOUT = 1.0
    device_import = dry_run(operator_client, devices_csv(fleet(3)))
    job = start(operator_client, device_import)
    killed_mid_creation(coze_sim, job, results_of(device_import), 3, coze_got="made")
    Job.objects.filter(pk=job.pk).update(attempts=jobs.MAX_RUNS)  # its last run
    assert jobs.recover() == 1
    job.refresh_from_db()
    assert job.state == "interrupted"
    seen = viewer_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "This import stopped before every row was done: an Operator can resume it." in seen
    assert "Resume the import" not in seen
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Resume the import" in page and f'action="/imports/{device_import.pk}/run/"' in page
    assert (
        "Resume the import" in operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    )

    paula = make_user("paula", "Operator")
    assert start(signed_in(paula), device_import) == job  # the same job, queued again

    job.refresh_from_db()
    assert (job.state, job.username, job.finished_at) == ("queued", "paula", None)
    assert job.summary_text.startswith("Resumed by paula: it does the rows not done yet")
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("succeeded", jobs.MAX_RUNS + 1)
    rows = results_of(device_import)
    assert {row.outcome for row in rows.values()} == {"success"}
    assert rows[3].group_done == "found"  # the lost try was looked up, not sent again
    assert len(creations(coze_sim)) == 3 and VoiceprintGroup.objects.count() == 3
    made = AuditEntry.objects.filter(
        action="group.create", outcome="success", target_id=rows[4].group.pk
    )
    assert made.get().actor_username == "paula"


def test_an_import_whose_starter_may_no_longer_start_one_is_resumed_by_another_operator(
    operator_client, operator, make_user, coze_sim, run_jobs
):
    device_import = dry_run(operator_client, devices_csv(fleet(2)))
    job = start(operator_client, device_import)
    operator.is_active = False
    operator.save()
    run_jobs()
    job.refresh_from_db()
    assert job.state == "failed"

    paula = make_user("paula", "Operator")
    assert start(signed_in(paula), device_import) == job
    run_jobs()

    job.refresh_from_db()
    assert job.state == "succeeded" and len(creations(coze_sim)) == 2
    assert {row.outcome for row in results_of(device_import).values()} == {"success"}


def test_a_resumed_import_lost_again_is_resumed_by_itself_as_a_new_one_would_be(
    operator_client, coze_sim, run_jobs
):
    device_import = dry_run(operator_client, devices_csv(fleet(1)))
    job = start(operator_client, device_import)
    Job.objects.filter(pk=job.pk).update(state="interrupted", attempts=jobs.MAX_RUNS)
    start(operator_client, device_import)
    job.refresh_from_db()
    Job.objects.filter(pk=job.pk).update(state="running", attempts=jobs.MAX_RUNS + 1)
    job.refresh_from_db()

    assert jobs.lost(job, "silent")

    job.refresh_from_db()
    assert job.state == "queued"  # runs MAX_RUNS more before a lost run ends it
