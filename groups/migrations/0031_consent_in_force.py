"""Until when each person's consents allow keeping their voiceprints, kept by the
database: the people without a consent in force (the dashboard's voiceprints nobody
vouches for, the sweep) are found along an index instead of asking each person of the
register for a consent in force (5-8 ms at 5,000 people, on every dashboard).

Row triggers give each new person a row (no consent yet: NULL) and recompute, for the
person of each consent written (and the one it left, if moved), the latest keeping date
among their consents not withdrawn, inside the writing statement's transaction: a
rollback undoes them too, and no code path can forget it. ConsentInForce.lapsed() reads it.

A later migration that rebuilds the SQLite tables of people or consents drops these
triggers: it must reinstall them (SQLITE_INSTALL, `IF NOT EXISTS`) and refill (FILL);
tests/people/test_consent_in_force.py checks that they are in place.
"""

import django.db.models.deletion
from django.db import migrations, models

LATEST = """(
    SELECT MAX(c.keep_until) FROM groups_consent c
    WHERE c.person_id = p.id AND c.withdrawn_at IS NULL
)"""
FILL = f"""
INSERT INTO groups_consentinforce (person_id, until)
SELECT p.id, {LATEST} FROM groups_person p
"""


def _sqlite_recompute(ids):
    return f"""
        INSERT OR REPLACE INTO groups_consentinforce (person_id, until)
        SELECT p.id, {LATEST} FROM groups_person p WHERE p.id IN ({", ".join(ids)});
    """


SQLITE_INSTALL = [
    """
    CREATE TRIGGER IF NOT EXISTS groups_consentinforce_person_insert
    AFTER INSERT ON groups_person FOR EACH ROW
    BEGIN
        INSERT OR IGNORE INTO groups_consentinforce (person_id, until) VALUES (NEW.id, NULL);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS groups_consentinforce_person_delete
    AFTER DELETE ON groups_person FOR EACH ROW
    BEGIN
        DELETE FROM groups_consentinforce WHERE person_id = OLD.id;
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS groups_consentinforce_insert
    AFTER INSERT ON groups_consent FOR EACH ROW
    BEGIN {_sqlite_recompute(["NEW.person_id"])} END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS groups_consentinforce_update
    AFTER UPDATE OF person_id, keep_until, withdrawn_at ON groups_consent FOR EACH ROW
    BEGIN {_sqlite_recompute(["OLD.person_id", "NEW.person_id"])} END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS groups_consentinforce_delete
    AFTER DELETE ON groups_consent FOR EACH ROW
    BEGIN {_sqlite_recompute(["OLD.person_id"])} END
    """,
]
SQLITE_REMOVE = [
    f"DROP TRIGGER IF EXISTS groups_consentinforce_{name}"
    for name in ("delete", "update", "insert", "person_delete", "person_insert")
]

POSTGRESQL_INSTALL = f"""
CREATE FUNCTION groups_consentinforce_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO groups_consentinforce (person_id, until) VALUES (NEW.id, NULL)
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM groups_consentinforce WHERE person_id = OLD.id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE FUNCTION groups_consentinforce() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY[NEW.person_id];
    ELSIF TG_OP = 'UPDATE' THEN
        ids := ARRAY[OLD.person_id, NEW.person_id];
    ELSE
        ids := ARRAY[OLD.person_id];
    END IF;
    -- Wait for any other transaction writing these people's consents, then count with a
    -- snapshot taken after it (each statement takes its own): else a consent withdrawn
    -- here while another is added there left each transaction's own sum.
    PERFORM 1 FROM groups_consentinforce WHERE person_id = ANY(ids) ORDER BY person_id
    FOR UPDATE;
    INSERT INTO groups_consentinforce (person_id, until)
    SELECT p.id, {LATEST} FROM groups_person p WHERE p.id = ANY(ids)
    ON CONFLICT (person_id) DO UPDATE SET until = EXCLUDED.until;
    RETURN NULL;
END;
$$;
CREATE TRIGGER groups_consentinforce_person_insert
    AFTER INSERT ON groups_person FOR EACH ROW EXECUTE FUNCTION groups_consentinforce_person();
CREATE TRIGGER groups_consentinforce_person_delete
    AFTER DELETE ON groups_person FOR EACH ROW EXECUTE FUNCTION groups_consentinforce_person();
CREATE TRIGGER groups_consentinforce_insert
    AFTER INSERT ON groups_consent FOR EACH ROW EXECUTE FUNCTION groups_consentinforce();
CREATE TRIGGER groups_consentinforce_update
    AFTER UPDATE OF person_id, keep_until, withdrawn_at ON groups_consent FOR EACH ROW
    EXECUTE FUNCTION groups_consentinforce();
CREATE TRIGGER groups_consentinforce_delete
    AFTER DELETE ON groups_consent FOR EACH ROW EXECUTE FUNCTION groups_consentinforce();
"""
POSTGRESQL_REMOVE = """
DROP TRIGGER IF EXISTS groups_consentinforce_delete ON groups_consent;
DROP TRIGGER IF EXISTS groups_consentinforce_update ON groups_consent;
DROP TRIGGER IF EXISTS groups_consentinforce_insert ON groups_consent;
DROP TRIGGER IF EXISTS groups_consentinforce_person_delete ON groups_person;
DROP TRIGGER IF EXISTS groups_consentinforce_person_insert ON groups_person;
DROP FUNCTION IF EXISTS groups_consentinforce();
DROP FUNCTION IF EXISTS groups_consentinforce_person();
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
        ("groups", "0030_group_search_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConsentInForce",
            fields=[
                (
                    "person",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="groups.person",
                    ),
                ),
                ("until", models.DateField(null=True)),
            ],
            options={
                "indexes": [models.Index(fields=["until"], name="consent_in_force_until")],
            },
        ),
        migrations.RunPython(install, remove),
    ]
