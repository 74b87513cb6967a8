"""The job register: work that outlasts a page load (syncs, deletions retried until Coze has
done them, the daily retention sweep, imports of devices), who started it, how far it got
and what each row came to (an import's rows keep their own results: groups.models.imports)."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .accounts import CozeAccount
from .audit import AuditEntry
from .groups import choice_label


class Job(models.Model):
    class Kind(models.TextChoices):
        SYNC = "sync", _("Sync with Coze")
        DELETIONS = "deletions", _("Deletions on Coze")
        RETENTION = "retention", _("Retention sweep")
        IMPORT = "import", _("Import of devices")

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        INTERRUPTED = "interrupted", _("interrupted")

    UNDER_WAY = (State.QUEUED, State.RUNNING)
    # Ended before its work was done: an import's run may be resumed (services.imports).
    ENDED_EARLY = (State.FAILED, State.INTERRUPTED)

    # Also the request id of every audit row the job writes (its hex form).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED)
    # What to do, as JSON (an import's rows, a retention run's cut-off ...); a sync needs none.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # The Coze account a job concerns (a sync's), if it concerns one.
    account = models.ForeignKey(
        CozeAccount,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Who started it: a person (kept as text too, like the audit log), or a command.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    via = models.CharField(
        _("started through"), max_length=16, choices=AuditEntry.Via, default=AuditEntry.Via.WEB
    )
    program = models.CharField(_("program"), max_length=300, blank=True)  # e.g. manage.py ...
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    # A run deferred until then (a retry after a pause, tomorrow's sweep); none: at once.
    run_after = models.DateTimeField(_("not before"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Runs begun: more than one when a worker stopped and another resumed the job.
    attempts = models.PositiveSmallIntegerField(_("runs"), default=0)
    # The worker process of the current run ("host:pid"), and when it last said it was alive.
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    # The django-tasks result of the latest run (the database backend's row id).
    task_result_id = models.CharField(_("task result"), max_length=64, blank=True)
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    # One object per row of work: {"outcome", "facts", "logid"}; groups.wording renders facts.
    results = models.JSONField(_("results"), default=list, blank=True)
    # The outcome as facts, rendered in the reader's language.
    summary = models.JSONField(_("summary"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        indexes = [
            models.Index(fields=["created_at", "id"], name="job_time"),
            # The jobs under way (a handful): the sync button's check and the recovery.
            models.Index(
                fields=["kind", "state"],
                condition=models.Q(state__in=["queued", "running"]),
                name="job_under_way",
            ),
        ]

    def __str__(self):
        return f"{self.kind_label} · {self.state_label}"

    def get_absolute_url(self):
        return reverse("job_detail", args=[self.pk])

    @property
    def request_id(self):
        """The request id of the job's audit rows (groups.actors.Actor.for_job)."""
        return self.pk.hex

    @property
    def kind_label(self):
        return choice_label(self.Kind, self.kind)

    @property
    def state_label(self):
        return choice_label(self.State, self.state)

    @property
    def under_way(self):
        return self.state in self.UNDER_WAY

    @property
    def ended_early(self):
        return self.state in self.ENDED_EARLY

    @property
    def started_by(self):
        """Who started it, as the register shows it: the username, else the program."""
        return self.username or self.program

    @property
    def percent(self):
        if not self.total:
            return None
        return min(100, round(100 * self.done / self.total))

    @property
    def summary_text(self):
        from ..wording import job_summary

        return job_summary(self)

    @property
    def rows(self):
        """The per-row results as the page shows them, in the reader's language."""
        from ..wording import render_safely

        return [
            {
                "outcome": row.get("outcome", ""),
                "outcome_label": choice_label(AuditEntry.Outcome, row.get("outcome", "")),
                "text": render_safely(row.get("facts") or {}),
                "logid": row.get("logid", ""),
            }
            for row in self.results
        ]

    @property
    def imported(self):
        """Groups a finished sync imported (they wait to be assigned to devices)."""
        counts = (self.summary or {}).get("counts") or {}
        return counts.get("imported", 0) if self.state == self.State.SUCCEEDED else 0

    def _older_than_stale(self, moment):
        limit = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
        return moment is None or moment < limit

    @property
    def unclaimed(self):
        """Queued for a while (since queued again, for a resumed job, or since the time it
        was deferred to) and no worker took it: is one running?"""
        queued_at = max(self.heartbeat_at or self.created_at, self.run_after or self.created_at)
        return self.state == self.State.QUEUED and self._older_than_stale(queued_at)

    @property
    def deferred(self):
        """Queued to run later, not yet due."""
        return (
            self.state == self.State.QUEUED
            and self.run_after is not None
            and self.run_after > timezone.now()
        )

    @property
    def silent(self):
        """Running, but its worker has not marked it alive lately."""
        return self.state == self.State.RUNNING and self._older_than_stale(self.heartbeat_at)
