"""Answers that never came, rows that never finished, and races with a deletion: nothing is
done twice at Coze, nothing stays pending, and no page fails."""

import time
import uuid
from datetime import timedelta

import pytest
from django.db import DataError, connection
from django.utils import timezone

from groups import services as operations
from groups.actors import Actor
from groups.models import AuditEntry, Device, VoiceprintGroup
from groups.services.sync import sync_groups


def create(client, device, name="Resubmit test", desc=""):
    """Post a fresh creation form (a new hidden token, as a reloaded form has)."""
    return client.post(
        "/groups/new/",
        {"name": name, "desc": desc, "device": device.pk, "submission": str(uuid.uuid4())},
    )


def posts(sim):
    return [r for r in sim.requests if r["method"] == "POST"]


def older(entry, minutes=10):
    AuditEntry.objects.filter(pk=entry.pk).update(
        created_at=entry.created_at - timedelta(minutes=minutes)
    )
    entry.refresh_from_db()


# 1. A retry after "no answer" never makes a second group


def test_a_resubmit_while_the_first_answer_is_unknown_is_refused_before_coze(
    operator_client, device, coze_sim, settings
):
    settings.COZE_TIMEOUT = 0.3
    coze_sim.add_fault("delay", seconds=0.6, times=1)  # made on Coze after we gave up
    first = create(operator_client, device)
    assert first["Location"] == f"/devices/{device.pk}/"  # not the form, inviting a resubmit

    again = create(operator_client, device)

    assert len(posts(coze_sim)) == 1
    assert again["Location"] == f"/devices/{device.pk}/"
    page = operator_client.get(again["Location"]).content.decode()
    assert "was not sent again" in page and "Check now" in page
    refused = AuditEntry.objects.filter(action="group.create", outcome="refused").get()
    assert "is still waiting for Coze" in refused.explanation
    # Another name, or the same name on another device, is not held up.
    assert create(operator_client, device, name="Other name")["Location"].startswith("/groups/")


def test_check_now_registers_the_group_once_coze_lists_it(
    operator_client, device, coze_sim, settings
):
    settings.COZE_TIMEOUT = 0.3
    coze_sim.add_fault("delay", seconds=0.6, times=1)
    create(operator_client, device)
    attempt = AuditEntry.objects.get(action="group.create")
    deadline = time.monotonic() + 5
    while not coze_sim.groups and time.monotonic() < deadline:
        time.sleep(0.05)  # the simulator finishes the creation

    response = operator_client.post(f"/groups/attempts/{attempt.pk}/check/")

    group = VoiceprintGroup.objects.get()
    assert response["Location"] == f"/groups/{group.pk}/"
    assert (group.name, group.device, group.coze_id) == ("Resubmit test", device, *coze_sim.groups)
    assert attempt.resolution_or_none(fresh=True).outcome == "success"
    # Resolved: the device's page no longer waits.
    assert not operator_client.get(f"/devices/{device.pk}/").context["waiting"]


def test_check_now_concludes_not_created_once_the_window_has_passed(
    operator_client, device, coze_sim
):
    # Ten minutes ago Coze got no answer to this; Coze has never had such a group.
    attempt = AuditEntry.objects.create(
        action="group.create",
        outcome="unknown",
        device=device,
        sent_name="Resubmit test",
        created_at=timezone.now() - timedelta(minutes=10),
    )
    assert create(operator_client, device).status_code == 302 and not coze_sim.groups

    operator_client.post(f"/groups/attempts/{attempt.pk}/check/")

    assert attempt.resolution_or_none(fresh=True).outcome == "failure"
    assert create(operator_client, device)["Location"].startswith("/groups/")
    assert len(coze_sim.groups) == 1 and VoiceprintGroup.objects.count() == 1


def test_viewers_cannot_check(viewer_client, device, coze_sim):
    attempt = AuditEntry.objects.create(action="group.create", outcome="unknown", device=device)
    assert viewer_client.post(f"/groups/attempts/{attempt.pk}/check/").status_code == 403


# 2. "Not found" for a group being deleted is the deletion


