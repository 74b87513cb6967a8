"""Reconciling the register with Coze's list: the simulator on a real socket, the real DB."""

import threading
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups import quota
from groups.actors import Actor
from groups.management.commands.sync_coze_groups import Command as SyncCommand
from groups.models import AuditEntry, CozeAccount, Device, VoiceprintGroup
from groups.services.sync import SyncFailed, sync_groups

GROUPS = "/v1/audio/voiceprint_groups"


@pytest.fixture
def admin(administrator):
    return administrator


def list_calls(sim):
    return [r for r in sim.requests if r["method"] == "GET" and r["path"] == GROUPS]


def register():
    """Every register row as plain values, to show that nothing changed."""
    return list(VoiceprintGroup.objects.order_by("pk").values())


def sync_rows():
    return list(AuditEntry.objects.filter(action="group.sync").order_by("pk"))


def unix(moment):
    return int(moment.timestamp())


def attempt(outcome, *, actor, device, name="kitchen", desc="", age=timedelta(minutes=10), **kw):
    """A creation attempt that ended without an answer, made `age` ago."""
    return AuditEntry.objects.create(
        action="group.create",
        outcome=outcome,
        actor=actor,
        actor_username=actor.username,
        device=device,
        sent_name=name,
        sent_desc=desc,
        created_at=timezone.now() - age,
        **kw,
    )


def seed_one(sim, name, desc="", *, created_at):
    [group_id] = sim.seed_groups(1, created_at=unix(created_at))
    sim.edit_group(group_id, name=name, desc=desc, updated_at=unix(created_at))
    return group_id


# Importing


def test_it_imports_1000_groups_in_5_list_calls(coze_sim, admin):
    coze_sim.seed_groups(1000)

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    calls = list_calls(coze_sim)
    assert [(c["query"]["page_num"], c["query"]["page_size"]) for c in calls] == [
        (str(page), "200") for page in range(1, 6)
    ]
    assert (result.imported, result.updated, result.gone, result.resolved) == (1000, 0, 0, 0)
    assert (result.remote_total, result.list_calls, result.changed) == (1000, 5, True)
    groups = VoiceprintGroup.objects.active()
    assert groups.count() == 1000
    assert not groups.exclude(device=None).exists() and not groups.exclude(creator=None).exists()
    assert CozeAccount.objects.get().remote_total == 1000
    assert CozeAccount.objects.get().synced_at is not None

    [row] = sync_rows()
    assert row == result.entry
    assert (row.outcome, row.actor, row.actor_label) == ("success", admin, "ada")
    assert row.explanation == (
        "1,000 imported, 0 updated, 0 gone, 0 attempts resolved (1,000 on Coze, 5 list calls)"
    )
    assert row.coze_logid == calls[-1]["logid"] != ""
    assert (row.coze_code, row.http_status) == (0, 200)
    # How long applying them takes is the benchmark's to measure, not a test's.


def test_imported_groups_carry_cozes_fields(coze_sim, admin):
    [group_id] = coze_sim.seed_groups(1, created_at=1_700_000_000)
    coze_sim.edit_group(group_id, name="车载", desc="car kiosk", feature_count=4)

    sync_groups(Actor.for_command("sync_coze_groups", admin))

    group = VoiceprintGroup.objects.get()
    remote = coze_sim.groups[group_id]
    assert (group.coze_id, group.name, group.desc, group.feature_count) == (
        group_id,
        "车载",
        "car kiosk",
        4,
    )
    assert group.remote_created_at == group.created_at == datetime.fromtimestamp(1_700_000_000, UTC)
    assert group.remote_updated_at == datetime.fromtimestamp(remote["updated_at"], UTC)
    assert (group.state, group.device, group.creator, group.logid) == ("active", None, None, "")


def sync_queries(admin):
    with CaptureQueriesContext(connection) as queries:
        sync_groups(Actor.for_command("sync_coze_groups", admin))
    return len(queries)


