"""The Coze accounts of the register: one row per configured account (COZE_API_TOKEN's
"default", then each COZE_ACCOUNTS name), created or brought up to date on demand. A row
knows its account by name, base URL and the Coze user of its token (users/me), never by
the token, which stays in the settings. Its row lock serialises that account's quota."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from vpadmin.coze_accounts import NAME_MAX

from ..coze.accounts import DEFAULT, configured, quota_of


def default_account():
    """The default account's row id: a group made without naming its account (a test's,
    a benchmark's) is the default account's. The services always name it."""
    return CozeAccount.default().pk


class CozeAccountQuerySet(models.QuerySet):
    def configured(self):
        """The rows of the configured accounts, in the settings' order (default first),
        created where needed: one query when all are known. (A row's base URL is brought
        up to date by its account's sync: keep_base_url().)"""
        config = configured()
        rows = {row.name: row for row in self.filter(name__in=list(config))}
        for name in config:
            if name not in rows:
                rows[name] = CozeAccount.named(name)
        return [rows[name] for name in config]


class CozeAccount(models.Model):
    """One Coze account of the register: the lock its quota check takes."""

    name = models.CharField(_("account"), max_length=NAME_MAX, unique=True)
    base_url = models.CharField(_("Coze API base"), max_length=200, blank=True)
    remote_total = models.PositiveIntegerField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # Who the token belongs to (GET /v1/users/me): only a group's or voiceprint's creator
    # may change it on Coze. Empty until first asked.
    coze_user_id = models.CharField(max_length=32, blank=True)
    coze_user_name = models.CharField(max_length=100, blank=True)

    objects = CozeAccountQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("Coze account")
        verbose_name_plural = _("Coze accounts")

    def __str__(self):
        return self.name

    @property
    def quota(self):
        """The account's group quota as configured now (0: no longer configured)."""
        return quota_of(self.name)

    @classmethod
    def named(cls, name=DEFAULT):
        """The row of a configured account, created on demand."""
        account = cls.objects.filter(name=name).first()
        if account is None:
            base = configured().get(name, {}).get("base", "").rstrip("/")[:200]
            account, _created = cls.objects.get_or_create(name=name, defaults={"base_url": base})
        return account

    @classmethod
    def default(cls):
        return cls.named(DEFAULT)

    @classmethod
    def locked(cls, name=DEFAULT):
        """Lock one account's row for the rest of the current transaction (a name, a row
        or a row's id; the default account when none is given): one query once the row
        exists."""
        if isinstance(name, CozeAccount | int):
            return cls.objects.select_for_update().get(pk=getattr(name, "pk", name))
        account = cls.objects.select_for_update().filter(name=name).first()
        if account is None:  # created on demand, then locked
            cls.named(name)
            account = cls.objects.select_for_update().get(name=name)
        return account

    def keep_base_url(self):
        """Store the account's base URL as configured now, if it changed (a sync does, under
        the account's lock)."""
        base = configured().get(self.name, {}).get("base", self.base_url).rstrip("/")[:200]
        if base != self.base_url:
            CozeAccount.objects.filter(pk=self.pk).update(base_url=base)
            self.base_url = base

    @classmethod
    def locked_all(cls):
        """Lock every configured account's row (in one order, so two of these never wait
        on each other): what a change that concerns every account takes."""
        cls.objects.configured()
        return list(
            cls.objects.select_for_update().filter(name__in=list(configured())).order_by("pk")
        )