@pytest.fixture
def group(coze_sim, device, operator):
    [coze_id] = coze_sim.seed_groups(1, name_prefix="hall")
    return VoiceprintGroup.objects.create(
        coze_id=coze_id, name="hall 1", device=device, creator=operator
    )


def test_a_delete_whose_answer_was_lost_is_found_done_at_once(
    administrator_client, group, coze_sim
):
    coze_sim.add_fault("drop", method="DELETE")
    administrator_client.post(f"/groups/{group.pk}/delete/")
    group.refresh_from_db()
    assert group.state == "deleted" and not coze_sim.groups
    lost = AuditEntry.objects.get(action="group.delete", resolves__isnull=True)
    assert (lost.outcome, lost.resolution.outcome) == ("unknown", "success")


def test_deleting_again_after_a_lost_answer_succeeds(administrator_client, group, coze_sim):
    coze_sim.add_fault("drop", times=2)  # the delete, and the lookup after it
    administrator_client.post(f"/groups/{group.pk}/delete/")
    group.refresh_from_db()
    assert group.state == "active" and not coze_sim.groups  # not known yet

    response = administrator_client.post(f"/groups/{group.pk}/delete/", follow=True)

    group.refresh_from_db()
    assert group.state == "deleted"
    assert "was deleted on Coze" in response.content.decode()
    retry = AuditEntry.objects.filter(action="group.delete").latest("pk")
    assert (retry.outcome, retry.coze_code) == ("success", 4200)
    assert retry.explanation == "Coze no longer has the group, so it is deleted."


def test_not_found_for_a_group_coze_still_lists_is_a_failure(administrator_client, group, coze_sim):
    """Coze also says "not found" to a token that did not create the group."""
    coze_sim.add_fault("code", code=4200, msg="resource not found", method="DELETE")
    administrator_client.post(f"/groups/{group.pk}/delete/")
    group.refresh_from_db()
    assert group.state == "active"
    assert AuditEntry.objects.get(action="group.delete").outcome == "failure"


# 3. Every pending row reaches an outcome, and the dashboard shows what waits


@pytest.mark.parametrize("action", ["group.update", "group.delete", "group.sync", "group.create"])
def test_a_pending_row_left_behind_becomes_unknown(action, coze_sim, device, administrator):
    stale = AuditEntry.objects.create(action=action, outcome="pending", device=device)
    older(stale)
    fresh = AuditEntry.objects.create(action=action, outcome="pending", device=device)

    sync_groups(Actor.for_command("sync_coze_groups", administrator))

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.outcome == "unknown" and "No outcome was recorded" in stale.explanation
    assert fresh.outcome == "pending"  # its call may still be under way


def test_the_dashboard_lists_what_waits_for_an_answer(viewer_client, device):
    AuditEntry.objects.create(action="group.delete", outcome="pending", target_label="hall 1")
    AuditEntry.objects.create(
        action="group.create", outcome="unknown", sent_name="lost one", device=device
    )
    resolved = AuditEntry.objects.create(action="group.create", outcome="unknown", sent_name="x")
    AuditEntry.objects.create(action="group.create", outcome="failure", resolves=resolved)

    response = viewer_client.get("/")

    waiting = response.context["waiting"]
    assert {entry.target_label or entry.sent_name for entry in waiting} == {"hall 1", "lost one"}
    assert "Waiting for an answer" in response.content.decode()
    # A resolved unknown is no longer among the failures.
    assert resolved not in response.context["latest_failures"]


def test_the_dashboard_lists_the_newest_ten_that_wait_and_the_newest_failures(viewer_client):
    # Pending rows and unresolved creations are read apart and merged newest first.
    start = timezone.now() - timedelta(hours=1)
    made = []
    for n in range(24):
        action, outcome = [("group.delete", "pending"), ("group.create", "unknown")][n % 2]
        at = start + timedelta(minutes=n)
        made.append(
            AuditEntry.objects.create(
                action=action, outcome=outcome, sent_name=str(n), created_at=at
            )
        )
    resolved = made[-1]  # the newest creation, resolved since
    AuditEntry.objects.create(action="group.create", outcome="failure", resolves=resolved)

    response = viewer_client.get("/")

    names = [entry.sent_name for entry in response.context["waiting"]]
    assert names == [str(n) for n in range(22, 12, -1)]
    failures = [e.sent_name for e in response.context["latest_failures"] if e.sent_name]
    assert str(23) not in failures and failures[0] == "21"


