"""Reconciling the register with Coze's list of groups: Coze says which groups exist,
vpadmin which device each serves and who did what.

Every page of the list is fetched before anything is applied, so a sync that fails
halfway changes nothing; the changes are then applied in one transaction, under the
account lock the quota check takes. Then the voiceprints of the groups that changed on
Coze are read and applied, group by group (voiceprint_sync); the one group.sync audit row
tells both.
"""

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from .. import audit, coze
from ..coze.accounts import DEFAULT
from ..models import DESC_MAX, NAME_MAX, AuditEntry, CozeAccount, VoiceprintGroup
from ..wording import fact
from . import attempts, voiceprint_sync, whoami
from .attempts import pending_margin
from .listing import PAGE_SIZE, PageFailed, moment, read_page, text, total_and_items
from .voiceprint_sync import VoiceprintCounts

log = logging.getLogger("vpadmin.sync")
Action, Outcome, State = AuditEntry.Action, AuditEntry.Outcome, VoiceprintGroup.State

# Coze's largest page (listing.PAGE_SIZE): 1,000 groups cost 5 list calls.
BATCH_SIZE = 500
COZE_TIMES = ["remote_created_at", "remote_updated_at"]
SYNCED_FIELDS = ["name", "desc", "feature_count", *COZE_TIMES]
COZE_ID_MAX = VoiceprintGroup._meta.get_field("coze_id").max_length


@dataclass
class SyncResult:
    imported: int
    updated: int
    gone: int
    resolved: int
    remote_total: int
    list_calls: int
    entry: AuditEntry  # the group.sync audit row
    apply_seconds: float = 0.0  # applying the groups, after their last list call
    voiceprints: VoiceprintCounts = field(default_factory=VoiceprintCounts)

    @property
    def changed(self) -> bool:
        groups = self.imported or self.updated or self.gone or self.resolved
        return bool(groups or self.voiceprints.changed)


class SyncFailed(Exception):
    """A list call failed, so nothing was changed; `entry` is the finished sync row."""

    def __init__(self, error: coze.CozeError, page: int, entry: AuditEntry):
        self.error, self.page, self.entry = error, page, entry
        super().__init__(_failure_sentence(error, page))


@dataclass(frozen=True)
class RemoteGroup:
    """One item of Coze's list, in the register's terms."""

    coze_id: str
    name: str
    desc: str
    feature_count: int
    remote_created_at: datetime | None
    remote_updated_at: datetime | None


@dataclass
class Listing:
    groups: dict  # coze_id -> RemoteGroup, in Coze's order
    total: int
    calls: int
    logid: str  # the last page's
    http_status: int
    duration_ms: int  # all list calls together
    steady: bool  # Coze's total stayed the same from the first page to the last


def sync_groups(actor, *, account=None, on_page=None, on_group=None) -> SyncResult:
    """Bring the register's groups of one Coze account (a name or a row; the default
    account when None) in line with that account's list, then the voiceprints of the
    groups that changed on Coze; raises SyncFailed when a list call of the groups fails.
    `on_page(page, pages, answer)` hears of each page read and `on_group(done, total,
    row)` of each group whose voiceprints were read (a job's progress)."""
    attempts.expire_pending()
    account = CozeAccount.named(getattr(account, "name", account) or DEFAULT)
    entry = audit.record(actor, Action.GROUP_SYNC, Outcome.PENDING, account=account)
    started = timezone.now()
    try:
        client = coze.get_client(account)
    except coze.CozeError as error:  # an account no longer configured
        audit.finish(entry, Outcome.FAILURE, facts=audit.error_facts(error))
        raise SyncFailed(error, 1, entry) from None
    try:
        listing = fetch_listing(client, on_page=on_page)
    except PageFailed as failed:
        error = failed.error
        no_answer = isinstance(error, coze.CozeNoAnswer)
        outcome = Outcome.UNKNOWN if no_answer else Outcome.FAILURE
        sentence = _failure_sentence(error, failed.page)
        facts = fact(
            "sync_no_answer" if no_answer else "sync_failed",
            page=failed.page,
            reason=error.reason or error.msg,
            **({"seconds": error.values["seconds"]} if error.values.get("seconds") else {}),
        )
        audit.finish(entry, outcome, facts=facts, **audit.coze_fields(error))
        log.warning("sync failed: %s", sentence)
        raise SyncFailed(error, failed.page, entry) from None

    clock = time.monotonic()
    try:
        counts, voiceprints_gone = _apply(listing, account, started=started, actor=actor)
    except Exception:
        # No sync row stays pending; the transaction has already been rolled back.
        log.exception("sync: the register was not updated")
        audit.finish(entry, Outcome.FAILURE, facts=fact("sync_not_applied"))
        raise
    apply_seconds = time.monotonic() - clock
    facts = fact("synced", counts=counts, total=listing.total, calls=listing.calls)
    facts["steady"] = listing.steady
    voiceprints = VoiceprintCounts(gone=voiceprints_gone)
    try:
        whoami.token_user(account)  # kept known: whose voiceprints the token may change
        voiceprints.add(
            voiceprint_sync.sync_voiceprints(
                client, actor=actor, on_group=on_group, account=account
            )
        )
    except Exception as error:
        # The groups were applied; the groups' voiceprints read so far too.
        log.exception("sync: reading the voiceprints stopped")
        facts.update(voiceprints.facts, voiceprints_error=type(error).__name__)
        _finish(entry, Outcome.FAILURE, facts, listing)
        raise
    facts.update(voiceprints.facts)
    _finish(entry, Outcome.SUCCESS, facts, listing)
    result = SyncResult(
        **counts,
        remote_total=listing.total,
        list_calls=listing.calls,
        entry=entry,
        apply_seconds=apply_seconds,
        voiceprints=voiceprints,
    )
    log.info("sync: %s; voiceprints %s", counts, voiceprints)
    return result


