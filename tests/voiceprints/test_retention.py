"""Retention: a voiceprint is kept no longer than its keeping date (its own or its
consent's). The daily sweep (a job that queues tomorrow's as it ends) and `manage.py
enforce_retention` delete on Coze what is past it, with the logid; `--dry-run` changes
nothing; the dashboard shows what comes in the next 30 days."""

import datetime
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from groups import coze
from groups.actors import Actor
from groups.models import AuditEntry, Job, Voiceprint, VoiceprintGroup
from groups.services import jobs, recurring, retention
from tests import audio
from tests.factories import consent_for, enrollee

TODAY = timezone.localdate


@pytest.fixture
def living_room(coze_sim, device):
    answer = coze.get_client().create_group("living room")
    return VoiceprintGroup.objects.create(
        coze_id=answer.data["id"], name="living room", device=device
    )


def enrolled(group, sim, name, *, keep_until, consent_until=None, **consent_fields):
    """`name`, with a consent kept until `consent_until` (else `keep_until`), enrolled on
    Coze and registered as kept until `keep_until`."""
    person = enrollee(name)
    until = consent_until or keep_until
    given_on = min(until, TODAY()) - timedelta(days=400)
    consent = consent_for(person, given_on=given_on, keep_until=until, **consent_fields)
    answer = coze.get_client().create_voiceprint(group.coze_id, name, audio.wav(12.0))
    return Voiceprint.objects.create(
        coze_id=answer.data["id"],
        group=group,
        name=name,
        person=person,
        consent=consent,
        keep_until=keep_until,
        coze_creator_id=sim.user["user_id"],
    )


def run(*args):
    out = StringIO()
    call_command("enforce_retention", *args, stdout=out)
    return out.getvalue()


def deletes(sim):
    return [r for r in sim.requests if r["method"] == "DELETE"]


def yesterday():
    return TODAY() - timedelta(days=1)


def test_a_voiceprint_past_its_date_is_gone_after_enforce_retention(living_room, coze_sim):
    grandpa = enrolled(living_room, coze_sim, "Grandpa", keep_until=yesterday())
    mum = enrolled(living_room, coze_sim, "Mum", keep_until=TODAY())  # its last day

    printed = run()

    assert printed.startswith(
        f"Retention sweep of {TODAY():%Y-%m-%d}: 1 past their keeping date, 0 under a "
        "withdrawn consent; deleted 1, to try again later 0, waiting for a person 0;"
    )
    grandpa.refresh_from_db(), mum.refresh_from_db()
    assert grandpa.state == "deleted" and grandpa.logid and grandpa.deletion_reason == "retention"
    assert grandpa.coze_id not in coze_sim.voiceprints
    assert mum.state == "active" and mum.deletion_requested_at is None
    assert len(deletes(coze_sim)) == 1
    deleted = AuditEntry.objects.get(action="voiceprint.delete")
    assert deleted.outcome == "success" and deleted.coze_logid == grandpa.logid
    assert deleted.explanation == "Deleted on Coze: its keeping date passed."
    sweep = AuditEntry.objects.get(action="retention.sweep")
    assert (sweep.outcome, sweep.via, sweep.user_agent) == (
        "success",
        "command",
        "manage.py enforce_retention",
    )
    assert sweep.facts | {"say": None} == {
        "say": None,
        "day": TODAY().isoformat(),
        "expired": 1,
        "withdrawn": 0,
        "deleted": 1,
        "waiting": 0,
        "stuck": 0,
    }
    job = Job.objects.get()  # recorded on /jobs/ like a worker's run
    assert (job.kind, job.state, job.program) == (
        "retention",
        "succeeded",
        "manage.py enforce_retention",
    )
    assert deleted.request_id == sweep.request_id == job.request_id
    assert "Retention sweep of" in job.summary_text


def test_a_dry_run_lists_what_would_go_and_changes_nothing(living_room, coze_sim):
    grandpa = enrolled(living_room, coze_sim, "Grandpa", keep_until=yesterday())
    enrolled(living_room, coze_sim, "Mum", keep_until=TODAY() + timedelta(days=90))
    coze_sim.requests.clear()

    printed = run("--dry-run")

    assert "would delete: “Grandpa” of Grandpa" in printed and grandpa.coze_id in printed
    assert "Living room speaker" in printed and "past its keeping date" in printed
    assert "Mum" not in printed
    assert "Would delete 1 past their keeping date" in printed and "Nothing was changed." in printed
    assert coze_sim.requests == []
    grandpa.refresh_from_db()
    assert grandpa.state == "active" and grandpa.deletion_requested_at is None
    assert not AuditEntry.objects.exists() and not Job.objects.exists()


def test_the_consents_date_counts_when_it_comes_first(living_room, coze_sim):
    # A voiceprint's own date is its consent's at enrollment; the earlier of both counts.
    dad = enrolled(
        living_room,
        coze_sim,
        "Dad",
        keep_until=TODAY() + timedelta(days=300),
        consent_until=yesterday(),
    )
    no_date = enrolled(living_room, coze_sim, "Gran", keep_until=None, consent_until=yesterday())

    found = retention.sweep(Actor(username="cron"))

    assert {v.pk for v in found.expired} == {dad.pk, no_date.pk}
    assert set(Voiceprint.objects.values_list("state", flat=True)) == {"deleted"}


def test_an_enrollment_that_raced_a_withdrawal_is_swept_too(living_room, coze_sim):
    late = enrolled(
        living_room,
        coze_sim,
        "Late",
        keep_until=TODAY() + timedelta(days=300),
        withdrawn_at=timezone.now(),
    )

    found = retention.sweep(Actor(username="cron"))

    assert [v.pk for v in found.withdrawn] == [late.pk]
    late.refresh_from_db()
    assert (late.state, late.deletion_reason) == ("deleted", "withdrawal")