# 4. Deleting a device while a creation for it is in flight


def test_a_device_with_a_creation_in_flight_is_not_deleted(administrator_client, device):
    AuditEntry.objects.create(
        action="group.create", outcome="pending", device=device, sent_name="kid"
    )
    response = administrator_client.post(f"/devices/{device.pk}/delete/", follow=True)
    assert Device.objects.filter(pk=device.pk).exists()
    assert "Coze&#x27;s answer is not known yet" in response.content.decode()
    refused = AuditEntry.objects.get(action="device.delete")
    assert refused.outcome == "refused" and "kid" in refused.explanation


def test_sync_registers_a_group_whose_device_has_gone_as_unassigned(
    coze_sim, device, operator, administrator
):
    [coze_id] = coze_sim.seed_groups(1, name_prefix="kid")
    attempt = AuditEntry.objects.create(
        action="group.create",
        outcome="unknown",
        device=device,
        actor=operator,
        sent_name="kid 1",
        created_at=timezone.now() - timedelta(seconds=1),
    )
    Device.objects.filter(pk=device.pk).delete()  # as before this fix: deleted meanwhile

    result = sync_groups(Actor.for_command("sync_coze_groups", administrator))

    group = VoiceprintGroup.objects.get()
    assert result.resolved == 1 and (group.coze_id, group.device) == (coze_id, None)
    assert attempt.resolution_or_none(fresh=True).outcome == "success"
    assert (
        sync_groups(Actor.for_command("sync_coze_groups", administrator)).entry.outcome == "success"
    )  # and every later one


def test_an_edit_whose_device_was_deleted_meanwhile_keeps_cozes_change(
    coze_sim, group, device, operator
):
    chosen = Device.objects.create(name="Kiosk", serial="K-1")
    actor = Actor(user=operator, username=operator.username, request_id="r1")
    Device.objects.filter(pk=chosen.pk).delete()  # after the form chose it

    changes = operations.update_group(actor, group, name="renamed", desc="", device=chosen)

    group.refresh_from_db()
    assert changes["device_gone"] and (group.name, group.device) == ("renamed", device)
    assert coze_sim.groups[group.coze_id]["name"] == "renamed"  # Coze and register agree
    entry = AuditEntry.objects.get(action="group.update")
    assert entry.outcome == "success" and "was not moved" in entry.explanation


# 5. Any code Coze can send is stored; a failed audit write is never a 500


@pytest.mark.parametrize("code", [2147483648, 9223372036854775808, -(2**70)])
def test_a_code_no_integer_column_holds_is_stored(
    code, operator_client, administrator_client, device, group, coze_sim, administrator, run_jobs
):
    coze_sim.add_fault("code", code=code, msg="odd")
    assert create(operator_client, device).status_code == 200
    coze_sim.add_fault("code", code=code, msg="odd")
    edited = operator_client.post(
        f"/groups/{group.pk}/edit/", {"name": "x", "desc": "", "device": device.pk}
    )
    assert edited.status_code == 200
    coze_sim.add_fault("code", code=code, msg="odd")
    assert administrator_client.post(f"/groups/{group.pk}/delete/").status_code == 302
    coze_sim.add_fault("code", code=code, msg="odd", method="GET")
    assert administrator_client.post("/groups/sync/").status_code == 302
    run_jobs()

    rows = AuditEntry.objects.exclude(action="permission.denied").filter(
        action__startswith="group."
    )
    assert {row.outcome for row in rows} == {"failure"}
    assert {row.coze_code for row in rows} == {code}