def _finish(entry, outcome, facts, listing):
    audit.finish(
        entry,
        outcome,
        facts=facts,
        coze_code=0,
        coze_logid=listing.logid[:64],
        http_status=listing.http_status,
        duration_ms=listing.duration_ms,
    )


# Fetching


def fetch_listing(client: coze.CozeClient, *, on_page=None) -> Listing:
    """Every page of Coze's list; raises PageFailed with the page that failed. After each
    page, `on_page(page, pages, answer)` if given: the pages Coze's total calls for (at
    least this one) and the page's answer, its items read as RemoteGroups."""
    groups, totals, seen, duration_ms, calls = {}, [], 0, 0, 0
    page = 0
    while True:
        page += 1
        answer, tries = read_page(
            partial(client.list_groups, page_num=page, page_size=PAGE_SIZE),
            partial(total_and_items, item=remote_group),
            page,
        )
        calls += tries
        total, items = answer.data["total"], answer.data["items"]
        duration_ms += answer.duration_ms
        totals.append(total)
        fresh = sum(item.coze_id not in groups for item in items)
        # A group listed twice (the pages shifted under a creation) counts once.
        groups.update((item.coze_id, item) for item in items)
        seen += len(items)
        if on_page is not None:
            on_page(page, max(page, math.ceil(total / PAGE_SIZE)), answer)
        # A full page with nothing new: the paging is stuck, asking on would loop.
        if len(items) < PAGE_SIZE or seen >= total or not fresh:
            break
    return Listing(
        groups=groups,
        total=totals[-1],
        calls=calls,
        logid=answer.logid,
        http_status=answer.http_status,
        duration_ms=duration_ms,
        steady=len(set(totals)) == 1,
    )


def remote_group(item):
    """One item of Coze's list as a RemoteGroup; ValueError (or KeyError, TypeError) when
    it is not in Coze's shape."""
    coze_id = str(item["id"])
    if not coze_id or len(coze_id) > COZE_ID_MAX:
        raise ValueError(coze_id)
    return RemoteGroup(
        coze_id=coze_id,
        name=text(item.get("name"), NAME_MAX),
        desc=text(item.get("desc"), DESC_MAX),
        feature_count=max(0, int(item.get("feature_count") or 0)),
        remote_created_at=moment(item.get("created_at")),
        remote_updated_at=moment(item.get("updated_at")),
    )


def _failure_sentence(error, page):
    details = [f"code {error.code}"] if error.code is not None else []
    if error.http_status not in (None, 200):
        details.append(f"HTTP {error.http_status}")
    if error.logid:
        details.append(f"logid {error.logid}")
    suffix = f" ({', '.join(details)})" if details else ""
    verb = "got no answer" if isinstance(error, coze.CozeNoAnswer) else "failed"
    return f"Coze's list call {verb} on page {page}: {error.msg}{suffix}"


# Applying


def _apply(listing, account, *, started, actor):
    """Apply the listing of `account` in one transaction; returns the counts, and how many
    voiceprints went with the groups gone from Coze."""
    with transaction.atomic():
        account = CozeAccount.locked(account)
        account.keep_base_url()
        now = timezone.now()
        register = {group.coze_id: group for group in account.groups.all()}
        unregistered = [item for item in listing.groups.values() if item.coze_id not in register]

        claimed, in_flight, resolved = _resolve_attempts(
            unregistered, account, started=started, actor=actor
        )
        imported = _import(unregistered, claimed, in_flight, account)
        updated = _update(listing, register, started=started)
        gone, voiceprints_gone = 0, 0
        if listing.steady:
            gone, voiceprints_gone = _mark_gone(listing, register, started=started, now=now)

        account.remote_total, account.synced_at = listing.total, now
        account.save(update_fields=["remote_total", "synced_at"])
    counts = {"imported": imported, "updated": updated, "gone": gone, "resolved": resolved}
    return counts, voiceprints_gone


