"""Withdrawing consent: recorded after a confirmation listing what will be deleted, then
every voiceprint of the person deleted on Coze by a job, retried with back-off while Coze
cannot (its state on the person's page), never twice, and enrollment refused until a new
consent."""

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from groups import coze, services
from groups.actors import Actor
from groups.models import AuditEntry, Consent, Job, Voiceprint, VoiceprintGroup
from groups.services import deletions, voiceprints
from groups.services.deletions import pause_after, run_deletions
from tests import audio
from tests.factories import consent_for, device, enrollee

COLLEAGUE = "7400000000000000042"
WITHDRAW = {"withdrawal_method": "written", "withdrawal_note": "Letter of 3 May, ref. 17"}


def on_coze(group, name, sim, **fields):
    """A voiceprint enrolled on Coze (the simulator) by vpadmin's token, and registered."""
    answer = coze.get_client().create_voiceprint(group.coze_id, name, audio.wav(12.0))
    values = {"coze_creator_id": sim.user["user_id"], "coze_creator_name": "us", **fields}
    return Voiceprint.objects.create(coze_id=answer.data["id"], group=group, name=name, **values)


def group_on_coze(name, device):
    answer = coze.get_client().create_group(name)
    return VoiceprintGroup.objects.create(coze_id=answer.data["id"], name=name, device=device)


@pytest.fixture
def home(coze_sim, device):
    """The living room speaker's group, and the kitchen display's."""
    kitchen = device_named("Kitchen display")
    return group_on_coze("living room", device), group_on_coze("kitchen", kitchen)