def fail_detailed_finishes(execute, sql, params, many, context):
    if sql.startswith('UPDATE "groups_auditentry"') and "coze_msg" in sql:
        raise DataError("value too long")
    return execute(sql, params, many, context)


def test_a_final_row_that_cannot_be_stored_keeps_its_outcome(operator_client, device, coze_sim):
    coze_sim.add_fault("code", code=4000, msg="bad")
    with connection.execute_wrapper(fail_detailed_finishes):
        response = create(operator_client, device)
    assert response.status_code == 200 and "Coze did not create the group" in (
        response.content.decode()
    )
    entry = AuditEntry.objects.get(action="group.create")
    assert entry.outcome == "failure"
    assert entry.explanation == "The outcome's details could not be stored."


def test_a_resubmit_after_the_lost_group_was_found_creates_nothing(
    operator_client, device, coze_sim
):
    """The browser's Back button reloads the form with a new hidden token and the input."""
    coze_sim.add_fault("drop", times=1)
    create(operator_client, device)
    group = VoiceprintGroup.objects.get()

    again = create(operator_client, device)

    assert again["Location"] == f"/groups/{group.pk}/"
    assert len(posts(coze_sim)) == 1 and VoiceprintGroup.objects.count() == 1
    refused = AuditEntry.objects.filter(action="group.create", outcome="refused").get()
    assert "already has an active group named “Resubmit test”" in refused.explanation


# Found by review


def test_not_found_with_a_list_that_cannot_be_read_is_not_a_deletion(
    administrator_client, group, coze_sim
):
    coze_sim.add_fault("code", code=4200, msg="resource not found", method="DELETE")
    coze_sim.add_fault("code", code=4009, msg="slow down", method="GET")
    administrator_client.post(f"/groups/{group.pk}/delete/")
    group.refresh_from_db()
    assert group.state == "active" and group.coze_id in coze_sim.groups
    assert AuditEntry.objects.get(action="group.delete").outcome == "failure"


def test_sync_waits_as_long_as_check_now_before_saying_not_created(coze_sim, device, administrator):
    attempt = AuditEntry.objects.create(
        action="group.create",
        outcome="unknown",
        device=device,
        sent_name="late",
        created_at=timezone.now() - timedelta(seconds=90),  # older than 60 s, under 5 min
    )
    sync_groups(Actor.for_command("sync_coze_groups", administrator))
    assert attempt.resolution_or_none(fresh=True) is None  # Coze may still list it


def test_check_now_on_an_attempt_already_found_says_it_was_created(
    operator_client, device, coze_sim
):
    coze_sim.add_fault("drop", times=1)
    create(operator_client, device)  # found at once
    attempt = AuditEntry.objects.get(action="group.create", resolves__isnull=True)
    group = VoiceprintGroup.objects.get()

    response = operator_client.post(f"/groups/attempts/{attempt.pk}/check/", follow=True)

    assert response.redirect_chain[-1][0] == f"/groups/{group.pk}/"
    assert "was not created" not in response.content.decode()


def test_a_device_deleted_after_the_form_was_checked_gets_no_group(
    operator_client, device, coze_sim
):
    from groups.forms import GroupForm

    real_clean = GroupForm.clean

    def clean_then_delete(form):
        cleaned = real_clean(form)
        Device.objects.filter(pk=device.pk).delete()  # an Administrator, at that moment
        return cleaned

    GroupForm.clean = clean_then_delete
    try:
        response = create(operator_client, device)
    finally:
        GroupForm.clean = real_clean
    assert response.status_code == 200 and "That device does not exist" in (
        response.content.decode()
    )
    assert not posts(coze_sim) and not coze_sim.groups
    assert AuditEntry.objects.get(action="group.create").outcome == "refused"


def test_the_device_page_reads_its_waiting_creations_in_constant_queries(
    operator_client, device, django_assert_max_num_queries
):
    def waiting(n):
        for i in range(n):
            AuditEntry.objects.create(
                action="group.create", outcome="unknown", device=device, sent_name=f"w{i}"
            )

    waiting(1)
    with django_assert_max_num_queries(20) as one:
        operator_client.get(f"/devices/{device.pk}/")
    waiting(8)
    with django_assert_max_num_queries(len(one.captured_queries)):
        operator_client.get(f"/devices/{device.pk}/")


