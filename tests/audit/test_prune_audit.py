"""`manage.py prune_audit`: the one way to remove old audit rows, keeping what is needed."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups.management.commands import prune_audit
from groups.models import AuditEntry, VoiceprintGroup

pytestmark = pytest.mark.django_db


def entry(days_ago, action="auth.login", outcome="success", **fields):
    created_at = timezone.now() - timedelta(days=days_ago)
    return AuditEntry.objects.create(
        action=action, outcome=outcome, created_at=created_at, **fields
    )


def creation_of(group, days_ago, **fields):
    return entry(
        days_ago,
        "group.create",
        target_type="voiceprintgroup",
        target_id=str(group.pk),
        target_label=group.name,
        **fields,
    )


def make_group(name, state="active"):
    return VoiceprintGroup.objects.create(coze_id=f"id-{name}", name=name, state=state)


def prune(*args):
    out = StringIO()
    call_command("prune_audit", *args, stdout=out)
    return out.getvalue()


def remaining():
    return set(AuditEntry.objects.exclude(action="audit.prune").values_list("pk", flat=True))


def prune_rows():
    return list(AuditEntry.objects.filter(action="audit.prune"))


def refuses_delete():
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM groups_auditentry")
    except DatabaseError:
        return True
    return False


def test_it_removes_old_final_rows_and_keeps_recent_and_pending_ones():
    old = [entry(40), entry(31, "group.create", "failure"), entry(90, "permission.denied")]
    recent, old_pending = entry(29), entry(400, "group.create", "pending")

    output = prune("--older-than", "30")

    assert remaining() == {recent.pk, old_pending.pk}
    assert output.startswith("Pruned the audit log: removed 3 audit entries older than")
    assert len(output.strip().splitlines()) == 1
    assert not AuditEntry.objects.filter(pk__in=[e.pk for e in old])


def test_it_keeps_the_creation_rows_of_groups_that_still_exist():
    live, gone = make_group("live"), make_group("gone", "gone")
    deleted = make_group("deleted", "deleted")
    kept = [creation_of(live, 100), creation_of(gone, 100)]
    creation_of(deleted, 100)
    creation_of(live, 100, outcome="failure")  # a failed attempt is not the creation row
    entry(100, "group.update", target_type="voiceprintgroup", target_id=str(live.pk))

    prune("--older-than", "30")

    assert remaining() == {e.pk for e in kept}


def test_it_keeps_an_attempt_and_its_resolution_together():
    live = make_group("live")
    attempt = entry(100, "group.create", "unknown", sent_name="live")
    resolution = creation_of(live, 100, resolves=attempt)
    recent_attempt = entry(100, "group.create", "unknown")
    recent_resolution = entry(2, "group.create", "failure", resolves=recent_attempt)
    lost_attempt = entry(100, "group.create", "unknown")
    entry(100, "group.create", "failure", resolves=lost_attempt)

    output = prune("--older-than", "30")

    expected = {attempt.pk, resolution.pk, recent_attempt.pk, recent_resolution.pk}
    assert remaining() == expected
    assert "removed 2 audit entries" in output and "kept 3 audit entries still needed" in output


def test_it_leaves_one_row_saying_what_it_removed():
    for action, outcome in [("auth.login", "success")] * 2 + [("group.create", "failure")]:
        entry(40, action, outcome)
    creation_of(make_group("live"), 40)

    before = timezone.now()
    prune("--older-than", "30")

    [row] = prune_rows()
    assert (row.action, row.outcome, row.actor, row.actor_label) == (
        "audit.prune",
        "success",
        None,
        "manage.py prune_audit",
    )
    cutoff = (before - timedelta(days=30)).date().isoformat()
    assert row.explanation.startswith(f"Removed 3 rows older than {cutoff}")
    assert "(auth.login 2, group.create 1)" in row.explanation
    assert row.explanation.endswith("kept 1 still needed.")
    assert row.facts["by_action"] == {"auth.login": 2, "group.create": 1}


def test_a_dry_run_changes_nothing():
    entry(40)
    entry(40)
    before = remaining()

    output = prune("--older-than", "30", "--dry-run")

    assert output.startswith("Would remove 2 audit entries older than")
    assert "Nothing was changed." in output
    assert remaining() == before and not prune_rows()


def test_it_records_the_administrator_who_pruned(administrator):
    entry(40)
    prune("--older-than", "30", "--actor", "ada")
    [row] = prune_rows()
    assert (row.actor, row.actor_label) == (administrator, "ada")
    assert not remaining()


def test_a_superuser_may_prune(django_user_model):
    django_user_model.objects.create_superuser("root", password="pw")
    prune("--older-than", "30", "--actor", "root")
    assert prune_rows()[0].actor_username == "root"


@pytest.mark.parametrize(
    "username, message",
    [("olga", "not an Administrator"), ("nobody", "No user named"), ("gone", "not an active")],
)
def test_only_an_active_administrator_may_prune(operator, make_user, username, message):
    gone = make_user("gone", "Administrator")
    gone.is_active = False
    gone.save()
    old = entry(40)
    with pytest.raises(CommandError, match=message):
        prune("--older-than", "30", "--actor", username)
    assert remaining() == {old.pk} and not prune_rows()


@pytest.mark.parametrize("days", ["0", "-3", "soon"])
def test_it_needs_at_least_one_whole_day(days):
    entry(40)
    with pytest.raises(CommandError, match="at least 1"):
        prune("--older-than", days)
    assert remaining() and not prune_rows()


def test_it_requires_older_than():
    with pytest.raises(CommandError, match="older-than"):
        call_command("prune_audit")


def test_it_deletes_in_batches(monkeypatch):
    monkeypatch.setattr(prune_audit, "BATCH_SIZE", 3)
    attempt = entry(40, "group.create", "unknown")
    for _ in range(6):
        entry(40)
    entry(40, "group.create", "failure", resolves=attempt)  # its pair lands in a later batch

    with CaptureQueriesContext(connection) as queries:
        prune("--older-than", "30")

    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE FROM")]
    assert len(deletes) == 3 and not remaining()


def test_the_database_still_refuses_deletes_after_a_prune():
    entry(40)
    entry(1)
    prune("--older-than", "30")
    assert refuses_delete()
    assert len(remaining()) == 1


def test_a_failed_prune_removes_nothing(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("groups.audit.record", broken)
    entry(40)
    with pytest.raises(RuntimeError):
        prune("--older-than", "30")
    assert len(remaining()) == 1 and refuses_delete()


# Records of processing people's voices: kept 3 years whatever --older-than says (PIPL
# art. 56).

TWO_YEARS, FOUR_YEARS = 730, 1461


def test_a_voiceprints_deletion_is_kept_three_years_whatever_older_than_says():
    young = entry(TWO_YEARS, "voiceprint.delete", target_type="voiceprint", target_id="7")
    entry(FOUR_YEARS, "voiceprint.delete", target_type="voiceprint", target_id="8")
    entry(TWO_YEARS, "group.create", "failure")  # not about a voice: --older-than decides

    output = prune("--older-than", "365")

    assert remaining() == {young.pk}
    assert "removed 2 audit entries" in output
    assert "kept 1 audit entry still needed, 1 of them kept 3 years by law (PIPL art. 56)" in output


@pytest.mark.parametrize("action", prune_audit.PROCESSING_RECORDS)
def test_every_record_of_processing_is_kept_three_years(action):
    young, old = entry(TWO_YEARS, action), entry(FOUR_YEARS, action)
    prune("--older-than", "1")
    assert young.pk in remaining() and old.pk not in remaining()


def test_the_records_the_law_keeps_are_those_about_voices_consents_people_and_sweeps():
    assert set(prune_audit.PROCESSING_RECORDS) >= {
        "voiceprint.create",
        "voiceprint.update",
        "voiceprint.delete",
        "voiceprint.identify",
        "consent.create",
        "consent.withdraw",
        "person.create",
        "person.update",
        "person.report",
        "retention.sweep",
    }
    assert not {"group.create", "auth.login", "audit.prune"} & set(prune_audit.PROCESSING_RECORDS)


def test_the_three_years_are_counted_in_calendar_years():
    since = prune_audit.law_cutoff()
    kept = AuditEntry.objects.create(
        action="consent.withdraw", outcome="success", created_at=since + timedelta(hours=1)
    )
    AuditEntry.objects.create(
        action="consent.withdraw", outcome="success", created_at=since - timedelta(hours=1)
    )

    prune("--older-than", "30")

    assert remaining() == {kept.pk}
    assert (timezone.now() - since).days in (1095, 1096)  # 1096 across a 29 February


def test_a_leap_day_is_three_years_back_to_the_28th():
    leap = timezone.now().replace(year=2028, month=2, day=29)
    assert prune_audit.years_before(leap, 3).date().isoformat() == "2025-02-28"


def test_a_groups_deletion_is_kept_when_the_group_held_someones_voiceprint():
    from .. import factories

    theirs, nobodys = make_group("theirs", "deleted"), make_group("nobody's", "deleted")
    factories.voiceprint(theirs, person=factories.enrollee("Mum"), state="deleted")
    factories.voiceprint(nobodys, state="deleted")  # made elsewhere, nobody's voice
    kept = entry(TWO_YEARS, "group.delete", target_type="voiceprintgroup", target_id=str(theirs.pk))
    entry(TWO_YEARS, "group.delete", target_type="voiceprintgroup", target_id=str(nobodys.pk))
    entry(FOUR_YEARS, "group.delete", target_type="voiceprintgroup", target_id=str(theirs.pk))

    prune("--older-than", "365")

    assert remaining() == {kept.pk}


def test_an_attempt_the_law_keeps_keeps_its_resolution():
    attempt = entry(TWO_YEARS, "voiceprint.create", "unknown")
    resolution = entry(TWO_YEARS, "group.check", "success", resolves=attempt)

    prune("--older-than", "365")

    assert remaining() == {attempt.pk, resolution.pk}


def test_the_prune_row_and_a_dry_run_say_how_many_the_law_kept():
    entry(TWO_YEARS, "voiceprint.identify")
    entry(TWO_YEARS, "person.report")
    entry(TWO_YEARS, "auth.login")

    dry = prune("--older-than", "365", "--dry-run")
    assert "would keep 2 audit entries still needed, 2 of them kept 3 years by law" in dry

    prune("--older-than", "365")
    [row] = prune_rows()
    assert (row.facts["removed"], row.facts["kept"], row.facts["kept_by_law"]) == (1, 2, 2)
    assert row.explanation.endswith(
        "kept 2 still needed. Of those, 2 are records of processing people's voices, which "
        "the law (PIPL art. 56) keeps for 3 years."
    )


def test_older_than_three_years_the_law_keeps_nothing_more():
    entry(FOUR_YEARS, "voiceprint.delete")
    entry(FOUR_YEARS + 400, "consent.create")

    output = prune("--older-than", str(FOUR_YEARS - 1))

    assert not remaining() and "by law" not in output
