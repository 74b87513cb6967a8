"""The Coze group quota: what is used, what of it is pending, the limit and the level.

"Used" has one meaning everywhere (the gauge, the creation check, the API): the groups
the register holds on Coze plus the creations whose outcome is not known yet, since each
of those may already hold a slot on Coze."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q, Subquery
from django.db.models.functions import Coalesce

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
        return min(100, round(self.used * 100 / self.limit))

    @property
    def level(self):
        if self.is_full:
            return "full"
        return "warning" if self.used >= self.limit * WARNING_SHARE else "ok"

    @property
    def remote_percent(self):
        """Where Coze's own count sits on the gauge, once a sync has read it."""
        if self.remote_total is None:
            return None
        return min(100, round(self.remote_total * 100 / self.limit, 1))


def used() -> int:
    """The quota in use (held plus pending), in one query: what a creation checks under
    the account lock."""
    counts = _counts()
    return counts["held"] + counts["pending"]


def usage() -> Usage:
    """Everything the gauge shows, in two queries."""
    counts = _counts()
    account = CozeAccount.objects.filter(pk=1).only("remote_total", "synced_at").first()
    return Usage(
        held=counts["held"],
        pending=counts["pending"],
        unassigned=counts["unassigned"],
        limit=settings.COZE_GROUP_QUOTA,
        remote_total=account.remote_total if account else None,
        synced_at=account.synced_at if account else None,
    )


def _counts():
    pending = (
        AuditEntry.objects.unresolved_creations()
        .values("action")
        .annotate(n=Count("*"))
        .values("n")
    )
    counts = VoiceprintGroup.objects.active().aggregate(
        held=Count("pk"),
        unassigned=Count("pk", filter=Q(device__isnull=True)),
        # A subquery is no aggregate on its own; added to one, it is read in this query.
        used=Count("pk") + Coalesce(Subquery(pending), 0),
    )
    return {**counts, "pending": counts["used"] - counts["held"]}