def test_its_queries_do_not_grow_with_the_groups(coze_sim, admin):
    CozeAccount.default().keep_base_url()  # its row and base URL, as the first sync makes them
    coze_sim.seed_groups(300)
    import_300 = sync_queries(admin)
    steady_300 = sync_queries(admin)
    coze_sim.seed_groups(700)
    import_700 = sync_queries(admin)
    steady_1000 = sync_queries(admin)

    assert VoiceprintGroup.objects.count() == 1000
    print(f"\nqueries: import {import_300}/{import_700}, steady {steady_300}/{steady_1000}")
    # With who the token is (once known), which groups' voiceprints need reading, and
    # the account's row.
    assert steady_1000 == steady_300 <= 15
    # Inserts go in batches (SQLite takes 83 rows per INSERT): bounded, never one per group.
    assert import_300 <= import_700 <= 27


def test_450_groups_then_a_second_sync_changes_nothing(coze_sim, admin):
    coze_sim.seed_groups(450)

    first = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (first.imported, len(list_calls(coze_sim))) == (450, 3)
    assert VoiceprintGroup.objects.active().filter(device=None).count() == 450
    assert quota.used() == 450
    before, account = register(), CozeAccount.objects.get()

    second = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert second.changed is False
    assert (second.imported, second.updated, second.gone, second.resolved) == (0, 0, 0, 0)
    assert second.entry.explanation == "no changes (450 on Coze, 3 list calls)"
    assert register() == before
    assert CozeAccount.objects.get().synced_at > account.synced_at
    assert [row.outcome for row in sync_rows()] == ["success", "success"]


# Drift both ways


def test_changes_made_on_coze_are_copied(coze_sim, admin):
    ids = coze_sim.seed_groups(4)
    sync_groups(Actor.for_command("sync_coze_groups", admin))
    coze_sim.edit_group(ids[0], name="renamed")
    coze_sim.edit_group(ids[1], desc="a new description")
    coze_sim.edit_group(ids[2], feature_count=7, updated_at=1_800_000_000)

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.imported, result.updated, result.gone) == (0, 3, 0)
    assert "3 updated" in result.entry.explanation
    groups = {group.coze_id: group for group in VoiceprintGroup.objects.all()}
    assert groups[ids[0]].name == "renamed"
    assert groups[ids[1]].desc == "a new description"
    assert groups[ids[2]].feature_count == 7
    assert groups[ids[2]].remote_updated_at == datetime.fromtimestamp(1_800_000_000, UTC)
    assert groups[ids[3]].name == coze_sim.groups[ids[3]]["name"]


def test_a_rename_made_through_vpadmin_is_no_news_to_the_next_sync(coze_sim, admin):
    [group_id] = coze_sim.seed_groups(1, created_at=1_700_000_000)
    sync_groups(Actor.for_command("sync_coze_groups", admin))
    # As the edit view leaves it: renamed on Coze (which moves updated_at) and locally.
    coze_sim.edit_group(group_id, name="renamed", updated_at=1_800_000_000)
    VoiceprintGroup.objects.update(name="renamed")

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.updated, result.changed) == (0, False)
    assert result.entry.explanation.startswith("no changes")
    group = VoiceprintGroup.objects.get()
    assert group.remote_updated_at == datetime.fromtimestamp(1_800_000_000, UTC)


def test_a_group_deleted_on_coze_is_kept_as_gone(coze_sim, admin, device):
    kept, removed = coze_sim.seed_groups(2)
    sync_groups(Actor.for_command("sync_coze_groups", admin))
    VoiceprintGroup.objects.filter(coze_id=removed).update(device=device)
    del coze_sim.groups[removed]

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.gone, result.updated, result.remote_total) == (1, 0, 1)
    group = VoiceprintGroup.objects.get(coze_id=removed)
    assert (group.state, group.device) == ("gone", device)
    assert group.ended_at is not None
    assert list(VoiceprintGroup.objects.active().values_list("coze_id", flat=True)) == [kept]
    assert quota.used() == 1


def test_a_gone_group_that_is_back_is_active_and_a_deleted_one_stays_deleted(coze_sim, admin):
    back, deleted = coze_sim.seed_groups(2)
    sync_groups(Actor.for_command("sync_coze_groups", admin))
    ended = timezone.now() - timedelta(days=1)
    VoiceprintGroup.objects.filter(coze_id=back).update(state="gone", ended_at=ended)
    VoiceprintGroup.objects.filter(coze_id=deleted).update(state="deleted", ended_at=ended)
    coze_sim.edit_group(deleted, name="changed after")

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.updated, result.gone, result.imported) == (1, 0, 0)
    group = VoiceprintGroup.objects.get(coze_id=back)
    assert (group.state, group.ended_at) == ("active", None)
    group = VoiceprintGroup.objects.get(coze_id=deleted)
    assert (group.state, group.ended_at) == ("deleted", ended)


