"""Voiceprint groups as the register knows them, one per device."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .accounts import CozeAccount, default_account
from .devices import Device

NAME_MAX = 20  # Coze's limits, in Unicode characters
DESC_MAX = 500


class VoiceprintGroupQuerySet(models.QuerySet):
    def active(self):
        """Groups that exist on Coze as far as we know: the ones that count toward the quota."""
        return self.filter(state=VoiceprintGroup.State.ACTIVE)


def choice_label(choices, value):
    """The label of `value` in `choices` (the value itself if unknown). Lists call this per
    row instead of get_FOO_display(), which hashes every choice's label, and so translates
    all of them, on each call."""
    try:
        return choices(value).label
    except ValueError:
        return value


class VoiceprintGroup(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        GONE = "gone", _("gone from Coze")
        DELETED = "deleted", _("deleted")

    # Unique within its account (the constraint below): two accounts are two Coze teams.
    coze_id = models.CharField(_("Coze id"), max_length=32)
    account = models.ForeignKey(
        CozeAccount,
        verbose_name=_("account"),
        default=default_account,
        on_delete=models.PROTECT,
        related_name="groups",
    )
    name = models.CharField(_("name"), max_length=NAME_MAX)
    # The name as PostgreSQL's search compares it (VoiceprintGroupFilterSet.search), kept by
    # the database: a search of 10,000 groups reads it as stored instead of upper-casing
    # every name each time (5.9 -> 1.8 ms a scan).
    search_name = models.GeneratedField(
        expression=Upper("name"),
        output_field=models.TextField(),
        db_persist=True,
    )
    desc = models.CharField(_("description"), max_length=DESC_MAX, blank=True)
    device = models.ForeignKey(
        Device,
        verbose_name=_("device"),
        null=True,
        blank=True,
        # Devices with active groups cannot be deleted (checked in the view); past
        # groups outlive their device.
        on_delete=models.SET_NULL,
        related_name="voiceprint_groups",
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("creator"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    logid = models.CharField(_("Coze logid"), max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.ACTIVE, db_index=True
    )
    ended_at = models.DateTimeField(_("gone or deleted at"), null=True, blank=True)
    feature_count = models.PositiveIntegerField(_("voiceprints"), default=0)
    remote_created_at = models.DateTimeField(_("created on Coze"), null=True, blank=True)
    remote_updated_at = models.DateTimeField(_("updated on Coze"), null=True, blank=True)
    # When the sync last read the group's voiceprints in full (the list call's start), and
    # the group's feature_count and updated_at as Coze's list of groups showed them then:
    # while Coze shows the same pair, the voiceprints need not be read again.
    voiceprints_read_at = models.DateTimeField(_("voiceprints read"), null=True, blank=True)
    voiceprints_read_count = models.PositiveIntegerField(
        _("voiceprints when read"), null=True, blank=True
    )
    voiceprints_read_updated_at = models.DateTimeField(
        _("updated on Coze when read"), null=True, blank=True
    )

    objects = VoiceprintGroupQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("voiceprint group")
        verbose_name_plural = _("voiceprint groups")
        permissions = [("sync_voiceprintgroup", _("Can sync voiceprint groups with Coze"))]
        indexes = [
            # The quota's figures (active groups, and those with no device) read from the
            # index alone: ten thousand groups, never the table.
            models.Index(fields=["state", "device"], name="group_state_device"),
            # Each account's: what it holds (and holds unassigned) for every gauge and each
            # creation's quota check, from the index alone (at 10,000 groups in 10 accounts
            # SQLite grouped them from the table: 5.7 -> 1.4 ms; one account's 0.9 -> 0.05).
            models.Index(fields=["state", "account", "device"], name="group_state_account"),
            # The device of each group holding a page of people's voiceprints, from the
            # index alone (PostgreSQL otherwise hashed all 10,000 groups for 600 of them).
            models.Index(fields=["id", "device"], name="group_id_device"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account", "coze_id"], name="group_coze_id_per_account")
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("group_detail", args=[self.pk])

    @property
    def state_label(self):
        return choice_label(self.State, self.state)

    @property
    def is_active(self):
        return self.state == self.State.ACTIVE


def new_submission_id():
    return uuid.uuid4()
