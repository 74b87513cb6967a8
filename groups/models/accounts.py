"""The Coze account: the row whose lock serialises every quota check."""

from django.db import models


class CozeAccount(models.Model):
    """The one row that stands for the Coze account: the lock the quota check takes."""

    remote_total = models.PositiveIntegerField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # Who the token belongs to (GET /v1/users/me): only a group's or voiceprint's creator
    # may change it on Coze. Empty until first asked.
    coze_user_id = models.CharField(max_length=32, blank=True)
    coze_user_name = models.CharField(max_length=100, blank=True)

    def __str__(self):
        return "Coze account"

    @classmethod
    def locked(cls):
        """Lock the account row for the rest of the current transaction."""
        account, _created = cls.objects.select_for_update().get_or_create(pk=1)
        return account
