"""Imports of devices (and a voiceprint group for each): the dry run, the start of the
import's job, and the job's run.

The dry run reads the file (groups.devices_csv), checks every row with the device page's
and the group page's forms, finds rows that repeat a serial or a group, serials already in
the register (their device is updated) and groups the device has already, checks each
row's Coze account (configured; not another than the device's), and counts the quota the
new groups would take against what is free, per account: each new group goes to its
device's account, else the row's, else the most free one as the run will find it then.
It calls nothing and writes nothing but the import and its rows, which hold the file
until the run.

The run goes row by row through the services the pages use: a device is created or updated
(by serial) with its audit row in one transaction with the row's note that it is done, then
its group is created by services.groups.create_group, acting for the Operator who started
the import (via the job), so the quota lock, the audit rows and Coze's errors are the same
as a page's. Each try's submission id is derived from the job, the row and the try
(uuid5): a run resumed after its worker died sends a row again with the id it had, and the
creation's submission-token idempotency answers with the group that try made, or with its
attempt, which is looked up on Coze (again after attempts.stopped_margin() when it is not
there yet) and concluded: registered if Coze made it, else tried again; nothing is created
twice. Coze's rate limits (4009,
4020, HTTP 429) are waited out with a doubling pause and the row tried again; any other
failure ends that row, and the run goes on with the next.
"""

import hashlib
import logging
import time
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from .. import audit, coze, devices_csv, quota
from ..coze.accounts import names as account_names
from ..forms import ImportDeviceForm, ImportGroupForm
from ..models import AuditEntry, Device, DeviceImport, ImportRow, Job, VoiceprintGroup
from ..text import canonical_serial
from ..wording import fact, invalid_facts
from . import attempts, jobs
from .devices import create_device, update_device
from .errors import (
    AlreadySubmitted,
    AttemptUnresolved,
    DeviceGone,
    NameTaken,
    NotRegistered,
    QuotaExceeded,
    SerialTaken,
)
from .groups import create_group

log = logging.getLogger("vpadmin.jobs")
DevicePlan, GroupPlan = ImportRow.DevicePlan, ImportRow.GroupPlan
Outcome = AuditEntry.Outcome
DEVICE_FIELDS = ("serial", "name", "location", "notes")
CHANGEABLE = ("name", "location", "notes")  # a device found by its serial gets these
RATE_LIMITED_TRIES = 10  # rate-limited tries of one row before it is given up
PROGRESS_ROWS = 10  # a run stores how far it got every this many rows (and at the end)


# The dry run


def dry_run(actor, filename, content):
    """Read and check an uploaded devices CSV; store it as an import with its plan.
    Raises devices_csv.UnreadableFile when the file as a whole cannot be imported."""
    table = devices_csv.read(content)
    rows = [ImportRow(line=line, **values) for line, values in table.rows]
    accounts = _plan(rows)
    usages = quota.usages()
    with transaction.atomic():
        device_import = DeviceImport.objects.create(
            user=actor.user,
            username=actor.username,
            filename=filename[:255],
            sha256=hashlib.sha256(content).hexdigest(),
            encoding=table.encoding,
            plan=_figures(rows, usages, accounts),
            row_count=len(rows),
        )
        for row in rows:
            row.device_import = device_import
        ImportRow.objects.bulk_create(rows, batch_size=500)
    return device_import


def _plan(rows):
    """Each row's plan and problems: two queries for the whole file (its serials' devices,
    with their accounts, and their groups), then the forms, which ask the database nothing.
    Returns {serial: account name} of the devices that have an account."""
    serials = {canonical_serial(row.serial) for row in rows}
    found = Device.objects.filter(serial__in=serials).select_related("account")
    existing = {device.serial: device for device in found}
    held = {}
    for device_id, name, desc in (
        VoiceprintGroup.objects.active()
        .filter(device__in=list(existing.values()))
        .values_list("device_id", "name", "desc")
    ):
        held.setdefault(device_id, {})[name] = desc
    seen, seen_groups = {}, {}
    accounts = {serial: d.account.name for serial, d in existing.items() if d.account_id}
    configured = account_names()
    for row in rows:
        _plan_row(row, existing, held, seen, seen_groups)
        _check_account(row, existing, accounts, configured)
    return accounts


def _other_account(account, device):
    refused = ValidationError(
        "", code="other_account", params={"account": account, "device": device}
    )
    return invalid_facts({"account": [refused]})


