"""The sync covers voiceprints: after the groups, the voiceprints of every group that
changed on Coze are read and applied (imported with their Coze creator, renamed, marked
gone, back again), group by group; an unchanged account costs only its group list calls.
The simulator on a real socket, the real database."""

import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups import audit, coze
from groups.actors import Actor
from groups.coze.simulator import OWNER
from groups.models import AuditEntry, CozeAccount, Job, Voiceprint, VoiceprintGroup
from groups.services.sync import sync_groups
from groups.services.whoami import token_user
from tests import factories

pytestmark = pytest.mark.django_db

GROUPS = "/v1/audio/voiceprint_groups"
ME = "/v1/users/me"
COLLEAGUE = "7400000000000000042"  # another user of the team, in Coze's console


def sync():
    return sync_groups(Actor.for_command("sync_coze_groups"))


def features(group_id):
    return f"{GROUPS}/{group_id}/features"


def calls(sim):
    """Every API request the simulator received, as (method, path)."""
    return [(r["method"], r["path"]) for r in sim.requests]


def group_with_voiceprints(sim, count, *, creator_id=COLLEAGUE, name_prefix="remote voiceprint"):
    """A group on Coze holding `count` voiceprints made a minute ago (by a colleague)."""
    [group_id] = sim.seed_groups(1, created_at=int(time.time()) - 3600)
    ids = sim.seed_voiceprints(group_id, count, creator_id=creator_id, name_prefix=name_prefix)
    # Made a minute ago: not in the second the sync reads them (see SAME_MOMENT).
    sim.edit_group(group_id, updated_at=int(time.time()) - 60)
    return group_id, ids


def registered(coze_id):
    return Voiceprint.objects.get(coze_id=coze_id)


def sync_row():
    return AuditEntry.objects.filter(action="group.sync").latest("pk")


# Importing and keeping up


def test_a_colleagues_voiceprints_are_imported_with_their_creator(coze_sim):
    group_id, ids = group_with_voiceprints(coze_sim, 2)

    result = sync()

    voiceprints = result.voiceprints
    assert (voiceprints.imported, voiceprints.updated, voiceprints.gone) == (2, 0, 0)
    assert (voiceprints.lists, voiceprints.unread, result.changed) == (1, 0, True)
    group = VoiceprintGroup.objects.get(coze_id=group_id)
    for coze_id in ids:
        voiceprint, remote = registered(coze_id), coze_sim.voiceprints[coze_id]
        assert (voiceprint.group, voiceprint.name, voiceprint.state) == (
            group,
            remote["name"],
            "active",
        )
        assert (voiceprint.person, voiceprint.consent, voiceprint.enrolled_by) == (None, None, None)
        assert (voiceprint.coze_creator_id, voiceprint.coze_creator_name) == (
            COLLEAGUE,
            "colleague_0042",
        )
        made = datetime.fromtimestamp(remote["created_at"], UTC)
        assert voiceprint.remote_created_at == voiceprint.created_at == made
        assert voiceprint.remote_updated_at == datetime.fromtimestamp(remote["updated_at"], UTC)
    row = sync_row()
    assert row == result.entry and row.outcome == "success"
    assert {key: row.facts[key] for key in row.facts if "voiceprint" in key} == {
        "voiceprints_imported": 2,
        "voiceprints_updated": 0,
        "voiceprints_gone": 0,
        "voiceprint_lists": 1,
        "voiceprints_unread": 0,
    }
    assert row.explanation == (
        "1 imported, 0 updated, 0 gone, 0 attempts resolved (1 on Coze, 1 list call); "
        "voiceprints: 2 imported, 0 updated, 0 gone (1 list call)"
    )
    assert calls(coze_sim) == [("GET", GROUPS), ("GET", ME), ("GET", features(group_id))]


