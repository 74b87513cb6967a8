"""Indexes for the audit log's order and filters (measured by bench/run.py, issue 6).

Plain CREATE INDEX on both engines: SQLite does not rebuild the table, so migration 0005's
triggers stay in place.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('groups', '0005_audit_immutable'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['created_at', 'id'], name='audit_time'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['device', 'created_at'], name='audit_device_time'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['actor_username', 'created_at'], name='audit_username_time'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['actor', 'created_at'], name='audit_actor_time'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['target_type', 'target_id', 'created_at'], name='audit_target_time'),
        ),
    ]
