"""What vpadmin holds about one person, as their data-subject report: their record, their
consents and withdrawals, their voiceprints, and every attempt to delete one of those
voiceprints with Coze's logid (a success with its logid is the proof of deletion).

The person's page shows the deletions and links to the report; `/people/<id>/report.csv`
is the report itself. Both read it in four queries, whatever the person's history.
"""

from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry, Consent, DeletionReason, Voiceprint, VoiceprintGroup, choice_label

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
VOICEPRINT = Voiceprint._meta.model_name
GROUP = VoiceprintGroup._meta.model_name


@dataclass(frozen=True)
class Deletion:
    """An attempt to delete one of the person's voiceprints: a `voiceprint.delete` row of
    any outcome, or the successful deletion of the group that took it with it on Coze."""

    entry: AuditEntry
    voiceprint: Voiceprint
    with_group: bool = False

    @property
    def detail(self):
        """What the row says, in the current language (and that the group went, if so)."""
        said = self.entry.explanation
        if not self.with_group:
            return said
        group = _("Deleted with its group “%(group)s”.") % {"group": self.voiceprint.group.name}
        return f"{group} {said}" if said else group


@dataclass(frozen=True)
class Holdings:
    """A person and what is held about them, newest first as their page lists them."""

    person: object
    consents: list
    voiceprints: list
    deletions: list

    @property
    def withdrawals(self):
        return [consent for consent in self.consents if consent.withdrawn_at is not None]


def holdings(person):
    """What vpadmin holds about `person` (fetched with its `created_by`)."""
    consents = list(person.consents.all())
    voiceprints = list(
        person.voiceprints.select_related("group__device").order_by("-created_at", "-id")
    )
    return Holdings(person, consents, voiceprints, deletions_of(voiceprints))


def deletions_of(voiceprints):
    """Every attempt to delete one of `voiceprints`, newest first, in one query: their own
    `voiceprint.delete` rows, and for one deleted with its group (Coze deletes a group's
    voiceprints with it) that group's successful `group.delete` row."""
    if not voiceprints:
        return []
    by_id = {str(voiceprint.pk): voiceprint for voiceprint in voiceprints}
    in_deleted_groups = {}
    for voiceprint in voiceprints:
        if voiceprint.state == Voiceprint.State.DELETED:
            in_deleted_groups.setdefault(str(voiceprint.group_id), []).append(voiceprint)
    # Chosen by target in SQL, by what was done here: the target's index finds these few
    # rows, where SQLite (which keeps no statistics) would read every voiceprint deletion
    # of the log through the action's index (64 ms at a million rows).
    about = Q(target_type=VOICEPRINT, target_id__in=list(by_id)) | Q(
        target_type=GROUP, target_id__in=list(in_deleted_groups)
    )
    entries = [
        entry
        for entry in AuditEntry.objects.filter(about).order_by("created_at", "id")
        if (entry.target_type, entry.action) == (VOICEPRINT, Action.VOICEPRINT_DELETE)
        or (entry.target_type, entry.action, entry.outcome)
        == (GROUP, Action.GROUP_DELETE, Outcome.SUCCESS)
    ]
    deleted_alone = {
        entry.target_id
        for entry in entries
        if entry.action == Action.VOICEPRINT_DELETE and entry.outcome == Outcome.SUCCESS
    }
    found = []
    for entry in entries:
        if entry.action == Action.VOICEPRINT_DELETE:
            found.append(Deletion(entry, by_id[entry.target_id]))
            continue
        for voiceprint in in_deleted_groups[entry.target_id]:
            if str(voiceprint.pk) not in deleted_alone:
                found.append(Deletion(entry, voiceprint, with_group=True))
    return found[::-1]


