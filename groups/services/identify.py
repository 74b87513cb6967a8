"""Speaker identification tests: score a clip against a group's voiceprints on Coze.

A test tool, not a gate: the clip is never stored, and Coze bills every call, so each
test is an audit row (a committed `pending` row before the call, its outcome after) and
counts against IDENTIFY_DAILY_LIMIT for the person who runs it, in the server's local
day. The count and the new row are made under a lock on that person's user row, so two
tests sent at once can never both take the last one.
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import audit, coze
from ..models import AuditEntry, Device, Voiceprint, VoiceprintGroup
from ..wording import fact
from .errors import GroupNotActive, IdentifyLimitReached

log = logging.getLogger("vpadmin.identify")
Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
DEFAULT_THRESHOLD = Device._meta.get_field("identify_threshold").default
TOP_K_MAX = 10  # a group holds at most ten voiceprints


@dataclass(frozen=True)
class Match:
    """One voiceprint as Coze scored it, with what the register knows of it."""

    feature_id: str
    name: str  # the register's name, else Coze's feature_name
    score: float  # 0 to 100, higher is closer
    recognised: bool  # at or above the device's threshold
    voiceprint: Voiceprint | None  # None: not in the register (made elsewhere, not synced)

    @property
    def person(self):
        return self.voiceprint.person if self.voiceprint else None

    @property
    def percent(self):
        """The score as a share of the bar's width, for an SVG attribute ("73.2%")."""
        return f"{max(0.0, min(100.0, self.score)):.1f}%"


@dataclass(frozen=True)
class IdentifyResult:
    group: VoiceprintGroup
    matches: list[Match]  # best first
    threshold: int
    logid: str
    left: int  # tests the person may still run today
    entry: AuditEntry

    @property
    def top(self):
        return self.matches[0] if self.matches else None

    @property
    def threshold_percent(self):
        return f"{self.threshold}%"

    @property
    def threshold_anchor(self):
        """Which side of its line the threshold's label goes (an SVG text-anchor), so that
        it stays inside the chart: after the line, or before it when the line is far right."""
        return "end" if self.threshold > 60 else "start"


def threshold_of(group):
    """The score at or above which the group's device recognises a person."""
    return group.device.identify_threshold if group.device else DEFAULT_THRESHOLD


def today_started():
    """The start of the server's local day (TIME_ZONE)."""
    midnight = datetime.datetime.combine(timezone.localdate(), datetime.time.min)
    return timezone.make_aware(midnight)


def tests_used(user):
    """Identification tests `user` has sent to Coze today: every row but a refusal (one
    under way counts: it is being billed)."""
    if user is None:
        return 0
    return (
        AuditEntry.objects.filter(
            actor=user, action=Action.VOICEPRINT_IDENTIFY, created_at__gte=today_started()
        )
        .exclude(outcome=Outcome.REFUSED)
        .count()
    )


def tests_left(user):
    return max(0, settings.IDENTIFY_DAILY_LIMIT - tests_used(user))


def _start(actor, group, threshold, recording, top_k):
    """Under the user's row lock: the day's count and the group's state; commits the
    pending row. Returns (pending row, tests used before this one)."""
    with transaction.atomic():
        if actor.user is not None:
            # Cheap and always there: the row every test of this person is counted for.
            list(get_user_model().objects.select_for_update().filter(pk=actor.user.pk))
        used = tests_used(actor.user)
        limit = settings.IDENTIFY_DAILY_LIMIT
        if used >= limit:
            raise IdentifyLimitReached(used, limit)
        # As it is now, not as the form saw it: deleted or gone meanwhile, it is said so.
        states = VoiceprintGroup.objects.filter(pk=group.pk).values_list("state", flat=True)
        group.state = states.first() or VoiceprintGroup.State.DELETED
        if not group.is_active:
            raise GroupNotActive(group)
        facts = fact(
            "identifying",
            clip_seconds=round(recording.duration, 1),
            threshold=threshold,
            **({"top_k": top_k} if top_k else {}),
        )
        entry = audit.record(
            actor,
            Action.VOICEPRINT_IDENTIFY,
            Outcome.PENDING,
            target=group,
            device=group.device,
            account_id=group.account_id,
            facts=facts,
        )
    return entry, used


