"""Reconciling the register's voiceprints with Coze's, group by group, once the sync has
brought the groups in line.

Only a group whose feature_count or updated_at on Coze moved since its voiceprints were
last read is read again (every page of its list), so a sync of an unchanged account makes
no voiceprint call. Each group is applied in its own transaction: a group whose list call
fails keeps its marker and is read by the next sync, and the others are applied all the
same. Voiceprints made elsewhere are imported with no person: someone must vouch for them.
"""

import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import partial

from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .. import coze
from ..models import DESC_MAX, AuditEntry, Voiceprint, VoiceprintGroup
from ..wording import fact
from .attempts import pending_margin
from .listing import PAGE_SIZE, PageFailed, moment, read_page, text, total_and_items
from .voiceprints import (
    enrollments_under_way,
    made_by_attempt,
    register_found,
    unresolved_enrollments,
)

log = logging.getLogger("vpadmin.sync")
Action, Outcome, State = AuditEntry.Action, AuditEntry.Outcome, Voiceprint.State

# Coze's times are whole seconds: a change in the second the voiceprints were read (give
# or take the two clocks' difference) may leave the group's updated_at as it was read, so
# such a group is read once more by the next sync.
SAME_MOMENT = timedelta(seconds=2)
# Coze failing for this many groups in a row is failing for all: the rest wait.
FAILURES_IN_A_ROW = 3
# Copied from Coze onto known voiceprints; the creator and Coze's times alone are no news.
CREATOR_FIELDS = ["coze_creator_id", "coze_creator_name"]
COZE_TIMES = ["remote_created_at", "remote_updated_at"]
SYNCED_FIELDS = ["name", "desc", *CREATOR_FIELDS, *COZE_TIMES]
QUIET_FIELDS = {*CREATOR_FIELDS, *COZE_TIMES}
MARKER_FIELDS = ["voiceprints_read_at", "voiceprints_read_count", "voiceprints_read_updated_at"]
NEVER_READ = dict.fromkeys(MARKER_FIELDS)  # a group that comes back is read again


def _max_length(name):
    return Voiceprint._meta.get_field(name).max_length


@dataclass(frozen=True)
class RemoteVoiceprint:
    """One item of a group's voiceprint list, in the register's terms."""

    coze_id: str
    name: str
    desc: str
    coze_creator_id: str
    coze_creator_name: str
    remote_created_at: datetime | None
    remote_updated_at: datetime | None


@dataclass
class VoiceprintCounts:
    imported: int = 0
    updated: int = 0
    gone: int = 0
    lists: int = 0  # list calls made
    unread: int = 0  # groups whose voiceprints could not be read: the next sync reads them
    resolved: int = 0  # enrollments without an answer whose voiceprint was found

    def add(self, other):
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    @property
    def changed(self):
        return bool(self.imported or self.updated or self.gone or self.resolved)

    @property
    def facts(self):
        """As the sync row's facts name them."""
        return {
            "voiceprints_imported": self.imported,
            "voiceprints_updated": self.updated,
            "voiceprints_gone": self.gone,
            "voiceprint_lists": self.lists,
            "voiceprints_unread": self.unread,
        }


@dataclass
class VoiceprintListing:
    items: dict  # coze_id -> RemoteVoiceprint
    calls: int
    complete: bool  # Coze's total stayed the same and every voiceprint it counts was listed


def sync_voiceprints(
    client: coze.CozeClient, *, actor, on_group=None, account=None
) -> VoiceprintCounts:
    """Read and apply the voiceprints of every group of `account` (the client's; every
    account's when None) that needs it. `on_group(done, total, row)` hears of each group:
    `row` is a job's result row when it was left unread."""
    groups = groups_to_read(account)
    counts, failures = VoiceprintCounts(), 0
    for done, group in enumerate(groups, 1):
        if failures == FAILURES_IN_A_ROW:
            left = len(groups) - done + 1
            counts.unread += left
            facts = fact("voiceprints_stopped", failures=failures, groups=left)
            log.warning("sync: %d groups' voiceprints left to the next sync", left)
            _tell(on_group, done - 1, len(groups), {"outcome": Outcome.FAILURE, "facts": facts})
            break
        read, row = _read_group(client, group, actor)
        counts.add(read)
        failures = failures + 1 if read.unread else 0
        _tell(on_group, done, len(groups), row)
    return counts


def _tell(on_group, done, total, row):
    if on_group is not None:
        on_group(done, total, row)


def groups_to_read(account=None):
    """Active groups (of `account` when given) whose voiceprints Coze may show otherwise
    than when they were last read; never read, when Coze counts voiceprints in them or
    the register holds some."""
    holding = Voiceprint.objects.filter(group=OuterRef("pk"), state=State.ACTIVE)
    active = VoiceprintGroup.objects.active()
    if account is not None:
        active = active.filter(account=account)
    groups = (
        active.annotate(holding=Exists(holding))
        .only("coze_id", "name", "feature_count", "remote_updated_at", *MARKER_FIELDS)
        .order_by("pk")
    )
    return [group for group in groups if _changed_since_read(group)]


