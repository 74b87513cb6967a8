"""The database refuses to change a final audit row or to remove any row.

PostgreSQL: one trigger function refuses UPDATE of a final row, and DELETE or TRUNCATE
unless the transaction set `vpadmin.prune` to 'on' (prune_audit does, nothing else).
SQLite: triggers refuse UPDATE of a final row and every DELETE; prune_audit drops the
DELETE trigger and recreates it within its own transaction.

The SQL is a frozen copy written for this migration, not imported: a migration must keep
installing what it installed when it was written, whatever groups/immutability.py (the
current SQLite DELETE trigger, which prune_audit recreates) becomes later. A test checks
that the trigger installed here and the one prune_audit recreates are the same.
"""

from django.db import migrations

POSTGRESQL_INSTALL = """
CREATE FUNCTION groups_auditentry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.outcome <> 'pending' THEN
            RAISE EXCEPTION 'audit entries are immutable: entry % is final', OLD.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF current_setting('vpadmin.prune', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'audit entries are immutable: they cannot be removed'
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'manage.py prune_audit is the one way to remove old entries';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER groups_auditentry_guard_rows
    BEFORE UPDATE OR DELETE ON groups_auditentry
    FOR EACH ROW EXECUTE FUNCTION groups_auditentry_guard();
CREATE TRIGGER groups_auditentry_guard_truncate
    BEFORE TRUNCATE ON groups_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION groups_auditentry_guard();
"""
POSTGRESQL_REMOVE = """
DROP TRIGGER IF EXISTS groups_auditentry_guard_truncate ON groups_auditentry;
DROP TRIGGER IF EXISTS groups_auditentry_guard_rows ON groups_auditentry;
DROP FUNCTION IF EXISTS groups_auditentry_guard();
"""

SQLITE_INSTALL = [
    """
CREATE TRIGGER groups_auditentry_no_update
BEFORE UPDATE ON groups_auditentry
FOR EACH ROW WHEN OLD.outcome <> 'pending'
BEGIN
    SELECT RAISE(ABORT, 'audit entries are immutable');
END
""",
    """
CREATE TRIGGER groups_auditentry_no_delete
BEFORE DELETE ON groups_auditentry
FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, 'audit entries are immutable');
END
""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS groups_auditentry_no_update",
    "DROP TRIGGER IF EXISTS groups_auditentry_no_delete",
]

INSTALL = {"postgresql": [POSTGRESQL_INSTALL], "sqlite": SQLITE_INSTALL}
REMOVE = {"postgresql": [POSTGRESQL_REMOVE], "sqlite": SQLITE_REMOVE}


def install_guard(apps, schema_editor):
    # Other engines get no guard: vpadmin runs on PostgreSQL and SQLite.
    for sql in INSTALL.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql, params=None)


def remove_guard(apps, schema_editor):
    for sql in REMOVE.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0004_audit_references"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "base_manager_name": "objects",
                "ordering": ["-created_at", "-id"],
                "permissions": [("export_auditentry", "Can export the audit log")],
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit entries",
            },
        ),
        migrations.RunPython(install_guard, remove_guard),
    ]