# The report's columns: the first says what a row is, the others are filled where they
# apply to it. Headers in the reader's language; ids, dates and times as ISO 8601.
COLUMNS = [
    ("kind", _("kind")),
    ("id", _("vpadmin id")),
    ("consent", _("consent")),
    ("voiceprint", _("voiceprint")),
    ("name", _("name")),
    ("reference", _("reference")),
    ("notes", _("notes")),
    ("given_by", _("given by")),
    ("guardian_name", _("guardian's name")),
    ("guardian_relation", _("guardian's relation")),
    ("method", _("how it was given")),
    ("purpose", _("purpose as shown to them")),
    ("given_on", _("given on")),
    ("keep_until", _("kept until")),
    ("recorded_at", _("recorded")),
    ("recorded_by", _("recorded by")),
    ("withdrawn_at", _("withdrawn at")),
    ("withdrawn_by", _("withdrawal recorded by")),
    ("withdrawal_method", _("how they asked")),
    ("withdrawal_note", _("withdrawal note")),
    ("device", _("device")),
    ("group", _("group")),
    ("coze_id", _("Coze id")),
    ("state", _("state")),
    ("enrolled_at", _("enrolled")),
    ("enrolled_by", _("enrolled by")),
    ("audio_from", _("audio from")),
    ("audio_sha256", _("audio SHA-256")),
    ("duration", _("duration (s)")),
    ("ended_at", _("gone or deleted at")),
    ("deletion_reason", _("why it is deleted")),
    ("time", _("time")),
    ("outcome", _("outcome")),
    ("actor", _("actor")),
    ("coze_logid", _("Coze logid")),
    ("detail", _("detail")),
]
KINDS = {
    "person": _("person"),
    "consent": _("consent"),
    "withdrawal": _("withdrawal"),
    "voiceprint": _("voiceprint"),
    "deletion": _("deletion"),
}


def header():
    return [label for _key, label in COLUMNS]


def rows(held):
    """The report's rows (lists of cells) in the current language: the person, then their
    consents, withdrawals, voiceprints and deletions, each oldest first."""
    cells = [_person(held.person)]
    cells += [_consent(consent) for consent in reversed(held.consents)]
    withdrawals = sorted(held.withdrawals, key=lambda consent: (consent.withdrawn_at, consent.pk))
    cells += [_withdrawal(consent) for consent in withdrawals]
    cells += [_voiceprint(voiceprint) for voiceprint in reversed(held.voiceprints)]
    cells += [_deletion(deletion) for deletion in reversed(held.deletions)]
    return [_row(kind, values) for kind, values in cells]


def _row(kind, values):
    values = {"kind": KINDS[kind], **values}
    return [_cell(values.get(key)) for key, _label in COLUMNS]


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        if hasattr(value, "tzinfo"):  # a time: in the site's time zone, to the second
            return timezone.localtime(value).isoformat(timespec="seconds")
        return value.isoformat()
    return str(value)


def _person(person):
    return "person", {
        "id": person.pk,
        "name": person.name,
        "reference": person.reference,
        "notes": person.notes,
        "recorded_at": person.created_at,
        "recorded_by": person.created_by.get_username() if person.created_by else "",
    }


def _consent(consent):
    return "consent", {
        "id": consent.pk,
        "consent": consent.pk,
        "given_by": consent.given_by_label,
        "guardian_name": consent.guardian_name,
        "guardian_relation": consent.guardian_relation,
        "method": consent.method_label,
        "purpose": consent.purpose,
        "given_on": consent.given_on,
        "keep_until": consent.keep_until,
        "recorded_at": consent.recorded_at,
        "recorded_by": consent.recorded_by_name,
    }


def _withdrawal(consent):
    how = consent.withdrawal_method
    return "withdrawal", {
        "consent": consent.pk,
        "withdrawn_at": consent.withdrawn_at,
        "withdrawn_by": consent.withdrawn_by_name,
        "withdrawal_method": choice_label(Consent.WithdrawalMethod, how) if how else "",
        "withdrawal_note": consent.withdrawal_note,
    }


def _voiceprint(voiceprint):
    reason = voiceprint.deletion_reason
    return "voiceprint", {
        "id": voiceprint.pk,
        "consent": voiceprint.consent_id,
        "voiceprint": voiceprint.pk,
        "name": voiceprint.name,
        "keep_until": voiceprint.keep_until,
        **_where(voiceprint),
        "state": voiceprint.state_label,
        "enrolled_at": voiceprint.created_at,
        "enrolled_by": voiceprint.enrolled_by_name,
        "audio_from": voiceprint.enrolled_at,
        "audio_sha256": voiceprint.audio_sha256,
        "duration": voiceprint.duration,
        "ended_at": voiceprint.ended_at,
        "deletion_reason": choice_label(DeletionReason, reason) if reason else "",
    }


def _deletion(deletion):
    entry = deletion.entry
    return "deletion", {
        "id": entry.pk,
        "voiceprint": deletion.voiceprint.pk,
        "name": deletion.voiceprint.name,
        **_where(deletion.voiceprint),
        "time": entry.created_at,
        "outcome": entry.outcome_label,
        "actor": entry.actor_label,
        "coze_logid": entry.coze_logid,
        "detail": deletion.detail,
    }


def _where(voiceprint):
    device = voiceprint.group.device
    return {
        "device": device.name if device else "",
        "group": voiceprint.group.name,
        "coze_id": voiceprint.coze_id,
    }
