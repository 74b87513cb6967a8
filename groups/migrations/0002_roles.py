"""The three roles as auth groups with their model permissions, and the account row."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWER = [
    "groups.view_device",
    "groups.view_voiceprintgroup",
    "groups.view_auditentry",
]
OPERATOR = VIEWER + [
    "groups.add_device",
    "groups.change_device",
    "groups.add_voiceprintgroup",
    "groups.change_voiceprintgroup",
]
ADMINISTRATOR = OPERATOR + [
    "groups.delete_device",
    "groups.delete_voiceprintgroup",
    "groups.sync_voiceprintgroup",
    "groups.export_auditentry",
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.delete_user",
    "auth.view_group",
]
ROLES = {"Viewer": VIEWER, "Operator": OPERATOR, "Administrator": ADMINISTRATOR}


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations; roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    apps.get_model("groups", "CozeAccount").objects.get_or_create(pk=1)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
