"""Several Coze accounts: the account row gets its name (the configured account's: the
existing row is "default") and base URL; every group belongs to an account, and so do the
devices that have groups, the audit rows and the jobs that concern one. Coze ids are
unique per account. Existing data becomes the default account's, unchanged.

Audit rows are never rewritten: an older row without an account was the default's. On
SQLite a new column may rebuild the audit table, which drops the immutability triggers of
migration 0005: they are installed again here (a frozen copy, as in 0012).
"""

import django.db.models.deletion

import groups.models.accounts
from django.conf import settings
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


def to_the_default_account(apps, schema_editor):
    CozeAccount = apps.get_model("groups", "CozeAccount")
    VoiceprintGroup = apps.get_model("groups", "VoiceprintGroup")
    Device = apps.get_model("groups", "Device")
    Job = apps.get_model("groups", "Job")
    base = getattr(settings, "COZE_API_BASE", "").rstrip("/")[:200]
    if schema_editor.connection.vendor == "postgresql":
        # Migration 0002 made the row with an explicit id (1), which PostgreSQL's sequence
        # did not count: the next account's row would take the same id.
        schema_editor.execute(
            "SELECT setval(pg_get_serial_sequence('groups_cozeaccount', 'id'), "
            "(SELECT COALESCE(MAX(id), 1) FROM groups_cozeaccount))"
        )
    account = CozeAccount.objects.order_by("pk").first()
    if account is None:
        if not VoiceprintGroup.objects.exists():
            return  # an empty register: the row is made on demand
        account = CozeAccount.objects.create(name="default", base_url=base)
    else:
        CozeAccount.objects.filter(pk=account.pk).update(name="default", base_url=base)
    VoiceprintGroup.objects.update(account=account)
    with_groups = VoiceprintGroup.objects.filter(device__isnull=False).values("device")
    Device.objects.filter(pk__in=with_groups).update(account=account)
    Job.objects.filter(kind="sync").update(account=account)
    if schema_editor.connection.vendor == "postgresql":
        # The foreign keys' deferred checks now, so the tables can be altered below.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0023_token_refusals"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="cozeaccount",
            options={
                "ordering": ["pk"],
                "verbose_name": "Coze account",
                "verbose_name_plural": "Coze accounts",
            },
        ),
        migrations.AddField(
            model_name="cozeaccount",
            name="name",
            field=models.CharField(default="default", max_length=32, verbose_name="account"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="cozeaccount",
            name="base_url",
            field=models.CharField(blank=True, max_length=200, verbose_name="Coze API base"),
        ),
        migrations.AddField(
            model_name="voiceprintgroup",
            name="account",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="groups",
                to="groups.cozeaccount",
                verbose_name="account",
            ),
        ),
        migrations.AddField(
            model_name="device",
            name="account",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="devices",
                to="groups.cozeaccount",
                verbose_name="account",
            ),
        ),
        migrations.AddField(
            model_name="job",
            name="account",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="groups.cozeaccount",
                verbose_name="account",
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="groups.cozeaccount",
                verbose_name="account",
            ),
        ),
        migrations.RunPython(reinstall_sqlite_guard, migrations.RunPython.noop),
        migrations.RunPython(to_the_default_account, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="voiceprintgroup",
            name="account",
            field=models.ForeignKey(
                default=groups.models.accounts.default_account,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="groups",
                to="groups.cozeaccount",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="voiceprintgroup",
            name="coze_id",
            field=models.CharField(max_length=32, verbose_name="Coze id"),
        ),
        migrations.AddConstraint(
            model_name="voiceprintgroup",
            constraint=models.UniqueConstraint(
                fields=("account", "coze_id"), name="group_coze_id_per_account"
            ),
        ),
        migrations.AlterField(
            model_name="cozeaccount",
            name="name",
            field=models.CharField(max_length=32, unique=True, verbose_name="account"),
        ),
    ]