def device_named(name):
    return device(name, f"SER-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def dad(home, coze_sim):
    """Dad, with consent, enrolled on both devices."""
    person = enrollee("Dad")
    consent = consent_for(person)
    for group in home:
        on_coze(group, "Dad", coze_sim, person=person, consent=consent)
    return person


def deletes(sim):
    return [r for r in sim.requests if r["method"] == "DELETE" and "/features/" in r["path"]]


def two_minutes_pass(minutes=2):
    """Time passes for what waits: each retry's time and each deferred task's come closer."""
    earlier = timedelta(minutes=minutes)
    for voiceprint in Voiceprint.objects.exclude(deletion_next_try_at=None):
        voiceprint.deletion_next_try_at -= earlier
        voiceprint.save(update_fields=["deletion_next_try_at"])
    for task in DBTaskResult.objects.filter(status="READY"):
        task.run_after -= earlier
        task.save(update_fields=["run_after"])


def job_actor():
    return Actor(username="deletions", request_id=uuid.uuid4().hex, via="job")


# Withdrawing


def test_the_confirmation_lists_every_voiceprint_with_its_group_and_device(operator_client, dad):
    page = operator_client.get(f"/people/{dad.pk}/withdraw/").content.decode()

    assert "Withdraw the consent of “Dad”?" in page
    assert "These 2 voiceprints of theirs will be deleted on Coze" in page
    assert "living room" in page and "kitchen" in page
    assert "Living room speaker" in page and "Kitchen display" in page
    assert 'name="withdrawal_method"' in page and 'name="withdrawal_note"' in page
    assert not Consent.objects.filter(withdrawn_at__isnull=False).exists()


def test_the_person_page_offers_the_withdrawal_to_those_allowed(
    operator_client, viewer_client, dad
):
    assert (
        f"/people/{dad.pk}/withdraw/" in operator_client.get(f"/people/{dad.pk}/").content.decode()
    )
    assert (
        f"/people/{dad.pk}/withdraw/"
        not in viewer_client.get(f"/people/{dad.pk}/").content.decode()
    )


def test_a_withdrawal_is_recorded_and_every_voiceprint_deleted_with_its_logid(
    operator_client, operator, dad, coze_sim, run_jobs
):
    response = operator_client.post(f"/people/{dad.pk}/withdraw/", WITHDRAW, follow=True)

    assert "The consent of “Dad” is withdrawn. 2 voiceprints are being deleted" in (
        response.content.decode()
    )
    consent = dad.consents.get()
    assert (consent.withdrawn_by, consent.withdrawn_by_name, consent.withdrawal_method) == (
        operator,
        "olga",
        "written",
    )
    assert consent.withdrawn_at and consent.withdrawal_note == "Letter of 3 May, ref. 17"
    row = AuditEntry.objects.get(action="consent.withdraw")
    assert (row.outcome, row.target_type, row.target_id) == ("success", "person", str(dad.pk))
    assert row.facts["voiceprints"] == 2 and row.facts["note"] is True
    assert "Letter" not in str(row.facts)  # free text about a person stays out of the log
    assert deletes(coze_sim) == []  # the request called nothing: the job does
    job = Job.objects.get(kind="deletions")
    assert (job.state, job.user, job.run_after) == ("queued", operator, None)

    assert run_jobs() == 1

    job.refresh_from_db()
    assert job.state == "succeeded" and "2 done" in job.summary_text
    for voiceprint in dad.voiceprints.all():
        assert voiceprint.state == "deleted" and voiceprint.logid
        assert voiceprint.coze_id not in coze_sim.voiceprints
        assert voiceprint.deletion_reason == "withdrawal" and voiceprint.deletion_attempts == 1
    rows = AuditEntry.objects.filter(action="voiceprint.delete")
    assert {(r.outcome, r.facts["deletion"], r.request_id) for r in rows} == {
        ("success", "withdrawal", job.request_id)
    }
    assert {r.coze_logid for r in rows} == set(dad.voiceprints.values_list("logid", flat=True))
    assert len(deletes(coze_sim)) == 2
    page = operator_client.get(f"/people/{dad.pk}/").content.decode()
    for logid in dad.voiceprints.values_list("logid", flat=True):
        assert f"logid {logid}." in page
    assert "still to be deleted" not in page
    assert "Record consent" in page and f"/people/{dad.pk}/withdraw/" not in page


def test_a_withdrawal_without_a_method_changes_nothing(operator_client, dad, coze_sim):
    response = operator_client.post(f"/people/{dad.pk}/withdraw/", {"withdrawal_note": "x"})

    assert response.status_code == 200 and "withdrawal_method" in response.context["form"].errors
    assert dad.consents.get().withdrawn_at is None
    assert not Voiceprint.objects.exclude(deletion_requested_at=None).exists()
    assert AuditEntry.objects.get(action="consent.withdraw").outcome == "refused"
    assert not Job.objects.exists()


def test_nobody_without_consent_in_force_has_anything_to_withdraw(operator_client, home):
    stranger = enrollee("Stranger")
    consent_for(stranger, withdrawn_at=timezone.now())

    shown = operator_client.get(f"/people/{stranger.pk}/withdraw/", follow=True)
    posted = operator_client.post(f"/people/{stranger.pk}/withdraw/", WITHDRAW, follow=True)

    for response in (shown, posted):
        assert "Stranger has no consent in force, so there is nothing to withdraw" in (
            response.content.decode()
        )
    assert stranger.consents.get().withdrawal_method == ""
    assert AuditEntry.objects.get(action="consent.withdraw").facts["say"] == "nothing_to_withdraw"
    assert not Job.objects.exists()


def test_viewers_cannot_withdraw(viewer_client, dad, coze_sim):
    assert viewer_client.get(f"/people/{dad.pk}/withdraw/").status_code == 403
    assert viewer_client.post(f"/people/{dad.pk}/withdraw/", WITHDRAW).status_code == 403
    assert dad.consents.get().withdrawn_at is None and not Job.objects.exists()


def test_enrollment_stays_refused_until_a_new_consent(operator, dad, home, coze_sim):
    services.withdraw_consent(Actor(user=operator, username="olga"), dad, method="in_person")
    coze_sim.requests.clear()

    with pytest.raises(services.NoConsent) as refused:
        services.enroll(
            Actor(user=operator, username="olga"),
            home[0],
            person=dad,
            name="Dad again",
            desc="",
            recording=None,  # refused before the audio is looked at
            submission=uuid.uuid4(),
        )
    assert refused.value.reason == "withdrawn"
    assert coze_sim.requests == []

    again = consent_for(dad)
    assert voiceprints.consent_in_force(dad) == again


# Bad days


def test_coze_down_during_a_withdrawal_loses_nothing_and_retries_finish_it(
    operator_client, dad, coze_sim, run_jobs
):
    coze_sim.add_fault("http", method="DELETE", times=None)  # every DELETE: HTTP 500
    operator_client.post(f"/people/{dad.pk}/withdraw/", WITHDRAW)

    run_jobs()

    assert len(deletes(coze_sim)) == 2
    for voiceprint in dad.voiceprints.all():
        assert voiceprint.state == "active" and voiceprint.coze_id in coze_sim.voiceprints
        assert voiceprint.deletion_attempts == 1
        assert voiceprint.deletion_error == "internal server error (code 5000, HTTP 500)"
        wait = voiceprint.deletion_next_try_at - timezone.now()
        assert timedelta(seconds=50) < wait <= timedelta(minutes=1)
    page = operator_client.get(f"/people/{dad.pk}/").content.decode()
    assert "2 voiceprints of theirs are still to be deleted on Coze" in page
    assert (
        "Still to delete: tried once, last error: internal server error (code 5000, HTTP 500). "
        "Next try at " in page
    )
    # The retry is a deletions run deferred to the first next try; nothing runs before it.
    retry = Job.objects.get(kind="deletions", state="queued")
    first_try = dad.voiceprints.order_by("deletion_next_try_at").first().deletion_next_try_at
    assert retry.run_after == first_try
    assert DBTaskResult.objects.get(id=retry.task_result_id).run_after == first_try
    assert run_jobs() == 0

    two_minutes_pass()
    run_jobs()  # Coze still down: the second try waits twice as long
    for voiceprint in dad.voiceprints.all():
        assert voiceprint.deletion_attempts == 2
        assert voiceprint.deletion_next_try_at - timezone.now() > timedelta(seconds=110)
    rows = AuditEntry.objects.filter(action="voiceprint.delete")
    assert [r.outcome for r in rows] == ["failure"] * 4 and all(r.coze_logid for r in rows)

    coze_sim.clear_faults()
    two_minutes_pass(3)
    run_jobs()

    for voiceprint in dad.voiceprints.all():
        assert voiceprint.state == "deleted" and voiceprint.logid
        assert voiceprint.coze_id not in coze_sim.voiceprints
        assert voiceprint.deletion_next_try_at is None and voiceprint.deletion_error == ""
    assert not Job.objects.filter(state="queued").exists()  # nothing left to retry
    page = operator_client.get(f"/people/{dad.pk}/").content.decode()
    assert "still to be deleted" not in page and page.count("Deleted on Coze on") == 2


def test_the_pause_doubles_from_a_minute_up_to_an_hour(dad, coze_sim):
    coze_sim.add_fault("nonjson", method="DELETE", times=None)
    deletions.request_deletion(dad.voiceprints.all(), "withdrawal")
    voiceprint = dad.voiceprints.first()
    now = timezone.now()
    pauses = []
    for _ in range(9):
        run_deletions(job_actor(), now=now)
        voiceprint.refresh_from_db()
        pauses.append(round((voiceprint.deletion_next_try_at - now).total_seconds() / 60))
        now = voiceprint.deletion_next_try_at
    assert pauses == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert [pause_after(n) for n in (1, 2, 7, 100)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "code", "code": 4009, "msg": "rate limited"},
        {"kind": "code", "code": 4008, "msg": "daily limit"},
        {"kind": "delay", "seconds": 3.0},
        {"kind": "http", "status": 503, "code": 5000, "msg": "unavailable"},
    ],
    ids=["rate-limit", "daily-limit", "no-answer", "503"],
)
def test_what_coze_cannot_do_now_is_tried_again(dad, coze_sim, fault):
    kind = fault.pop("kind")
    coze_sim.add_fault(kind, method="DELETE", times=None, **fault)
    coze_sim.add_fault("http", method="GET", times=None)  # a lost answer stays unconfirmed
    deletions.request_deletion(dad.voiceprints.all(), "withdrawal")

    run = run_deletions(job_actor())

    assert (len(run.waiting), run.deleted, run.needs_person) == (2, [], [])
    assert all(v.deletion_state == "waiting" for v in dad.voiceprints.all())


