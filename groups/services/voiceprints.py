"""Voiceprints: enroll a person's voice in a group, rename or re-enroll it, delete it.

Each goes through Coze and is audited like a group creation: a committed `pending` row
before the call, its outcome after. A person is enrolled only while a consent of theirs
is in force; a group holds at most ten voiceprints, counted under the group's row lock so
that two Operators cannot both take the tenth place. The audio is never stored: only its
SHA-256, duration and quality figures.
"""

import logging

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import audit, coze
from ..models import FEATURES_MAX, AuditEntry, Consent, Person, Voiceprint, VoiceprintGroup
from ..wording import fact
from .attempts import MATCH_AFTER, MATCH_BEFORE, account_of, conclusion_age, pending_margin
from .errors import (
    AlreadyEnrolled,
    AlreadySubmitted,
    EnrollmentUnresolved,
    GroupFull,
    GroupNotActive,
    NoConsent,
    NoPerson,
    NotTheCreator,
)
from .whoami import token_user

log = logging.getLogger("vpadmin.voiceprints")
Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
GROUP = VoiceprintGroup._meta.model_name
CLOCK_SKEW_SECONDS = 5  # Coze's clock and ours may differ this much


def consent_in_force(person, today=None):
    """The consent under which `person` may be enrolled now (the latest in force); raises
    NoConsent saying why there is none."""
    today = today or timezone.localdate()
    consents = list(person.consents.all())  # newest first
    in_force = [consent for consent in consents if consent.in_force(today)]
    if in_force:
        return max(in_force, key=lambda consent: consent.keep_until)
    if not consents:
        raise NoConsent(person, "none")
    latest = consents[0]
    raise NoConsent(person, "withdrawn" if latest.withdrawn_at else "expired")


def enrollments_under_way(group):
    """Enrollment rows of `group` whose call may still be making a voiceprint: pending and
    younger than the time limit (older ones are concluded as unknown)."""
    return AuditEntry.objects.filter(
        action=Action.VOICEPRINT_CREATE,
        outcome=Outcome.PENDING,
        target_type=GROUP,
        target_id=str(group.pk),
        created_at__gte=timezone.now() - pending_margin(),
    )


def unresolved_enrollments(group):
    """Enrollment rows of `group` that may have made (or still make) a voiceprint Coze has
    not shown us: under way, or ended without an answer and not resolved, for as long as
    Coze may still list what they made (attempts.conclusion_age)."""
    return AuditEntry.objects.filter(
        action=Action.VOICEPRINT_CREATE,
        outcome__in=[Outcome.PENDING, Outcome.UNKNOWN],
        resolution__isnull=True,
        target_type=GROUP,
        target_id=str(group.pk),
        created_at__gte=timezone.now() - conclusion_age(),
    )


def places_taken(group, held=None):
    """Voiceprints the group holds, and enrollments into it whose outcome is not known;
    `held`, the group's active voiceprints, when the caller has counted them already."""
    if held is None:
        held = Voiceprint.objects.active().filter(group=group).count()
    return held + unresolved_enrollments(group).count()


def can_change(voiceprint):
    """Whether the token may change `voiceprint` on Coze: True, or the name of the Coze
    user who made it (only they can). Unknown creators are given the benefit of the
    doubt: Coze itself then decides."""
    creator = voiceprint.coze_creator_id
    user = token_user(voiceprint.group.account) if creator else None
    if not creator or user is None or user[0] == creator:
        return True
    return voiceprint.coze_creator_name or creator


def _enroll_fields(group, person, name, desc):
    return {
        "device": group.device,
        "sent_name": name,
        "sent_desc": desc,
        "account_id": group.account_id,
    }


