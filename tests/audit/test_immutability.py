"""The audit log cannot be altered: not through the models, not with SQL."""

import pytest
from django.db import DatabaseError, connection, transaction

from groups import audit
from groups.actors import Actor
from groups.immutability import SQLITE_CREATE_DELETE_TRIGGER, removal_allowed
from groups.models import AuditEntry, AuditLogImmutable

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="what PostgreSQL alone enforces"
)
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's triggers")


@pytest.fixture
def final(operator, device):
    actor = Actor(user=operator, username=operator.username)
    return audit.record(actor, "group.create", "failure", device=device, detail="as it happened")


@pytest.fixture
def pending(operator, device):
    actor = Actor(user=operator, username=operator.username)
    return audit.record(actor, "group.create", "pending", device=device)


def stored(entry):
    return AuditEntry.objects.values().get(pk=entry.pk)


def refused_by_the_database(sql, params=()):
    """True when the database itself refuses `sql` (its transaction survives)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as error:
        assert "audit entries are immutable" in str(error)
        return True
    return False


# The model layer


def test_saving_a_final_row_is_refused(final):
    before = stored(final)
    final.detail = "rewritten"
    with pytest.raises(AuditLogImmutable, match="is final"):
        final.save()
    assert stored(final) == before


def test_a_new_object_cannot_overwrite_a_final_row_by_its_id(final):
    before = stored(final)
    with pytest.raises(AuditLogImmutable):
        AuditEntry(pk=final.pk, action="group.create", outcome="success").save()
    assert stored(final) == before


def test_a_pending_row_is_finished_once_and_only_once(pending):
    audit.finish(pending, "success", coze_logid="LOG1")
    assert (stored(pending)["outcome"], stored(pending)["coze_logid"]) == ("success", "LOG1")

    with pytest.raises(ValueError, match="already final"):
        audit.finish(pending, "failure")
    assert stored(pending)["outcome"] == "success"


def test_deleting_a_row_is_refused(final, pending):
    for entry in (final, pending):
        with pytest.raises(AuditLogImmutable, match="prune_audit"):
            entry.delete()
    assert AuditEntry.objects.count() == 2


def test_deleting_through_a_queryset_is_refused(final, pending, operator):
    for queryset in [
        AuditEntry.objects.all(),
        AuditEntry.objects.filter(outcome="pending"),
        operator.audit_entries.all(),
        AuditEntry._base_manager.all(),
    ]:
        with pytest.raises(AuditLogImmutable):
            queryset.delete()
    assert AuditEntry.objects.count() == 2


def test_updating_final_rows_through_a_queryset_is_refused(final, pending):
    before = stored(final)
    for queryset in [
        AuditEntry.objects.filter(pk=final.pk),
        AuditEntry.objects.all(),
        AuditEntry._base_manager.all(),
    ]:
        with pytest.raises(AuditLogImmutable):
            queryset.update(detail="rewritten")
    assert stored(final) == before and stored(pending)["detail"] == ""


def test_pending_rows_can_still_be_updated_through_a_queryset(pending):
    assert AuditEntry.objects.filter(pk=pending.pk).update(detail="under way") == 1
    assert stored(pending)["detail"] == "under way"


def test_bulk_update_and_upserts_are_refused(final):
    final.detail = "rewritten"
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.bulk_update([final], ["detail"])
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.bulk_create(
            [AuditEntry(pk=final.pk, action="group.create", outcome="success")],
            update_conflicts=True,
            update_fields=["outcome"],
            unique_fields=["id"],
        )
    assert stored(final)["detail"] == "as it happened"


def test_deleting_a_user_or_a_device_leaves_their_rows_untouched(final, operator, device):
    before, ids = stored(final), (operator.pk, device.pk)
    operator.delete()
    device.delete()
    assert stored(final) == before
    assert (before["actor_id"], before["device_id"], before["actor_username"]) == (*ids, "olga")


# The database itself


def test_sql_cannot_update_a_final_row(final):
    update = "UPDATE groups_auditentry SET outcome = 'success' WHERE id = %s"
    assert refused_by_the_database(update, [final.pk])
    assert refused_by_the_database("UPDATE groups_auditentry SET detail = ''")
    assert stored(final)["outcome"] == "failure"


def test_sql_can_finish_a_pending_row(pending):
    update = "UPDATE groups_auditentry SET outcome = 'success' WHERE id = %s"
    assert not refused_by_the_database(update, [pending.pk])
    assert stored(pending)["outcome"] == "success"
    assert refused_by_the_database(update.replace("success", "failure"), [pending.pk])


def test_sql_cannot_delete_any_row(final, pending):
    assert refused_by_the_database("DELETE FROM groups_auditentry")
    assert refused_by_the_database("DELETE FROM groups_auditentry WHERE id = %s", [pending.pk])
    assert AuditEntry.objects.count() == 2


@on_postgresql
def test_postgresql_refuses_truncate(final):
    with connection.cursor() as cursor:
        # The device's foreign key checks (deferred) now: else they, not the guard, stop
        # a TRUNCATE of the devices ("pending trigger events").
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert refused_by_the_database("TRUNCATE groups_auditentry")
    assert refused_by_the_database("TRUNCATE groups_auditentry, groups_device CASCADE")
    assert AuditEntry.objects.count() == 1


@on_postgresql
def test_postgresql_lets_nothing_update_a_final_row_even_while_pruning(final):
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('vpadmin.prune', 'on', false)")
    try:
        assert refused_by_the_database("UPDATE groups_auditentry SET detail = ''")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('vpadmin.prune', 'off', false)")


def test_the_guard_is_back_after_a_failed_removal(final):
    with pytest.raises(RuntimeError), removal_allowed(connection):
        raise RuntimeError("interrupted")
    assert refused_by_the_database("DELETE FROM groups_auditentry")


@on_sqlite
def test_prune_recreates_the_delete_trigger_the_migration_installed(db):
    # Migration 0005 keeps its own copy of this trigger; they must not drift apart.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s "
            "ORDER BY name",
            ["groups_auditentry"],
        )
        triggers = dict(cursor.fetchall())
    # With the two that keep the log's count (migration 0025) and the three that keep the
    # open creations (0029), which never refuse.
    assert set(triggers) == {
        "groups_auditentry_no_delete",
        "groups_auditentry_no_update",
        "groups_auditentry_size_insert",
        "groups_auditentry_size_delete",
        "groups_opencreation_insert",
        "groups_opencreation_update",
        "groups_opencreation_delete",
    }
    installed = triggers["groups_auditentry_no_delete"]
    assert installed.split() == SQLITE_CREATE_DELETE_TRIGGER.split()
