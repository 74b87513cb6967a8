"""Coze calls that ended without an answer, and rows that never got an outcome: found out
on Coze where it can be, concluded honestly where it cannot.

A creation without an answer is looked up at once (one list call by name); until its
group is found or it is known not to exist, the same name cannot be created again for
that device. Any row left `pending` (a crash, a killed worker) becomes `unknown` after a
time limit, so nothing waits forever. An attempt whose process is known to have stopped
(its job was taken over by another run) can be concluded sooner: nothing of it can reach
Coze any more, so once Coze has had as long as vpadmin waits for an answer to make what it
had received, a group missing from the list was not created.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from .. import audit, coze
from ..models import AuditEntry, CozeAccount, Device, Job, VoiceprintGroup
from ..wording import fact

log = logging.getLogger("vpadmin.attempts")
Action, Outcome = AuditEntry.Action, AuditEntry.Outcome

# A group made by a creation attempt shows on Coze within this window of the attempt's
# time (before it too, since Coze's clock and ours may differ a little).
MATCH_BEFORE, MATCH_AFTER = timedelta(minutes=1), timedelta(minutes=5)
LOOKUP_PAGE_SIZE = 200


def pending_margin() -> timedelta:
    """How old a `pending` row must be before anyone may conclude it: younger, its call
    may still be under way in another process."""
    return timedelta(seconds=max(60, 3 * settings.COZE_TIMEOUT))


def conclusion_age() -> timedelta:
    """How old an attempt must be before a group missing from Coze's list means it was not
    created: its group may show on Coze until MATCH_AFTER after the attempt."""
    return max(MATCH_AFTER, pending_margin())


def stopped_margin() -> timedelta:
    """How long after the process that sent a creation stopped Coze may still make its
    group (a request Coze had received before): as long as vpadmin waits for an answer."""
    return timedelta(seconds=settings.COZE_TIMEOUT)


def unresolved_creations(account=None):
    """Creation attempts whose outcome is not known, `account`'s alone if given
    (AuditEntry's queryset says how)."""
    return AuditEntry.objects.unresolved_creations(account)


def waiting():
    """Every row that waits for the truth: pending rows of any kind, and creations that
    ended without an answer and are not resolved yet (the dashboard lists them)."""
    unresolved = unresolved_creations().values("pk")
    return AuditEntry.objects.filter(outcome=Outcome.PENDING) | AuditEntry.objects.filter(
        pk__in=unresolved
    )


def expire_pending(*, now=None):
    """Give every row pending for longer than the time limit the outcome `unknown`: the
    process that made its call has stopped. Returns how many rows it finished."""
    now = now or timezone.now()
    limit = pending_margin()
    stale = AuditEntry.objects.filter(outcome=Outcome.PENDING, created_at__lt=now - limit)
    stale = list(stale.order_by("created_at", "pk")[:1000])
    # A job still running (its worker marks it alive) may be waiting on a slow call.
    alive = stale and {job.request_id for job in _live_jobs(now)}
    expired = 0
    for entry in stale:
        if entry.request_id in alive:
            continue
        try:
            expire(entry)
        except ValueError:
            continue  # finished meanwhile by its own process
        expired += 1
    if expired:
        log.warning("%d pending audit rows had no outcome: now unknown", expired)
    return expired


def _live_jobs(now):
    """Jobs whose worker marked them alive lately."""
    since = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    return Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__gte=since).only("pk")


def expire(entry):
    """Finish one pending row as `unknown`: the process that made its call has stopped."""
    minutes = max(1, round(pending_margin().total_seconds() / 60))
    audit.finish(entry, Outcome.UNKNOWN, facts=fact("pending_expired", minutes=minutes))


def account_of(entry):
    """The Coze account of an audit row's call: its own, or (a row older than several
    accounts) the default account."""
    if entry.account_id:
        return CozeAccount.objects.get(pk=entry.account_id)
    return CozeAccount.default()


def close_match(items, moment, claimed=()):
    """The unclaimed item created nearest to `moment`, within the matching window."""
    nearby = [
        item
        for item in items
        if item.coze_id not in claimed
        and item.remote_created_at is not None
        and moment - MATCH_BEFORE <= item.remote_created_at <= moment + MATCH_AFTER
    ]
    return min(
        nearby,
        key=lambda item: (abs(item.remote_created_at - moment), item.coze_id),
        default=None,
    )


def register_found(attempt, match, *, actor, how, logid="", **fields):
    """Register the group a creation attempt made (or conclude it made none, when `match`
    is None) and write the resolution row. A group whose device has been deleted since is
    registered unassigned. Returns the group, or None."""
    common = {
        "device_id": attempt.device_id,
        "sent_name": attempt.sent_name,
        "sent_desc": attempt.sent_desc,
        "resolves": attempt,
        "account": account_of(attempt),
        "coze_logid": logid[:64],
        **fields,
    }
    if match is None:
        facts = fact("not_on_coze", how=how)
        audit.record(actor, Action.GROUP_CREATE, Outcome.FAILURE, facts=facts, **common)
        return None
    device_id = attempt.device_id
    if device_id is not None and not Device.objects.filter(pk=device_id).exists():
        device_id = None
    group = VoiceprintGroup.objects.create(
        coze_id=match.coze_id,
        account=common["account"],
        name=match.name,
        desc=match.desc,
        feature_count=match.feature_count,
        remote_created_at=match.remote_created_at,
        remote_updated_at=match.remote_updated_at,
        device_id=device_id,
        creator_id=attempt.actor_id,
        created_at=attempt.created_at,
        logid=attempt.coze_logid or logid,
    )
    facts = fact("found_on_coze", coze_id=match.coze_id, how=how)
    audit.record(actor, Action.GROUP_CREATE, Outcome.SUCCESS, target=group, facts=facts, **common)
    return group


