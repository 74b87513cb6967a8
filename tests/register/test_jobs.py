"""Background jobs: "Sync with Coze" queues a job and leaves the request at once; a worker
runs it (here in the test's process, `run_jobs`); the job register shows who started it,
its state, progress and results. A job whose worker stopped is resumed or concluded, and
the audit rows it left pending are concluded."""

import re
import subprocess
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from groups import coze
from groups.actors import Actor
from groups.models import AuditEntry, Job, VoiceprintGroup
from groups.services import jobs, messages
from groups.services.attempts import expire_pending
from groups.services.sync import SyncFailed
from groups.tasks import run_job

LIST_CALL = ("GET", "/v1/audio/voiceprint_groups")


def list_calls(sim):
    return [r for r in sim.requests if (r["method"], r["path"]) == LIST_CALL]


def press_sync(client):
    """Press "Sync with Coze"; returns the response (a redirect to the job's page)."""
    return client.post("/groups/sync/", {"next": "/groups/"})


def job_of(response):
    assert response.status_code == 302
    match = re.fullmatch(r"/jobs/([0-9a-f-]{36})/", response["Location"])
    assert match, response["Location"]
    return Job.objects.get(pk=match[1])


def running_job(*, worker="elsewhere:1", heartbeat_age=timedelta(0), attempts=1, **fields):
    """A sync job a worker is running (or was, until it stopped), with its task result."""
    job = Job.objects.create(kind="sync", **fields)
    jobs._enqueue(job)
    DBTaskResult.objects.filter(id=job.task_result_id).update(status="RUNNING")
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        state="running",
        attempts=attempts,
        started_at=now,
        heartbeat_at=now - heartbeat_age,
        worker=worker,
    )
    job.refresh_from_db()
    return job


def pending_sync_row(job):
    """The audit row a sync leaves pending while its list call is under way."""
    return AuditEntry.objects.create(
        action="group.sync",
        outcome="pending",
        request_id=job.request_id,
        via="job",
        created_at=timezone.now() - timedelta(seconds=5),
    )


# Starting a sync


def test_the_sync_button_queues_a_job_and_calls_nothing(
    administrator_client, administrator, coze_sim
):
    coze_sim.seed_groups(3)

    response = press_sync(administrator_client)

    job = job_of(response)
    assert coze_sim.requests == []  # the request left Coze to the worker
    assert (job.kind, job.state, job.user, job.username, job.via) == (
        "sync",
        "queued",
        administrator,
        "ada",
        "web",
    )
    assert DBTaskResult.objects.get(id=job.task_result_id).status == "READY"
    page = administrator_client.get(response["Location"]).content.decode()
    assert "Sync with Coze started: this page shows how it goes." in page
    assert "queued" in page


def test_the_worker_runs_the_sync_and_its_page_shows_the_outcome(
    administrator_client, administrator, coze_sim, run_jobs
):
    coze_sim.seed_groups(450)
    job = job_of(press_sync(administrator_client))

    assert run_jobs() == 1

    job.refresh_from_db()
    assert (job.state, job.attempts, job.done, job.total) == ("succeeded", 1, 3, 3)
    assert VoiceprintGroup.objects.filter(device=None).count() == 450
    assert [row["facts"]["groups"] for row in job.results] == [200, 200, 50]
    assert [row["logid"] for row in job.results] == [r["logid"] for r in list_calls(coze_sim)]
    page = administrator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Synced with Coze: 450 imported" in page
    assert "Page 3 of Coze&#x27;s list: 50 groups." in page
    assert f'href="/audit/?q={job.request_id}"' in page
    found = administrator_client.get(f"/audit/?q={job.request_id}").context["page"]
    assert [entry.action for entry in found] == ["group.sync"]
    assert 'href="/groups/?device=none"' in page  # assign what it imported
    # Every Coze call the job made is audited with the job as the request id, for its starter.
    row = AuditEntry.objects.get(action="group.sync")
    assert (row.outcome, row.request_id, row.via, row.actor, row.actor_username) == (
        "success",
        job.request_id,
        "job",
        administrator,
        "ada",
    )
    assert DBTaskResult.objects.get(id=job.task_result_id).status == "SUCCESSFUL"


