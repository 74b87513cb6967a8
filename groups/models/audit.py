"""The audit log: one row per attempt, never changed once final, never removed."""

from django.conf import settings
from django.db import connections, models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..coze.accounts import DEFAULT as DEFAULT_ACCOUNT
from .accounts import CozeAccount
from .devices import Device
from .groups import choice_label


class CozeCodeField(models.CharField):
    """Coze's `code`, which Coze types as a Long and a faulty answer may push past any
    integer column: kept as its decimal text, read back as a Python int."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        return self.to_python(value)

    def to_python(self, value):
        if value is None or isinstance(value, int):
            return value
        try:
            return int(value)
        except ValueError:
            return None

    def get_prep_value(self, value):
        if value is None or value == "":
            return None
        text = str(int(value)) if isinstance(value, int) else str(value)
        # Longer than any code Coze has: kept as its first digits, marked as cut.
        return text if len(text) <= self.max_length else text[: self.max_length - 1] + "…"


class AuditLogImmutable(ValueError):
    """A final audit entry was about to be changed, or an entry removed: never allowed."""


class AuditEntryQuerySet(models.QuerySet):
    """Rows are added and pending ones finished; nothing else changes or removes them."""

    def unresolved_creations(self, account=None):
        """Creation attempts whose outcome is not known: pending, or unknown and not
        resolved; `account`'s alone if given (a row: the default account's include those
        that name none). Each may hold a slot of the quota on Coze. Read from OpenCreation,
        which the database keeps (a handful of rows), not found among every unknown
        creation the log ever had (thousands at a million rows, each asked for a
        resolution). The account is asked of that table too: asked of the log's rows,
        SQLite read the default account's every row (and those naming none) along its
        index to find the few (160 ms at a million rows)."""
        found = OpenCreation.objects.all()
        if account is not None:
            mine = Q(account=account)
            if account.name == DEFAULT_ACCOUNT:
                mine |= Q(account=None)  # calls from before several accounts
            found = found.filter(mine)
        return self.filter(pk__in=found.values("entry_id"))

    def unresolved(self):
        """Rows no later row resolves, as NOT EXISTS: PostgreSQL plans it as an anti join
        and reads the newest rows along an index until it has enough, where the LEFT JOIN
        of `resolution__isnull=True` made it read and sort every matching row of the log.
        SQLite keeps that LEFT JOIN: it reads it along the index (with NOT EXISTS it took
        20 times longer at a million rows)."""
        if connections[self.db].vendor == "sqlite":
            return self.filter(resolution__isnull=True)
        resolutions = AuditEntry.objects.filter(resolves=OuterRef("pk")).order_by()
        return self.filter(~Exists(resolutions))

    def count(self):
        """The whole log's count is kept by triggers (migration 0008 on PostgreSQL, 0025 on
        SQLite) and read in one row, never counted over a million rows; filtered counts are
        counted as usual."""
        query, connection = self.query, connections[self.db]
        whole = not (
            query.where or query.is_sliced or query.distinct or query.combinator or query.group_by
        )
        if whole and self._result_cache is None and connection.vendor in ("postgresql", "sqlite"):
            with connection.cursor() as cursor:
                cursor.execute("SELECT rows FROM groups_auditentry_size WHERE id = 1")
                row = cursor.fetchone()
            if row is not None:
                return row[0]
        return super().count()

    def update(self, **kwargs):
        """Update pending rows; refused if any row in the queryset is final."""
        if self.exclude(outcome=AuditEntry.Outcome.PENDING).exists():
            raise AuditLogImmutable("audit entries are immutable: final rows cannot be updated")
        # Restricted even so: a row finished since that check stays untouched.
        pending = self.filter(outcome=AuditEntry.Outcome.PENDING)
        return super(AuditEntryQuerySet, pending).update(**kwargs)

    update.alters_data = True

    def finish_pending(self, pk, **fields):
        """Give the pending row `pk` its final fields in one statement (the row must still
        be pending: UPDATE ... WHERE outcome = 'pending'); returns 1, or 0 if it was not."""
        pending = self.filter(pk=pk, outcome=AuditEntry.Outcome.PENDING)
        return super(AuditEntryQuerySet, pending).update(**fields)

    finish_pending.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditLogImmutable("audit entries are immutable: bulk_update() is not allowed")

    bulk_update.alters_data = True

    def bulk_create(self, objs, batch_size=None, ignore_conflicts=False, **upsert):
        if upsert.get("update_conflicts"):
            raise AuditLogImmutable("audit entries are immutable: rows are never upserted")
        return super().bulk_create(objs, batch_size, ignore_conflicts, **upsert)

    bulk_create.alters_data = True

    def delete(self):
        raise AuditLogImmutable(
            "audit entries are immutable: `manage.py prune_audit` removes old entries"
        )

    delete.alters_data = True
    delete.queryset_only = True


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        GROUP_CREATE = "group.create", _("create group")
        GROUP_UPDATE = "group.update", _("update group")
        GROUP_DELETE = "group.delete", _("delete group")
        GROUP_SYNC = "group.sync", _("sync with Coze")
        GROUP_CHECK = "group.check", _("check with Coze")
        VOICEPRINT_CREATE = "voiceprint.create", _("enroll voiceprint")
        VOICEPRINT_UPDATE = "voiceprint.update", _("change voiceprint")
        VOICEPRINT_DELETE = "voiceprint.delete", _("delete voiceprint")
        VOICEPRINT_IDENTIFY = "voiceprint.identify", _("identification test")
        RETENTION_SWEEP = "retention.sweep", _("retention sweep")
        PERSON_CREATE = "person.create", _("record person")
        PERSON_UPDATE = "person.update", _("change person record")
        PERSON_REPORT = "person.report", _("download a person's report")
        CONSENT_CREATE = "consent.create", _("record consent")
        CONSENT_WITHDRAW = "consent.withdraw", _("record withdrawal of consent")
        DEVICE_CREATE = "device.create", _("create device")
        DEVICE_UPDATE = "device.update", _("update device")
        DEVICE_DELETE = "device.delete", _("delete device")
        LOGIN = "auth.login", _("sign in")
        LOGIN_FAILED = "auth.login_failed", _("failed sign-in")
        LOGOUT = "auth.logout", _("sign out")
        LOCKED = "auth.locked", _("sign-in locked")
        UNLOCKED = "auth.unlocked", _("sign-in unlocked")
        ACCOUNT_CREATE = "account.create", _("add person")
        ACCOUNT_UPDATE = "account.update", _("change person")
        ACCOUNT_PASSWORD = "account.password", _("change password")
        PERMISSION_DENIED = "permission.denied", _("permission denied")
        AUDIT_PRUNE = "audit.prune", _("prune the audit log")
        TOKEN_CREATE = "token.create", _("issue API token")
        TOKEN_REVOKE = "token.revoke", _("revoke API token")
        TOKEN_REFUSED = "token.refused", _("API token refused")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCESS = "success", _("success")
        FAILURE = "failure", _("failure")
        REFUSED = "refused", _("refused")
        UNKNOWN = "unknown", _("unknown")

    class Via(models.TextChoices):
        """How the actor acted."""

        WEB = "web", _("web")
        COMMAND = "command", _("command")
        JOB = "job", _("job")
        API = "api", _("API")

    # The references below have no database constraint and no ON DELETE action: a final
    # row is never rewritten, not even when its user or device is deleted (the username
    # and the target's label are kept as text).
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="audit_entries",
    )
    actor_username = models.CharField(_("username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    request_id = models.CharField(_("request id"), max_length=32, blank=True, db_index=True)
    target_type = models.CharField(_("target type"), max_length=32, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    device = models.ForeignKey(
        Device,
        verbose_name=_("device"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="audit_entries",
    )
    # The Coze account a row's call went to (or would have); none on rows older than
    # several accounts, which were all the default account's.
    account = models.ForeignKey(
        CozeAccount,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    sent_name = models.CharField(_("name sent"), max_length=200, blank=True)
    sent_desc = models.TextField(_("description sent"), blank=True)
    coze_code = CozeCodeField(_("Coze code"), null=True, blank=True)
    coze_msg = models.TextField(_("Coze message"), blank=True)
    coze_logid = models.CharField(_("Coze logid"), max_length=64, blank=True, db_index=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    via = models.CharField(_("acting through"), max_length=16, choices=Via, default=Via.WEB)
    # Older rows: a sentence in the language of whoever caused the row.
    detail = models.TextField(_("detail"), blank=True)
    # What happened, as data ({"say": <what>, ...its values}); groups.wording renders it
    # in the reader's language.
    facts = models.JSONField(_("facts"), null=True, blank=True)
    # The hidden token of the form that started this attempt: a resent form finds it.
    submission = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # A sync's conclusion about an attempt that ended without an answer (pending/unknown).
    resolves = models.OneToOneField(
        "self",
        verbose_name=_("resolves"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="resolution",
    )

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        # Related lookups and save() use the base manager: it must refuse the same things.
        base_manager_name = "objects"
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        permissions = [("export_auditentry", _("Can export the audit log"))]
        indexes = [
            # ?action= (with ?outcome=) newest first, and the dashboard's Coze operations
            # per day: a range of time for each Coze action, read from the index alone.
            models.Index(fields=["action", "created_at", "outcome"], name="audit_action_time"),
            # Creations under way or without an answer, which may hold quota slots: read by
            # every quota figure. Their account and id are in it, so that PostgreSQL reads
            # them from the index alone (and which a later row resolves from resolves_id's):
            # at a million rows, 4,373 unknown creations were 4,124 pages of the table to
            # visit on every quota figure and creation (14-30 ms; 3-4 ms from the index).
            models.Index(
                fields=["action", "account", "id"],
                condition=Q(outcome__in=["pending", "unknown"]),
                name="audit_open_account",
            ),
            # Creations without a known outcome (the quota's pending figure, the dashboard's
            # waiting list, a sync): SQLite cannot use the partial index above, whose
            # condition its queries name by parameters; with this index it reads those rows
            # alone, not every creation of the log.
            models.Index(fields=["action", "outcome"], name="audit_action_outcome"),
            models.Index(fields=["outcome", "-created_at"], name="audit_outcome_time"),
            # Ascending, so rows appended in time order fill the index's last page (a
            # descending index splits its first page half-empty); read backwards for newest
            # first. The log's own order, ties included: no sort, deep pages one index walk.
            models.Index(fields=["created_at", "id"], name="audit_time"),
            # The filters and histories: ?device= and a device's page, ?user=, a person's
            # own activity and the team page, a group's page.
            models.Index(fields=["device", "created_at"], name="audit_device_time"),
            models.Index(fields=["actor_username", "created_at"], name="audit_username_time"),
            models.Index(fields=["actor", "created_at"], name="audit_actor_time"),
            models.Index(
                fields=["target_type", "target_id", "created_at"], name="audit_target_time"
            ),
        ]

    def __str__(self):
        return f"{self.get_action_display()} · {self.get_outcome_display()}"

    def save(self, *args, **kwargs):
        """Insert a row, or save one that is still pending; a final row is never changed."""
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("outcome", flat=True)
            if stored.first() not in (None, self.Outcome.PENDING):
                raise AuditLogImmutable(f"audit entries are immutable: entry {self.pk} is final")
        super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        raise AuditLogImmutable(
            "audit entries are immutable: `manage.py prune_audit` removes old entries"
        )

    delete.alters_data = True

    @property
    def action_label(self):
        return choice_label(self.Action, self.action)

    @property
    def outcome_label(self):
        return choice_label(self.Outcome, self.outcome)

    def resolution_or_none(self, fresh=False):
        """The row that concluded this one (a sync's or a lookup's finding), if any."""
        if fresh:
            return type(self).objects.filter(resolves_id=self.pk).first()
        try:
            return self.resolution
        except AuditEntry.DoesNotExist:
            return None

    @property
    def explanation(self):
        """What the row says beyond its columns, in the current language."""
        from ..wording import explain

        return explain(self)

    @property
    def actor_label(self):
        """Who acted, as the log shows it: the username, else the command or job."""
        if self.actor_username or self.via == self.Via.WEB:
            return self.actor_username
        return self.user_agent

    @property
    def is_final(self):
        return self.outcome != self.Outcome.PENDING


class OpenCreation(models.Model):
    """A creation attempt whose outcome is not known yet (pending, or unknown and not
    resolved by a later row): the few that may hold quota slots on Coze. Kept by the
    database's own triggers on the audit log (migration 0029), whoever writes to it, in
    the writing transaction: never written by vpadmin's code. The rule is
    AuditEntryQuerySet.unresolved_creations()'s old one, checked against it in
    tests/audit/test_open_creations.py."""

    entry = models.OneToOneField(
        AuditEntry,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    account = models.ForeignKey(  # the entry's
        CozeAccount, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    def __str__(self):
        return str(self.entry_id)
