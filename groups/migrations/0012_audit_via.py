"""Audit rows say how their actor acted: web, command, job or API.

On SQLite a new column may rebuild the table, which drops the immutability triggers of
migration 0005: they are installed again here (a frozen copy, as in 0009).
"""

from django.db import migrations, models

SQLITE_GUARD = [
    """
CREATE TRIGGER IF NOT EXISTS groups_auditentry_no_update
BEFORE UPDATE ON groups_auditentry
FOR EACH ROW WHEN OLD.outcome <> 'pending'
BEGIN
    SELECT RAISE(ABORT, 'audit entries are immutable');
END
""",
    """
CREATE TRIGGER IF NOT EXISTS groups_auditentry_no_delete
BEFORE DELETE ON groups_auditentry
FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, 'audit entries are immutable');
END
""",
]


def reinstall_sqlite_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_GUARD:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('groups', '0011_device_serial_canonical'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='via',
            field=models.CharField(choices=[('web', 'web'), ('command', 'command'), ('job', 'job'), ('api', 'API')], default='web', max_length=16, verbose_name='acting through'),
        ),
        migrations.RunPython(reinstall_sqlite_guard, migrations.RunPython.noop),
    ]