def test_a_not_found_for_a_voiceprint_being_deleted_counts_as_deleted(dad, coze_sim):
    gone = dad.voiceprints.first()
    coze.get_client().delete_voiceprint(gone.group.coze_id, gone.coze_id)  # in Coze's console
    deletions.request_deletion(dad.voiceprints.all(), "withdrawal")

    run = run_deletions(job_actor())

    assert len(run.deleted) == 2
    gone.refresh_from_db()
    assert gone.state == "deleted" and gone.deletion_state == "done"
    row = AuditEntry.objects.get(action="voiceprint.delete", target_id=str(gone.pk))
    assert row.outcome == "success" and row.coze_code == 4200 and row.coze_logid
    assert row.explanation == (
        "Coze no longer has the voiceprint, so it is deleted: consent withdrawn."
    )


def test_a_colleagues_voiceprint_waits_for_its_maker_and_is_not_tried_again(
    operator_client, dad, home, coze_sim, run_jobs
):
    [feature_id] = coze_sim.seed_voiceprints(home[0].coze_id, 1, creator_id=COLLEAGUE)
    services.voiceprints.token_user(refresh=True)
    Voiceprint.objects.create(
        coze_id=feature_id,
        group=home[0],
        name="Dad (Wang's)",
        person=dad,
        coze_creator_id=COLLEAGUE,
        coze_creator_name="Wang",
    )
    confirm = operator_client.get(f"/people/{dad.pk}/withdraw/").content.decode()
    assert "only Wang, who made it on Coze, can delete it" in confirm

    operator_client.post(f"/people/{dad.pk}/withdraw/", WITHDRAW)
    run_jobs()

    theirs = Voiceprint.objects.get(coze_id=feature_id)
    assert theirs.state == "active" and theirs.deletion_state == "needs_maker"
    assert theirs.deletion_next_try_at is None and feature_id in coze_sim.voiceprints
    assert len(deletes(coze_sim)) == 2  # ours; none for Wang's
    refused = AuditEntry.objects.get(action="voiceprint.delete", target_id=str(theirs.pk))
    assert refused.outcome == "refused" and refused.facts["deletion"] == "withdrawal"
    page = operator_client.get(f"/people/{dad.pk}/").content.decode()
    assert "1 voiceprint of theirs is still to be deleted on Coze" in page
    assert "only Wang, who made it on Coze, can delete it" in page
    assert not Job.objects.filter(state="queued").exists()  # no loop of doomed tries
    run_deletions(job_actor(), now=timezone.now() + timedelta(days=1))
    assert len(deletes(coze_sim)) == 2


