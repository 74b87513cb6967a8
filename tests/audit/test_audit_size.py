"""The database keeps the audit log's count (migration 0008 on PostgreSQL, 0025 on SQLite):
it must always be the real one, and the log's pages read it instead of counting."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups.models import AuditEntry


def kept():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rows FROM groups_auditentry_size")
        return cursor.fetchone()[0]


def counted():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM groups_auditentry")
        return cursor.fetchone()[0]


def test_the_kept_count_follows_inserts_rollbacks_and_pruning(db):
    start = counted()
    assert kept() == start
    AuditEntry.objects.create(action="auth.login", outcome="success")
    long_ago = timezone.now() - timedelta(days=800)
    AuditEntry.objects.bulk_create(
        AuditEntry(action="auth.login", outcome="success", created_at=long_ago) for _ in range(300)
    )
    assert kept() == counted() == start + 301
    with pytest.raises(RuntimeError), transaction.atomic():
        AuditEntry.objects.create(action="auth.logout", outcome="success")
        raise RuntimeError("rolled back")
    assert kept() == counted() == start + 301
    call_command("prune_audit", "--older-than", "365")  # removes the 300, adds its own row
    assert kept() == counted() == start + 2


def test_the_whole_log_is_counted_from_the_kept_count_and_a_filtered_one_as_usual(db):
    AuditEntry.objects.bulk_create(
        AuditEntry(action="auth.login", outcome=outcome) for outcome in ["success", "refused"]
    )
    with CaptureQueriesContext(connection) as queries:
        assert AuditEntry.objects.count() == counted()
        assert AuditEntry.objects.filter(outcome="refused").count() == 1
        assert AuditEntry.objects.all()[:1].count() == 1
    assert "groups_auditentry_size" in queries[0]["sql"]
    assert "count(" in queries[1]["sql"].lower() and "count(" in queries[2]["sql"].lower()


def test_the_count_is_kept_by_triggers_every_migration_left_in_place(db):
    """A migration that rebuilds the SQLite table drops its triggers: it must put these
    back (migration 0025 says how), as it puts back the immutability ones."""
    if connection.vendor == "sqlite":
        found = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s"
    else:
        found = "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass"
    with connection.cursor() as cursor:
        cursor.execute(found, ["groups_auditentry"])
        triggers = {name for (name,) in cursor.fetchall()}
    assert {"groups_auditentry_size_insert", "groups_auditentry_size_delete"} <= triggers


def test_the_logs_first_and_last_pages_count_nothing(administrator_client):
    AuditEntry.objects.bulk_create(
        AuditEntry(action="auth.login", outcome="success") for _ in range(120)
    )
    for path in ("/audit/", "/audit/?page=3"):
        with CaptureQueriesContext(connection) as queries:
            assert administrator_client.get(path).status_code == 200
        statements = [q["sql"].upper() for q in queries.captured_queries]
        assert not [s for s in statements if "COUNT(" in s and 'GROUPS_AUDITENTRY"' in s]