def _reserve_place(actor, group, person, consent, name, desc, recording, submission):
    """Under the group's row lock: an earlier submission, the group's state and its ten
    places; commits the pending row that holds a place. Returns (pending row, earlier
    row, places taken)."""
    with transaction.atomic():
        locked = VoiceprintGroup.objects.select_for_update().get(pk=group.pk)
        earlier = AuditEntry.objects.filter(submission=submission).first()
        if earlier is not None:
            return None, earlier, None
        if not locked.is_active:
            raise GroupNotActive(locked)
        held = Voiceprint.objects.active().filter(group=locked, person=person).first()
        if held is not None:
            raise AlreadyEnrolled(held)
        for attempt in unresolved_enrollments(locked):
            if (attempt.facts or {}).get("person_id") == person.pk:
                raise EnrollmentUnresolved(attempt)
        taken = places_taken(locked)
        if taken >= FEATURES_MAX:
            return None, None, taken
        facts = fact(
            "enrolling",
            person=person.name,
            person_id=person.pk,
            consent_id=consent.pk,
            seconds=round(recording.duration, 1),
            sha256=recording.sha256,
            audio=audio_figures(recording),
        )
        pending = audit.record(
            actor,
            Action.VOICEPRINT_CREATE,
            Outcome.PENDING,
            target=locked,
            submission=submission,
            facts=facts,
            **_enroll_fields(locked, person, name, desc),
        )
        return pending, None, taken


@sensitive_variables("recording")  # the audio: never on an error page
def enroll(actor, group, *, person, name, desc, recording, submission):
    """Enroll `person`'s voice (a groups.audio.Recording) in `group` on Coze.

    Raises NoConsent, GroupNotActive, GroupFull or AlreadySubmitted (each refused before
    any call, and audited), or a coze.CozeError. Without an answer, the group's list is
    read at once: a voiceprint of that name made since is registered and returned (with
    `found_after_no_answer` set).
    """
    fields = _enroll_fields(group, person, name, desc)
    try:
        consent = consent_in_force(person)
    except NoConsent as refused:
        facts = fact(f"no_consent_{refused.reason}", person=person.name)
        audit.refuse(actor, Action.VOICEPRINT_CREATE, facts=facts, target=group, **fields)
        raise
    try:
        entry, earlier, taken = _reserve_place(
            actor, group, person, consent, name, desc, recording, submission
        )
    except GroupNotActive:
        facts = fact("group_not_active", group=group.name)
        audit.refuse(actor, Action.VOICEPRINT_CREATE, facts=facts, target=group, **fields)
        raise
    except AlreadyEnrolled as held:
        facts = fact("already_enrolled", person=person.name, name=held.voiceprint.name)
        audit.refuse(actor, Action.VOICEPRINT_CREATE, facts=facts, target=group, **fields)
        raise
    except EnrollmentUnresolved as waiting:
        facts = fact("enrollment_unresolved", person=person.name, attempt=waiting.entry.pk)
        audit.refuse(actor, Action.VOICEPRINT_CREATE, facts=facts, target=group, **fields)
        raise
    if earlier is not None:
        raise AlreadySubmitted(earlier)
    if entry is None:
        facts = fact("group_full", used=taken, limit=FEATURES_MAX)
        audit.refuse(actor, Action.VOICEPRINT_CREATE, facts=facts, target=group, **fields)
        raise GroupFull(group, taken, FEATURES_MAX)

    started = timezone.now()
    try:
        answer = coze.get_client(group.account).create_voiceprint(
            group.coze_id,
            name,
            recording.wav,
            desc=desc or None,
            sample_rate=recording.sample_rate,
            channel=recording.channels,
        )
    except coze.CozeError as error:
        no_answer = isinstance(error, coze.CozeNoAnswer)
        outcome = Outcome.UNKNOWN if no_answer else Outcome.FAILURE
        # What was being enrolled stays on the row: a later sync may register it from there.
        facts = {**entry.facts, **audit.error_facts(error)}
        _conclude(entry, outcome, facts=facts, **audit.coze_fields(error))
        if no_answer:
            found = _find_after_no_answer(group, name, started)
            if found is not None:
                return register_found(actor, entry, found, how="lookup")
        raise
    figures = entry.facts["audio"]
    with transaction.atomic():
        voiceprint = _register(entry, answer.data["id"], name, desc, person, consent, figures)
        voiceprint.logid = answer.logid
        voiceprint.save(update_fields=["logid"])
        facts = {**entry.facts, **fact("enrolled", person=person.name)}
        _conclude(
            entry, Outcome.SUCCESS, target=voiceprint, facts=facts, **audit.coze_fields(answer)
        )
    return voiceprint


