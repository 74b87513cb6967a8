"""PostgreSQL keeps the audit log's row count in a one-row table, so that the log's pages
need not count 100,000 rows each time (5 ms and more there; SQLite counts them at once).

Statement triggers add each INSERT's rows, take each DELETE's (prune_audit) and reset the
count on TRUNCATE; they run inside the statement's transaction, so a rollback undoes them
too and the count is exact. AuditEntryQuerySet.count() reads it for an unfiltered count.
SQLite gets nothing here.
"""

from django.db import migrations

POSTGRESQL_INSTALL = """
CREATE TABLE groups_auditentry_size (
    id smallint PRIMARY KEY CHECK (id = 1),
    rows bigint NOT NULL CHECK (rows >= 0)
);
INSERT INTO groups_auditentry_size (id, rows) SELECT 1, count(*) FROM groups_auditentry;
CREATE FUNCTION groups_auditentry_size() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE groups_auditentry_size SET rows = rows + (SELECT count(*) FROM added);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE groups_auditentry_size SET rows = rows - (SELECT count(*) FROM removed);
    ELSE
        UPDATE groups_auditentry_size SET rows = 0;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER groups_auditentry_size_insert
    AFTER INSERT ON groups_auditentry REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION groups_auditentry_size();
CREATE TRIGGER groups_auditentry_size_delete
    AFTER DELETE ON groups_auditentry REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION groups_auditentry_size();
CREATE TRIGGER groups_auditentry_size_truncate
    AFTER TRUNCATE ON groups_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION groups_auditentry_size();
"""
POSTGRESQL_REMOVE = """
DROP TRIGGER IF EXISTS groups_auditentry_size_truncate ON groups_auditentry;
DROP TRIGGER IF EXISTS groups_auditentry_size_delete ON groups_auditentry;
DROP TRIGGER IF EXISTS groups_auditentry_size_insert ON groups_auditentry;
DROP FUNCTION IF EXISTS groups_auditentry_size();
DROP TABLE IF EXISTS groups_auditentry_size;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_INSTALL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0007_audit_action_time_and_pending"),
    ]

    operations = [migrations.RunPython(install, remove)]