@sensitive_variables("recording")  # the audio: never on an error page
def identify(actor, group, recording, *, top_k=None):
    """Score `recording` (a groups.audio.Recording) against `group`'s voiceprints on Coze.

    Raises IdentifyLimitReached or GroupNotActive before any call (each audited as
    refused), or a coze.CozeError (audited with its code and logid). Returns an
    IdentifyResult: every voiceprint scored, best first, with its register entry."""
    threshold = threshold_of(group)
    fields = {"target": group, "device": group.device, "account_id": group.account_id}
    try:
        entry, used = _start(actor, group, threshold, recording, top_k)
    except IdentifyLimitReached as full:
        facts = fact("identify_limit", used=full.used, limit=full.limit)
        audit.refuse(actor, Action.VOICEPRINT_IDENTIFY, facts=facts, **fields)
        raise
    except GroupNotActive:
        facts = fact("group_not_active", group=group.name)
        audit.refuse(actor, Action.VOICEPRINT_IDENTIFY, facts=facts, **fields)
        raise
    try:
        answer = coze.get_client(group.account).identify(
            group.coze_id,
            recording.wav,
            top_k=top_k,
            sample_rate=recording.sample_rate,
            channel=recording.channels,
        )
    except coze.CozeError as error:
        outcome = Outcome.UNKNOWN if isinstance(error, coze.CozeNoAnswer) else Outcome.FAILURE
        facts = {**entry.facts, **audit.error_facts(error)}
        _conclude(entry, outcome, facts=facts, **audit.coze_fields(error))
        raise
    matches = _matched(group, answer.data["feature_score_list"], threshold)
    facts = {**entry.facts, **_result_facts(matches)}
    _conclude(entry, Outcome.SUCCESS, facts=facts, **audit.coze_fields(answer))
    left = max(0, settings.IDENTIFY_DAILY_LIMIT - used - 1)
    return IdentifyResult(group, matches, threshold, answer.logid, left, entry)


def _matched(group, scores, threshold):
    """Coze's scores (best first) with the register's voiceprints, read in one query
    (within `group`'s account: another account's voiceprint may have the same Coze id)."""
    ids = [item["feature_id"] for item in scores]
    known = Voiceprint.objects.filter(coze_id__in=ids, group__account_id=group.account_id)
    known = known.select_related("person")
    by_id = {voiceprint.coze_id: voiceprint for voiceprint in known}
    matches = []
    for item in scores:
        voiceprint = by_id.get(item["feature_id"])
        matches.append(
            Match(
                feature_id=item["feature_id"],
                name=voiceprint.name if voiceprint else item["feature_name"],
                score=item["score"],
                recognised=item["score"] >= threshold,
                voiceprint=voiceprint,
            )
        )
    return matches


def _result_facts(matches):
    """What the audit row keeps of a test: the top result and every score (never audio)."""
    top = None
    if matches:
        best = matches[0]
        person = best.person
        top = {
            "feature_id": best.feature_id,
            "name": best.name,
            "person": person.name if person else None,
            "person_id": person.pk if person else None,
            "score": round(best.score, 1),
            "recognised": best.recognised,
        }
    scores = [{"feature_id": m.feature_id, "score": round(m.score, 1)} for m in matches]
    return {"say": "identified", "top": top, "scores": scores, "count": len(matches)}


def _conclude(entry, outcome, **fields):
    """Finish the row unless the time limit finished it meanwhile (the call outlasted it)."""
    try:
        audit.finish(entry, outcome, **fields)
    except ValueError:
        log.warning("audit row %s was finished before its call ended", entry.pk)


def latest_tests(device, count=10):
    """The device's latest identification tests, each with `top` (the facts' top result,
    or None) for its page: one query."""
    rows = list(
        AuditEntry.objects.filter(device=device, action=Action.VOICEPRINT_IDENTIFY).exclude(
            outcome=Outcome.REFUSED
        )[:count]
    )
    for row in rows:
        row.top = (row.facts or {}).get("top")
    return rows
