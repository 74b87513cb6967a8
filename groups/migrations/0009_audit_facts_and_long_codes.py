"""Audit rows keep what happened as data (`facts`), and Coze's code as text (any Long).

On SQLite, altering `coze_code` rebuilds the table, which drops the immutability triggers
of migration 0005: they are installed again here (a frozen copy, as in 0005).
"""

from django.db import migrations, models

import groups.models

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
        ('groups', '0008_audit_size'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='facts',
            field=models.JSONField(blank=True, null=True, verbose_name='facts'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('group.create', 'create group'), ('group.update', 'update group'), ('group.delete', 'delete group'), ('group.sync', 'sync with Coze'), ('group.check', 'check with Coze'), ('device.create', 'create device'), ('device.update', 'update device'), ('device.delete', 'delete device'), ('auth.login', 'sign in'), ('auth.login_failed', 'failed sign-in'), ('auth.logout', 'sign out'), ('auth.locked', 'sign-in locked'), ('auth.unlocked', 'sign-in unlocked'), ('account.create', 'add person'), ('account.update', 'change person'), ('account.password', 'change password'), ('permission.denied', 'permission denied'), ('audit.prune', 'prune the audit log')], max_length=32, verbose_name='action'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='coze_code',
            field=groups.models.CozeCodeField(blank=True, max_length=40, null=True, verbose_name='Coze code'),
        ),
        migrations.RunPython(reinstall_sqlite_guard, migrations.RunPython.noop),
    ]