def test_a_new_group_on_coze_is_imported_next_to_known_ones(coze_sim, admin):
    coze_sim.seed_groups(3)
    sync_groups(Actor.for_command("sync_coze_groups", admin))
    [new] = coze_sim.seed_groups(1, name_prefix="console")

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.imported, result.updated, result.gone) == (1, 0, 0)
    assert VoiceprintGroup.objects.get(coze_id=new).name.startswith("console")


def test_a_group_registered_after_the_sync_started_is_not_marked_gone(coze_sim, admin, device):
    # Stands for a creation that finished while the list was being read.
    VoiceprintGroup.objects.create(
        coze_id="7500000000000000001",
        name="just made",
        device=device,
        created_at=timezone.now() + timedelta(seconds=30),
    )

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert result.gone == 0
    assert VoiceprintGroup.objects.get().state == "active"


def test_a_group_renamed_in_vpadmin_during_the_sync_keeps_its_new_name(coze_sim, admin, operator):
    [group_id] = coze_sim.seed_groups(1)
    sync_groups(Actor.for_command("sync_coze_groups", admin))
    group = VoiceprintGroup.objects.get()
    # The rename reached our database after the list (with the old name) was read.
    group.name = "new name"
    group.save()
    AuditEntry.objects.create(
        action="group.update",
        outcome="success",
        actor=operator,
        target_type="voiceprintgroup",
        target_id=str(group.pk),
    )

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert result.updated == 0
    assert VoiceprintGroup.objects.get().name == "new name"


def test_a_list_that_changes_while_it_is_read_marks_nothing_gone(coze_sim, admin):
    ids = coze_sim.seed_groups(250)
    sync_groups(Actor.for_command("sync_coze_groups", admin))
    newest = ids[-1]  # listed first
    coze_sim.add_fault("delay", method="GET", seconds=0.3, after=1)
    remover = threading.Timer(0.1, coze_sim.groups.pop, args=[newest])
    remover.start()

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))
    remover.join()

    assert (result.gone, result.remote_total) == (0, 249)
    assert "no group was marked gone" in result.entry.explanation
    assert VoiceprintGroup.objects.active().count() == 250
    assert (
        sync_groups(Actor.for_command("sync_coze_groups", admin)).gone == 1
    )  # the next sync sees a steady list


# Failing halfway


def test_an_error_on_page_3_changes_nothing(coze_sim, admin):
    ids = coze_sim.seed_groups(900)
    sync_groups(Actor.for_command("sync_coze_groups", admin))
    coze_sim.edit_group(ids[0], name="renamed")
    del coze_sim.groups[ids[1]]
    coze_sim.seed_groups(1)
    before, account = register(), CozeAccount.objects.get()
    coze_sim.requests.clear()
    coze_sim.add_fault("http", method="GET", after=2)

    with pytest.raises(SyncFailed) as failed:
        sync_groups(Actor.for_command("sync_coze_groups", admin))

    calls = list_calls(coze_sim)
    assert len(calls) == 3
    assert failed.value.page == 3
    assert str(failed.value).startswith("Coze's list call failed on page 3: internal server error")
    assert "HTTP 500" in str(failed.value)
    assert register() == before
    assert (CozeAccount.objects.get().remote_total, CozeAccount.objects.get().synced_at) == (
        account.remote_total,
        account.synced_at,
    )
    row = sync_rows()[-1]
    assert row == failed.value.entry
    assert (row.outcome, row.coze_code, row.http_status) == ("failure", 5000, 500)
    assert row.coze_logid == calls[-1]["logid"] != ""
    assert "page 3" in row.explanation and "nothing was changed" in row.explanation


def test_a_refusal_on_the_first_page_changes_nothing(coze_sim, admin):
    coze_sim.seed_groups(3)
    coze_sim.add_fault("code", code=4101, msg="no permission: listVoiceprintGroup", status=403)

    with pytest.raises(SyncFailed) as failed:
        sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert failed.value.page == 1 and "listVoiceprintGroup" in str(failed.value)
    assert not VoiceprintGroup.objects.exists() and not CozeAccount.objects.exclude(synced_at=None)
    row = sync_rows()[-1]
    assert (row.outcome, row.coze_code, row.http_status) == ("failure", 4101, 403)


