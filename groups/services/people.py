"""People whose voices are enrolled, and their consents: recorded and changed, each write
and its audit row in one transaction. A consent is a record of proof: added, never changed
here (a withdrawal is its own step, which asks for every voiceprint of the person to
be deleted). A person's report, handed out, is audited too."""

import datetime
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from .. import audit, person_report
from ..models import AuditEntry, Consent, DeletionReason, Person, Voiceprint
from ..models.people import default_keep_until
from ..wording import fact, invalid_facts, shown
from .deletions import request_deletion
from .errors import ConsentRefused, NothingToWithdraw, ReferenceTaken

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
FIELDS = ("name", "reference", "notes")
# Free text about a person: the log says that it changed, never what it says.
VALUES_NOT_LOGGED = ("notes",)


def create_person(actor, *, name, reference="", notes=""):
    """Record a person; raises ReferenceTaken if their reference is someone else's by now."""
    person = Person(name=name, reference=reference, notes=notes, created_by=actor.user)
    with transaction.atomic():
        _save(person)
        say = "person_recorded_with_reference" if reference else "person_recorded"
        facts = fact(say, name=name, reference=reference)
        audit.record(actor, Action.PERSON_CREATE, Outcome.SUCCESS, target=person, facts=facts)
    return person


def update_person(actor, person, **values):
    """Change a person's name, reference or notes. Returns the changes ({field: (old, new)},
    {} when nothing changed, and then nothing is written); raises ReferenceTaken."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise TypeError(f"a person has no field {', '.join(sorted(unknown))}")
    changes = {
        name: (getattr(person, name), value)
        for name, value in values.items()
        if value != getattr(person, name)
    }
    if not changes:
        return changes
    for name, (_old, new) in changes.items():
        setattr(person, name, new)
    try:
        with transaction.atomic():
            _save(person, update_fields=list(changes))
            audit.record(
                actor,
                Action.PERSON_UPDATE,
                Outcome.SUCCESS,
                target=person,
                facts=_change_facts(changes),
            )
    except ReferenceTaken:
        for name, (old, _new) in changes.items():
            setattr(person, name, old)
        raise
    return changes


def report_on(actor, person):
    """What vpadmin holds about `person` (groups.person_report.Holdings), for `actor` to
    take away: each report handed out is an audit row saying what it held."""
    held = person_report.holdings(person)
    facts = fact(
        "person_report",
        consents=len(held.consents),
        withdrawals=len(held.withdrawals),
        voiceprints=len(held.voiceprints),
        deletions=len(held.deletions),
    )
    audit.record(actor, Action.PERSON_REPORT, Outcome.SUCCESS, target=person, facts=facts)
    return held


def _save(person, **kwargs):
    """A reference taken by someone else since it was checked is an error the caller can
    show, not a server error."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction goes on
            person.save(**kwargs)
    except IntegrityError:
        raise ReferenceTaken from None


def _change_facts(changes):
    shown_values = {
        name: list(values) for name, values in changes.items() if name not in VALUES_NOT_LOGGED
    }
    hidden = [name for name in changes if name in VALUES_NOT_LOGGED]
    return fact("changes", changes=shown_values, changed=hidden)


def record_consent(
    actor,
    person,
    *,
    given_by,
    guardian_name="",
    guardian_relation="",
    method,
    purpose,
    given_on,
    keep_until=None,
):
    """Record a consent of `person`'s, given by them or by a guardian, kept until
    `keep_until` (by default VOICEPRINT_RETENTION_DAYS after `given_on`; earlier if they
    asked, never later). Raises ConsentRefused (audited) when a rule is broken."""
    if given_by != Consent.GivenBy.GUARDIAN:
        guardian_name = guardian_relation = ""
    problems = consent_problems(
        given_by=given_by,
        guardian_name=guardian_name,
        guardian_relation=guardian_relation,
        method=method,
        purpose=purpose,
        given_on=given_on,
        keep_until=keep_until,
    )
    if problems:
        facts = invalid_facts({name: [error] for name, error in problems.items()})
        audit.refuse(actor, Action.CONSENT_CREATE, facts, target=person)
        raise ConsentRefused(problems)
    default = default_keep_until(given_on)
    consent = Consent(
        person=person,
        given_by=given_by,
        guardian_name=guardian_name,
        guardian_relation=guardian_relation,
        method=method,
        purpose=purpose,
        given_on=given_on,
        keep_until=keep_until or default,
        recorded_by=actor.user,
        recorded_by_name=actor.username,
    )
    with transaction.atomic():
        consent.save()
        facts = fact(
            "consent_recorded",
            consent=consent.pk,
            given_by=given_by,
            method=method,
            given_on=given_on.isoformat(),
            keep_until=consent.keep_until.isoformat(),
            shorter=consent.keep_until < default,
        )
        # The row's target is the person, so their page and the log link the two; the
        # consent is named by its id.
        audit.record(actor, Action.CONSENT_CREATE, Outcome.SUCCESS, target=person, facts=facts)
    return consent


class Withdrawal(NamedTuple):
    """What a withdrawal did: the consents it withdrew, the ids of the voiceprints whose
    deletion on Coze it asked for, and the deletions run queued for them (None: none)."""

    consents: list
    voiceprints: list
    job: object | None


