"""API tokens: a person's key for scripts, stored as a SHA-256 hash (never the token
itself), shown by its prefix, read-only or read-write, optionally expiring, revocable."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PREFIX = "vpa_"
SHOWN = 8  # characters after PREFIX that name a token on the pages and in the log
USE_RECORDED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


def digest(token):
    """The stored form of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def shown_prefix(token):
    """The part of a token that may be shown (after `vpa_`), whatever was sent."""
    return token.removeprefix(PREFIX)[:SHOWN]


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, user__is_active=True).exclude(
            expires_at__lte=now
        )


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    read_only = models.BooleanField(_("read-only"), default=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=SHOWN, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by_name = models.CharField(_("issued by"), max_length=150, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "created_at"], name="token_user_time")]

    def __str__(self):
        return f"{self.name} ({PREFIX}{self.prefix}…)"

    @classmethod
    def new_secret(cls):
        """A fresh token (256 bits of randomness) and its prefix."""
        token = PREFIX + secrets.token_urlsafe(32)
        return token, shown_prefix(token)

    @property
    def shown(self):
        return f"{PREFIX}{self.prefix}…"

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    @property
    def is_usable(self):
        return not (self.is_revoked or self.is_expired)

    @property
    def scope_label(self):
        return _("read-only") if self.read_only else _("read-write")


class TokenRefusals(models.Model):
    """Requests refused for their API token (unknown, revoked, expired, or an owner who can
    no longer sign in), counted per client address (an IPv6 one by its /64) in windows of
    API_REFUSED_TOKEN_MINUTES: the first API_REFUSED_TOKEN_LIMIT of a window are audit rows
    one by one, the rest are counted here and written as one row when the window ends
    (groups.services.tokens), so an anonymous client cannot grow the audit log at will."""

    address = models.CharField(_("address"), max_length=64, unique=True)
    window_started_at = models.DateTimeField(_("counted since"))
    refused = models.PositiveIntegerField(_("refused requests"), default=0)
    # Beyond the limit: counted, not yet written (the window's closing row says how many).
    counted = models.PositiveIntegerField(_("counted, not written one by one"), default=0)
    last_refused_at = models.DateTimeField(_("last refused"))

    class Meta:
        ordering = ["-last_refused_at", "id"]
        verbose_name = _("refused API tokens from an address")
        verbose_name_plural = _("refused API tokens by address")
        indexes = [models.Index(fields=["window_started_at"], name="tokenrefusals_window")]

    def __str__(self):
        return f"{self.address}: {self.refused}"

    @property
    def window_ends_at(self):
        return self.window_started_at + timedelta(minutes=settings.API_REFUSED_TOKEN_MINUTES)

    @property
    def over_limit(self):
        return self.refused > settings.API_REFUSED_TOKEN_LIMIT
