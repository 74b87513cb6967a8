"""Devices: the smart speakers, kiosks and cars whose voiceprint groups vpadmin keeps."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..text import SerialFormField, canonical_serial
from .accounts import CozeAccount


class SerialField(models.CharField):
    """A device's serial, stored only in its canonical form (groups.text): every save puts
    it there, and the database refuses any other (Device's check constraint)."""

    def pre_save(self, model_instance, add):
        value = canonical_serial(getattr(model_instance, self.attname) or "")
        setattr(model_instance, self.attname, value)
        return value

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": SerialFormField, **kwargs})


class Device(models.Model):
    name = models.CharField(_("name"), max_length=100)
    serial = SerialField(
        _("serial"),
        max_length=100,
        unique=True,
        help_text=_("The device's own identifier."),
        error_messages={"unique": _("This serial is already used by another device.")},
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    identify_threshold = models.PositiveSmallIntegerField(
        _("recognition threshold"),
        default=40,  # what Coze's real-time sessions use
        validators=[MaxValueValidator(100)],
        help_text=_("A score (0 to 100) at or above which the device recognises a person."),
    )
    # The Coze account that serves the device: set when its first group is created (all
    # its groups are in it); none until then.
    account = models.ForeignKey(
        CozeAccount,
        verbose_name=_("account"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="devices",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        # The list's order: a page of ten thousand devices read from the index, not sorted.
        indexes = [models.Index(fields=["name", "id"], name="device_name")]
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        constraints = [
            # What the database can check of the canonical form (SQLite's UPPER knows only
            # ASCII; NFKC is the field's to keep): upper-case, not empty, no space.
            models.CheckConstraint(
                condition=Q(serial=Upper("serial")) & ~Q(serial="") & ~Q(serial__contains=" "),
                name="device_serial_canonical",
                violation_error_code="invalid",
                violation_error_message=_(
                    "A serial is stored in upper case, without spaces, and is never empty."
                ),
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.serial})"

    def get_absolute_url(self):
        return reverse("device_detail", args=[self.pk])
