"""Ten times the scale (issue 16): SQLite keeps the audit log's row count too; indexes for
the device list's order, the voiceprints' keeping dates (theirs and their consents'), the
quota's figures and the creations without a known outcome.

PostgreSQL has kept it since migration 0008; SQLite counted the whole log on every page of
it, which at 1,000,000 rows costs tens of milliseconds each time. Row triggers add each
INSERT's row and take each DELETE's (prune_audit), inside the statement's transaction, so
a rollback undoes them too and the count is exact; AuditEntryQuerySet.count() reads it.

A later migration that rebuilds the SQLite table (altering some AuditEntry fields does)
drops these triggers with the immutability ones: it must reinstall them (SQLITE_INSTALL,
`IF NOT EXISTS`) and recount (SQLITE_RECOUNT); tests/audit/test_audit_size.py checks that
they are in place once every migration has run.
"""

from django.db import migrations, models

SQLITE_INSTALL = [
    """
    CREATE TABLE IF NOT EXISTS groups_auditentry_size (
        id integer PRIMARY KEY CHECK (id = 1),
        rows integer NOT NULL CHECK (rows >= 0)
    )
    """,
    """
    CREATE TRIGGER IF NOT EXISTS groups_auditentry_size_insert
    AFTER INSERT ON groups_auditentry
    FOR EACH ROW
    BEGIN
        UPDATE groups_auditentry_size SET rows = rows + 1 WHERE id = 1;
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS groups_auditentry_size_delete
    AFTER DELETE ON groups_auditentry
    FOR EACH ROW
    BEGIN
        UPDATE groups_auditentry_size SET rows = rows - 1 WHERE id = 1;
    END
    """,
]
SQLITE_RECOUNT = """
INSERT OR REPLACE INTO groups_auditentry_size (id, rows)
SELECT 1, count(*) FROM groups_auditentry
"""
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS groups_auditentry_size_delete",
    "DROP TRIGGER IF EXISTS groups_auditentry_size_insert",
    "DROP TABLE IF EXISTS groups_auditentry_size",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in [*SQLITE_INSTALL, SQLITE_RECOUNT]:
            schema_editor.execute(statement, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REMOVE:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0024_coze_accounts"),
    ]

    operations = [
        migrations.RunPython(install, remove),
        migrations.AddIndex(
            model_name="device",
            index=models.Index(fields=["name", "id"], name="device_name"),
        ),
        migrations.AddIndex(
            model_name="voiceprint",
            index=models.Index(fields=["state", "keep_until"], name="voiceprint_state_keep_until"),
        ),
        migrations.AddIndex(
            model_name="voiceprint",
            index=models.Index(fields=["consent", "state"], name="voiceprint_consent_state"),
        ),
        migrations.AddIndex(
            model_name="voiceprint",
            index=models.Index(fields=["group", "state"], name="voiceprint_group_state"),
        ),
        migrations.AddIndex(
            model_name="voiceprintgroup",
            index=models.Index(fields=["state", "device"], name="group_state_device"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["action", "outcome"], name="audit_action_outcome"),
        ),
    ]