def test_an_unchanged_account_costs_only_its_group_list_calls(coze_sim):
    coze_sim.seed_groups(997, created_at=int(time.time()) - 3600)
    changing, _ = group_with_voiceprints(coze_sim, 2)
    for _ in range(2):
        group_with_voiceprints(coze_sim, 3)
    first = sync()
    assert (first.voiceprints.imported, first.voiceprints.lists) == (8, 3)
    assert VoiceprintGroup.objects.count() == 1000
    coze_sim.requests.clear()

    second = sync()

    assert calls(coze_sim) == [("GET", GROUPS)] * 5
    assert (second.changed, second.voiceprints.lists) == (False, 0)
    assert second.entry.explanation == "no changes (1,000 on Coze, 5 list calls)"

    # One group changes on Coze: its list call, and no other.
    coze_sim.seed_voiceprints(changing, 1, creator_id=COLLEAGUE, name_prefix="new")
    coze_sim.requests.clear()

    third = sync()

    assert calls(coze_sim) == [("GET", GROUPS)] * 5 + [("GET", features(changing))]
    assert (third.voiceprints.imported, third.voiceprints.lists, third.updated) == (1, 1, 1)
    assert Voiceprint.objects.count() == 9


def test_a_voiceprint_renamed_on_coze_is_renamed_in_the_register(coze_sim):
    group_id, [renamed, kept] = group_with_voiceprints(coze_sim, 2)
    sync()
    coze_sim.edit_voiceprint(renamed, name="Grandma", desc="the armchair by the window")

    result = sync()

    assert (result.voiceprints.updated, result.voiceprints.imported) == (1, 0)
    voiceprint = registered(renamed)
    assert (voiceprint.name, voiceprint.desc) == ("Grandma", "the armchair by the window")
    assert voiceprint.remote_updated_at == datetime.fromtimestamp(
        coze_sim.voiceprints[renamed]["updated_at"], UTC
    )
    assert registered(kept).name == coze_sim.voiceprints[kept]["name"]
    assert "voiceprints: 0 imported, 1 updated, 0 gone (1 list call)" in result.entry.explanation


def test_a_voiceprint_deleted_on_coze_is_marked_gone(coze_sim):
    group_id, [deleted, kept] = group_with_voiceprints(coze_sim, 2)
    sync()
    coze_sim.delete_voiceprint(deleted)

    result = sync()

    assert (result.voiceprints.gone, result.voiceprints.lists) == (1, 1)
    gone = registered(deleted)
    assert (gone.state, gone.ended_at is not None) == ("gone", True)
    assert registered(kept).state == "active"
    assert VoiceprintGroup.objects.get(coze_id=group_id).feature_count == 1


def test_a_gone_voiceprint_that_is_back_is_active_again_and_a_deleted_one_stays_deleted(
    coze_sim,
):
    group_id, [back, deleted] = group_with_voiceprints(coze_sim, 2)
    sync()
    ended = timezone.now() - timedelta(days=1)
    Voiceprint.objects.filter(coze_id=back).update(state="gone", ended_at=ended)
    Voiceprint.objects.filter(coze_id=deleted).update(state="deleted", ended_at=ended)
    coze_sim.edit_voiceprint(deleted, name="changed after")

    result = sync()

    assert (result.voiceprints.updated, result.voiceprints.imported) == (1, 0)
    assert (registered(back).state, registered(back).ended_at) == ("active", None)
    still = registered(deleted)
    assert (still.state, still.name) == ("deleted", "remote voiceprint 2")


def test_a_group_deleted_on_coze_takes_its_voiceprints_with_it(coze_sim):
    group_id, ids = group_with_voiceprints(coze_sim, 2, creator_id=None)  # ours: we may delete
    sync()
    coze.get_client().delete_group(group_id)
    coze_sim.requests.clear()

    result = sync()

    assert (result.gone, result.voiceprints.gone, result.voiceprints.lists) == (1, 2, 0)
    assert calls(coze_sim) == [("GET", GROUPS)]  # a gone group's voiceprints are not asked for
    for coze_id in ids:
        assert registered(coze_id).state == "gone" and registered(coze_id).ended_at is not None
    assert "voiceprints: 0 imported, 0 updated, 2 gone (0 list calls)" in result.entry.explanation
    group = VoiceprintGroup.objects.get(coze_id=group_id)
    assert (group.state, group.voiceprints_read_at) == ("gone", None)  # read again if back


