"""Bulk imports of devices (and a group each): the file an Operator uploaded, read into one
row per device and checked (the dry run), then run as a job that stores each row's result
on the row itself. The file is kept here, as its rows, between the dry run and the run."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .audit import AuditEntry
from .devices import Device
from .groups import VoiceprintGroup, choice_label
from .jobs import Job


class DeviceImport(models.Model):
    """One uploaded CSV of devices: who uploaded it, how it was read, what the dry run
    found (`plan`: counts and the quota), and the job that runs it once confirmed."""

    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="device_imports",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    # The dry run's figures: {"devices": {"create": n, ...}, "groups": {...}, "quota": {...}}.
    plan = models.JSONField(_("plan"), default=dict, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    job = models.OneToOneField(
        Job,
        verbose_name=_("job"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="device_import",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("device import")
        verbose_name_plural = _("device imports")

    def __str__(self):
        return self.filename or f"import {self.pk}"

    def get_absolute_url(self):
        return reverse("import_detail", args=[self.pk])

    @property
    def errors(self):
        return self.plan.get("errors", 0)

    @property
    def changes(self):
        """Devices to create or update and groups to create: what a run would do."""
        devices, groups = self.plan.get("devices", {}), self.plan.get("groups", {})
        return devices.get("create", 0) + devices.get("update", 0) + groups.get("create", 0)

    @property
    def quota_short(self):
        """Places missing: with several accounts, the sum of each account's shortfall."""
        quota = self.plan.get("quota", {})
        if "accounts" in quota:
            return sum(account["short"] for account in self.accounts_short)
        return max(0, quota.get("needed", 0) - quota.get("free", 0))

    @property
    def quota_accounts(self):
        """Each account's figures (several accounts only): needed, free, used, limit, short."""
        return [
            {**account, "short": max(0, account["needed"] - account["free"])}
            for account in self.plan.get("quota", {}).get("accounts", [])
        ]

    @property
    def accounts_short(self):
        return [account for account in self.quota_accounts if account["short"]]

    @property
    def can_run(self):
        return self.job_id is None and not self.errors and self.changes and not self.quota_short


class ImportRow(models.Model):
    """A row of an import: the cells as read, what the dry run planned for it, and, once
    the job has done it, what happened (`outcome` stays empty until then)."""

    class DevicePlan(models.TextChoices):
        CREATE = "create", _("create")
        UPDATE = "update", _("update")
        UNCHANGED = "unchanged", _("unchanged")
        AGAIN = "again", _("as on an earlier row")

    class GroupPlan(models.TextChoices):
        CREATE = "create", _("create on Coze")
        EXISTS = "exists", _("exists already")

    device_import = models.ForeignKey(
        DeviceImport, verbose_name=_("import"), on_delete=models.CASCADE, related_name="rows"
    )
    line = models.PositiveIntegerField(_("row"))  # as a spreadsheet numbers it: header = 1
    serial = models.TextField(_("serial"), blank=True)
    name = models.TextField(_("name"), blank=True)
    location = models.TextField(_("location"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    group_name = models.TextField(_("group name"), blank=True)
    group_desc = models.TextField(_("group description"), blank=True)
    # The Coze account of a group the row creates for a device that has none (a name;
    # empty: the most free, as the run then finds it).
    account = models.TextField(_("Coze account"), blank=True)
    device_plan = models.CharField(max_length=16, choices=DevicePlan.choices, blank=True)
    group_plan = models.CharField(max_length=16, choices=GroupPlan.choices, blank=True)
    # The dry run's findings, each as facts (groups.wording): errors block the run.
    problems = models.JSONField(default=list, blank=True)
    notices = models.JSONField(default=list, blank=True)
    # The run's result.
    outcome = models.CharField(max_length=16, choices=AuditEntry.Outcome.choices, blank=True)
    device_done = models.CharField(max_length=16, choices=DevicePlan.choices, blank=True)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    group = models.ForeignKey(
        VoiceprintGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    group_done = models.CharField(max_length=16, blank=True)  # created, found, exists
    # Creation tries of the row's group (a rate-limited one is tried again); each try's
    # submission id is derived from the job, the row and this number.
    tries = models.PositiveSmallIntegerField(default=0)
    facts = models.JSONField(null=True, blank=True)
    logid = models.CharField(max_length=64, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["device_import", "line"]
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        constraints = [
            models.UniqueConstraint(fields=["device_import", "line"], name="import_row_line")
        ]

    def __str__(self):
        return f"{self.device_import_id}:{self.line}"

    @property
    def device_plan_label(self):
        return choice_label(self.DevicePlan, self.device_plan)

    @property
    def group_plan_label(self):
        return choice_label(self.GroupPlan, self.group_plan)

    @property
    def outcome_label(self):
        return choice_label(AuditEntry.Outcome, self.outcome)

    @property
    def problem_texts(self):
        from ..wording import render_safely

        return [render_safely(problem) for problem in self.problems]

    @property
    def notice_texts(self):
        from ..wording import render_safely

        return [render_safely(notice) for notice in self.notices]

    @property
    def result_text(self):
        from ..wording import render_safely

        return render_safely(self.facts) if self.facts else ""
