"""People whose voices are enrolled, and their consents: a voiceprint is biometric data,
enrolled only while a consent is on record and kept no longer than it allows."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .groups import choice_label

PERSON_NAME_MAX = 100


def in_force_until():
    """A person's latest keeping date of their consents in force (None: none is), as an
    expression (a subquery)."""
    consents = Consent.objects.filter(person=OuterRef("pk")).in_force()
    return Subquery(consents.order_by("-keep_until").values("keep_until")[:1])


def active_voiceprint_count():
    """How many active voiceprints a person has, as an expression (a subquery)."""
    from .voiceprints import Voiceprint  # voiceprints refer to people

    active = Voiceprint.objects.active().filter(person=OuterRef("pk")).order_by()
    return Coalesce(Subquery(active.values("person").annotate(n=Count("pk")).values("n")), 0)


class PersonQuerySet(models.QuerySet):
    def with_consent_state(self):
        """Each person with the end of their consent in force (if any), their latest
        consent's end and withdrawal, and how many active voiceprints they have (read by
        consent_state()). Subqueries, not a join: a list's count then reads the people alone."""
        latest = Consent.objects.filter(person=OuterRef("pk")).order_by("-recorded_at", "-id")
        return self.annotate(
            consent_until=in_force_until(),
            latest_until=Subquery(latest.values("keep_until")[:1]),
            latest_withdrawn_at=Subquery(latest.values("withdrawn_at")[:1]),
            voiceprint_count=active_voiceprint_count(),
        )


def consent_state(person):
    """A person's consent as a list shows it (`person` from with_consent_state()): in
    force until a date, else how the latest one ended (expired, withdrawn), or none."""
    if person.consent_until is not None:
        return {"code": "in_force", "date": person.consent_until}
    if person.latest_until is None:
        return {"code": "none", "date": None}
    if person.latest_withdrawn_at is not None:
        return {"code": "withdrawn", "date": person.latest_withdrawn_at}
    return {"code": "expired", "date": person.latest_until}


def consent_state_of(consents, today=None):
    """consent_state() from a person's consents read as (keep_until, withdrawn_at,
    recorded_at, id) rows, as a page reads them with its people."""
    today = today or timezone.localdate()
    in_force = [keep for keep, withdrawn, *_ in consents if withdrawn is None and keep >= today]
    if in_force:
        return {"code": "in_force", "date": max(in_force)}
    if not consents:
        return {"code": "none", "date": None}
    keep_until, withdrawn_at, *_ = max(consents, key=lambda consent: consent[2:])
    if withdrawn_at is not None:
        return {"code": "withdrawn", "date": withdrawn_at}
    return {"code": "expired", "date": keep_until}