def _unknown_account(configured):
    refused = ValidationError(
        "", code="unknown_account", params={"accounts": ", ".join(configured)}
    )
    return invalid_facts({"account": [refused]})


def _check_account(row, existing, accounts, configured):
    """The row's account: a configured one, and not another than its device's as it has
    it now (one an earlier row of the file gives it: _per_account checks that). A new group
    for a device served from an account no longer configured could not be made; a row that
    makes none may name that account (the export writes it)."""
    row.account = row.account.strip()
    serial = canonical_serial(row.serial)
    own = accounts.get(serial)
    if own is not None and own not in configured and row.group_plan == GroupPlan.CREATE:
        row.problems.append(_unknown_account(configured))
        return
    if not row.account or row.account == own:
        return
    if row.account not in configured:
        row.problems.append(_unknown_account(configured))
        return
    if own is not None and own != row.account:
        row.problems.append(_other_account(own, existing[serial].name))


def _plan_row(row, existing, held, seen, seen_groups):
    values, row.problems = device_values(row)
    group, group_problems = group_values(row)
    row.problems += group_problems
    if values is None:
        return
    serial = values["serial"]
    device = existing.get(serial)
    if serial in seen:
        line, earlier = seen[serial]
        if earlier != values or group is None:
            row.problems.append(fact("duplicate_serial", serial=serial, line=line))
            return
        row.device_plan = DevicePlan.AGAIN
    else:
        seen[serial] = (row.line, values)
        if device is None:
            row.device_plan = DevicePlan.CREATE
        elif differs(device, values):
            row.device_plan = DevicePlan.UPDATE
        else:
            row.device_plan = DevicePlan.UNCHANGED
    if group is None or group_problems:
        return
    key = (serial, group["name"])
    if key in seen_groups:
        row.problems.append(fact("duplicate_group", line=seen_groups[key], name=group["name"]))
        return
    seen_groups[key] = row.line
    descs = held.get(device.pk, {}) if device else {}
    if group["name"] in descs:
        row.group_plan = GroupPlan.EXISTS
        row.notices = [fact("group_exists", name=group["name"])]
        if descs[group["name"]] != group["desc"]:
            row.notices.append(fact("group_desc_differs"))
    else:
        row.group_plan = GroupPlan.CREATE


def device_values(row):
    """The row's device as the device page's form cleans it, and its problems."""
    form = ImportDeviceForm({name: getattr(row, name) for name in DEVICE_FIELDS})
    if not form.is_valid():
        return None, [invalid_facts(form.errors.as_data())]
    return {name: form.cleaned_data[name] for name in DEVICE_FIELDS}, []


def group_values(row):
    """The row's group as the group page's form cleans it (None: the row asks for none),
    and its problems, named group_name and group_desc."""
    if not row.group_name.strip() and not row.group_desc.strip():
        return None, []
    if not row.group_name.strip():
        return None, [fact("group_desc_without_name")]
    form = ImportGroupForm({"name": row.group_name, "desc": row.group_desc})
    if not form.is_valid():
        errors = {f"group_{field}": problems for field, problems in form.errors.as_data().items()}
        return None, [invalid_facts(errors)]
    return {"name": form.cleaned_data["name"], "desc": form.cleaned_data["desc"]}, []


def differs(device, values):
    return any(getattr(device, name) != values[name] for name in CHANGEABLE)


def _figures(rows, usages, accounts):
    per_account = _per_account(rows, usages, accounts) if usages.several else None
    devices = {plan: 0 for plan in DevicePlan.values}
    groups = {plan: 0 for plan in GroupPlan.values}
    errors = 0
    for row in rows:
        errors += bool(row.problems)
        if row.device_plan:
            devices[row.device_plan] += 1
        if row.group_plan:
            groups[row.group_plan] += 1
    usage = usages.total if usages.several else usages.accounts[0]
    figures = {
        "devices": devices,
        "groups": groups,
        "errors": errors,
        "quota": {
            "needed": groups[GroupPlan.CREATE],
            "free": usage.free,
            "used": usage.used,
            "limit": usage.limit,
        },
    }
    if per_account is not None:
        figures["quota"]["accounts"] = per_account
    return figures


