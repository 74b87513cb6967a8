"""The retention sweep: a voiceprint is kept no longer than its keeping date (its own, or
its consent's, whichever comes first). Every active voiceprint past it is asked to be
deleted on Coze (services.deletions), and the requested deletions that are due are tried
at once; the sweep leaves a `retention.sweep` audit row with its counts.

It also asks for the deletion of any active voiceprint whose consent was withdrawn and
whose deletion was never requested (an enrollment that raced the withdrawal, say): the
law asks for it as much as for a passed date.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from .. import audit
from ..models import AuditEntry, DeletionReason, Voiceprint
from ..wording import fact
from .deletions import DeletionRun, request_deletion, run_deletions

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


@dataclass
class Sweep:
    """What a sweep found (the voiceprints past their date, and those under a withdrawn
    consent, not yet requested) and, unless it was a dry run, what its deletions came to."""

    today: object
    expired: list
    withdrawn: list
    run: DeletionRun = field(default_factory=DeletionRun)
    dry_run: bool = False
    entry: object = None  # the audit row

    def facts(self):
        return fact(
            "retention_swept",
            day=self.today.isoformat(),
            expired=len(self.expired),
            withdrawn=len(self.withdrawn),
            deleted=len(self.run.deleted),
            waiting=len(self.run.waiting),
            stuck=len(self.run.needs_person),
        )


def past_their_date(today=None):
    """Active voiceprints, not yet requested, whose keeping date was before `today`."""
    today = today or timezone.localdate()
    return Voiceprint.objects.expiring(today - timedelta(days=1))


def under_withdrawn_consent():
    """Active voiceprints, not yet requested, whose consent was withdrawn."""
    return (
        Voiceprint.objects.active()
        .filter(deletion_requested_at__isnull=True, consent__withdrawn_at__isnull=False)
        .with_expiry()
    )


def sweep(actor, *, today=None, dry_run=False, on_progress=None):
    """Ask for the deletion of every voiceprint past its keeping date (and of those under a
    withdrawn consent), then try the requested deletions that are due, as `actor`; returns
    a Sweep. `dry_run` finds them and changes nothing (no audit row either).
    `on_progress(done, total, row)` is told after each deletion tried."""
    today = today or timezone.localdate()
    related = ("group__device", "person")
    expired = list(past_their_date(today).select_related(*related))
    withdrawn = list(
        under_withdrawn_consent().exclude(pk__in=[v.pk for v in expired]).select_related(*related)
    )
    found = Sweep(today=today, expired=expired, withdrawn=withdrawn, dry_run=dry_run)
    if dry_run:
        return found
    now = timezone.now()
    request_deletion(expired, DeletionReason.RETENTION, now=now)
    request_deletion(withdrawn, DeletionReason.WITHDRAWAL, now=now)
    found.run = run_deletions(actor, now=now, on_progress=on_progress)
    found.entry = audit.record(actor, Action.RETENTION_SWEEP, Outcome.SUCCESS, facts=found.facts())
    return found