def test_a_timeout_on_page_2_is_unknown_and_changes_nothing(coze_sim, admin, settings):
    coze_sim.seed_groups(250)
    settings.COZE_TIMEOUT = 0.2
    coze_sim.add_fault("delay", method="GET", seconds=0.5, after=1)

    with pytest.raises(SyncFailed) as failed:
        sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert failed.value.page == 2
    assert str(failed.value) == "Coze's list call got no answer on page 2: no answer within 0.2 s"
    assert not VoiceprintGroup.objects.exists() and not CozeAccount.objects.exclude(synced_at=None)
    row = sync_rows()[-1]
    assert (row.outcome, row.coze_code, row.http_status) == ("unknown", None, None)
    assert "page 2" in row.explanation


# Resolving creations that got no answer


@pytest.mark.parametrize("outcome", ["pending", "unknown"])
def test_an_attempt_whose_group_is_on_coze_is_registered(
    coze_sim, admin, operator, device, outcome
):
    made = attempt(outcome, actor=operator, device=device, desc="by the window", coze_logid="")
    group_id = seed_one(coze_sim, "kitchen", "by the window", created_at=made.created_at)
    coze_sim.seed_groups(2, name_prefix="other")

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.resolved, result.imported) == (1, 2)
    group = VoiceprintGroup.objects.get(coze_id=group_id)
    assert (group.device, group.creator, group.created_at) == (device, operator, made.created_at)
    assert (group.name, group.desc, group.state) == ("kitchen", "by the window", "active")
    resolution = AuditEntry.objects.get(resolves=made)
    assert (resolution.action, resolution.outcome) == ("group.create", "success")
    assert (resolution.target_type, resolution.target_id) == ("voiceprintgroup", str(group.pk))
    assert (resolution.device, resolution.actor) == (device, admin)
    assert (resolution.sent_name, resolution.sent_desc) == ("kitchen", "by the window")
    assert group_id in resolution.explanation
    made.refresh_from_db()
    assert made.outcome == "unknown"  # a pending row never stays pending
    assert "1 attempt resolved" in result.entry.explanation


def test_the_attempts_logid_is_kept_on_the_registered_group(coze_sim, admin, operator, device):
    made = attempt("unknown", actor=operator, device=device, coze_logid="20250609163542ABCDEF")
    seed_one(coze_sim, "kitchen", created_at=made.created_at + timedelta(seconds=1))

    sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert VoiceprintGroup.objects.get().logid == "20250609163542ABCDEF"


def test_an_attempt_with_no_group_on_coze_is_concluded_not_created(
    coze_sim, admin, operator, device
):
    made = attempt("unknown", actor=operator, device=device)
    # Same name, but made long before the attempt: someone else's group.
    seed_one(coze_sim, "kitchen", created_at=made.created_at - timedelta(hours=1))

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.resolved, result.imported) == (1, 1)
    resolution = AuditEntry.objects.get(resolves=made)
    assert (resolution.outcome, resolution.device, resolution.sent_name) == (
        "failure",
        device,
        "kitchen",
    )
    assert resolution.explanation == "Not on Coze, so the group was not created."
    assert VoiceprintGroup.objects.get().device is None

    again = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (again.resolved, again.changed) == (0, False)
    assert AuditEntry.objects.filter(resolves__isnull=False).count() == 1


def test_a_registered_group_is_not_claimed_by_an_attempt(coze_sim, admin, operator, device):
    made = attempt("unknown", actor=operator, device=device)
    group_id = seed_one(coze_sim, "kitchen", created_at=made.created_at)
    VoiceprintGroup.objects.create(coze_id=group_id, name="kitchen")

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert result.resolved == 1
    assert AuditEntry.objects.get(resolves=made).outcome == "failure"


def test_a_young_pending_attempt_is_left_to_its_creation(coze_sim, admin, operator, device):
    young = attempt("pending", actor=operator, device=device, age=timedelta(seconds=5))
    seed_one(coze_sim, "kitchen", created_at=young.created_at)
    [other] = coze_sim.seed_groups(1)

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.resolved, result.imported) == (0, 1)
    assert list(VoiceprintGroup.objects.values_list("coze_id", flat=True)) == [other]
    young.refresh_from_db()
    assert young.outcome == "pending" and not AuditEntry.objects.filter(resolves=young).exists()