def _resolve_attempts(unregistered, account, *, started, actor):
    """Conclude creation attempts that ended without an answer (pending or unknown).

    Returns (claimed Coze ids, (name, desc) of creations still under way, resolutions).
    """
    cutoff = started - pending_margin()  # younger pending rows may still be under way
    undecided = started - attempts.conclusion_age()  # younger groups may not be listed yet
    open_attempts = list(attempts.unresolved_creations(account).order_by("created_at", "pk"))
    in_flight = {
        (attempt.sent_name, attempt.sent_desc)
        for attempt in open_attempts
        if attempt.outcome == Outcome.PENDING and attempt.created_at > cutoff
    }
    candidates = defaultdict(list)
    for item in unregistered:
        candidates[item.name, item.desc].append(item)

    claimed, resolved = set(), 0
    for attempt in open_attempts:
        key = (attempt.sent_name, attempt.sent_desc)
        if key in in_flight:
            continue  # cannot be told apart from a creation under way: the next sync decides
        match = attempts.close_match(candidates[key], attempt.created_at, claimed)
        if match is None and attempt.created_at > undecided:
            continue  # an unknown answer from moments ago: Coze may still be acting on it
        if attempt.outcome == Outcome.PENDING and not _close_pending(attempt):
            continue
        if match is not None:
            claimed.add(match.coze_id)
        attempts.register_found(attempt, match, actor=actor, how="sync", logid="")
        resolved += 1
    return claimed, in_flight, resolved


def _close_pending(attempt):
    """Finish a pending row as `unknown`: its own answer was never recorded."""
    try:
        attempts.expire(attempt)
    except ValueError:
        return False  # finished meanwhile by its own process
    return True


def _group_fields(item):
    return {"coze_id": item.coze_id, **{name: getattr(item, name) for name in SYNCED_FIELDS}}


def _import(unregistered, claimed, in_flight, account):
    """Register groups made outside vpadmin in `account`, unassigned."""
    now = timezone.now()
    new = [
        VoiceprintGroup(
            **_group_fields(item), account=account, created_at=item.remote_created_at or now
        )
        for item in unregistered
        if item.coze_id not in claimed and (item.name, item.desc) not in in_flight
    ]
    VoiceprintGroup.objects.bulk_create(new, batch_size=BATCH_SIZE)
    return len(new)


def _update(listing, register, *, started):
    """Copy Coze's fields onto known groups; a gone group that is back is active again.

    Counts the groups whose name, desc, voiceprint count or state changed; Coze's times
    are kept current without counting."""
    # A group renamed in vpadmin while the list was read would get its old name back.
    recently_edited = set(
        AuditEntry.objects.filter(
            action=Action.GROUP_UPDATE,
            target_type=VoiceprintGroup._meta.model_name,
            created_at__gte=started - pending_margin(),
        ).values_list("target_id", flat=True)
    )
    stale, updated = [], 0
    for item in listing.groups.values():
        group = register.get(item.coze_id)
        if group is None or group.state == State.DELETED or str(group.pk) in recently_edited:
            continue
        differing = [name for name in SYNCED_FIELDS if getattr(group, name) != getattr(item, name)]
        back = group.state == State.GONE
        if not differing and not back:
            continue
        for name in differing:
            setattr(group, name, getattr(item, name))
        if back:
            group.state, group.ended_at = State.ACTIVE, None
        stale.append(group)
        # Coze's times alone are no news: a rename made through vpadmin moves them too.
        updated += back or not set(differing) <= set(COZE_TIMES)
    fields = [*SYNCED_FIELDS, "state", "ended_at"]
    VoiceprintGroup.objects.bulk_update(stale, fields, batch_size=BATCH_SIZE)
    return updated


def _mark_gone(listing, register, *, started, now):
    """Active groups missing from Coze's list become gone (kept, never deleted), and their
    voiceprints with them. Returns how many groups, and how many voiceprints."""
    missing = [
        group.pk
        for group in register.values()
        if group.state == State.ACTIVE
        and group.coze_id not in listing.groups
        # Registered after the list was read: a creation that finished during the sync.
        and group.created_at < started
    ]
    voiceprints = 0
    for first in range(0, len(missing), BATCH_SIZE):
        batch = missing[first : first + BATCH_SIZE]
        VoiceprintGroup.objects.filter(pk__in=batch, state=State.ACTIVE).update(
            state=State.GONE, ended_at=now, **voiceprint_sync.NEVER_READ
        )
        voiceprints += voiceprint_sync.gone_with_groups(batch, now)
    return len(missing), voiceprints
