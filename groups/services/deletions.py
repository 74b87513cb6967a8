"""Deletions the law asks for (a retention date passed, consent withdrawn): requested once,
then tried on Coze until done.

A request marks the voiceprint and calls nothing. `run_deletions` tries every request that
is due, each through services.voiceprints.delete_voiceprint (an audited attempt with
Coze's logid). What Coze cannot do now (no answer, a 5xx, a rate limit) waits and is tried
again, 1, 2, 4 ... minutes later, at most an hour apart; what Coze refuses for good (only
the voiceprint's maker may delete it) waits for a person and is not tried in a loop.

Each try first claims its voiceprint with one conditional UPDATE (its next try moved past
the try's own length), so two runs at once (the retention sweep and a retry, or a run
whose worker was thought dead) never both call Coze for it; a run that dies mid-try
leaves the claim to expire, and the next run tries again: a "not found", confirmed by the
group's list, is then the deletion done.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Min
from django.db.models.query import QuerySet
from django.utils import timezone

from .. import coze
from ..models.voiceprints import NEEDS_MAKER, Voiceprint
from ..wording import fact
from .errors import NotTheCreator
from .voiceprints import delete_voiceprint

log = logging.getLogger("vpadmin.deletions")

FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)


@dataclass
class DeletionRun:
    """What a run came to: the voiceprints it deleted, left to try again later, and left
    for a person; `skipped` were done or claimed meanwhile by another run."""

    deleted: list = field(default_factory=list)
    waiting: list = field(default_factory=list)
    needs_person: list = field(default_factory=list)
    skipped: int = 0

    def facts(self):
        return fact(
            "deletions_run",
            deleted=len(self.deleted),
            waiting=len(self.waiting),
            stuck=len(self.needs_person),
        )


def request_deletion(voiceprints, reason, *, now=None):
    """Ask for `voiceprints` (a queryset or Voiceprints) to be deleted on Coze for `reason`
    (a DeletionReason), due at once. Calls nothing; a voiceprint no longer active, or
    whose deletion is already requested, is left as it is. Returns how many were marked."""
    now = now or timezone.now()
    if isinstance(voiceprints, QuerySet):
        ids = voiceprints.values("pk")
    else:
        ids = [voiceprint.pk for voiceprint in voiceprints]
    return (
        Voiceprint.objects.active()
        .filter(pk__in=ids, deletion_requested_at__isnull=True)
        .update(
            deletion_requested_at=now,
            deletion_reason=reason,
            deletion_next_try_at=now,
            deletion_attempts=0,
            deletion_error="",
        )
    )


def pause_after(attempts):
    """How long to wait after `attempts` tries Coze could not do: 1, 2, 4 ... minutes, at
    most an hour."""
    doubled = FIRST_PAUSE * 2 ** max(0, min(attempts - 1, 16))
    return min(doubled, LONGEST_PAUSE)


def next_try():
    """When the earliest requested deletion is to be tried (again), or None."""
    return Voiceprint.objects.deletions_waiting().aggregate(at=Min("deletion_next_try_at"))["at"]


def run_deletions(actor, *, now=None, on_progress=None):
    """Try every requested deletion that is due at `now` (by default now), each as
    `actor`; returns a DeletionRun. `on_progress(done, total, row)` is told after each,
    with the job's row of results (None for one skipped)."""
    now = now or timezone.now()
    due = list(
        Voiceprint.objects.deletions_due(now)
        .order_by("deletion_next_try_at", "pk")
        .values_list("pk", flat=True)
    )
    run = DeletionRun()
    for done, pk in enumerate(due, 1):
        voiceprint = _claim(pk, now)
        row = None
        if voiceprint is None:
            run.skipped += 1
        else:
            row = _try(actor, voiceprint, now, run)
        if on_progress is not None:
            on_progress(done, len(due), row)
    return run


def _claim(pk, now):
    """The voiceprint, if this run may try it now: still due, and claimed for the length
    of one try (counted as an attempt). None when done or claimed meanwhile."""
    claimed = (
        Voiceprint.objects.deletions_due(now)
        .filter(pk=pk)
        .update(deletion_next_try_at=now + _one_try(), deletion_attempts=F("deletion_attempts") + 1)
    )
    if not claimed:
        return None
    return Voiceprint.objects.select_related("group__device", "person").get(pk=pk)


def _one_try():
    """Longer than one try can last: who the token is, the delete, and the group's list,
    each within COZE_TIMEOUT."""
    return timedelta(seconds=max(300, 4 * settings.COZE_TIMEOUT))


def _try(actor, voiceprint, now, run):
    """One attempt at deleting `voiceprint`; its outcome is stored on it and in `run`, and
    returned as the job's row."""
    named = {"name": voiceprint.name, "person": voiceprint.person and voiceprint.person.name}
    try:
        delete_voiceprint(actor, voiceprint, reason=voiceprint.deletion_reason)
    except NotTheCreator as refused:
        _store(voiceprint, next_try_at=None, error=NEEDS_MAKER)
        run.needs_person.append(voiceprint.pk)
        facts = fact("deletion_needs_maker", creator=refused.creator_name, **named)
        return {"outcome": "refused", "facts": facts, "logid": ""}
    except coze.CozeError as error:
        reason = _short(error)
        if error.temporary or error.not_found:
            # A "not found" the group's list could not confirm: the list will, next time.
            attempts = voiceprint.deletion_attempts
            _store(voiceprint, next_try_at=now + pause_after(attempts), error=reason)
            run.waiting.append(voiceprint.pk)
            facts = fact("deletion_retry", reason=reason, attempts=attempts, **named)
        elif error.not_the_maker:
            _store(voiceprint, next_try_at=None, error=NEEDS_MAKER)
            run.needs_person.append(voiceprint.pk)
            creator = voiceprint.coze_creator_name or voiceprint.coze_creator_id or "—"
            facts = fact("deletion_needs_maker", creator=creator, **named)
        else:
            _store(voiceprint, next_try_at=None, error=reason)
            run.needs_person.append(voiceprint.pk)
            facts = fact("deletion_refused", reason=reason, **named)
        log.warning("deletion of voiceprint %s not done: %s", voiceprint.pk, error)
        return {"outcome": "failure", "facts": facts, "logid": error.logid}
    _store(voiceprint, next_try_at=None, error="")
    run.deleted.append(voiceprint.pk)
    return {
        "outcome": "success",
        "facts": fact("deletion_done", **named),
        "logid": voiceprint.logid,
    }


def _store(voiceprint, *, next_try_at, error):
    voiceprint.deletion_next_try_at, voiceprint.deletion_error = next_try_at, error
    Voiceprint.objects.filter(pk=voiceprint.pk).update(
        deletion_next_try_at=next_try_at, deletion_error=error
    )


def _short(error):
    """Why, briefly and without secrets: our reason's code (said in the reader's language
    by groups.wording.coze_reason), or Coze's own msg (the token redacted from it by the
    transport) with its code and HTTP status."""
    if error.reason:
        return error.reason
    numbers = ", ".join(
        part
        for part in (
            f"code {error.code}" if error.code is not None else "",
            f"HTTP {error.http_status}" if error.http_status not in (None, 200) else "",
        )
        if part
    )
    text = f"{error.msg} ({numbers})" if numbers else error.msg
    return text[: Voiceprint._meta.get_field("deletion_error").max_length]
