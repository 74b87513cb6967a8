"""The creations that may hold quota slots (pending, or unknown and perhaps unresolved),
indexed with their account and id, so that PostgreSQL counts them per account, and finds
which a later row resolves, from indexes alone: it replaces the partial index of their
action alone (migration 0014), made first so that no moment is without one. SQLite uses
neither (its queries name the condition by parameters)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0026_import_row_account"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(
                condition=models.Q(("outcome__in", ["pending", "unknown"])),
                fields=["action", "account", "id"],
                name="audit_open_account",
            ),
        ),
        migrations.RemoveIndex(
            model_name="auditentry",
            name="audit_open_action",
        ),
    ]
