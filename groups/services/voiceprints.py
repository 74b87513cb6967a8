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

from .. import audit, coze
from ..models import FEATURES_MAX, AuditEntry, Voiceprint, VoiceprintGroup
from ..wording import fact
from .attempts import pending_margin
from .errors import AlreadySubmitted, GroupFull, GroupNotActive, NoConsent, NotTheCreator
from .whoami import token_user

log = logging.getLogger("vpadmin.voiceprints")
Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
GROUP = VoiceprintGroup._meta.model_name


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


def places_taken(group, held=None):
    """Voiceprints the group holds, and enrollments into it under way; `held`, the group's
    active voiceprints, when the caller has counted them already."""
    if held is None:
        held = Voiceprint.objects.active().filter(group=group).count()
    return held + enrollments_under_way(group).count()


def can_change(voiceprint):
    """Whether the token may change `voiceprint` on Coze: True, or the name of the Coze
    user who made it (only they can). Unknown creators are given the benefit of the
    doubt: Coze itself then decides."""
    creator = voiceprint.coze_creator_id
    user = token_user() if creator else None
    if not creator or user is None or user[0] == creator:
        return True
    return voiceprint.coze_creator_name or creator


def _enroll_fields(group, person, name, desc):
    return {"device": group.device, "sent_name": name, "sent_desc": desc}


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
    if earlier is not None:
        raise AlreadySubmitted(earlier)
    if entry is None:
        facts = fact("group_full", used=taken, limit=FEATURES_MAX)
        audit.refuse(actor, Action.VOICEPRINT_CREATE, facts=facts, target=group, **fields)
        raise GroupFull(group, taken, FEATURES_MAX)

    started = timezone.now()
    try:
        answer = coze.get_client().create_voiceprint(
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
        _conclude(entry, outcome, facts=audit.error_facts(error), **audit.coze_fields(error))
        if no_answer:
            found = _find_after_no_answer(actor, entry, group, name, started)
            if found is not None:
                return _register(actor, None, found, group, person, consent, recording, entry)
        raise
    item = {"id": answer.data["id"], "name": name, "desc": desc}
    return _register(actor, answer, item, group, person, consent, recording, entry)


def _register(actor, answer, item, group, person, consent, recording, entry):
    """Keep the voiceprint Coze made, and finish (or resolve) the attempt's row."""
    user = token_user()
    values = {
        "group": group,
        "name": item["name"],
        "desc": item.get("desc") or "",
        "person": person,
        "consent": consent,
        "keep_until": consent.keep_until,
        "enrolled_by": actor.user,
        "enrolled_by_name": actor.username,
        "logid": answer.logid if answer else entry.coze_logid,
        "coze_creator_id": user[0] if user else "",
        "coze_creator_name": user[1] if user else "",
        "state": Voiceprint.State.ACTIVE,
        "ended_at": None,
        **_audio_fields(recording),
    }
    with transaction.atomic():
        # A sync may have imported it while Coze was answering: the enrollment completes it.
        voiceprint, _created = Voiceprint.objects.update_or_create(
            coze_id=str(item["id"]), defaults=values
        )
        facts = fact("enrolled", person=person.name, seconds=round(recording.duration, 1))
        if answer is not None:
            _conclude(
                entry, Outcome.SUCCESS, target=voiceprint, facts=facts, **audit.coze_fields(answer)
            )
        else:
            audit.record(
                actor,
                Action.VOICEPRINT_CREATE,
                Outcome.SUCCESS,
                target=voiceprint,
                device=group.device,
                sent_name=entry.sent_name,
                sent_desc=entry.sent_desc,
                resolves=entry,
                facts=fact("found_voiceprint", coze_id=voiceprint.coze_id),
            )
            voiceprint.found_after_no_answer = True
    return voiceprint


def _audio_fields(recording):
    return {
        "audio_sha256": recording.sha256,
        "duration": round(recording.duration, 2),
        "speech_seconds": round(recording.speech_seconds, 2),
        "sample_rate": recording.sample_rate,
        "enrolled_at": timezone.now(),
        "quality": {
            "source_format": recording.source_format,
            "source_rate": recording.source_rate,
            "source_channels": recording.source_channels,
            "peak_dbfs": round(recording.peak_dbfs, 1),
            "rms_dbfs": round(recording.rms_dbfs, 1),
            "clipped_share": round(recording.clipped_share, 4),
        },
    }


def _conclude(entry, outcome, *, target=None, **fields):
    """Finish the row unless the time limit finished it meanwhile (the call outlasted it)."""
    try:
        audit.finish(entry, outcome, target=target, **fields)
    except ValueError:
        log.warning("audit row %s was finished before its call ended", entry.pk)


def _find_after_no_answer(actor, entry, group, name, started):
    """The voiceprint a lost answer may have made: on Coze's list of the group, named
    `name`, not in the register. None when there is none, or Coze cannot tell now."""
    try:
        answer = coze.get_client().list_voiceprints(group.coze_id)
    except coze.CozeError:
        return None
    items = answer.data.get("items") or []
    known = set(
        Voiceprint.objects.filter(
            coze_id__in=[str(i.get("id")) for i in items if isinstance(i, dict)]
        )
        .exclude(person__isnull=True)
        .values_list("coze_id", flat=True)
    )
    since = int((started - pending_margin()).timestamp())
    for item in items:
        if (
            isinstance(item, dict)
            and item.get("name") == name
            and str(item.get("id")) not in known
            and isinstance(item.get("created_at"), int)
            and item["created_at"] >= since
        ):
            return {"id": str(item["id"]), "name": name, "desc": item.get("desc") or ""}
    return None


def update_voiceprint(actor, voiceprint, *, name, desc, recording=None, person=None):
    """Rename a voiceprint, re-enroll it with new audio, and/or give it a person.

    Coze is called for a new name, desc or audio; a person is the register's alone. New
    audio and a new person need a consent in force (NoConsent otherwise). Raises
    NotTheCreator before any call when the token is not the voiceprint's creator, or a
    coze.CozeError. Returns the changed fields."""
    person = person or voiceprint.person
    consent = voiceprint.consent
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
    device = voiceprint.group.device
    answer = None
    if remote or recording is not None:
        creator = can_change(voiceprint)
        if creator is not True:
            facts = fact("not_the_creator", creator=creator)
            audit.refuse(
                actor, Action.VOICEPRINT_UPDATE, facts=facts, target=voiceprint, device=device
            )
            raise NotTheCreator(voiceprint, creator)
        entry = audit.record(
            actor,
            Action.VOICEPRINT_UPDATE,
            Outcome.PENDING,
            target=voiceprint,
            device=device,
            sent_name=remote.get("name", ""),
            sent_desc=remote.get("desc", ""),
        )
        try:
            answer = coze.get_client().update_voiceprint(
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
            for field, value in _audio_fields(recording).items():
                setattr(voiceprint, field, value)
            update += list(_audio_fields(recording))
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
                facts=facts,
            )
    return changes


def delete_voiceprint(actor, voiceprint):
    """Delete a voiceprint on Coze; it stays in the register as deleted, with the logid.

    "Not found" from Coze, confirmed by the group's list, is the deletion already done (a
    retry after a lost answer); so is a lost answer after which the list no longer shows
    it. Raises NotTheCreator before any call, or a coze.CozeError."""
    device = voiceprint.group.device
    creator = can_change(voiceprint)
    if creator is not True:
        facts = fact("not_the_creator", creator=creator)
        audit.refuse(actor, Action.VOICEPRINT_DELETE, facts=facts, target=voiceprint, device=device)
        raise NotTheCreator(voiceprint, creator)
    entry = audit.record(
        actor, Action.VOICEPRINT_DELETE, Outcome.PENDING, target=voiceprint, device=device
    )
    try:
        answer = coze.get_client().delete_voiceprint(voiceprint.group.coze_id, voiceprint.coze_id)
    except coze.CozeError as error:
        if (error.not_found or isinstance(error, coze.CozeNoAnswer)) and _on_coze(
            voiceprint
        ) is False:
            with transaction.atomic():
                _mark(voiceprint, Voiceprint.State.DELETED, logid=error.logid or "")
                _conclude(
                    entry,
                    Outcome.SUCCESS,
                    facts=fact("voiceprint_already_deleted"),
                    **audit.coze_fields(error),
                )
            return
        outcome = Outcome.UNKNOWN if isinstance(error, coze.CozeNoAnswer) else Outcome.FAILURE
        _conclude(entry, outcome, facts=audit.error_facts(error), **audit.coze_fields(error))
        raise
    with transaction.atomic():
        _mark(voiceprint, Voiceprint.State.DELETED, logid=answer.logid)
        _conclude(entry, Outcome.SUCCESS, **audit.coze_fields(answer))


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
        answer = coze.get_client().list_voiceprints(voiceprint.group.coze_id)
    except coze.CozeError as error:
        return False if error.not_found else None
    items = answer.data.get("items") or []
    return any(isinstance(i, dict) and str(i.get("id")) == voiceprint.coze_id for i in items)