def audio_figures(recording):
    """What the register keeps of a recording (never the audio itself)."""
    return {
        "audio_sha256": recording.sha256,
        "duration": round(recording.duration, 2),
        "speech_seconds": round(recording.speech_seconds, 2),
        "sample_rate": recording.sample_rate,
        "quality": {
            "source_format": recording.source_format,
            "source_rate": recording.source_rate,
            "source_channels": recording.source_channels,
            "peak_dbfs": round(recording.peak_dbfs, 1),
            "rms_dbfs": round(recording.rms_dbfs, 1),
            "clipped_share": round(recording.clipped_share, 4),
        },
    }


def _register(entry, coze_id, name, desc, person, consent, figures):
    """Keep the voiceprint Coze made for the attempt `entry`. A sync may have imported it
    meanwhile (as nobody's): the enrollment completes that row."""
    account = account_of(entry)
    user = token_user(account)
    values = {
        "group_id": int(entry.target_id),
        "name": name,
        "desc": desc or "",
        "person": person,
        "consent": consent,
        "keep_until": consent.keep_until if consent else None,
        "enrolled_by_id": entry.actor_id,
        "enrolled_by_name": entry.actor_username,
        "created_at": entry.created_at,
        "enrolled_at": entry.created_at,
        "coze_creator_id": user[0] if user else "",
        "coze_creator_name": user[1] if user else "",
        "state": Voiceprint.State.ACTIVE,
        "ended_at": None,
        **figures,
    }
    # Coze ids are unique per account: another account's voiceprint may have the same.
    voiceprint, _created = Voiceprint.objects.update_or_create(
        coze_id=str(coze_id), group__account=account, defaults=values
    )
    return voiceprint


def register_found(actor, entry, found, *, how, logid=""):
    """Register the voiceprint an enrollment without an answer made (`found`: Coze's list
    item as a dict with id, name, desc) and write the row that resolves the attempt."""
    facts = entry.facts or {}
    person = Person.objects.filter(pk=facts.get("person_id")).first()
    consent = Consent.objects.filter(pk=facts.get("consent_id")).first()
    with transaction.atomic():
        voiceprint = _register(
            entry,
            found["id"],
            found["name"],
            found.get("desc"),
            person,
            consent,
            facts.get("audio") or {},
        )
        audit.record(
            actor,
            Action.VOICEPRINT_CREATE,
            Outcome.SUCCESS,
            target=voiceprint,
            device_id=entry.device_id,
            account_id=entry.account_id,
            sent_name=entry.sent_name,
            sent_desc=entry.sent_desc,
            resolves=entry,
            coze_logid=logid[:64],
            facts=fact("found_voiceprint", coze_id=voiceprint.coze_id, how=how),
        )
    voiceprint.found_after_no_answer = True
    return voiceprint


def made_by_attempt(attempt, item_name, item_creator, item_created_at):
    """Whether a voiceprint on Coze's list may be the one `attempt` (an enrollment without
    an answer) made: its name, made by this token, within the matching window."""
    user = token_user(account_of(attempt))
    return (
        item_name == attempt.sent_name
        and (user is None or not item_creator or item_creator == user[0])
        and item_created_at is not None
        and attempt.created_at - MATCH_BEFORE <= item_created_at <= attempt.created_at + MATCH_AFTER
    )


def _conclude(entry, outcome, *, target=None, **fields):
    """Finish the row unless the time limit finished it meanwhile (the call outlasted it)."""
    try:
        audit.finish(entry, outcome, target=target, **fields)
    except ValueError:
        log.warning("audit row %s was finished before its call ended", entry.pk)