class Person(models.Model):
    """Someone the team enrolls: a name or pseudonym, the team's own reference, notes.
    Never audio."""

    name = models.CharField(
        _("name"),
        max_length=PERSON_NAME_MAX,
        help_text=_("How the team knows them; a pseudonym is fine."),
    )
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("Optional: the team's own identifier for this person."),
        error_messages={"unique": _("Another person already has this reference.")},
    )
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [
            # The people list's order: its pages read the index instead of sorting everyone.
            models.Index(fields=["name", "id"], name="person_name"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=~Q(reference=""),
                name="person_reference_unique",
                violation_error_message=_("Another person already has this reference."),
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("person_detail", args=[self.pk])


class ConsentQuerySet(models.QuerySet):
    def in_force(self, today=None):
        """Consents not withdrawn whose keeping date has not passed."""
        today = today or timezone.localdate()
        return self.filter(withdrawn_at__isnull=True, keep_until__gte=today)


def default_keep_until(given_on):
    return given_on + datetime.timedelta(days=settings.VOICEPRINT_RETENTION_DAYS)


class Consent(models.Model):
    """A person's consent to keep their voiceprint, given by them or by a guardian (for a
    child under 14), with how, for what, who recorded it, and until when it allows keeping
    their voiceprints. A record of proof: never changed, only withdrawn."""

    class GivenBy(models.TextChoices):
        PERSON = "person", _("the person")
        GUARDIAN = "guardian", _("a guardian (child under 14)")

    class Method(models.TextChoices):
        SIGNED_FORM = "signed_form", _("signed form")
        IN_PERSON = "in_person", _("in person")
        ELECTRONIC = "electronic", _("electronic")

    class WithdrawalMethod(models.TextChoices):
        IN_PERSON = "in_person", _("in person")
        WRITTEN = "written", _("in writing")
        ELECTRONIC = "electronic", _("electronic (email, app)")
        PHONE = "phone", _("by phone")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="consents"
    )
    given_by = models.CharField(_("given by"), max_length=16, choices=GivenBy.choices)
    guardian_name = models.CharField(_("guardian's name"), max_length=PERSON_NAME_MAX, blank=True)
    guardian_relation = models.CharField(_("guardian's relation"), max_length=50, blank=True)
    method = models.CharField(_("how it was given"), max_length=16, choices=Method.choices)
    purpose = models.TextField(_("purpose as shown to them"), max_length=2000)
    given_on = models.DateField(_("given on"))
    keep_until = models.DateField(_("voiceprints kept until"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_by_name = models.CharField(_("recorded by"), max_length=150, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("withdrawal recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    withdrawn_by_name = models.CharField(_("withdrawal recorded by"), max_length=150, blank=True)
    withdrawal_method = models.CharField(
        _("how they asked"), max_length=16, choices=WithdrawalMethod.choices, blank=True
    )
    withdrawal_note = models.TextField(_("withdrawal note"), blank=True, max_length=2000)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        permissions = [("withdraw_consent", _("Can record a withdrawal of consent"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(given_by="person") | (~Q(guardian_name="") & ~Q(guardian_relation="")),
                name="consent_guardian_named",
                violation_error_message=_("A guardian's consent names the guardian and relation."),
            ),
            models.CheckConstraint(
                condition=Q(keep_until__gte=models.F("given_on")),
                name="consent_keep_after_given",
                violation_error_message=_("The keeping date cannot be before the consent."),
            ),
        ]

    def __str__(self):
        return f"{self.person} ({self.given_on:%Y-%m-%d})"

    @property
    def given_by_label(self):
        return choice_label(self.GivenBy, self.given_by)

    @property
    def method_label(self):
        return choice_label(self.Method, self.method)

    @property
    def withdrawal_method_label(self):
        return choice_label(self.WithdrawalMethod, self.withdrawal_method)

    def in_force(self, today=None):
        today = today or timezone.localdate()
        return self.withdrawn_at is None and self.keep_until >= today

    def state(self, today=None):
        """In force until its keeping date, expired on it, or withdrawn when it was."""
        today = today or timezone.localdate()
        if self.withdrawn_at is not None:
            return {"code": "withdrawn", "date": self.withdrawn_at}
        if self.keep_until < today:
            return {"code": "expired", "date": self.keep_until}
        return {"code": "in_force", "date": self.keep_until}


class ConsentInForce(models.Model):
    """Until when a person's consents not withdrawn allow keeping their voiceprints: the
    latest keeping date among them (None: none left). A person's consent is in force while
    that date is today or later. Kept by the database's own triggers on the people and
    their consents (migration 0031), whoever writes them, in the writing transaction:
    never written by vpadmin's code. It finds the few people without a consent in force
    along its index, where asking each person of the register took 5-8 ms at 5,000."""

    person = models.OneToOneField(
        Person,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    until = models.DateField(null=True)

    class Meta:
        indexes = [models.Index(fields=["until"], name="consent_in_force_until")]

    def __str__(self):
        return f"{self.person_id}: {self.until}"

    @classmethod
    def lapsed(cls, today=None):
        """The people with no consent in force `today` (their ids)."""
        today = today or timezone.localdate()
        return cls.objects.filter(Q(until__lt=today) | Q(until=None)).values("person_id")
