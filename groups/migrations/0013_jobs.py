"""The job register (background work: syncs now, imports and retention runs later); every
role sees it (the view_job permission)."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

JOB_READERS = ["Viewer", "Operator", "Administrator"]


def jobs_for_every_role(apps, schema_editor):
    # Permissions are normally made after all migrations; the roles need this one now.
    groups_app = apps.get_app_config("groups")
    groups_app.models_module = True
    create_permissions(groups_app, apps=apps, verbosity=0)
    groups_app.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view_job = Permission.objects.get(content_type__app_label="groups", codename="view_job")
    for group in Group.objects.filter(name__in=JOB_READERS):
        group.permissions.add(view_job)


def no_jobs_for_roles(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="groups", codename="view_job").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('groups', '0012_audit_via'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Job',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('kind', models.CharField(choices=[('sync', 'Sync with Coze')], max_length=32, verbose_name='kind')),
                ('state', models.CharField(choices=[('queued', 'queued'), ('running', 'running'), ('succeeded', 'succeeded'), ('failed', 'failed'), ('interrupted', 'interrupted')], default='queued', max_length=16, verbose_name='state')),
                ('params', models.JSONField(blank=True, default=dict, verbose_name='parameters')),
                ('username', models.CharField(blank=True, max_length=150, verbose_name='username')),
                ('via', models.CharField(choices=[('web', 'web'), ('command', 'command'), ('job', 'job'), ('api', 'API')], default='web', max_length=16, verbose_name='started through')),
                ('program', models.CharField(blank=True, max_length=300, verbose_name='program')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='queued at')),
                ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='started at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='runs')),
                ('worker', models.CharField(blank=True, max_length=200, verbose_name='worker')),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True, verbose_name='last sign of life')),
                ('task_result_id', models.CharField(blank=True, max_length=64, verbose_name='task result')),
                ('done', models.PositiveIntegerField(default=0, verbose_name='done')),
                ('total', models.PositiveIntegerField(blank=True, null=True, verbose_name='total')),
                ('results', models.JSONField(blank=True, default=list, verbose_name='results')),
                ('summary', models.JSONField(blank=True, null=True, verbose_name='summary')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='jobs', to=settings.AUTH_USER_MODEL, verbose_name='started by')),
            ],
            options={
                'verbose_name': 'job',
                'verbose_name_plural': 'jobs',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['created_at', 'id'], name='job_time'), models.Index(condition=models.Q(('state__in', ['queued', 'running'])), fields=['kind', 'state'], name='job_under_way')],
            },
        ),
        migrations.RunPython(jobs_for_every_role, no_jobs_for_roles),
    ]
