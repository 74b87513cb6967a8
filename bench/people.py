"""The benchmark's people, consents and voiceprints: 5,000 people recorded over the year,
each with a consent (a few withdrawn, expired, or renewed after one of these), and in each
active group as many voiceprints as Coze counts there (at most ten), nearly all of them
vouched for; with the audit rows that recorded them. Deterministic (the caller's seed).
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from groups.models import FEATURES_MAX, AuditEntry, Consent, CozeAccount, Person, Voiceprint

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
BATCH = 2000
DAYS = 365
FAMILY = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "Müller", "Martin", "Smith", "García"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "Anna", "Lukas", "Léa", "Noah", "Sofia"]
PURPOSE = "Recognise my voice on the household's speaker, to answer me by name."
# Nobody vouches for them: made on Coze's console and imported by a sync (no person), or
# a person's whose consent was withdrawn or ran out since (the dashboard lists both).
UNVOUCHED_SHARE = 0.02
DELETED_PER_GROUP = 0.25  # groups with a voiceprint deleted since, kept as history
COLLEAGUE = ("7484523878849829999", "colleague_9999")  # another Coze user of the team


@dataclass
class Built:
    people: int = 0
    consents: int = 0
    voiceprints: int = 0
    audit_rows: list = field(default_factory=list)  # AuditEntry, unsaved, any order


def build(rng, count, groups, users, now, coze_users):
    """People, consents and voiceprints in `groups` (VoiceprintGroup rows, saved); the
    audit rows are returned for the caller to insert in time order with the rest.
    `coze_users` are {account id: (id, name)} of each account's token's Coze user."""
    for pk, (user_id, user_name) in coze_users.items():
        CozeAccount.objects.filter(pk=pk).update(coze_user_id=user_id, coze_user_name=user_name)
    operators = users[:12]  # Administrators and Operators
    by_id = {user.pk: user for user in users}
    with transaction.atomic():
        people = _people(rng, count, operators, now)
        consents = _consents(rng, people, operators, now)
        voiceprints = _voiceprints(rng, groups, consents, by_id, coze_users, now)
    built = Built(len(people), len(consents), len(voiceprints))
    built.audit_rows += [_person_row(rng, person, by_id) for person in people]
    built.audit_rows += [_consent_row(rng, consent, by_id) for consent in consents]
    for voiceprint in voiceprints:
        if voiceprint.enrolled_by_id:  # enrolled through vpadmin, not imported
            built.audit_rows.append(_voiceprint_row(rng, voiceprint, by_id))
        if voiceprint.state == Voiceprint.State.DELETED:
            built.audit_rows.append(_deletion_row(rng, voiceprint, by_id))
    return built


def _people(rng, count, operators, now):
    rows = []
    for n in range(count):
        name = f"{rng.choice(FAMILY)}{rng.choice(GIVEN)} {n + 1}"
        rows.append(
            Person(
                name=name,
                reference=f"EMP-{n + 1:05d}" if rng.random() < 0.7 else "",
                notes="" if n % 5 else "Asked to be told before any re-enrollment.",
                created_at=now - timedelta(seconds=rng.randint(3600, DAYS * 86400)),
                created_by=rng.choice(operators),
            )
        )
    Person.objects.bulk_create(rows, batch_size=BATCH)
    return list(Person.objects.order_by("id"))


def _consents(rng, people, operators, now):
    """One consent each; 4 % withdrawn, 2 % expired, 8 % renewed after one of these."""
    rows = []
    for person in people:
        recorded = person.created_at + timedelta(minutes=rng.randint(1, 30))
        chance = rng.random()
        if chance < 0.14:
            ended = recorded + (now - recorded) * rng.uniform(0.1, 0.6)
            first = _consent(rng, person, recorded, operators)
            if chance < 0.04 or (chance >= 0.06 and rng.random() < 0.5):
                _withdraw(rng, first, ended, operators)
            else:  # a short keeping period, over by now
                first.keep_until = max(first.given_on, timezone.localdate(ended))
            rows.append(first)
            if chance < 0.06:
                continue
            recorded = ended + (now - ended) * rng.uniform(0.1, 0.9)
        rows.append(_consent(rng, person, recorded, operators))
    Consent.objects.bulk_create(rows, batch_size=BATCH)
    return list(Consent.objects.select_related("person").order_by("id"))


def _consent(rng, person, recorded, operators):
    given_on = timezone.localdate(recorded)
    guardian = rng.random() < 0.05
    recorder = rng.choice(operators)
    return Consent(
        person=person,
        given_by=Consent.GivenBy.GUARDIAN if guardian else Consent.GivenBy.PERSON,
        guardian_name="陈静" if guardian else "",
        guardian_relation="mother" if guardian else "",
        method=rng.choice(Consent.Method.values),
        purpose=PURPOSE,
        given_on=given_on,
        keep_until=given_on + timedelta(days=settings.VOICEPRINT_RETENTION_DAYS),
        recorded_at=recorded,
        recorded_by=recorder,
        recorded_by_name=recorder.username,
    )


def _withdraw(rng, consent, when, operators):
    recorder = rng.choice(operators)
    consent.withdrawn_at = when
    consent.withdrawn_by, consent.withdrawn_by_name = recorder, recorder.username
    consent.withdrawal_method = rng.choice(Consent.WithdrawalMethod.values)


def _voiceprints(rng, groups, consents, users, coze_users, now):
    """In each active group, min(feature_count, 10) active voiceprints of different people
    whose consent is in force, a few of them not (an imported one, with no person, only in
    a group not full; or someone whose consent has ended since), and in a quarter of the
    groups one more, deleted since."""
    latest = {}  # each person's latest consent: the one their enrollments name
    for consent in consents:
        latest[consent.person_id] = consent
    today = timezone.localdate()
    vouched = [consent for consent in latest.values() if consent.in_force(today)]
    lapsed = [consent for consent in latest.values() if not consent.in_force(today)]
    rows = []
    coze_id = 7_500_000_000_000_000_000
    for group in groups:
        if group.state != group.State.ACTIVE:
            continue
        held = min(group.feature_count, FEATURES_MAX)
        deleted = 1 if rng.random() < DELETED_PER_GROUP else 0
        for n, consent in enumerate(rng.sample(vouched, held + deleted)):
            if n < held and held < FEATURES_MAX and rng.random() < UNVOUCHED_SHARE:
                consent = rng.choice([None, rng.choice(lapsed)])  # imported, or ended since
            coze_user = coze_users[group.account_id]  # the token of the group's account
            voiceprint = _voiceprint(rng, group, consent, users, coze_user, now)
            coze_id += rng.randint(1, 1 << 20)
            voiceprint.coze_id = str(coze_id)
            if n >= held:
                voiceprint.state = Voiceprint.State.DELETED
                voiceprint.ended_at = voiceprint.created_at + (now - voiceprint.created_at) / 2
            rows.append(voiceprint)
    Voiceprint.objects.bulk_create(rows, batch_size=BATCH)
    return list(Voiceprint.objects.select_related("group", "person").order_by("id"))


def _voiceprint(rng, group, consent, users, coze_user, now):
    since = max(group.created_at, consent.recorded_at if consent else group.created_at)
    until = _consent_end(consent, now) if consent else now
    created = since + (max(until, since) - since) * rng.random()
    duration = round(rng.uniform(10, 30), 2)
    values = {
        "group": group,
        "created_at": created,
        "enrolled_at": created,
        "remote_created_at": created,
        "logid": _logid(rng, created),
        "audio_sha256": f"{rng.getrandbits(256):064x}",
        "duration": duration,
        "speech_seconds": round(duration * rng.uniform(0.6, 0.9), 2),
        "sample_rate": 16000,
        "quality": {
            "source_format": rng.choice(["mp4/aac", "webm/opus", "wav/pcm_s16le"]),
            "source_rate": 48000,
            "source_channels": 1,
            "peak_dbfs": round(rng.uniform(-12, -1), 1),
            "rms_dbfs": round(rng.uniform(-30, -18), 1),
            "clipped_share": 0.0,
        },
    }
    if consent is None:  # made on Coze's console by a colleague, imported by a sync
        return Voiceprint(
            name=f"console voice {rng.randint(1, 999)}",
            coze_creator_id=COLLEAGUE[0],
            coze_creator_name=COLLEAGUE[1],
            **values,
        )
    enroller = users[consent.recorded_by_id]
    return Voiceprint(
        name=consent.person.name[:20],
        person=consent.person,
        consent=consent,
        keep_until=consent.keep_until,
        enrolled_by=enroller,
        enrolled_by_name=enroller.username,
        coze_creator_id=coze_user[0],
        coze_creator_name=coze_user[1],
        **values,
    )


def _consent_end(consent, now):
    """When the consent stopped allowing enrollments (withdrawn, or its keeping date
    passed), or `now`."""
    kept = timezone.make_aware(datetime.combine(consent.keep_until, time.max))
    return min(consent.withdrawn_at or now, kept, now)


def _logid(rng, when):
    return when.strftime("%Y%m%d%H%M%S") + f"{rng.getrandbits(64):016X}"


# Their audit rows


def _row(rng, when, actor, action, target, **fields):
    return AuditEntry(
        created_at=when,
        actor=actor,
        actor_username=actor.username if actor else "",
        action=action,
        outcome=Outcome.SUCCESS,
        request_id=uuid.UUID(int=rng.getrandbits(128)).hex,
        target_type=target._meta.model_name,
        target_id=str(target.pk),
        target_label=str(target)[:200],
        ip_address=f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/138.0 Safari/537.36",
        **fields,
    )


def _person_row(rng, person, users):
    say = "person_recorded_with_reference" if person.reference else "person_recorded"
    facts = {"say": say, "name": person.name, "reference": person.reference}
    actor = users[person.created_by_id]
    return _row(rng, person.created_at, actor, Action.PERSON_CREATE, person, facts=facts)


def _consent_row(rng, consent, users):
    facts = {
        "say": "consent_recorded",
        "consent": consent.pk,
        "given_by": consent.given_by,
        "method": consent.method,
        "given_on": consent.given_on.isoformat(),
        "keep_until": consent.keep_until.isoformat(),
        "shorter": consent.keep_until
        < consent.given_on + timedelta(days=settings.VOICEPRINT_RETENTION_DAYS),
    }
    actor = users[consent.recorded_by_id]
    return _row(rng, consent.recorded_at, actor, Action.CONSENT_CREATE, consent.person, facts=facts)


def _voiceprint_row(rng, voiceprint, users):
    facts = {"say": "enrolled", "person": voiceprint.person.name, "seconds": voiceprint.duration}
    return _row(
        rng,
        voiceprint.created_at,
        users[voiceprint.enrolled_by_id],
        Action.VOICEPRINT_CREATE,
        voiceprint,
        device_id=voiceprint.group.device_id,
        sent_name=voiceprint.name,
        coze_code=0,
        coze_logid=voiceprint.logid,
        http_status=200,
        duration_ms=int(rng.lognormvariate(6.0, 0.4)),  # an upload: about 400 ms
        facts=facts,
    )


def _deletion_row(rng, voiceprint, users):
    return _row(
        rng,
        voiceprint.ended_at,
        users[voiceprint.enrolled_by_id],
        Action.VOICEPRINT_DELETE,
        voiceprint,
        device_id=voiceprint.group.device_id,
        coze_code=0,
        coze_logid=_logid(rng, voiceprint.ended_at),
        http_status=200,
        duration_ms=int(rng.lognormvariate(4.8, 0.5)),
    )
