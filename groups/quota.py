"""The Coze group quota, per account and in total: what is used, what of it is pending,
the limit and the level; and which account a new device's group goes to.

"Used" has one meaning everywhere (the gauges, the creation check, the API): the groups
the register holds on the account's Coze plus the creations whose outcome is not known
yet, since each of those may already hold a slot on Coze. A creation row without an
account is older than several accounts: it was the default account's."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from .coze.accounts import DEFAULT, configured, several
from .models import AuditEntry, CozeAccount, VoiceprintGroup

WARNING_SHARE = 0.8  # the gauge turns amber from 80 % used


@dataclass(frozen=True)
class Usage:
    held: int  # active groups in the register
    pending: int  # creations under way or without a known outcome
    unassigned: int  # active groups with no device
    limit: int
    remote_total: int | None = None  # Coze's own count at the last sync
    synced_at: datetime | None = None
    account: str = ""  # the account's name ("" for the total across accounts)

    @property
    def used(self):
        return self.held + self.pending

    @property
    def free(self):
        return max(0, self.limit - self.used)

    @property
    def is_full(self):
        return self.used >= self.limit

    @property
    def percent(self):
        return min(100, round(self.used * 100 / self.limit)) if self.limit else 100

    @property
    def level(self):
        if self.is_full:
            return "full"
        return "warning" if self.used >= self.limit * WARNING_SHARE else "ok"

    @property
    def remote_percent(self):
        """Where Coze's own count sits on the gauge, once a sync has read it."""
        if self.remote_total is None or not self.limit:
            return None
        return min(100, round(self.remote_total * 100 / self.limit, 1))


@dataclass(frozen=True)
class Usages:
    """Every configured account's usage (the settings' order, default first) and the total."""

    accounts: list
    total: Usage
    rows: dict = field(default_factory=dict)  # name -> CozeAccount

    @property
    def several(self):
        return len(self.accounts) > 1

    @property
    def names(self):
        return [usage.account for usage in self.accounts]

    def of(self, name):
        return next((usage for usage in self.accounts if usage.account == name), None)

    @property
    def most_free(self):
        """The account with the most free slots (the first in the settings' order on a tie)."""
        return max(self.accounts, key=lambda usage: usage.free)

    @property
    def all_full(self):
        return all(usage.is_full for usage in self.accounts)


def used(account=None) -> int:
    """The quota of `account` (a row; the default account when None) in use (held plus
    pending), in one query."""
    account = account or CozeAccount.default()
    found = CozeAccount.objects.filter(pk=account.pk).annotate(used=used_expression(account))
    return found.values_list("used", flat=True).get()


def used_expression(account):
    """used(account) as an expression, for a query that reads it with other things (what
    a creation checks under the account's lock reads in one query)."""
    held = (
        VoiceprintGroup.objects.active()
        .filter(account=account)
        .order_by()
        .values("account")
        .annotate(n=Count("*"))
        .values("n")
    )
    pending = (
        AuditEntry.objects.unresolved_creations(account)
        .order_by()
        .values("action")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(held), 0) + Coalesce(Subquery(pending), 0)


def usages() -> Usages:
    """Every account's gauge and the total, in three queries whatever the accounts."""
    rows = CozeAccount.objects.configured()
    config = configured()
    by_id = {row.pk: row.name for row in rows}
    held = {
        entry["account"]: entry
        for entry in VoiceprintGroup.objects.active()
        .values("account")
        .order_by()
        # Counting rows or the account, not the id: PostgreSQL then reads the account's
        # index alone (the id is not in it: it read the table, 8 -> 2 ms at 10,000 groups).
        .annotate(held=Count("*"), unassigned=Count("account", filter=Q(device__isnull=True)))
    }
    pending = {}
    creations = AuditEntry.objects.unresolved_creations().values("account").order_by()
    for entry in creations.annotate(n=Count("*")):
        name = by_id.get(entry["account"], DEFAULT if entry["account"] is None else None)
        pending[name] = pending.get(name, 0) + entry["n"]
    accounts = [
        Usage(
            held=held.get(row.pk, {}).get("held", 0),
            pending=pending.get(row.name, 0),
            unassigned=held.get(row.pk, {}).get("unassigned", 0),
            limit=config[row.name]["quota"],
            remote_total=row.remote_total,
            synced_at=row.synced_at,
            account=row.name,
        )
        for row in rows
    ]
    remote = [usage.remote_total for usage in accounts]
    synced = [usage.synced_at for usage in accounts if usage.synced_at is not None]
    total = Usage(
        held=sum(usage.held for usage in accounts),
        pending=sum(usage.pending for usage in accounts),
        unassigned=sum(usage.unassigned for usage in accounts),
        limit=sum(usage.limit for usage in accounts),
        remote_total=None if None in remote else sum(remote),
        synced_at=min(synced) if synced and len(synced) == len(accounts) else None,
    )
    return Usages(accounts=accounts, total=total, rows={row.name: row for row in rows})


def usage() -> Usage:
    """The total across accounts (with one account: its own gauge)."""
    found = usages()
    return found.total if found.several else found.accounts[0]


@dataclass(frozen=True)
class Choice:
    """The account a new group goes to, and why: "device" (the device's account),
    "chosen" (the Operator's choice) or "most_free" (the default)."""

    account: CozeAccount
    usage: Usage | None
    reason: str


def choose(device, requested=None, found=None) -> Choice:
    """The account of a new group for `device`: its own once it has one, else the one
    `requested` (a name or a row), else the one with the most free quota. `found`: the
    usages already read (a Choice's usage is given only then, or when they had to be read
    to find the most free)."""
    if device is not None and device.account_id:
        account = CozeAccount.objects.get(pk=device.account_id)
        return Choice(account, found and found.of(account.name), "device")
    if requested:
        name = getattr(requested, "name", requested)
        return Choice(CozeAccount.named(name), found and found.of(name), "chosen")
    if found is None and not several():
        return Choice(CozeAccount.named(DEFAULT), None, "most_free")  # one account: no choice
    found = found or usages()
    best = found.most_free
    return Choice(found.rows[best.account], best, "most_free")


def account_to_lock(device, requested=None, found=None):
    """The account choose() gives `device`'s new group, as CozeAccount.locked() takes it
    (a row's id or a name), and why: no row is read where none must be (the lock reads
    the account's row); only the most free of several accounts reads the usages (or takes
    `found`, the usages its caller has just read)."""
    if device is not None and device.account_id:
        return device.account_id, "device"
    if requested:
        return getattr(requested, "name", requested), "chosen"
    if not several():
        return DEFAULT, "most_free"
    choice = choose(device, requested, found)
    return choice.account.pk, choice.reason


def why(choice: Choice) -> str:
    """Which account a new group goes to and why, as the creation form and its message
    say it: "cn2: 1 of 2 free — the most free"."""
    usage = choice.usage
    figures = (
        _("%(account)s: %(free)s of %(limit)s free")
        % {"account": usage.account, "free": usage.free, "limit": usage.limit}
        if usage is not None
        else choice.account.name
    )
    reasons = {
        "most_free": _("the most free"),
        "chosen": _("chosen"),
        "device": _("the device's account"),
    }
    return f"{figures} — {reasons[choice.reason]}"
