"""Sign-in throttling's counters and locks."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SignInLock(models.Model):
    """Failed sign-ins counted for one key (a username, an address, or a browser that signed
    in before), and the lock they lead to: what groups.services.throttling reads and writes."""

    class Kind(models.TextChoices):
        USERNAME = "username", _("username")
        ADDRESS = "address", _("address")
        DEVICE = "device", _("known browser")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The username, the IP address, or the device cookie's random id.
    key = models.CharField(_("key"), max_length=150)
    # The username last tried (for a device: the one it signed in as).
    username = models.CharField(_("username"), max_length=150, blank=True)
    failures = models.PositiveIntegerField(_("failed sign-ins"), default=0)
    window_started_at = models.DateTimeField(_("counted since"), null=True, blank=True)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True, db_index=True)
    # Tries refused during the current lock (checked against nothing, written nowhere else).
    refused = models.PositiveIntegerField(_("refused tries"), default=0)

    class Meta:
        ordering = ["-locked_until", "-window_started_at", "id"]
        verbose_name = _("sign-in lock")
        verbose_name_plural = _("sign-in locks")
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="signinlock_kind_key"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.shown_key}"

    @property
    def shown_key(self):
        """The key as people know it: a device's random id means nothing, its person does."""
        return self.username if self.kind == self.Kind.DEVICE else self.key

    @property
    def description(self):
        """What the lock holds back, in the current language."""
        from ..wording import lock_phrase

        return lock_phrase(self.kind, self.shown_key)

    def is_locked(self, now=None):
        return self.locked_until is not None and self.locked_until > (now or timezone.now())