def test_a_call_that_outlasts_the_time_limit_still_records_its_outcome(
    operator_client, device, coze_sim, monkeypatch
):
    """Another process concluded the row `unknown` while Coze was still answering: the
    answer, when it comes, is the row's resolution, and the group is registered."""
    from groups import coze
    from groups.services import attempts

    real_create = coze.CozeClient.create_group

    def slow_create(client, *args, **kwargs):
        answer = real_create(client, *args, **kwargs)
        with monkeypatch.context() as patch:  # meanwhile, elsewhere: the time limit passes
            patch.setattr(attempts, "pending_margin", lambda: timedelta(seconds=-1))
            assert attempts.expire_pending() == 1
        return answer

    monkeypatch.setattr(coze.CozeClient, "create_group", slow_create)
    response = create(operator_client, device)

    group = VoiceprintGroup.objects.get()
    assert response["Location"] == f"/groups/{group.pk}/"
    attempt = AuditEntry.objects.get(action="group.create", resolves__isnull=True)
    assert attempt.outcome == "unknown"
    assert (attempt.resolution.outcome, attempt.resolution.target_id) == ("success", str(group.pk))


def _outlasting(monkeypatch, method, answer):
    """Coze's `method` answers (or fails) only after the time limit concluded its row."""
    from groups import coze
    from groups.services import attempts

    real = getattr(coze.CozeClient, method)

    def slow(client, *args, **kwargs):
        with monkeypatch.context() as patch:  # meanwhile, elsewhere: the time limit passes
            patch.setattr(attempts, "pending_margin", lambda: timedelta(seconds=-1))
            assert attempts.expire_pending() == 1
        return answer(real, client, *args, **kwargs)

    monkeypatch.setattr(coze.CozeClient, method, slow)


def test_a_refusal_that_outlasts_the_time_limit_is_told_and_resolves_the_row(
    operator_client, operator, device, coze_sim, monkeypatch
):
    def refused(real, client, *args, **kwargs):
        coze_sim.add_fault("code", code=4000, msg="name not allowed")
        return real(client, *args, **kwargs)

    _outlasting(monkeypatch, "create_group", refused)
    page = create(operator_client, device).content.decode()

    assert "name not allowed" in page and not VoiceprintGroup.objects.exists()
    attempt = AuditEntry.objects.get(action="group.create", resolves__isnull=True)
    resolution = attempt.resolution
    assert (attempt.outcome, resolution.outcome) == ("unknown", "failure")
    assert (resolution.actor, resolution.actor_username) == (operator, "olga")


def test_a_deletion_that_outlasts_the_time_limit_still_marks_the_group_deleted(
    administrator_client, administrator, group, coze_sim, monkeypatch
):
    _outlasting(monkeypatch, "delete_group", lambda real, *args, **kwargs: real(*args, **kwargs))

    response = administrator_client.post(f"/groups/{group.pk}/delete/")

    assert response.status_code == 302
    group.refresh_from_db()
    assert group.state == "deleted" and group.coze_id not in coze_sim.groups
    attempt = AuditEntry.objects.get(action="group.delete", resolves__isnull=True)
    assert (attempt.outcome, attempt.resolution.outcome) == ("unknown", "success")
    assert attempt.resolution.actor == administrator


def test_cozes_times_in_milliseconds_are_read(coze_sim, device, operator, administrator):
    [coze_id] = coze_sim.seed_groups(1, name_prefix="ms")
    coze_sim.groups[coze_id]["created_at"] *= 1000
    AuditEntry.objects.create(
        action="group.create", outcome="unknown", device=device, actor=operator,
        sent_name="ms 1", created_at=timezone.now() - timedelta(seconds=2),
    )  # fmt: skip
    sync_groups(Actor.for_command("sync_coze_groups", administrator))
    group = VoiceprintGroup.objects.get()
    assert group.device == device and group.remote_created_at.year == timezone.now().year
