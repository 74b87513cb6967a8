"""Voiceprints (Coze's "features") in a group: whose voice, under which consent, who
enrolled it and what the audio was like. The audio itself is never kept."""

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, Exists, Expression, F, OuterRef, Subquery
from django.db.models.functions import Coalesce, Least
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .groups import DESC_MAX, VoiceprintGroup, choice_label
from .people import Consent, ConsentInForce, Person

VOICEPRINT_NAME_MAX = 20  # [inf] Coze documents no limit; its console takes 20 characters
FEATURES_MAX = 10  # voiceprints a group may hold [doc]
# A requested deletion's `deletion_error` when only the voiceprint's maker on Coze may do it.
NEEDS_MAKER = "not_the_maker"


class DeletionReason(models.TextChoices):
    RETENTION = "retention", _("its keeping date passed")
    WITHDRAWAL = "withdrawal", _("consent withdrawn")


class AmongFew(Expression):
    """`field IN (subquery)` for a subquery that finds few rows, so that the field's index
    is read for them. PostgreSQL is given `field = ANY(ARRAY(subquery))`: it estimates an
    IN (subquery) join by the column's average (3,000 of 60,000 voiceprints for 300
    consents) and read every voiceprint for it, where an array read first is estimated as
    a few values and looked up along the index (the dashboard's count of keeping dates
    coming: 49 ms -> 2 ms at ten times the scale).
    SQLite reads IN (subquery) along the index as it is."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, field, subquery):
        super().__init__()
        self.column, self.subquery = F(field), Subquery(subquery)

    def get_source_expressions(self):
        return [self.column, self.subquery]

    def set_source_expressions(self, exprs):
        self.column, self.subquery = exprs

    def as_sql(self, compiler, connection, template="%s IN %s"):
        field_sql, field_params = compiler.compile(self.column)
        subquery_sql, subquery_params = compiler.compile(self.subquery)
        return template % (field_sql, subquery_sql), (*field_params, *subquery_params)

    def as_postgresql(self, compiler, connection):
        return self.as_sql(compiler, connection, template="%s = ANY(ARRAY%s)")


class VoiceprintQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state=Voiceprint.State.ACTIVE)

    def unvouched(self, today=None):
        """Active voiceprints, in groups on Coze, that nobody has vouched for: no person
        (made elsewhere and imported), or a person with no consent in force."""
        # The people without a consent in force are few, and so are their voiceprints: found
        # along the index of when each person's consents end (ConsentInForce), then through
        # the index of a person's voiceprints, as those with no person, each by itself
        # (with an OR, SQLite read every active voiceprint and asked of each whether its
        # person has a consent in force: tens of thousands at ten times the scale).
        lapsed = ConsentInForce.lapsed(today)
        no_person = self.active().filter(person__isnull=True).order_by().values("pk")
        no_consent = self.active().filter(AmongFew("person", lapsed)).order_by().values("pk")
        # Coze deletes a group's voiceprints with it, whatever the register still says. Each
        # of the few found asks its group (joined in each part, PostgreSQL read every group
        # twice to hash them; joined to the few, SQLite read every active group's).
        on_coze = VoiceprintGroup.objects.active().filter(pk=OuterRef("group_id"))
        found = self.filter(pk__in=no_person.union(no_consent, all=True))
        return found.filter(Exists(on_coze))

    def with_expiry(self):
        """Each with `expires_on`: the earlier of its own keeping date and its consent's
        (either may be missing; neither: None)."""
        own, consents = "keep_until", "consent__keep_until"
        return self.annotate(expires_on=Least(Coalesce(own, consents), Coalesce(consents, own)))

    def expiring(self, until):
        """Active voiceprints whose deletion is not requested yet and whose keeping date
        (with_expiry) is `until` or earlier, soonest first."""
        not_requested = self.active().filter(deletion_requested_at__isnull=True)
        # The earlier of two dates is `until` or earlier when either is: each found through
        # its own index (the voiceprint's date, its consent's), each by itself (with an OR,
        # SQLite computed the date of every active voiceprint).
        ending = Consent.objects.filter(keep_until__lte=until).order_by().values("pk")
        own = not_requested.filter(keep_until__lte=until).order_by().values("pk")
        consents = not_requested.filter(AmongFew("consent", ending)).order_by().values("pk")
        found = self.filter(pk__in=own.union(consents))
        return found.with_expiry().order_by("expires_on", "pk")

    def deletion_requested(self):
        """Active voiceprints whose deletion the law asks for and Coze has not done yet."""
        return self.active().filter(deletion_requested_at__isnull=False)

    def deletions_due(self, now):
        """Requested deletions to try now: due, and not waiting for a person."""
        return self.deletion_requested().filter(deletion_next_try_at__lte=now)

    def deletions_waiting(self):
        """Requested deletions that will be tried (again) by themselves."""
        return self.deletion_requested().filter(deletion_next_try_at__isnull=False)


class Voiceprint(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        GONE = "gone", _("gone from Coze")
        DELETED = "deleted", _("deleted")

    # Unique within its account, as a group's: two accounts are two Coze teams, whose ids
    # may meet. The database holds it per group (the constraint below; a voiceprint never
    # leaves its group); every lookup by Coze id is within one account.
    coze_id = models.CharField(_("Coze id"), max_length=32)
    group = models.ForeignKey(
        VoiceprintGroup,
        verbose_name=_("group"),
        on_delete=models.PROTECT,
        related_name="voiceprints",
    )
    name = models.CharField(_("name"), max_length=255)
    desc = models.CharField(_("description"), max_length=DESC_MAX, blank=True)
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,  # made elsewhere and imported: unknown until someone assigns one
        blank=True,
        on_delete=models.PROTECT,
        related_name="voiceprints",
    )
    consent = models.ForeignKey(
        Consent,
        verbose_name=_("consent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="voiceprints",
    )
    keep_until = models.DateField(_("kept until"), null=True, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("enrolled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    enrolled_by_name = models.CharField(_("enrolled by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("enrolled"), default=timezone.now, db_index=True)
    enrolled_at = models.DateTimeField(_("audio from"), default=timezone.now)
    logid = models.CharField(_("Coze logid"), max_length=64, blank=True)
    # What the audio was like (from the latest enrollment); the audio itself is never kept.
    audio_sha256 = models.CharField(_("audio SHA-256"), max_length=64, blank=True)
    duration = models.FloatField(_("duration (s)"), null=True, blank=True)
    speech_seconds = models.FloatField(_("speech (s)"), null=True, blank=True)
    sample_rate = models.PositiveIntegerField(_("sample rate sent"), null=True, blank=True)
    quality = models.JSONField(_("quality figures"), default=dict, blank=True)
    # Who made it on Coze (user_info): only that user's token may change or delete it.
    coze_creator_id = models.CharField(_("Coze creator id"), max_length=32, blank=True)
    coze_creator_name = models.CharField(_("Coze creator"), max_length=100, blank=True)
    remote_created_at = models.DateTimeField(_("created on Coze"), null=True, blank=True)
    remote_updated_at = models.DateTimeField(_("updated on Coze"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.ACTIVE, db_index=True
    )
    ended_at = models.DateTimeField(_("gone or deleted at"), null=True, blank=True)
    # A deletion the law asks for (retention date passed, consent withdrawn): requested
    # once, then tried until Coze has done it, backing off while Coze cannot.
    deletion_requested_at = models.DateTimeField(_("deletion requested"), null=True, blank=True)
    deletion_reason = models.CharField(
        _("why it is deleted"), max_length=16, choices=DeletionReason.choices, blank=True
    )
    deletion_attempts = models.PositiveIntegerField(_("deletion attempts"), default=0)
    deletion_next_try_at = models.DateTimeField(_("next deletion attempt"), null=True, blank=True)
    deletion_error = models.CharField(_("last deletion error"), max_length=300, blank=True)

    objects = VoiceprintQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("voiceprint")
        verbose_name_plural = _("voiceprints")
        permissions = [("identify_voiceprint", _("Can run speaker identification tests"))]
        indexes = [
            # A page of people's active voiceprints (their count, their devices) from the
            # index alone: without it SQLite reads every active voiceprint through the
            # state's index, and with (person, state) alone each of the page's rows.
            models.Index(fields=["person", "state", "group"], name="voiceprint_person_state_group"),
            # The keeping dates that come soon (the dashboard, the retention sweep), and the
            # voiceprints of consents whose date comes soon.
            models.Index(fields=["state", "keep_until"], name="voiceprint_state_keep_until"),
            models.Index(fields=["consent", "state"], name="voiceprint_consent_state"),
            # A device's page: the active voiceprints of its groups, not every active one.
            models.Index(fields=["group", "state"], name="voiceprint_group_state"),
        ]
        constraints = [
            # Its Coze id first: a lookup by Coze id (a sync's, an identification's) reads
            # the index as it did when the id alone was unique.
            models.UniqueConstraint(
                fields=["coze_id", "group"], name="voiceprint_coze_id_per_group"
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("voiceprint_detail", args=[self.pk])

    @property
    def state_label(self):
        return choice_label(self.State, self.state)

    @property
    def is_active(self):
        return self.state == self.State.ACTIVE

    @property
    def deletion_reason_label(self):
        return choice_label(DeletionReason, self.deletion_reason)

    @property
    def deletion_state(self):
        """Where a requested deletion stands: "done" (deleted, or gone from Coze), "waiting"
        (to be tried at deletion_next_try_at), "needs_maker" (only its maker on Coze may
        delete it), "needs_person" (Coze refused it: someone must look), or "" when none
        was requested."""
        if self.deletion_requested_at is None:
            return ""
        if not self.is_active:
            return "done"
        if self.deletion_next_try_at is not None:
            return "waiting"
        return "needs_maker" if self.deletion_error == NEEDS_MAKER else "needs_person"

    @property
    def deletion_problem(self):
        """Why the last try did not delete it, in the reader's language."""
        from ..wording import deletion_problem

        return deletion_problem(self.deletion_error) if self.deletion_error else ""
