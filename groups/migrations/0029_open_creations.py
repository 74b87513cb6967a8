"""The creations whose outcome is not known yet, kept by the database in a table of their
own: every quota figure, every creation's quota check and the dashboard read them.

Found in the log, they were every pending or unknown creation the log ever had (4,373 at a
million rows), each asked whether a later row resolves it, to keep the few that none did:
5-6 ms each time on SQLite, 3 ms on PostgreSQL, growing with the log. Here row triggers
on the audit log recompute, for the row written and the row it resolves, whether each is
an open creation (action `group.create`, outcome `pending` or `unknown`, no row resolving
it), with its account, inside the writing statement's transaction: a rollback undoes them too, and no code
path (a bulk insert, prune_audit, a command) can forget it.

A later migration that rebuilds the SQLite table (altering some AuditEntry fields does)
drops these triggers with the others: it must reinstall them (SQLITE_INSTALL, `IF NOT
EXISTS`) and refill the table (FILL); tests/audit/test_open_creations.py checks that they
are in place once every migration has run.
"""

import django.db.models.deletion
from django.db import migrations, models

OPEN = """
    a.action = 'group.create' AND a.outcome IN ('pending', 'unknown')
    AND NOT EXISTS (SELECT 1 FROM groups_auditentry r WHERE r.resolves_id = a.id)
"""
FILL = f"""
INSERT INTO groups_opencreation (entry_id, account_id)
SELECT a.id, a.account_id FROM groups_auditentry a WHERE {OPEN}
"""


def _sqlite_recompute(ids):
    """Statements making `ids` (SQL expressions: NEW.id, OLD.resolves_id ...) open or not."""
    listed = ", ".join(ids)
    return f"""
        DELETE FROM groups_opencreation WHERE entry_id IN ({listed});
        INSERT OR IGNORE INTO groups_opencreation (entry_id, account_id)
        SELECT a.id, a.account_id FROM groups_auditentry a WHERE a.id IN ({listed}) AND {OPEN};
    """


# Only rows that are, were or resolve a creation can change the table.
SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS groups_opencreation_insert
    AFTER INSERT ON groups_auditentry
    FOR EACH ROW WHEN NEW.action = 'group.create' OR NEW.resolves_id IS NOT NULL
    BEGIN {_sqlite_recompute(["NEW.id", "NEW.resolves_id"])} END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS groups_opencreation_update
    AFTER UPDATE OF action, outcome, resolves_id, account_id ON groups_auditentry
    FOR EACH ROW WHEN OLD.action = 'group.create' OR NEW.action = 'group.create'
        OR OLD.resolves_id IS NOT NULL OR NEW.resolves_id IS NOT NULL
    BEGIN {_sqlite_recompute(["NEW.id", "OLD.resolves_id", "NEW.resolves_id"])} END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS groups_opencreation_delete
    AFTER DELETE ON groups_auditentry
    FOR EACH ROW WHEN OLD.action = 'group.create' OR OLD.resolves_id IS NOT NULL
    BEGIN {_sqlite_recompute(["OLD.id", "OLD.resolves_id"])} END
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS groups_opencreation_delete",
    "DROP TRIGGER IF EXISTS groups_opencreation_update",
    "DROP TRIGGER IF EXISTS groups_opencreation_insert",
]

POSTGRESQL_INSTALL = f"""
CREATE FUNCTION groups_opencreation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY[NEW.id, NEW.resolves_id];
    ELSIF TG_OP = 'UPDATE' THEN
        ids := ARRAY[NEW.id, OLD.resolves_id, NEW.resolves_id];
    ELSE
        ids := ARRAY[OLD.id, OLD.resolves_id];
    END IF;
    -- Wait for any other transaction writing these rows, then decide with a snapshot
    -- taken after it (each statement takes its own).
    PERFORM 1 FROM groups_auditentry WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM groups_opencreation WHERE entry_id = ANY(ids);
    INSERT INTO groups_opencreation (entry_id, account_id)
    SELECT a.id, a.account_id FROM groups_auditentry a WHERE a.id = ANY(ids) AND {OPEN}
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER groups_opencreation_insert
    AFTER INSERT ON groups_auditentry FOR EACH ROW
    WHEN (NEW.action = 'group.create' OR NEW.resolves_id IS NOT NULL)
    EXECUTE FUNCTION groups_opencreation();
CREATE TRIGGER groups_opencreation_update
    AFTER UPDATE OF action, outcome, resolves_id, account_id ON groups_auditentry FOR EACH ROW
    WHEN (OLD.action = 'group.create' OR NEW.action = 'group.create'
        OR OLD.resolves_id IS NOT NULL OR NEW.resolves_id IS NOT NULL)
    EXECUTE FUNCTION groups_opencreation();
CREATE TRIGGER groups_opencreation_delete
    AFTER DELETE ON groups_auditentry FOR EACH ROW
    WHEN (OLD.action = 'group.create' OR OLD.resolves_id IS NOT NULL)
    EXECUTE FUNCTION groups_opencreation();
"""
POSTGRESQL_REMOVE = """
DROP TRIGGER IF EXISTS groups_opencreation_delete ON groups_auditentry;
DROP TRIGGER IF EXISTS groups_opencreation_update ON groups_auditentry;
DROP TRIGGER IF EXISTS groups_opencreation_insert ON groups_auditentry;
DROP FUNCTION IF EXISTS groups_opencreation();
"""


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in SQLITE_INSTALL:
            schema_editor.execute(statement, params=None)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_INSTALL, params=None)
    schema_editor.execute(FILL, params=None)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in SQLITE_REMOVE:
            schema_editor.execute(statement, params=None)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0028_group_state_account"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpenCreation",
            fields=[
                (
                    "entry",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="groups.auditentry",
                    ),
                ),
                (
                    "account",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="groups.cozeaccount",
                    ),
                ),
            ],
        ),
        migrations.RunPython(install, remove),
    ]