def _changed_since_read(group):
    if group.voiceprints_read_at is None:
        return group.feature_count > 0 or group.holding
    shown = (group.feature_count, group.remote_updated_at)
    if shown != (group.voiceprints_read_count, group.voiceprints_read_updated_at):
        return True
    updated = group.remote_updated_at
    return updated is not None and updated >= group.voiceprints_read_at - SAME_MOMENT


def _read_group(client, group, actor):
    """List and apply one group's voiceprints: (counts, a job's result row or None)."""
    started = timezone.now()
    try:
        listing = fetch_voiceprints(client, group.coze_id)
    except PageFailed as failed:
        error = failed.error
        log.warning("sync: the voiceprints of group %s were not read: %s", group.coze_id, error)
        seconds = error.values.get("seconds")
        facts = fact(
            "voiceprints_unread",
            group=group.name,
            reason=error.reason or error.msg,
            **({"seconds": seconds} if seconds else {}),
        )
        outcome = Outcome.UNKNOWN if isinstance(error, coze.CozeNoAnswer) else Outcome.FAILURE
        row = {"outcome": outcome, "facts": facts, "logid": error.logid}
        return VoiceprintCounts(lists=failed.calls, unread=1), row
    try:
        counts = apply_voiceprints(group, listing, started=started, actor=actor)
    except DatabaseError:
        log.exception("sync: the voiceprints of group %s were not applied", group.coze_id)
        row = {
            "outcome": Outcome.FAILURE,
            "facts": fact("voiceprints_not_applied", group=group.name),
        }
        return VoiceprintCounts(lists=listing.calls, unread=1), row
    counts.lists = listing.calls
    return counts, None


# Fetching


def fetch_voiceprints(client, group_id) -> VoiceprintListing:
    """Every page of a group's voiceprints; raises PageFailed (with every call made)."""
    items, totals, calls, page = {}, [], 0, 0
    while True:
        page += 1
        try:
            answer, tries = read_page(
                partial(client.list_voiceprints, group_id, page_num=page, page_size=PAGE_SIZE),
                partial(total_and_items, item=remote_voiceprint),
                page,
            )
        except PageFailed as failed:
            failed.calls += calls
            raise
        calls += tries
        total, found = answer.data["total"], answer.data["items"]
        totals.append(total)
        fresh = sum(item.coze_id not in items for item in found)
        items.update((item.coze_id, item) for item in found)
        # A full page with nothing new: the paging is stuck, asking on would loop.
        if len(found) < PAGE_SIZE or len(items) >= total or not fresh:
            break
    complete = len(set(totals)) == 1 and len(items) >= totals[-1]
    return VoiceprintListing(items=items, calls=calls, complete=complete)


def remote_voiceprint(item):
    """One item of a group's voiceprint list as a RemoteVoiceprint; ValueError (or
    KeyError, TypeError) when it is not in Coze's shape."""
    coze_id = str(item["id"])
    if not coze_id or len(coze_id) > _max_length("coze_id"):
        raise ValueError(coze_id)
    creator = item.get("user_info") or {}
    if not isinstance(creator, dict):
        raise TypeError("user_info")
    return RemoteVoiceprint(
        coze_id=coze_id,
        name=text(item.get("name"), _max_length("name")),
        desc=text(item.get("desc"), DESC_MAX),
        # Coze documents the id as a string; its example shows a number: either is taken.
        coze_creator_id=text(creator.get("id"), _max_length("coze_creator_id")),
        coze_creator_name=text(
            creator.get("name") or creator.get("nickname"), _max_length("coze_creator_name")
        ),
        remote_created_at=moment(item.get("created_at")),
        remote_updated_at=moment(item.get("updated_at")),
    )


# Applying