def _find_after_no_answer(group, name, started):
    """The voiceprint a lost answer may have made: on Coze's list of the group, named
    `name`, made by this token since the call started (a few seconds' clock skew allowed),
    and not in the register. None when there is none, or Coze cannot tell now."""
    try:
        answer = coze.get_client(group.account).list_voiceprints(group.coze_id)
    except coze.CozeError:
        return None
    items = [item for item in answer.data.get("items") or [] if isinstance(item, dict)]
    known = set(
        Voiceprint.objects.filter(coze_id__in=[str(item.get("id")) for item in items])
        .filter(group__account_id=group.account_id)
        .exclude(person__isnull=True)
        .values_list("coze_id", flat=True)
    )
    user = token_user(group.account)
    since = int(started.timestamp()) - CLOCK_SKEW_SECONDS
    for item in items:
        creator = str((item.get("user_info") or {}).get("id") or "")
        if (
            item.get("name") == name
            and str(item.get("id")) not in known
            and (user is None or creator == user[0])
            and isinstance(item.get("created_at"), int)
            and item["created_at"] >= since
        ):
            return {"id": str(item["id"]), "name": name, "desc": item.get("desc") or ""}
    return None


@sensitive_variables("recording")
def update_voiceprint(actor, voiceprint, *, name, desc, recording=None, person=None):
    """Rename a voiceprint, re-enroll it with new audio, and/or give it a person.

    Coze is called for a new name, desc or audio; a person is the register's alone. New
    audio and a new person need a consent in force (NoConsent otherwise). Raises
    NotTheCreator before any call when the token is not the voiceprint's creator, or a
    coze.CozeError. Returns the changed fields."""
    person = person or voiceprint.person
    consent = voiceprint.consent
    device = voiceprint.group.device
    if recording is not None and person is None:
        # New audio is a new enrollment: whose voice it is, and their consent, come first.
        facts = fact("no_person_for_audio")
        audit.refuse(
            actor,
            Action.VOICEPRINT_UPDATE,
            facts=facts,
            target=voiceprint,
            device=device,
            account_id=voiceprint.group.account_id,
        )
        raise NoPerson(voiceprint)
    if recording is not None or person != voiceprint.person:
        try:
            consent = consent_in_force(person) if person else None
        except NoConsent as refused:
            facts = fact(f"no_consent_{refused.reason}", person=person.name)
            audit.refuse(
                actor,
                Action.VOICEPRINT_UPDATE,
                facts=facts,
                target=voiceprint,
                device=voiceprint.group.device,
                account_id=voiceprint.group.account_id,
            )
            raise
    remote = {f: v for f, v in (("name", name), ("desc", desc)) if v != getattr(voiceprint, f)}
    changes = {f: [getattr(voiceprint, f), v] for f, v in remote.items()}
    if recording is not None:
        changes["audio"] = [voiceprint.audio_sha256[:12], recording.sha256[:12]]
    if person != voiceprint.person:
        changes["person"] = [voiceprint.person and voiceprint.person.name, person.name]
    if not changes:
        return changes
    answer = None
    if remote or recording is not None:
        creator = can_change(voiceprint)
        if creator is not True:
            facts = fact("not_the_creator", creator=creator)
            audit.refuse(
                actor,
                Action.VOICEPRINT_UPDATE,
                facts=facts,
                target=voiceprint,
                device=device,
                account_id=voiceprint.group.account_id,
            )
            raise NotTheCreator(voiceprint, creator)
        entry = audit.record(
            actor,
            Action.VOICEPRINT_UPDATE,
            Outcome.PENDING,
            target=voiceprint,
            device=device,
            account_id=voiceprint.group.account_id,
            sent_name=remote.get("name", ""),
            sent_desc=remote.get("desc", ""),
        )
        try:
            answer = coze.get_client(voiceprint.group.account).update_voiceprint(
                voiceprint.group.coze_id,
                voiceprint.coze_id,
                name=remote.get("name"),
                desc=remote.get("desc"),
                audio=recording.wav if recording else None,
                sample_rate=recording.sample_rate if recording else None,
                channel=recording.channels if recording else None,
            )
        except coze.CozeError as error:
            outcome = Outcome.UNKNOWN if isinstance(error, coze.CozeNoAnswer) else Outcome.FAILURE
            _conclude(entry, outcome, facts=audit.error_facts(error), **audit.coze_fields(error))
            if error.not_found and _on_coze(voiceprint) is False:
                _mark(voiceprint, Voiceprint.State.GONE)
            raise
    with transaction.atomic():
        for field, value in remote.items():
            setattr(voiceprint, field, value)
        voiceprint.person, voiceprint.consent = person, consent
        if consent is not None:
            voiceprint.keep_until = consent.keep_until
        update = [*remote, "person", "consent", "keep_until"]
        if recording is not None:
            figures = {**audio_figures(recording), "enrolled_at": timezone.now()}
            for field, value in figures.items():
                setattr(voiceprint, field, value)
            update += list(figures)
            voiceprint.logid = answer.logid
            update.append("logid")
        voiceprint.save(update_fields=update)
        facts = fact("changes", changes=changes, device_gone=False)
        if answer is not None:
            _conclude(entry, Outcome.SUCCESS, facts=facts, **audit.coze_fields(answer))
        else:
            audit.record(
                actor,
                Action.VOICEPRINT_UPDATE,
                Outcome.SUCCESS,
                target=voiceprint,
                device=device,
                account_id=voiceprint.group.account_id,
                facts=facts,
            )
    return changes