class Check:
    """What a lookup found out about a creation attempt: its group (created), that it made
    none (concluded, no group), nothing yet, or the error that stopped the lookup."""

    def __init__(self, attempt, group=None, concluded=False, error=None):
        self.attempt, self.group, self.concluded, self.error = attempt, group, concluded, error

    @classmethod
    def settled(cls, attempt):
        """What was concluded before (a resolution row, or the attempt's own outcome)."""
        resolution = attempt.resolution_or_none(fresh=True)
        decided = resolution or attempt
        group = None
        if decided.outcome == Outcome.SUCCESS and decided.target_id:
            group = VoiceprintGroup.objects.filter(pk=decided.target_id).first()
        return cls(attempt, group=group, concluded=True)

    @property
    def created(self):
        return self.group is not None


def check_creation(actor, attempt, *, stopped_by=None):
    """Look the attempt's group up on Coze (one list call by name) and register it if it
    is there; when it is not and the attempt is older than the matching window allows,
    conclude that it was not created. Returns a Check.

    `stopped_by`: the process that sent the attempt is known to have stopped by then (its
    job was taken over): nothing of it is under way any more but what Coze had received,
    so once stopped_margin() has passed since, a group missing from the list was not made.
    """
    from .sync import remote_group  # the list's items, read the way sync reads them

    if attempt.resolution_or_none() is not None or attempt.outcome not in (
        Outcome.PENDING,
        Outcome.UNKNOWN,
    ):
        return Check.settled(attempt)
    if (
        stopped_by is None
        and attempt.outcome == Outcome.PENDING
        and attempt.created_at > timezone.now() - pending_margin()
    ):
        return Check(attempt)  # its own process may still be waiting for Coze
    try:
        answer = coze.get_client(account_of(attempt)).list_groups(
            page_num=1, page_size=LOOKUP_PAGE_SIZE, name=attempt.sent_name
        )
        items = [remote_group(item) for item in answer.data.get("items") or []]
    except coze.CozeError as error:
        return _lookup_failed(actor, attempt, error)
    except (TypeError, ValueError, KeyError, AttributeError):
        error = coze.CozeFailed("the list answer was not in Coze's shape", reason="bad_list")
        return _lookup_failed(actor, attempt, error)
    return _conclude(actor, attempt, items, answer, stopped_by)


def _lookup_failed(actor, attempt, error):
    """The lookup's own call failed: audited, and nothing concluded."""
    audit.record(
        actor,
        Action.GROUP_CHECK,
        Outcome.FAILURE,
        device_id=attempt.device_id,
        sent_name=attempt.sent_name,
        account=account_of(attempt),
        facts=audit.error_facts(error),
        **audit.coze_fields(error),
    )
    return Check(attempt, error=error)


def _conclude(actor, attempt, items, answer, stopped_by=None):
    candidates = [
        item for item in items if (item.name, item.desc) == (attempt.sent_name, attempt.sent_desc)
    ]
    account = account_of(attempt)
    try:
        with transaction.atomic():
            CozeAccount.locked(account)
            if attempt.resolution_or_none(fresh=True) is not None:
                return Check.settled(attempt)
            registered = set(
                VoiceprintGroup.objects.filter(
                    account=account, coze_id__in=[item.coze_id for item in candidates]
                ).values_list("coze_id", flat=True)
            )
            match = close_match(candidates, attempt.created_at, registered)
            now = timezone.now()
            old_enough = attempt.created_at < now - conclusion_age() or (
                stopped_by is not None and stopped_by + stopped_margin() <= now
            )
            if match is None and not old_enough:
                audit.record(
                    actor,
                    Action.GROUP_CHECK,
                    Outcome.SUCCESS,
                    device_id=attempt.device_id,
                    sent_name=attempt.sent_name,
                    sent_desc=attempt.sent_desc,
                    account=account,
                    facts=fact("still_unknown"),
                    **audit.coze_fields(answer),
                )
                return Check(attempt)
            if attempt.outcome == Outcome.PENDING:
                expire(attempt)
            group = register_found(
                attempt,
                match,
                actor=actor,
                how="lookup",
                logid=answer.logid,
                http_status=answer.http_status,
                duration_ms=answer.duration_ms,
                coze_code=0,
            )
    except (IntegrityError, ValueError):
        # Resolved at the same moment by a sync or another check.
        return Check.settled(attempt)
    except DatabaseError:
        log.exception("the lookup of creation attempt %s could not be recorded", attempt.pk)
        return Check(attempt)
    return Check(attempt, group=group, concluded=True)