def test_a_group_that_comes_back_has_its_voiceprints_back(coze_sim):
    group_id, ids = group_with_voiceprints(coze_sim, 2)
    sync()
    hidden = coze_sim.groups.pop(group_id)  # missing from one listing
    assert sync().voiceprints.gone == 2
    coze_sim.groups[group_id] = hidden

    result = sync()

    assert (result.updated, result.voiceprints.updated, result.voiceprints.lists) == (1, 2, 1)
    assert {registered(coze_id).state for coze_id in ids} == {"active"}


# What the sync leaves to others, or to the next sync


def test_an_enrollment_under_way_is_left_to_its_own_process(coze_sim, operator):
    group_id, [enrolled_elsewhere] = group_with_voiceprints(coze_sim, 1)
    sync()
    group = VoiceprintGroup.objects.get(coze_id=group_id)
    marker = (group.voiceprints_read_at, group.voiceprints_read_updated_at)
    # An enrollment sent "Mei" to Coze, which made it; its answer is not recorded yet.
    pending = AuditEntry.objects.create(
        action="voiceprint.create",
        outcome="pending",
        actor=operator,
        target_type="voiceprintgroup",
        target_id=str(group.pk),
        sent_name="Mei",
        created_at=timezone.now() - timedelta(seconds=5),
    )
    [mei] = coze_sim.seed_voiceprints(group_id, 1, name_prefix="Mei")
    coze_sim.edit_voiceprint(mei, name="Mei")
    coze_sim.delete_voiceprint(enrolled_elsewhere)

    result = sync()

    assert (result.voiceprints.imported, result.voiceprints.gone) == (0, 0)
    assert not Voiceprint.objects.filter(coze_id=mei).exists()
    assert registered(enrolled_elsewhere).state == "active"  # not while one is under way
    group.refresh_from_db()
    # The marker stayed: the group is read again next time.
    assert (group.voiceprints_read_at, group.voiceprints_read_updated_at) == marker

    audit.finish(pending, "failure")  # its process ended without registering it
    coze_sim.requests.clear()
    again = sync()

    assert calls(coze_sim)[-1] == ("GET", features(group_id))
    assert (again.voiceprints.imported, again.voiceprints.gone) == (1, 1)
    assert registered(mei).person is None


def test_a_voiceprint_registered_after_the_list_was_read_is_not_marked_gone(coze_sim):
    group_id, _ = group_with_voiceprints(coze_sim, 1)
    group = VoiceprintGroup.objects.create(coze_id=group_id, name="kitchen")
    # Stands for an enrollment that finished while the group's list was being read.
    just_made = factories.voiceprint(group, created_at=timezone.now() + timedelta(seconds=30))

    result = sync()

    assert (result.voiceprints.imported, result.voiceprints.gone) == (1, 0)
    assert registered(just_made.coze_id).state == "active"
    group.refresh_from_db()
    assert group.voiceprints_read_at is None  # read again by the next sync


def test_a_voiceprint_renamed_in_vpadmin_during_the_sync_keeps_its_new_name(coze_sim, operator):
    group_id, [renamed] = group_with_voiceprints(coze_sim, 1)
    sync()
    coze_sim.edit_voiceprint(renamed, desc="changed on Coze")  # the group changed meanwhile
    # The rename reached our database after the list (with the old name) was read.
    voiceprint = registered(renamed)
    Voiceprint.objects.filter(pk=voiceprint.pk).update(name="Nai Nai")
    AuditEntry.objects.create(
        action="voiceprint.update",
        outcome="success",
        actor=operator,
        target_type="voiceprint",
        target_id=str(voiceprint.pk),
    )

    result = sync()

    assert result.voiceprints.updated == 0
    assert registered(renamed).name == "Nai Nai"


def test_a_group_changed_in_the_second_it_was_read_is_read_once_more(coze_sim):
    [group_id] = coze_sim.seed_groups(1)
    coze_sim.seed_voiceprints(group_id, 1)  # just now: updated_at is this very second
    sync()
    coze_sim.requests.clear()

    sync()

    assert calls(coze_sim) == [("GET", GROUPS), ("GET", features(group_id))]
    # Read a minute after the change, it needs no reading again.
    VoiceprintGroup.objects.update(voiceprints_read_at=timezone.now() + timedelta(minutes=1))
    coze_sim.requests.clear()
    sync()
    assert calls(coze_sim) == [("GET", GROUPS)]


