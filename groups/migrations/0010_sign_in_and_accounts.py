"""Sign-in throttling's records (groups.throttling replaces django-axes); the admin is for
superusers only, so is_staff no longer follows the Administrator role; every role reads
the team page.

django-axes' own tables (axes_*) are left as they were: drop them by hand once no older
release runs against the database (`DROP TABLE axes_accessattempt, axes_accessfailurelog,
axes_accesslog`).
"""

from django.db import migrations, models

TEAM_READERS = ["Viewer", "Operator"]  # Administrators could already


def admin_for_superusers_only(apps, schema_editor):
    apps.get_model("auth", "User").objects.filter(is_superuser=False).update(is_staff=False)
    apps.get_model("auth", "User").objects.filter(is_superuser=True).update(is_staff=True)


def team_for_every_role(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view_user = Permission.objects.get(content_type__app_label="auth", codename="view_user")
    for group in Group.objects.filter(name__in=TEAM_READERS):
        group.permissions.add(view_user)


def team_for_administrators_only(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view_user = Permission.objects.get(content_type__app_label="auth", codename="view_user")
    for group in Group.objects.filter(name__in=TEAM_READERS):
        group.permissions.remove(view_user)


class Migration(migrations.Migration):

    dependencies = [
        ('groups', '0009_audit_facts_and_long_codes'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.CreateModel(
            name='SignInLock',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('username', 'username'), ('address', 'address'), ('device', 'known browser')], max_length=16, verbose_name='kind')),
                ('key', models.CharField(max_length=150, verbose_name='key')),
                ('username', models.CharField(blank=True, max_length=150, verbose_name='username')),
                ('failures', models.PositiveIntegerField(default=0, verbose_name='failed sign-ins')),
                ('window_started_at', models.DateTimeField(blank=True, null=True, verbose_name='counted since')),
                ('locked_at', models.DateTimeField(blank=True, null=True, verbose_name='locked at')),
                ('locked_until', models.DateTimeField(blank=True, db_index=True, null=True, verbose_name='locked until')),
                ('refused', models.PositiveIntegerField(default=0, verbose_name='refused tries')),
            ],
            options={
                'verbose_name': 'sign-in lock',
                'verbose_name_plural': 'sign-in locks',
                'ordering': ['-locked_until', '-window_started_at', 'id'],
                'constraints': [models.UniqueConstraint(fields=('kind', 'key'), name='signinlock_kind_key')],
            },
        ),
        migrations.RunPython(admin_for_superusers_only, migrations.RunPython.noop),
        migrations.RunPython(team_for_every_role, team_for_administrators_only),
    ]
