"""The app's configuration: signals connected when Django starts."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = _("Voiceprint groups")

    def ready(self):
        from . import signals  # noqa: F401


class SuperusersAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with vpadmin's site: superusers only (in INSTALLED_APPS)."""

    default = False  # not the config of "groups"
    default_site = "groups.admin_site.SuperusersAdminSite"