def delete_voiceprint(actor, voiceprint, *, reason=None):
    """Delete a voiceprint on Coze; it stays in the register as deleted, with the logid.

    `reason` (a DeletionReason) says why the law asks for it; its audit rows keep it.
    "Not found" from Coze, confirmed by the group's list, is the deletion already done (a
    retry after a lost answer); so is a lost answer after which the list no longer shows
    it. Raises NotTheCreator before any call, or a coze.CozeError."""
    device = voiceprint.group.device
    why = {"deletion": reason} if reason else {}
    creator = can_change(voiceprint)
    if creator is not True:
        facts = fact("not_the_creator", creator=creator, **why)
        audit.refuse(
            actor,
            Action.VOICEPRINT_DELETE,
            facts=facts,
            target=voiceprint,
            device=device,
            account_id=voiceprint.group.account_id,
        )
        raise NotTheCreator(voiceprint, creator)
    entry = audit.record(
        actor,
        Action.VOICEPRINT_DELETE,
        Outcome.PENDING,
        target=voiceprint,
        device=device,
        account_id=voiceprint.group.account_id,
        facts=fact("deleting", **why) if why else None,
    )
    try:
        client = coze.get_client(voiceprint.group.account)
        answer = client.delete_voiceprint(voiceprint.group.coze_id, voiceprint.coze_id)
    except coze.CozeError as error:
        if (error.not_found or isinstance(error, coze.CozeNoAnswer)) and _on_coze(
            voiceprint
        ) is False:
            say = "voiceprint_already_deleted_for" if why else "voiceprint_already_deleted"
            with transaction.atomic():
                _mark(voiceprint, Voiceprint.State.DELETED, logid=error.logid or "")
                _conclude(
                    entry, Outcome.SUCCESS, facts=fact(say, **why), **audit.coze_fields(error)
                )
            return
        outcome = Outcome.UNKNOWN if isinstance(error, coze.CozeNoAnswer) else Outcome.FAILURE
        facts = {**audit.error_facts(error), **why}
        _conclude(entry, outcome, facts=facts, **audit.coze_fields(error))
        raise
    facts = fact("voiceprint_deleted", **why) if why else None
    with transaction.atomic():
        _mark(voiceprint, Voiceprint.State.DELETED, logid=answer.logid)
        _conclude(entry, Outcome.SUCCESS, facts=facts, **audit.coze_fields(answer))


def _mark(voiceprint, state, logid=None):
    voiceprint.state, voiceprint.ended_at = state, timezone.now()
    update = ["state", "ended_at"]
    if logid:
        voiceprint.logid = logid
        update.append("logid")
    voiceprint.save(update_fields=update)


def _on_coze(voiceprint):
    """Whether the group's list on Coze still has the voiceprint: True, False, or None when
    Coze cannot tell now (its group gone counts as the voiceprint gone)."""
    try:
        answer = coze.get_client(voiceprint.group.account).list_voiceprints(
            voiceprint.group.coze_id
        )
    except coze.CozeError as error:
        return False if error.not_found else None
    items = answer.data.get("items") or []
    return any(isinstance(i, dict) and str(i.get("id")) == voiceprint.coze_id for i in items)
