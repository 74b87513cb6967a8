"""The database's guard on the audit log, and the one way past it: `removal_allowed()`.

Migration 0005 installs triggers that refuse any UPDATE of a final audit row and any
DELETE (PostgreSQL also refuses TRUNCATE). Only `prune_audit` lifts the DELETE guard, for
its own transaction. SQLite rebuilds a table (dropping its triggers) when some field
changes are migrated: a later migration that alters `AuditEntry` must reinstall them.
"""

from contextlib import contextmanager

from django.db import transaction

TABLE = "groups_auditentry"
PRUNE_SETTING = "vpadmin.prune"  # PostgreSQL: 'on' for one transaction lets DELETE through

# SQLite has no session settings to consult, so prune_audit drops this trigger and
# recreates it in the same transaction (SQLite DDL is transactional). Migration 0005 keeps
# its own frozen copy; tests/test_immutability.py checks that the two agree.
SQLITE_DELETE_TRIGGER = "groups_auditentry_no_delete"
SQLITE_CREATE_DELETE_TRIGGER = f"""
CREATE TRIGGER {SQLITE_DELETE_TRIGGER}
BEFORE DELETE ON {TABLE}
FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, 'audit entries are immutable');
END
"""
SQLITE_DROP_DELETE_TRIGGER = f"DROP TRIGGER {SQLITE_DELETE_TRIGGER}"


@contextmanager
def removal_allowed(connection):
    """Let DELETE (and PostgreSQL's TRUNCATE) of audit rows past the guard, in one transaction.

    Everything in the block commits or rolls back together, the guard's return included.
    """
    vendor = connection.vendor
    with transaction.atomic(using=connection.alias):
        if vendor == "postgresql":
            _execute(connection, "SELECT set_config(%s, 'on', true)", [PRUNE_SETTING])
        elif vendor == "sqlite":
            _execute(connection, SQLITE_DROP_DELETE_TRIGGER)
        yield
        if vendor == "postgresql":
            _execute(connection, "SELECT set_config(%s, 'off', true)", [PRUNE_SETTING])
        elif vendor == "sqlite":
            _execute(connection, SQLITE_CREATE_DELETE_TRIGGER)


def _execute(connection, sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