# Failing halfway


def test_a_groups_failing_voiceprint_list_leaves_it_to_the_next_sync(coze_sim):
    failing, [unread] = group_with_voiceprints(coze_sim, 1)
    working, [read] = group_with_voiceprints(coze_sim, 1)
    coze_sim.seed_groups(1, name_prefix="new group")
    coze_sim.add_fault("http", path=features(failing))

    result = sync()

    assert (result.imported, result.voiceprints.imported) == (3, 1)
    assert (result.voiceprints.unread, result.voiceprints.lists) == (1, 2)
    assert registered(read).group.coze_id == working
    assert not Voiceprint.objects.filter(coze_id=unread).exists()
    assert VoiceprintGroup.objects.get(coze_id=failing).voiceprints_read_at is None
    row = result.entry
    assert (row.outcome, row.facts["voiceprints_unread"]) == ("success", 1)
    assert row.explanation.endswith(
        "; voiceprints: 1 imported, 0 updated, 0 gone (2 list calls)"
        "; the voiceprints of 1 group could not be read: the next sync reads them"
    )
    coze_sim.requests.clear()

    again = sync()

    assert calls(coze_sim) == [("GET", GROUPS), ("GET", features(failing))]
    assert (again.voiceprints.imported, again.voiceprints.unread) == (1, 0)
    assert registered(unread).group.coze_id == failing


def test_coze_failing_for_three_groups_in_a_row_leaves_the_rest_to_the_next_sync(coze_sim):
    for _ in range(5):
        group_with_voiceprints(coze_sim, 1)
    # Every call after the one page of groups: who the token is, then the voiceprint lists.
    coze_sim.add_fault("http", method="GET", after=1, times=None)

    result = sync()

    assert (result.imported, result.voiceprints.lists, result.voiceprints.unread) == (5, 3, 5)
    assert not Voiceprint.objects.exists()
    assert [path for _, path in calls(coze_sim)].count(ME) == 1
    assert len(coze_sim.requests) == 1 + 1 + 3
    assert CozeAccount.objects.get().coze_user_id == ""  # Coze could not say: asked next time
    assert "the voiceprints of 5 groups could not be read" in result.entry.explanation


# Who the token is


def test_who_the_token_is_is_asked_of_coze_once_and_kept(coze_sim):
    assert token_user() == (OWNER["user_id"], "simulator")
    assert token_user() == (OWNER["user_id"], "simulator")

    assert calls(coze_sim) == [("GET", ME)]
    account = CozeAccount.objects.get()
    assert (account.coze_user_id, account.coze_user_name) == (OWNER["user_id"], "simulator")
    assert token_user(refresh=True) == (OWNER["user_id"], "simulator")
    assert calls(coze_sim) == [("GET", ME)] * 2


def test_who_the_token_is_is_kept_even_before_the_account_row_exists(coze_sim):
    CozeAccount.objects.all().delete()

    assert token_user() == (OWNER["user_id"], "simulator")

    assert CozeAccount.objects.get(name="default").coze_user_id == OWNER["user_id"]


@pytest.mark.parametrize("fault", [{"kind": "http"}, {"kind": "drop", "perform": False}])
def test_who_the_token_is_is_none_while_coze_cannot_say(coze_sim, fault, settings):
    settings.COZE_TIMEOUT = 0.5
    coze_sim.add_fault(**fault)

    assert token_user() is None

    assert not CozeAccount.objects.exclude(coze_user_id="").exists()
    assert token_user() == (OWNER["user_id"], "simulator")  # asked again, now it can


def test_the_sync_asks_who_the_token_is_only_while_it_is_not_known(coze_sim):
    sync()
    sync()

    assert [path for _, path in calls(coze_sim)] == [GROUPS, ME, GROUPS]
    assert CozeAccount.objects.get().coze_user_id == OWNER["user_id"]


# The command and the job


def test_the_command_prints_the_voiceprint_counts(coze_sim):
    failing, _ = group_with_voiceprints(coze_sim, 1)
    group_with_voiceprints(coze_sim, 2)
    coze_sim.add_fault("http", path=features(failing))
    out = StringIO()

    call_command("sync_coze_groups", stdout=out)

    printed = out.getvalue()
    counts = "; 1 list call; voiceprints imported 2, updated 0, gone 0; 2 voiceprint list calls; "
    assert counts in printed
    assert "The voiceprints of 1 group(s) could not be read" in printed
    assert Job.objects.get().summary["voiceprints_imported"] == 2