def _per_account(rows, usages, accounts):
    """How many groups each account would receive, in the file's order as the run makes
    them: a device's account (its own, or one an earlier row gave it), else the row's,
    else the one with the most free quota at that point (the first on a tie). A row naming
    another account than an earlier row gave its device gets the problem the run would meet.
    """
    needed = {usage.account: 0 for usage in usages.accounts}
    free = {usage.account: usage.limit - usage.used for usage in usages.accounts}
    given = dict(accounts)
    for row in rows:
        if row.problems or row.group_plan != GroupPlan.CREATE:
            continue
        serial = canonical_serial(row.serial)
        earlier = given.get(serial)
        if earlier and row.account and row.account != earlier:
            row.problems.append(_other_account(earlier, row.name))
            continue
        name = earlier or row.account or max(free, key=lambda n: free[n] - needed[n])
        needed[name] += 1
        given[serial] = name
    return [
        {
            "account": usage.account,
            "needed": needed[usage.account],
            "free": usage.free,
            "used": usage.used,
            "limit": usage.limit,
        }
        for usage in usages.accounts
    ]


# Starting


class ImportNotReady(Exception):
    """The import cannot run: rows with problems, nothing to change, or too little quota."""


def start_import(actor, device_import):
    """Queue the import's run as a job acting for `actor`; returns the job. For an import
    started already, its job: a second click starts nothing, but a job that ended before
    its rows were done (its worker lost MAX_RUNS times, its starter no longer allowed, a
    crash) is resumed."""
    with transaction.atomic():
        locked = DeviceImport.objects.select_for_update().get(pk=device_import.pk)
        if locked.job_id is not None:
            if locked.job.ended_early:
                return _resume(actor, locked.job)
            return locked.job
        if not locked.can_run:
            raise ImportNotReady(locked)
        job = Job.objects.create(
            kind=Job.Kind.IMPORT,
            params={"import": locked.pk},
            total=locked.row_count,
            **jobs._started_by(actor),
        )
        locked.job = job
        locked.save(update_fields=["job"])
        return jobs._enqueue(job)


def _resume(actor, job):
    """Queue the ended `job` again, acting for `actor` from now on (the Operator who resumed
    it answers for what it does next), with MAX_RUNS more runs. The same job: its rows done
    are skipped, and a row's creation tries keep their submission ids, so a try an earlier
    run sent is looked up, never sent again."""
    job.state, job.finished_at, job.run_after = Job.State.QUEUED, None, None
    job.heartbeat_at = timezone.now()  # when it was queued again (the page's "no worker yet")
    job.params = {**job.params, "runs_allowed": job.attempts + jobs.MAX_RUNS}
    job.summary = fact("import_resumed", username=actor.username)
    for name, value in jobs._started_by(actor).items():
        setattr(job, name, value)
    fields = ["state", "finished_at", "run_after", "heartbeat_at", "params", "summary"]
    job.save(update_fields=[*fields, "user", "username", "via", "program"])
    log.info("job %s: the import is resumed by %s", job.pk, actor.username)
    return jobs._enqueue(job)


# The run (groups.services.jobs runs it as the job's work)


class RowFailed(Exception):
    """The row stops here: `outcome` (an audit outcome), `facts` saying why, a logid."""

    def __init__(self, outcome, facts, logid=""):
        super().__init__(facts.get("say"))
        self.outcome, self.facts, self.logid = outcome, facts, logid


class Pace:
    """The pause after a rate-limited creation: IMPORT_BACKOFF seconds, doubled at each
    rate limit in a row up to IMPORT_BACKOFF_MAX, and back to the start after a success."""

    def __init__(self):
        self.limited = 0

    def wait(self):
        self.limited += 1
        seconds = min(
            settings.IMPORT_BACKOFF * 2 ** (self.limited - 1), settings.IMPORT_BACKOFF_MAX
        )
        log.info("Coze rate-limited an import's creation: waiting %.1f s", seconds)
        time.sleep(seconds)

    def passed(self):
        self.limited = 0


# What starting an import needs (the import pages' permission): a run checks it again.
START_PERMISSION = "groups.add_deviceimport"


def submission_id(job, line, attempt):
    """The submission id of a row's creation try: the same for the same job, row and try,
    whichever run sends it."""
    return uuid.uuid5(job.pk, str(line) if attempt == 1 else f"{line}/{attempt}")