def withdraw_consent(actor, person, *, method, note=""):
    """Record that `person` withdrew consent (how they asked: a Consent.WithdrawalMethod),
    on every consent of theirs in force, and ask for each of their active voiceprints to be
    deleted on Coze; one transaction, audited. Then a deletions run is queued. Returns a
    Withdrawal; raises NothingToWithdraw (audited) when no consent of theirs is in force."""
    from .recurring import start_deletions  # the job register needs the services first

    if method not in Consent.WithdrawalMethod.values:
        raise ValueError(f"not a way of asking to withdraw: {method!r}")
    now = timezone.now()
    with transaction.atomic():
        in_force = Consent.objects.in_force().filter(person=person).select_for_update()
        consents = list(in_force.order_by("pk"))
        if consents:
            Consent.objects.filter(pk__in=[c.pk for c in consents]).update(
                withdrawn_at=now,
                withdrawn_by=actor.user,
                withdrawn_by_name=actor.username,
                withdrawal_method=method,
                withdrawal_note=note,
            )
            theirs = Voiceprint.objects.active().filter(person=person)
            request_deletion(theirs, DeletionReason.WITHDRAWAL, now=now)
            # Those a retention sweep asked for already are deleted all the same.
            requested = theirs.filter(deletion_requested_at__isnull=False).order_by("pk")
            voiceprints = list(requested.values_list("pk", flat=True))
            facts = fact(
                "consent_withdrawn",
                consents=[c.pk for c in consents],
                method=method,
                voiceprints=len(voiceprints),
                note=bool(note),  # free text about a person: that there is one, not what
            )
            audit.record(
                actor, Action.CONSENT_WITHDRAW, Outcome.SUCCESS, target=person, facts=facts
            )
    if not consents:
        facts = fact("nothing_to_withdraw", person=person.name)
        audit.refuse(actor, Action.CONSENT_WITHDRAW, facts, target=person)
        raise NothingToWithdraw(person)
    job = None
    if voiceprints:
        # Committed: the deletions run sees the requests. Should queueing fail, a worker
        # queues one for the waiting deletions by itself (services.recurring).
        job = start_deletions(actor, now=now)
    return Withdrawal(consents, voiceprints, job)


def consent_problems(
    *, given_by, guardian_name, guardian_relation, method, purpose, given_on, keep_until, today=None
):
    """What is wrong with a consent, by field ({name: ValidationError}, empty when nothing):
    the form shows these, and record_consent() refuses them for any other caller."""
    today = today or timezone.localdate()
    problems = {}
    if given_by not in Consent.GivenBy.values:
        problems["given_by"] = _choice_problem(given_by)
    if method not in Consent.Method.values:
        problems["method"] = _choice_problem(method)
    if not purpose:
        problems["purpose"] = ValidationError(_("This field is required."), code="required")
    if given_by == Consent.GivenBy.GUARDIAN:
        if not guardian_name:
            problems["guardian_name"] = _problem(
                _("Name the guardian who gave the consent."), "required"
            )
        if not guardian_relation:
            problems["guardian_relation"] = _problem(
                _("Say how the guardian is related to them, e.g. mother or legal guardian."),
                "required",
            )
    if given_on is None:
        problems["given_on"] = ValidationError(_("This field is required."), code="required")
        return problems
    if given_on > today:
        problems["given_on"] = _problem(
            _("A consent cannot be given in the future: today is %(today)s."),
            "in_future",
            today=today,
        )
        return problems  # the keeping date is measured from a day that is wrong
    latest = default_keep_until(given_on)
    if keep_until is not None and keep_until < given_on:
        problems["keep_until"] = _problem(
            _("Voiceprints cannot be kept until a day before the consent (%(given_on)s)."),
            "before_given",
            given_on=given_on,
        )
    elif keep_until is not None and keep_until > latest:
        problems["keep_until"] = _problem(
            _(
                "Voiceprints may be kept at most %(days)s days from the consent: until "
                "%(latest)s at the latest. Leave the field empty for that date."
            ),
            "after_default",
            days=settings.VOICEPRINT_RETENTION_DAYS,
            latest=latest,
        )
    elif (keep_until or latest) < today:
        field = "keep_until" if keep_until else "given_on"
        problems[field] = _problem(
            _("Voiceprints would be kept until %(date)s, which has passed: check the dates."),
            "passed",
            date=keep_until or latest,
        )
    return problems


def _problem(message, code, **values):
    """A ValidationError said now, dates in the reader's format; its params, which an audit
    row keeps, are plain values (days as YYYY-MM-DD)."""
    said = {
        name: date_format(value, "DATE_FORMAT")
        if isinstance(value, datetime.date)
        else shown(value)
        for name, value in values.items()
    }
    params = {
        name: value.isoformat() if isinstance(value, datetime.date) else value
        for name, value in values.items()
    }
    return ValidationError(str(message) % said, code=code, params=params)


def _said(value):
    return date_format(value, "DATE_FORMAT") if isinstance(value, datetime.date) else shown(value)


def _choice_problem(value):
    return ValidationError(
        _("Select a valid choice. %(value)s is not one of the available choices."),
        code="invalid_choice",
        params={"value": str(value)[:50]},
    )