def test_coze_down_during_the_sweep_leaves_the_deletion_to_the_retries(
    living_room, coze_sim, run_jobs
):
    grandpa = enrolled(living_room, coze_sim, "Grandpa", keep_until=yesterday())
    coze_sim.add_fault("http", method="DELETE", times=None)

    printed = run()

    assert "deleted 0, to try again later 1" in printed
    assert "a worker (manage.py db_worker) tries again by itself" in printed
    grandpa.refresh_from_db()
    assert grandpa.deletion_state == "waiting" and grandpa.deletion_attempts == 1
    retry = Job.objects.get(kind="deletions", state="queued")
    assert retry.run_after == grandpa.deletion_next_try_at  # deferred: not before its try
    assert run_jobs() == 0

    coze_sim.clear_faults()
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    Voiceprint.objects.filter(pk=grandpa.pk).update(deletion_next_try_at=timezone.now())
    assert run_jobs() == 1

    grandpa.refresh_from_db()
    assert grandpa.state == "deleted" and grandpa.logid


def test_a_second_sweep_deletes_nothing_twice(living_room, coze_sim):
    enrolled(living_room, coze_sim, "Grandpa", keep_until=yesterday())
    run()

    printed = run()

    assert "0 past their keeping date" in printed and "deleted 0" in printed
    assert len(deletes(coze_sim)) == 1


# The daily job


def midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def test_a_worker_queues_the_sweep_and_each_sweep_queues_tomorrows(living_room, coze_sim, run_jobs):
    grandpa = enrolled(living_room, coze_sim, "Grandpa", keep_until=yesterday())

    recurring.keep_scheduled()  # as the worker does at its start
    first = Job.objects.get(kind="retention")
    assert (first.state, first.run_after, first.program) == (
        "queued",
        None,
        "manage.py db_worker",
    )
    assert run_jobs() == 1

    first.refresh_from_db()
    assert first.state == "succeeded"
    grandpa.refresh_from_db()
    assert grandpa.state == "deleted"
    tomorrow = Job.objects.get(kind="retention", state="queued")
    assert tomorrow.run_after == midnight(TODAY() + timedelta(days=1))
    task = DBTaskResult.objects.get(id=tomorrow.task_result_id)
    assert task.status == "READY" and task.run_after == tomorrow.run_after
    assert run_jobs() == 0  # not before its time
    recurring.keep_scheduled()  # a worker starting again adds no second one
    assert Job.objects.filter(kind="retention").count() == 2

    # The next day comes.
    DBTaskResult.objects.filter(pk=task.pk).update(run_after=timezone.now())
    assert run_jobs() == 1
    tomorrow.refresh_from_db()
    assert tomorrow.state == "succeeded"
    assert Job.objects.filter(kind="retention", state="queued").count() == 1


def test_after_a_sweep_today_a_starting_worker_waits_for_midnight(db):
    recurring.retention_here(Actor.for_command("enforce_retention"))

    queued = recurring.schedule_retention()

    assert queued.state == "queued" and queued.run_after == midnight(TODAY() + timedelta(days=1))


def test_a_sweep_whose_worker_died_is_resumed(db, run_jobs):
    job = recurring.schedule_retention()
    DBTaskResult.objects.filter(id=job.task_result_id).update(status="RUNNING")
    Job.objects.filter(pk=job.pk).update(
        state="running",
        attempts=1,
        worker="elsewhere:1",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    assert jobs.recover() == 1

    job.refresh_from_db()
    assert job.state == "queued"
    assert run_jobs() == 1
    job.refresh_from_db()
    assert job.state == "succeeded" and job.attempts == 2


# The dashboard


def test_the_dashboard_shows_what_expires_in_the_next_30_days(viewer_client, device):
    group = VoiceprintGroup.objects.create(coze_id="7", name="living room", device=device)
    today = TODAY()
    people = {}
    for name, days in [("Grandpa", -1), ("Mum", 3), ("Dad", 30), ("Kid", 31), ("Aunt", 12)]:
        person = people[name] = enrollee(name)
        consent = consent_for(
            person, given_on=today - timedelta(days=60), keep_until=today + timedelta(days=days)
        )
        Voiceprint.objects.create(
            coze_id=str(uuid.uuid4().int)[:18],
            group=group,
            name=f"{name}'s voice",
            person=person,
            consent=consent,
            keep_until=consent.keep_until,
        )
    Voiceprint.objects.filter(person=people["Aunt"]).update(
        deletion_requested_at=timezone.now(), deletion_reason="withdrawal"
    )

    response = viewer_client.get("/")

    page = response.content.decode()
    assert "3 voiceprints to delete in the next 30 days" in page
    shown = [v.person.name for v in response.context["expiring"]]
    assert shown == ["Grandpa", "Mum", "Dad"]  # soonest first; Kid later, Aunt's under way
    assert response.context["expiring"][0].overdue and not response.context["expiring"][1].overdue
    assert "Living room speaker" in page and f"/people/{people['Mum'].pk}/" in page


def test_a_deferred_run_says_when_it_runs_and_waits_quietly(viewer_client, db):
    recurring.retention_here(Actor.for_command("enforce_retention"))
    tomorrow = recurring.schedule_retention()

    page = viewer_client.get(f"/jobs/{tomorrow.pk}/").content.decode()
    listed = viewer_client.get("/jobs/").content.decode()

    assert "Not before" in page and "data-refresh" not in page
    assert "No worker has taken this job yet" not in page
    assert "not before" in listed
    assert viewer_client.get("/").context["jobs_under_way"] == []  # not before its time
