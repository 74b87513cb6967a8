"""The database keeps the open creations (migration 0029): whatever writes to the log, the
table holds exactly the creations whose outcome is not known yet and no row resolves."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from groups import quota
from groups.models import AuditEntry, CozeAccount, OpenCreation

CREATE = AuditEntry.Action.GROUP_CREATE
Outcome = AuditEntry.Outcome


def kept():
    return set(OpenCreation.objects.values_list("entry_id", flat=True))


def found():
    """The rule, asked of the whole log as it was before the table."""
    resolved = AuditEntry.objects.filter(resolves=OuterRef("pk"))
    return set(
        AuditEntry.objects.filter(action=CREATE, outcome__in=[Outcome.PENDING, Outcome.UNKNOWN])
        .exclude(Exists(resolved))
        .values_list("pk", flat=True)
    )


def test_the_table_follows_every_way_a_creation_opens_and_closes(db):
    pending = AuditEntry.objects.create(action=CREATE, outcome=Outcome.PENDING)
    answered = AuditEntry.objects.create(action=CREATE, outcome=Outcome.PENDING)
    lost = AuditEntry.objects.create(action=CREATE, outcome=Outcome.PENDING)
    AuditEntry.objects.create(action=CREATE, outcome=Outcome.FAILURE)
    AuditEntry.objects.create(action="group.update", outcome=Outcome.UNKNOWN)
    assert kept() == found() == {pending.pk, answered.pk, lost.pk}

    answered.outcome = Outcome.SUCCESS  # the answer came
    answered.save()
    AuditEntry.objects.filter(pk=lost.pk).update(outcome=Outcome.UNKNOWN)  # concluded
    assert kept() == found() == {pending.pk, lost.pk}

    # A sync finds it: the resolving row closes it, though the row itself stays unknown.
    AuditEntry.objects.create(action=CREATE, outcome=Outcome.FAILURE, resolves=lost)
    assert kept() == found() == {pending.pk}

    # A check whose own answer is lost again: the new row is open, the old one closed.
    again = AuditEntry.objects.create(action=CREATE, outcome=Outcome.UNKNOWN, resolves=pending)
    assert kept() == found() == {again.pk}


def test_a_rollback_bulk_inserts_and_pruning_keep_it_exact(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        AuditEntry.objects.create(action=CREATE, outcome=Outcome.PENDING)
        raise RuntimeError("rolled back")
    assert kept() == found() == set()

    long_ago = timezone.now() - timedelta(days=800)
    old = AuditEntry.objects.bulk_create(
        AuditEntry(action=CREATE, outcome=Outcome.UNKNOWN, created_at=long_ago) for _ in range(30)
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(action=CREATE, outcome=Outcome.FAILURE, created_at=long_ago, resolves=entry)
        for entry in old[:20]
    )
    recent = AuditEntry.objects.create(action=CREATE, outcome=Outcome.UNKNOWN)
    assert kept() == found()
    assert len(kept()) == 11

    call_command("prune_audit", "--older-than", "365")
    assert kept() == found()
    assert recent.pk in kept()


def test_each_is_kept_with_its_account_and_asked_for_by_account(db):
    default, other = CozeAccount.default(), CozeAccount.objects.create(name="cn2")
    before = AuditEntry.objects.create(action=CREATE, outcome=Outcome.UNKNOWN)  # none named
    mine = AuditEntry.objects.create(action=CREATE, outcome=Outcome.PENDING, account=default)
    theirs = AuditEntry.objects.create(action=CREATE, outcome=Outcome.PENDING, account=other)
    kept_accounts = dict(OpenCreation.objects.values_list("entry_id", "account_id"))
    assert kept_accounts == {before.pk: None, mine.pk: default.pk, theirs.pk: other.pk}
    unresolved = AuditEntry.objects.unresolved_creations
    assert set(unresolved(default)) == {before, mine}  # the default's include those naming none
    assert set(unresolved(other)) == {theirs}
    assert set(unresolved()) == {before, mine, theirs}


def test_the_quota_and_the_creation_checks_read_it(db):
    entry = AuditEntry.objects.create(action=CREATE, outcome=Outcome.PENDING)
    assert list(AuditEntry.objects.unresolved_creations()) == [entry]
    assert quota.used() == 1
    OpenCreation.objects.all().delete()  # the table, not the log, says what is open
    assert not AuditEntry.objects.unresolved_creations().exists()
    assert quota.used() == 0


def test_its_triggers_are_in_place_once_every_migration_has_run(db):
    """A migration that rebuilds the SQLite table drops its triggers: it must put these
    back (migration 0029 says how)."""
    if connection.vendor == "sqlite":
        listed = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s"
    else:
        listed = "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass"
    with connection.cursor() as cursor:
        cursor.execute(listed, ["groups_auditentry"])
        triggers = {name for (name,) in cursor.fetchall()}
    names = {f"groups_opencreation_{event}" for event in ("insert", "update", "delete")}
    assert names <= triggers
