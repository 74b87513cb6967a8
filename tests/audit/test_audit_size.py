"""PostgreSQL keeps the audit log's count (migration 0008): it must always be the real one."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups.models import AuditEntry

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the count PostgreSQL keeps (SQLite counts)"
)


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