def run(job, actor):
    """Do the import's rows that are not done yet, in order; then finish the job. A run
    (a resumed one too) acts for whoever started the import, only while they still may:
    deactivated, or no longer allowed to start imports, the rows left are not done."""
    # Every earlier run of the job had stopped (or been taken over) by now.
    began = timezone.now()
    device_import = DeviceImport.objects.get(job=job)
    user = actor.user
    if user is None or not user.is_active or not user.has_perm(START_PERMISSION):
        summary = fact("import_starter_not_allowed", username=job.username)
        jobs._finish(job, Job.State.FAILED, summary)
        return summary
    done = device_import.rows.exclude(outcome="").count()
    total = device_import.row_count
    pace = Pace()
    for row in device_import.rows.filter(outcome="").select_related("device", "group"):
        _run_row(job, actor, row, pace, began)
        done += 1
        # Storing the progress also checks that the job is still this run's (not taken over).
        stored = done % PROGRESS_ROWS and done < total or _progress(job, done, total)
        if not stored:
            log.warning("job %s is no longer this run's: its rows are left to it", job.pk)
            return None
    job.done, job.total = done, total
    summary = _summary(device_import)
    jobs._finish(job, Job.State.SUCCEEDED, summary)
    return summary


def _progress(job, done, total):
    return jobs._this_run(job).update(done=done, total=total)


def _run_row(job, actor, row, pace, began):
    try:
        device = _device_step(actor, row)
        if row.group_name.strip():
            _group_step(job, actor, row, device, pace, began)
    except RowFailed as failed:
        outcome, error, logid = failed.outcome, failed.facts, failed.logid
    else:
        outcome, error, logid = Outcome.SUCCESS, None, row.group.logid if row.group else ""
    row.outcome, row.logid = outcome, logid[:64]
    row.facts = fact(
        "import_row",
        device=row.device_done,
        group=row.group_done,
        name=row.group.name if row.group else "",
        coze_id=row.group.coze_id if row.group else "",
        error=error,
    )
    row.finished_at = timezone.now()
    row.save(update_fields=["outcome", "logid", "facts", "finished_at", "group", "group_done"])


def _device_step(actor, row):
    """The row's device, created or updated by serial (once: a resumed run finds it done)."""
    if row.device_done:
        if row.device is None:
            raise RowFailed(Outcome.FAILURE, fact("import_device_gone"))
        return row.device
    values, problems = device_values(row)
    if values is None:
        raise RowFailed(Outcome.REFUSED, problems[0])
    with transaction.atomic():
        try:
            device, done = _created(actor, row, values)
            if device is None:
                device, done = _by_serial(actor, row, values)
        except SerialTaken:
            taken = ValidationError("", code="unique")
            raise RowFailed(Outcome.FAILURE, invalid_facts({"serial": [taken]})) from None
        except DeviceGone:
            raise RowFailed(Outcome.FAILURE, fact("import_device_gone")) from None
        row.device, row.device_done = device, done
        if row.group_name.strip() and row.tries == 0 and done == DevicePlan.CREATE:
            row.tries = 1  # a new device has no group yet: its first try is next
        row.save(update_fields=["device", "device_done", "tries"])
    return device


def _created(actor, row, values):
    """The row's device created at once when the dry run found none (the usual case: no
    lookup first); (None, None) when it was not to be created, or someone has made it since."""
    if row.device_plan != DevicePlan.CREATE:
        return None, None
    try:
        return create_device(actor, **values), DevicePlan.CREATE
    except SerialTaken:
        return None, None


def _by_serial(actor, row, values):
    """The device of the row's serial, updated if the row changes it, or created."""
    device = Device.objects.filter(serial=values["serial"]).first()
    if device is None:
        return create_device(actor, **values), DevicePlan.CREATE
    if row.device_plan == DevicePlan.AGAIN:
        return device, DevicePlan.AGAIN
    if not differs(device, values):
        return device, DevicePlan.UNCHANGED
    update_device(actor, device, **values)
    return device, DevicePlan.UPDATE


def _group_step(job, actor, row, device, pace, began):
    """The row's group: there already, or created on Coze (tried again after a rate limit)."""
    if row.group_done:
        return
    values, problems = group_values(row)
    if values is None:
        raise RowFailed(Outcome.REFUSED, problems[0])
    _account_step(row, device)
    if row.tries == 0:  # (a device this run created has no group: tries is 1 already)
        there = device.voiceprint_groups.active().filter(name=values["name"]).first()
        if there is not None:
            row.group, row.group_done = there, "exists"
            return
    attempt = max(row.tries, 1)
    while True:
        if row.tries != attempt:
            row.tries = attempt
            row.save(update_fields=["tries"])  # committed before the try is sent
        try:
            group = create_group(
                actor,
                device=device,
                submission=submission_id(job, row.line, attempt),
                account=row.account or None,
                **values,
            )
        except AlreadySubmitted as resent:  # this try was sent by a run before this one
            group, done = _earlier_try(actor, resent.entry, began)
            if group is None:
                attempt += 1
                continue
        except coze.CozeError as error:
            if error.rate_limited and pace.limited < RATE_LIMITED_TRIES:
                pace.wait()
                attempt += 1
                continue
            outcome = Outcome.UNKNOWN if isinstance(error, coze.CozeNoAnswer) else Outcome.FAILURE
            facts = audit.error_facts(error)
            if error.rate_limited:
                facts = fact("import_rate_limited", reason=facts["reason"], tries=pace.limited)
            raise RowFailed(outcome, facts, error.logid) from None
        except NameTaken as taken:  # made meanwhile by someone else
            group, done = taken.group, "exists"
        except (QuotaExceeded, AttemptUnresolved, DeviceGone, NotRegistered) as error:
            raise RowFailed(*_refusal(error, values)) from None
        else:
            done = "found" if getattr(group, "found_after_no_answer", False) else "created"
        pace.passed()
        row.group, row.group_done = group, done
        return


