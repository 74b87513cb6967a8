"""Background jobs: "Sync with Coze" queues a job and leaves the request at once; a worker
runs it (here in the test's process, `run_jobs`); the job register shows who started it,
its state, progress and results. A job whose worker stopped is resumed or concluded, and
the audit rows it left pending are concluded."""

import subprocess
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from groups.actors import Actor
from groups.models import AuditEntry, Job, VoiceprintGroup
from groups.services import jobs
from groups.services.attempts import expire_pending
from groups.tasks import run_job

LIST_CALL = ("GET", "/v1/audio/voiceprint_groups")


def list_calls(sim):
    return [r for r in sim.requests if (r["method"], r["path"]) == LIST_CALL]


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