def test_coze_refusing_for_good_waits_for_a_person(dad, coze_sim):
    coze_sim.add_fault("code", method="DELETE", code=4000, msg="invalid parameter")
    deletions.request_deletion(dad.voiceprints.order_by("pk")[:1], "withdrawal")

    run = run_deletions(job_actor())

    [stuck] = Voiceprint.objects.filter(pk__in=run.needs_person)
    assert stuck.deletion_state == "needs_person"
    assert stuck.deletion_problem == "invalid parameter (code 4000)"


def test_a_run_stopped_midway_then_resumed_deletes_nothing_twice_and_misses_nothing(
    dad, home, coze_sim
):
    mum = enrollee("Mum")
    for group in home:
        on_coze(group, "Mum", coze_sim, person=mum, consent=consent_for(mum))
    deletions.request_deletion(Voiceprint.objects.all(), "withdrawal")
    real, calls = voiceprints.delete_voiceprint, []

    def dies_on_the_third(actor, voiceprint, **kwargs):
        calls.append(voiceprint.pk)
        if len(calls) == 3:
            raise RuntimeError("the worker's machine went away")
        return real(actor, voiceprint, **kwargs)

    stopping = mock.patch.object(deletions, "delete_voiceprint", dies_on_the_third)
    with stopping, pytest.raises(RuntimeError):
        run_deletions(job_actor())
    assert len(deletes(coze_sim)) == 2
    assert Voiceprint.objects.filter(state="deleted").count() == 2

    run_deletions(job_actor())  # the one claimed when it stopped waits out its claim
    assert Voiceprint.objects.filter(state="deleted").count() == 3
    run_deletions(job_actor(), now=timezone.now() + timedelta(minutes=10))

    assert Voiceprint.objects.filter(state="deleted").count() == 4
    sent = [r["path"].rsplit("/", 1)[1] for r in deletes(coze_sim)]
    assert sorted(sent) == sorted(Voiceprint.objects.values_list("coze_id", flat=True))