def _account_step(row, device):
    """The row's account is still configured, and the device's, if it has one by now."""
    if not row.account:
        return
    configured = account_names()
    if row.account not in configured:
        refused = ValidationError(
            "", code="unknown_account", params={"accounts": ", ".join(configured)}
        )
        raise RowFailed(Outcome.REFUSED, invalid_facts({"account": [refused]}))
    own = Device.objects.filter(pk=device.pk).values_list("account__name", flat=True).first()
    if own and own != row.account:
        raise RowFailed(Outcome.REFUSED, _other_account(own, device.name))


def _earlier_try(actor, entry, began):
    """What a try an earlier run sent came to: (its group, "created" or "found"), or
    (None, None) when Coze made none and the row may be tried again. Raises RowFailed when
    that try failed for good, or its outcome cannot be known (Coze's list cannot be read).

    The run that sent it had stopped by `began` (this run's start): a try whose outcome it
    never recorded is looked up on Coze's list at once, and when its group is not there,
    again once Coze has had attempts.stopped_margin() since to make what it had received;
    still missing then, it was not made, and the row is tried again."""
    if entry.outcome == Outcome.SUCCESS and entry.target_id:
        group = VoiceprintGroup.objects.filter(pk=entry.target_id).first()
        if group is not None:
            return group, "created"
    if entry.outcome in (Outcome.PENDING, Outcome.UNKNOWN):
        check = attempts.check_creation(actor, entry, stopped_by=began)
        if not (check.concluded or check.error):
            wait = began + attempts.stopped_margin() - timezone.now()
            if wait.total_seconds() > 0:
                log.info("an import's lost try is not on Coze: looked up again in %s", wait)
                time.sleep(wait.total_seconds())
            check = attempts.check_creation(actor, entry, stopped_by=began)
        if check.created:
            return check.group, "found"
        if check.concluded:
            return None, None
        facts = fact("attempt_unresolved", name=entry.sent_name, attempt=entry.pk)
        raise RowFailed(Outcome.UNKNOWN, facts, entry.coze_logid)
    limited = entry.http_status == 429 or entry.coze_code in coze.errors.RATE_LIMIT_CODES
    if entry.outcome == Outcome.FAILURE and limited:
        return None, None
    raise RowFailed(entry.outcome, entry.facts or {"say": ""}, entry.coze_logid)


def _refusal(error, values):
    """(outcome, facts, logid) of a creation refused by the register's rules."""
    if isinstance(error, QuotaExceeded):
        return Outcome.REFUSED, fact("quota_full", used=error.used, limit=error.limit), ""
    if isinstance(error, AttemptUnresolved):
        facts = fact("attempt_unresolved", name=values["name"], attempt=error.entry.pk)
        return Outcome.REFUSED, facts, ""
    if isinstance(error, DeviceGone):
        return Outcome.FAILURE, fact("import_device_gone"), ""
    # NotRegistered: made on Coze, not in the register; a sync registers it.
    return Outcome.UNKNOWN, fact("not_registered", coze_id=error.coze_id), error.logid


def _summary(device_import):
    counts = device_import.rows.aggregate(
        created=Count("pk", filter=Q(device_done=DevicePlan.CREATE)),
        updated=Count("pk", filter=Q(device_done=DevicePlan.UPDATE)),
        unchanged=Count("pk", filter=Q(device_done=DevicePlan.UNCHANGED)),
        groups=Count("pk", filter=Q(group_done__in=["created", "found"])),
        failed=Count("pk", filter=~Q(outcome=Outcome.SUCCESS)),
    )
    return fact("import_done", **counts)