def test_a_job_whose_starter_has_gone_still_names_them(
    administrator_client, administrator, coze_sim, run_jobs
):
    job = job_of(press_sync(administrator_client))
    administrator.delete()

    run_jobs()

    job.refresh_from_db()
    row = AuditEntry.objects.get(action="group.sync")
    assert (job.state, job.user, job.started_by) == ("succeeded", None, "ada")
    assert (row.actor, row.actor_username, row.request_id) == (None, "ada", job.request_id)


def test_a_second_click_shows_the_sync_under_way(administrator_client, coze_sim, run_jobs):
    first = job_of(press_sync(administrator_client))

    again = press_sync(administrator_client)

    assert job_of(again) == first
    assert Job.objects.count() == 1 and DBTaskResult.objects.count() == 1
    page = administrator_client.get(again["Location"]).content.decode()
    assert "A sync with Coze is already under way, so no other was started" in page
    run_jobs()
    assert job_of(press_sync(administrator_client)) != first  # once finished, a new one


def test_a_sync_whose_worker_is_gone_does_not_hold_the_button(administrator_client, coze_sim):
    lost = running_job(heartbeat_age=timedelta(minutes=5))

    job = job_of(press_sync(administrator_client))

    lost.refresh_from_db()
    assert lost.state == "queued"  # taken over: queued again
    assert job == lost


def test_a_failed_sync_says_why_on_its_page(administrator_client, coze_sim, run_jobs):
    coze_sim.add_fault("http", method="GET", status=503, after=1)
    coze_sim.seed_groups(250)
    job = job_of(press_sync(administrator_client))

    run_jobs()

    job.refresh_from_db()
    assert job.state == "failed"
    assert [row["outcome"] for row in job.results] == ["success", "failure"]
    page = administrator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert (
        "Sync with Coze failed: Coze&#x27;s list call failed on page 2 (internal server error"
        in page
    )
    assert "HTTP 503" in page
    assert not VoiceprintGroup.objects.exists()
    assert DBTaskResult.objects.get(id=job.task_result_id).status == "SUCCESSFUL"  # as planned


def test_viewers_see_jobs_but_only_administrators_start_a_sync(
    viewer_client, operator_client, administrator_client, coze_sim, run_jobs
):
    job = job_of(press_sync(administrator_client))
    run_jobs()

    for client in (viewer_client, operator_client):
        assert press_sync(client).status_code == 403
        assert client.get("/jobs/").status_code == 200
        assert client.get(f"/jobs/{job.pk}/").status_code == 200
    assert 'href="/jobs/"' in viewer_client.get("/").content.decode()  # in the navigation
    assert Job.objects.count() == 1
    assert viewer_client.get(f"/jobs/{uuid.uuid4()}/").status_code == 404


def test_the_page_of_a_job_under_way_refreshes_itself_without_inline_script(
    administrator_client, coze_sim, run_jobs
):
    job = job_of(press_sync(administrator_client))

    response = administrator_client.get(f"/jobs/{job.pk}/")

    page = response.content.decode()
    assert 'data-refresh="2"' in page and 'src="/static/job.js"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script
    assert "script-src 'self';" in response["Content-Security-Policy"]
    run_jobs()
    finished = administrator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "data-refresh" not in finished and "job.js" not in finished


def test_a_superuser_follows_a_job_to_its_task_result(admin_client, coze_sim, run_jobs):
    job = job_of(press_sync(admin_client))
    run_jobs()

    page = admin_client.get(f"/jobs/{job.pk}/").content.decode()

    link = f"/admin/django_tasks_database/dbtaskresult/{job.task_result_id}/change/"
    assert f'href="{link}"' in page
    assert "Successful" in admin_client.get(link).content.decode()


def test_a_job_no_worker_took_says_so(administrator_client, coze_sim, settings):
    job = job_of(press_sync(administrator_client))
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    page = administrator_client.get(f"/jobs/{job.pk}/").content.decode()

    assert "No worker has taken this job yet." in page


