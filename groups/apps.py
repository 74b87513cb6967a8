from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = _("Voiceprint groups")

    def ready(self):
        from . import signals  # noqa: F401