def test_the_jobs_page_tells_the_voiceprints_read_and_the_group_left_unread(
    administrator_client, coze_sim, run_jobs
):
    failing, _ = group_with_voiceprints(coze_sim, 1)
    group_with_voiceprints(coze_sim, 2)
    coze_sim.add_fault("http", path=features(failing), status=503)

    response = administrator_client.post("/groups/sync/")
    run_jobs()

    job = Job.objects.get()
    assert (job.state, job.done, job.total) == ("succeeded", 3, 3)  # 1 page, 2 groups
    assert [row["outcome"] for row in job.results] == ["success", "failure"]
    [failed_call] = [r for r in coze_sim.requests if r["path"] == features(failing)]
    assert job.results[1]["logid"] == failed_call["logid"] != ""
    page = administrator_client.get(response["Location"]).content.decode()
    assert "voiceprints: 2 imported, 0 updated, 0 gone (2 list calls)" in page
    assert "the voiceprints of 1 group could not be read" in page
    name = VoiceprintGroup.objects.get(coze_id=failing).name
    assert (
        f"The voiceprints of “{name}” could not be read (internal server error); the next "
        "sync reads them again." in page
    )


# The dashboard


def test_the_dashboard_flags_voiceprints_nobody_has_vouched_for(viewer_client, coze_sim):
    group_id, [imported] = group_with_voiceprints(coze_sim, 1, name_prefix="from console")
    sync()
    group = VoiceprintGroup.objects.get(coze_id=group_id)
    mei, li, old = factories.enrollee("Mei"), factories.enrollee("Li"), factories.enrollee("Old")
    factories.consent_for(mei)
    factories.consent_for(li, withdrawn_at=timezone.now())
    factories.consent_for(
        old, given_on=timezone.localdate() - timedelta(days=30), keep_until=timezone.localdate()
    )
    factories.voiceprint(group, "Mei's voice", person=mei)
    factories.voiceprint(group, "Li's voice", person=li)  # consent withdrawn
    factories.voiceprint(group, "Old's voice", person=old)  # kept until today: still in force
    factories.voiceprint(group, "Gone voice", state="gone")
    deleted_group = factories.group(state="deleted")
    factories.voiceprint(deleted_group, "In a deleted group")  # deleted on Coze with it

    page = viewer_client.get("/").content.decode()

    assert "2 voiceprints without consent on record" in page
    assert (
        "Voiceprints are biometric data: assign each to a person with consent on record, "
        "or delete it." in page
    )
    flagged = page[page.index('id="unvouched"') :]
    flagged = flagged[: flagged.index("</section>")]
    assert "from console 1" in flagged and "colleague_0042" in flagged
    assert f'<a href="/groups/{group.pk}/">{group.name}</a>' in flagged
    assert "Li&#x27;s voice" in flagged
    assert "Mei" not in flagged and "Old" not in flagged and "Gone voice" not in flagged
    assert "In a deleted group" not in flagged


def test_the_dashboard_says_nothing_when_every_voiceprint_is_vouched_for(viewer_client, db):
    mei = factories.enrollee("Mei")
    factories.consent_for(mei)
    factories.voiceprint(factories.group(), person=mei)

    page = viewer_client.get("/").content.decode()

    assert 'id="unvouched"' not in page and "biometric data" not in page


def test_the_dashboards_flag_reads_in_constant_queries(viewer_client, db):
    def dashboard_queries():
        with CaptureQueriesContext(connection) as queries:
            assert viewer_client.get("/").status_code == 200
        return len(queries)

    group = factories.group()
    factories.voiceprint(group)
    one = dashboard_queries()
    for n in range(30):
        factories.voiceprint(factories.group(), f"vp {n}", coze_creator_name=f"maker {n}")

    page = viewer_client.get("/").content.decode()
    assert dashboard_queries() == one
    assert "31 voiceprints without consent on record" in page and "And 21 more." in page