def test_an_older_attempt_like_one_under_way_waits_for_the_next_sync(
    coze_sim, admin, operator, device
):
    older = attempt("unknown", actor=operator, device=device, age=timedelta(minutes=3))
    attempt("pending", actor=operator, device=device, age=timedelta(seconds=5))
    seed_one(coze_sim, "kitchen", created_at=timezone.now())

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.resolved, result.imported, result.changed) == (0, 0, False)
    assert not AuditEntry.objects.filter(resolves=older).exists()


def test_two_attempts_with_one_name_get_two_groups_closest_first(coze_sim, admin, operator):
    hall = Device.objects.create(name="Hall", serial="HALL")
    car = Device.objects.create(name="Car", serial="CAR")
    first = attempt("unknown", actor=operator, device=hall, age=timedelta(minutes=10))
    second = attempt("unknown", actor=operator, device=car, age=timedelta(minutes=8))
    # Both groups lie in the first attempt's window; the nearer one is its own.
    for_second = seed_one(coze_sim, "kitchen", created_at=second.created_at + timedelta(seconds=1))
    for_first = seed_one(coze_sim, "kitchen", created_at=first.created_at + timedelta(seconds=20))

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.resolved, result.imported) == (2, 0)
    assert VoiceprintGroup.objects.get(coze_id=for_first).device == hall
    assert VoiceprintGroup.objects.get(coze_id=for_second).device == car
    assert AuditEntry.objects.get(resolves=first).target_label == "kitchen"
    assert AuditEntry.objects.get(resolves=second).outcome == "success"


def test_a_create_that_got_no_answer_is_registered_by_the_next_sync(
    operator_client, operator, device, coze_sim, admin
):
    # Coze makes the group; the answer never arrives, nor that of the lookup that follows.
    coze_sim.add_fault("drop", times=2)
    operator_client.post(
        "/groups/new/",
        {"name": "hallway", "desc": "by the door", "device": device.pk, "submission": uuid.uuid4()},
    )
    made = AuditEntry.objects.get(action="group.create")
    assert AuditEntry.objects.get(action="group.check").outcome == "failure"
    assert made.outcome == "unknown" and not VoiceprintGroup.objects.exists()

    result = sync_groups(Actor.for_command("sync_coze_groups", admin))

    assert (result.resolved, result.imported) == (1, 0)
    group = VoiceprintGroup.objects.get()
    assert group.coze_id == next(iter(coze_sim.groups))
    assert (group.name, group.device, group.creator) == ("hallway", device, operator)
    assert AuditEntry.objects.get(resolves=made).target_id == str(group.pk)
    assert quota.used() == 1


# The command


def run_sync(*args):
    out = StringIO()
    call_command("sync_coze_groups", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_counts_then_no_changes(coze_sim, db):
    coze_sim.seed_groups(450)

    first = run_sync()

    assert first.startswith(
        "imported 450, updated 0, gone 0, resolved 0; Coze reports 450 groups; 3 list calls; "
    )
    assert first.rstrip().endswith(" s") and "No changes." not in first
    row = sync_rows()[-1]
    assert (row.outcome, row.actor, row.actor_label) == (
        "success",
        None,
        "manage.py sync_coze_groups",
    )
    assert "No changes." in run_sync()
    assert run_sync("--quiet") == ""


def test_the_command_fails_with_the_reason(coze_sim, db):
    coze_sim.seed_groups(3)
    coze_sim.add_fault("http", method="GET", status=503)

    with pytest.raises(CommandError) as failed:
        run_sync()

    assert "nothing was changed" in str(failed.value)
    assert "page 1" in str(failed.value) and "HTTP 503" in str(failed.value)
    assert not VoiceprintGroup.objects.exists()
    assert sync_rows()[-1].outcome == "failure"


def test_the_command_exits_non_zero_on_failure(coze_sim, db, capsys):
    coze_sim.add_fault("http", method="GET")

    with pytest.raises(SystemExit) as exit_status:
        SyncCommand().run_from_argv(["manage.py", "sync_coze_groups"])

    assert exit_status.value.code == 1
    assert "page 1" in capsys.readouterr().err