def test_the_job_list_is_newest_first_in_constant_queries(administrator_client, coze_sim):
    def make(n):
        now = timezone.now()
        Job.objects.bulk_create(
            Job(kind="sync", state="succeeded", username="ada", created_at=now, summary=None)
            for _ in range(n)
        )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = administrator_client.get("/jobs/")
        assert response.status_code == 200
        return len(captured)

    make(3)
    few = queries()
    make(120)
    assert queries() == few
    newest = Job.objects.create(kind="sync", username="ada")
    response = administrator_client.get("/jobs/")
    assert list(response.context["page"])[0] == newest
    assert response.context["page"].paginator.num_pages == 3
    assert administrator_client.get("/jobs/?page=3").status_code == 200


def test_a_job_page_answers_in_constant_queries(administrator_client, coze_sim, run_jobs):
    coze_sim.seed_groups(5)
    small = job_of(press_sync(administrator_client))
    run_jobs()
    coze_sim.seed_groups(900)
    large = job_of(press_sync(administrator_client))
    run_jobs()
    counts = []
    for job in (small, large):
        with CaptureQueriesContext(connection) as captured:
            assert administrator_client.get(f"/jobs/{job.pk}/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_the_dashboard_lists_jobs_under_way(viewer_client, administrator_client, coze_sim):
    job = job_of(press_sync(administrator_client))

    page = viewer_client.get("/").content.decode()

    assert "Jobs under way" in page and f'href="/jobs/{job.pk}/"' in page


# The command: cron's scheduled sync, in the foreground


def test_the_command_syncs_here_and_is_in_the_register(coze_sim, db):
    coze_sim.seed_groups(3)
    out = StringIO()

    call_command("sync_coze_groups", stdout=out)

    assert out.getvalue().startswith("imported 3, updated 0, gone 0, resolved 0;")
    job = Job.objects.get()
    assert (job.state, job.via, job.program, job.attempts, job.task_result_id) == (
        "succeeded",
        "command",
        "manage.py sync_coze_groups",
        1,
        "",
    )
    row = AuditEntry.objects.get(action="group.sync")
    assert (row.request_id, row.via, row.user_agent) == (
        job.request_id,
        "command",
        "manage.py sync_coze_groups",
    )


def test_a_quiet_scheduled_sync_prints_nothing(coze_sim, db):
    out = StringIO()
    call_command("sync_coze_groups", "--quiet", stdout=out)
    assert out.getvalue() == ""
    assert Job.objects.get().state == "succeeded"


# Workers that stop


def test_a_silent_job_is_queued_again_and_its_pending_row_concluded(coze_sim, run_jobs):
    coze_sim.seed_groups(2)
    job = running_job(heartbeat_age=timedelta(minutes=2))
    row = pending_sync_row(job)
    first_task = job.task_result_id

    assert jobs.recover() == 1

    job.refresh_from_db()
    assert job.state == "queued" and job.task_result_id != first_task
    row.refresh_from_db()
    assert row.outcome == "unknown"
    assert row.explanation == (
        "The job making this call lost its worker (no sign of life for 60 s) before the "
        "outcome was recorded; what Coze did is not known."
    )
    assert DBTaskResult.objects.get(id=first_task).status == "FAILED"  # not RUNNING for ever
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("succeeded", 2)
    assert VoiceprintGroup.objects.count() == 2
    assert not AuditEntry.objects.filter(outcome="pending").exists()


def test_a_job_whose_process_here_ended_is_taken_over_at_once(coze_sim, db):
    ended = subprocess.Popen(["true"])
    ended.wait()
    job = running_job(worker=f"{jobs.HOST}:{ended.pid}")  # its heartbeat is fresh

    assert jobs.recover() == 1

    job.refresh_from_db()
    assert job.state == "queued"
    assert job.summary == {"say": "job_resumed", "why": "gone", "seconds": 60}


def test_a_live_job_is_left_alone(coze_sim, db):
    job = running_job(heartbeat_age=timedelta(seconds=10))
    row = pending_sync_row(job)

    assert jobs.recover() == 0

    job.refresh_from_db()
    row.refresh_from_db()
    assert (job.state, row.outcome) == ("running", "pending")


def test_a_job_lost_three_times_is_interrupted(administrator_client, coze_sim, db):
    job = running_job(heartbeat_age=timedelta(minutes=2), attempts=3)

    jobs.recover()

    job.refresh_from_db()
    assert job.state == "interrupted" and job.finished_at is not None
    page = administrator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "it is not resumed: start it again." in page
    assert job_of(press_sync(administrator_client)) != job  # no longer under way


def test_a_command_sync_whose_process_died_is_interrupted(coze_sim, db):
    job = running_job(heartbeat_age=timedelta(minutes=2), via="command")
    Job.objects.filter(pk=job.pk).update(task_result_id="")  # run in the foreground
    job.refresh_from_db()
    row = pending_sync_row(job)

    jobs.recover()

    job.refresh_from_db()
    row.refresh_from_db()
    assert (job.state, row.outcome) == ("interrupted", "unknown")


def test_a_worker_told_to_stop_queues_the_job_again(coze_sim, run_jobs, monkeypatch):
    coze_sim.seed_groups(2)
    sync_groups = jobs.sync_groups

    def stopped_in_the_middle(actor, **kwargs):
        monkeypatch.setattr(jobs, "sync_groups", sync_groups)  # the next run goes on
        AuditEntry.objects.create(
            action="group.sync", outcome="pending", request_id=actor.request_id
        )
        raise SystemExit(1)  # what the worker's second Ctrl-C raises in the job

    monkeypatch.setattr(jobs, "sync_groups", stopped_in_the_middle)
    job = jobs.start_sync(Actor.for_command("test"))

    assert run_jobs(failures_expected=True) == 2

    job.refresh_from_db()
    assert (job.state, job.attempts) == ("succeeded", 2)
    stopped, finished = AuditEntry.objects.filter(action="group.sync").order_by("pk")
    assert stopped.outcome == "unknown" and stopped.facts["why"] == "stopped"
    assert finished.outcome == "success"
    assert list(DBTaskResult.objects.order_by("enqueued_at").values_list("status", flat=True)) == [
        "FAILED",
        "SUCCESSFUL",
    ]


def test_a_run_that_lost_its_job_changes_nothing_more(coze_sim, db):
    """A worker thought dead that comes back finds its job taken over: its result is not
    written over the new run's."""
    job = running_job()
    Job.objects.filter(pk=job.pk).update(attempts=2)  # another run took it meanwhile

    assert jobs._finish(job, "succeeded", {"say": "synced"}) is False

    job.refresh_from_db()
    assert job.state == "running" and job.summary is None


def test_a_job_is_run_once_even_if_queued_twice(coze_sim, run_jobs):
    job = jobs.start_sync(Actor.for_command("test"))
    run_job.enqueue(str(job.pk))  # a second task for the same job

    run_jobs()

    job.refresh_from_db()
    assert job.attempts == 1 and len(list_calls(coze_sim)) == 1


def test_the_slow_call_of_a_live_job_is_not_expired(coze_sim, db):
    job = running_job()
    row = pending_sync_row(job)
    AuditEntry.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=1))
    orphan = AuditEntry.objects.create(
        action="group.sync", outcome="pending", created_at=timezone.now() - timedelta(hours=1)
    )

    assert expire_pending() == 1

    row.refresh_from_db()
    orphan.refresh_from_db()
    assert (row.outcome, orphan.outcome) == ("pending", "unknown")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_running_job_keeps_saying_it_is_alive(coze_sim, settings):
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    coze_sim.add_fault("delay", method="GET", seconds=0.4)
    job = jobs.start_sync(Actor.for_command("test"))

    jobs.run(str(job.pk))

    job.refresh_from_db()
    assert job.state == "succeeded"
    assert job.heartbeat_at - job.started_at >= timedelta(seconds=0.3)


def test_a_sync_without_an_answer_says_so_as_the_pages_do(
    administrator_client, coze_sim, run_jobs, settings
):
    settings.COZE_TIMEOUT = 0.2
    coze_sim.add_fault("delay", method="GET", seconds=0.5)
    job = job_of(press_sync(administrator_client))

    run_jobs()

    job.refresh_from_db()
    failed = SyncFailed(
        coze.CozeNoAnswer("no answer"), 1, AuditEntry.objects.get(action="group.sync")
    )
    assert job.state == "failed"
    assert (
        job.summary_text
        == messages.sync_failed(failed)
        == (
            "Sync with Coze failed: Coze's list call got no answer on page 1 "
            "(no answer within 0.2 s); nothing was changed. (code —, HTTP —, logid —)"
        )
    )