def test_a_worker_stopped_mid_delete_resumes_and_the_list_confirms_it(
    operator_client, dad, coze_sim, run_jobs
):
    operator_client.post(f"/people/{dad.pk}/withdraw/", WITHDRAW)
    job = Job.objects.get(kind="deletions")
    real_mark, marks = voiceprints._mark, []

    def stopped_after_coze_answered(voiceprint, *args, **kwargs):
        marks.append(voiceprint.pk)
        if len(marks) == 1:  # Coze deleted it; the worker is stopped before it says so
            raise SystemExit("SIGTERM twice")
        return real_mark(voiceprint, *args, **kwargs)

    with mock.patch.object(voiceprints, "_mark", stopped_after_coze_answered):
        run_jobs(failures_expected=True)

    job.refresh_from_db()
    assert job.attempts == 2 and job.state == "succeeded"  # resumed at once
    first = Voiceprint.objects.get(pk=marks[0])
    assert first.state == "active" and first.coze_id not in coze_sim.voiceprints
    assert Voiceprint.objects.filter(person=dad, state="deleted").count() == 1
    unknown = AuditEntry.objects.get(action="voiceprint.delete", outcome="unknown")
    assert unknown.facts["say"] == "job_stopped" and unknown.target_id == str(first.pk)

    two_minutes_pass(10)  # its claim runs out: the deletions run queued for then runs
    run_jobs()

    first.refresh_from_db()
    assert first.state == "deleted"
    assert not dad.voiceprints.filter(state="active").exists()
    sent = [r["path"].rsplit("/", 1)[1] for r in deletes(coze_sim)]
    # Only the one whose answer was lost with its worker is sent twice; Coze says "not
    # found" the second time and its list confirms it is gone.
    assert sorted(sent) == sorted(
        [*dad.voiceprints.values_list("coze_id", flat=True), first.coze_id]
    )
    last = AuditEntry.objects.filter(action="voiceprint.delete", target_id=str(first.pk)).first()
    assert last.outcome == "success" and last.facts["say"] == "voiceprint_already_deleted_for"


def test_one_deletions_run_is_queued_at_a_time_and_a_withdrawal_brings_it_forward(
    operator, dad, home, coze_sim
):
    later = timezone.now() + timedelta(minutes=30)
    services.recurring._deletions_at(services.recurring.SCHEDULER, later, timezone.now())
    mum = enrollee("Mum")
    on_coze(home[0], "Mum", coze_sim, person=mum, consent=consent_for(mum))

    services.withdraw_consent(Actor(user=operator, username="olga"), dad, method="phone")
    services.withdraw_consent(Actor(user=operator, username="olga"), mum, method="phone")

    [queued] = Job.objects.filter(kind="deletions")
    assert queued.state == "queued" and queued.run_after is None
    ready = DBTaskResult.objects.ready().get()
    assert ready.id == uuid.UUID(queued.task_result_id)