def apply_voiceprints(group, listing, *, started, actor) -> VoiceprintCounts:
    """Bring the group's voiceprints in the register in line with `listing` (read from
    `started` on), in one transaction. The group's marker moves on only when nothing had to
    wait for a later sync."""
    counts = VoiceprintCounts()
    now = timezone.now()
    with transaction.atomic():
        active = VoiceprintGroup.objects.select_for_update().filter(pk=group.pk).active()
        if not list(active.values_list("pk", flat=True)):
            return counts  # deleted or gone meanwhile: nothing of it to read now
        # Read before the register: a creation finishing meanwhile is seen in one or the other.
        # Their own process registers what Coze made, with its person: left to it.
        under_way = set(enrollments_under_way(group).values_list("sent_name", flat=True))
        edited = _recently_edited(started)
        held = {
            voiceprint.coze_id: voiceprint
            for voiceprint in Voiceprint.objects.filter(
                # Coze ids are unique per account, not across accounts.
                Q(group=group) | Q(group__account_id=group.account_id, coze_id__in=listing.items)
            )
        }
        unheard = [
            item
            for item in listing.items.values()
            if item.coze_id not in held and item.name not in under_way
        ]
        # Enrollments that got no answer: what they made is theirs, with its person.
        unheard, counts.resolved = _claim_for_enrollments(group, unheard, actor)
        new = [_imported(group, item, now) for item in unheard]
        Voiceprint.objects.bulk_create(new)
        counts.imported = len(new)
        counts.updated, skipped = _update(listing, held, edited)
        young = False
        if listing.complete and not under_way:
            counts.gone, young = _mark_gone(group, listing, held, started=started, now=now)
        # Whatever was left for later keeps the marker: the next sync reads the group again.
        if listing.complete and not (under_way or skipped or young):
            VoiceprintGroup.objects.filter(pk=group.pk).update(
                voiceprints_read_at=started,
                voiceprints_read_count=group.feature_count,
                voiceprints_read_updated_at=group.remote_updated_at,
            )
    return counts


def _claim_for_enrollments(group, items, actor):
    """Register, with their person and consent, the items that enrollments without an
    answer made (voiceprints.made_by_attempt); returns the other items and how many
    attempts were resolved."""
    attempts = list(
        unresolved_enrollments(group).filter(outcome=AuditEntry.Outcome.UNKNOWN).order_by("pk")
    )
    rest, resolved = [], 0
    for item in items:
        attempt = next(
            (
                attempt
                for attempt in attempts
                if made_by_attempt(attempt, item.name, item.coze_creator_id, item.remote_created_at)
            ),
            None,
        )
        if attempt is None:
            rest.append(item)
            continue
        attempts.remove(attempt)
        found = {"id": item.coze_id, "name": item.name, "desc": item.desc}
        register_found(actor, attempt, found, how="sync")
        resolved += 1
    return rest, resolved


def _recently_edited(started):
    """Voiceprints changed through vpadmin while the list was read, which the list may
    show as they were before."""
    rows = AuditEntry.objects.filter(
        action=Action.VOICEPRINT_UPDATE,
        target_type=Voiceprint._meta.model_name,
        created_at__gte=started - pending_margin(),
    )
    return set(rows.values_list("target_id", flat=True))


def _imported(group, item, now):
    """A voiceprint made elsewhere, as the register first holds it: nobody's, until someone
    assigns it to a person with consent on record."""
    made = item.remote_created_at or now
    copied = {name: getattr(item, name) for name in SYNCED_FIELDS}
    return Voiceprint(
        coze_id=item.coze_id, group=group, created_at=made, enrolled_at=made, **copied
    )


def _update(listing, held, edited):
    """Copy Coze's fields onto known voiceprints; a gone one that is back is active again.
    Returns (how many changed in name, desc or state, whether any was left for later)."""
    stale, updated, skipped = [], 0, False
    for item in listing.items.values():
        voiceprint = held.get(item.coze_id)
        if voiceprint is None or voiceprint.state == State.DELETED:
            continue
        if str(voiceprint.pk) in edited:
            skipped = True  # its list item may be older than vpadmin's change
            continue
        # A creator Coze does not name is not forgotten.
        names = [n for n in SYNCED_FIELDS if item.coze_creator_id or n not in CREATOR_FIELDS]
        differing = [name for name in names if getattr(voiceprint, name) != getattr(item, name)]
        back = voiceprint.state == State.GONE
        if not differing and not back:
            continue
        for name in differing:
            setattr(voiceprint, name, getattr(item, name))
        if back:
            voiceprint.state, voiceprint.ended_at = State.ACTIVE, None
        stale.append(voiceprint)
        updated += back or not set(differing) <= QUIET_FIELDS
    Voiceprint.objects.bulk_update(stale, [*SYNCED_FIELDS, "state", "ended_at"])
    return updated, skipped


def _mark_gone(group, listing, held, *, started, now):
    """The group's active voiceprints missing from Coze's list become gone (kept, never
    deleted). Returns (how many, whether one registered during the read was spared)."""
    missing, young = [], False
    for voiceprint in held.values():
        if (
            voiceprint.group_id != group.pk
            or voiceprint.state != State.ACTIVE
            or voiceprint.coze_id in listing.items
        ):
            continue
        if voiceprint.created_at >= started:
            young = True  # registered after the list was read: an enrollment just finished
            continue
        missing.append(voiceprint.pk)
    Voiceprint.objects.filter(pk__in=missing, state=State.ACTIVE).update(
        state=State.GONE, ended_at=now
    )
    return len(missing), young


def gone_with_groups(group_ids, now):
    """Coze deletes a group's voiceprints with it: the active voiceprints of groups gone
    from Coze are gone too. Returns how many."""
    return Voiceprint.objects.filter(group_id__in=group_ids, state=State.ACTIVE).update(
        state=State.GONE, ended_at=now
    )
