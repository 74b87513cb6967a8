"""The job register's writes: starting a job (a sync: one at a time from the web), running
one with a heartbeat (in a worker, or in the foreground for a command), and finding the
jobs whose worker stopped. The jobs that come back by themselves (deletions retried, the
daily retention sweep) are queued by groups.services.recurring, with this machinery.

A job's worker marks it alive every JOB_HEARTBEAT_SECONDS. A running job that has not been
marked for JOB_STALE_SECONDS, or whose worker process on this machine is gone, lost its
worker: the audit rows its run left pending are concluded at once (`unknown`, saying
why), and the job is queued again to run from the start when its work is safe to repeat
(a sync is; so are deletions and the sweep, which skip what is done and confirm a lost
answer on Coze's list) and it has not been lost MAX_RUNS times, else it ends
`interrupted`. Every change of state is one conditional UPDATE on the run that made it, so
two workers (or a worker and the recovery) never both move a job on.
"""

import logging
import os
import socket
import threading
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from vpadmin.logs import current_request

from .. import audit
from ..actors import Actor
from ..coze.accounts import DEFAULT
from ..coze.accounts import names as configured_names
from ..models import AuditEntry, CozeAccount, Job
from ..wording import fact
from .errors import SyncUnderWay
from .sync import SyncFailed, sync_groups

log = logging.getLogger("vpadmin.jobs")
State, Kind = Job.State, Job.Kind

MAX_RUNS = 3  # a job whose worker stopped this many times is not resumed again
# Safe to run again from the start (an import skips the rows it did, and sends a row's
# creation again with the submission id it had: groups.services.imports).
RESUMABLE = {Kind.SYNC, Kind.DELETIONS, Kind.RETENTION, Kind.IMPORT}
HOST = socket.gethostname()
_here = set()  # the jobs this process is running


def worker_name():
    """This process, as a job's `worker` names it."""
    return f"{HOST}:{os.getpid()}"


# Starting


def start_sync(actor, account=None):
    """Queue a sync of one Coze account (a name or a row; the default account when None)
    for a worker; SyncUnderWay if one of that account is queued or running."""
    recover()  # a sync whose worker stopped is not "under way"
    name = getattr(account, "name", account) or DEFAULT
    with transaction.atomic():
        account = CozeAccount.locked(name)  # two clicks at once start one sync
        under_way = syncs_of(account).filter(state__in=Job.UNDER_WAY).first()
        if under_way is not None:
            raise SyncUnderWay(under_way)
        job = Job.objects.create(kind=Kind.SYNC, account=account, **_started_by(actor))
        return _enqueue(job)


def start_syncs(actor, account=None):
    """Queue a sync of `account`, or (None) one of each configured account: the "Sync
    with Coze" button. Returns [(job, started)]: a job already under way for an account
    is given instead of a new one (started False)."""
    names = [getattr(account, "name", account)] if account else configured_names()
    jobs = []
    for name in names:
        try:
            jobs.append((start_sync(actor, name), True))
        except SyncUnderWay as under_way:
            jobs.append((under_way.job, False))
    return jobs


def syncs_of(account):
    """The sync jobs of `account` (a row): those without one were the default account's."""
    syncs = Job.objects.filter(kind=Kind.SYNC)
    if account.name == DEFAULT:
        return syncs.filter(Q(account=account) | Q(account__isnull=True))
    return syncs.filter(account=account)


def sync_here(actor, account=None):
    """Sync one account (the default when None) in this process (`manage.py
    sync_coze_groups`, cron's scheduled sync), recorded in the register like a worker's;
    returns the SyncResult, raises SyncFailed."""
    return run_here(actor, Kind.SYNC, account=CozeAccount.named(account or DEFAULT))


def run_here(actor, kind, account=None):
    """Do a job of `kind` in this process (a command), recorded in the register like a
    worker's run; returns what its work returns."""
    now = timezone.now()
    job = Job.objects.create(
        kind=kind,
        account=account,
        state=State.RUNNING,
        attempts=1,
        started_at=now,
        heartbeat_at=now,
        worker=worker_name(),
        **_started_by(actor),
    )
    return _execute(job, replace(actor, request_id=job.request_id))


def _started_by(actor):
    program = "" if actor.via == AuditEntry.Via.WEB else actor.user_agent
    return {"user": actor.user, "username": actor.username, "via": actor.via, "program": program}


def _enqueue(job, run_after=None):
    """Queue a run of `job`, at once or not before `run_after` (inside the caller's
    transaction: with the database backend the job and its task are committed together,
    so no worker sees one without the other)."""
    from ..tasks import run_job  # the task module needs the settings' backend

    task = run_job if run_after is None else run_job.using(run_after=run_after)
    result = task.enqueue(str(job.pk))
    job.task_result_id, job.run_after = str(result.id), run_after
    job.save(update_fields=["task_result_id", "run_after"])
    return job


# Running


def run(job_id):
    """Run the queued job `job_id` here (the worker's task); returns its final state, or
    None when it was not queued (finished, or taken by another run)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, state=State.QUEUED).update(
        state=State.RUNNING,
        attempts=F("attempts") + 1,
        started_at=Coalesce(F("started_at"), now),
        heartbeat_at=now,
        worker=worker_name(),
    )
    if not claimed:
        log.warning("job %s is not queued: not run again", job_id)
        return None
    job = Job.objects.select_related("user").get(pk=job_id)
    # The starter's name as the job kept it, even if their account has gone since.
    actor = replace(Actor.for_job(job.pk, job.user, task=job.kind), username=job.username)
    # A failure the work reports is said on the job's page: the run itself went as it should.
    with suppress(SyncFailed):
        _execute(job, actor)
    try:
        _work(job.kind).after(job)
    except DatabaseError:  # the worker's keep_scheduled() queues it in a moment
        log.exception("job %s: what follows it could not be queued", job.pk)
    return job.state


def _execute(job, actor):
    """Do the job's work in this process: heartbeat, log context, and a final state."""
    with _running(job, actor):
        try:
            return _work(job.kind).run(job, actor)
        except (KeyboardInterrupt, SystemExit):
            # Told to stop at once (a second Ctrl-C, or SIGTERM twice): resume it elsewhere.
            lost(job, "stopped")
            raise
        except Exception as error:
            # A failure the work reported has finished the job already; this is for the rest.
            _finish(job, State.FAILED, fact("job_crashed", error=type(error).__name__))
            raise


@contextmanager
def _running(job, actor):
    """While the job runs: its heartbeat, and its request id and user on every log line."""
    _here.add(job.pk)
    context = current_request.set(
        SimpleNamespace(request_id=actor.request_id, _cached_user=actor.user)
    )
    heartbeat = _Heartbeat(job)
    heartbeat.start()
    try:
        yield
    finally:
        heartbeat.stop()
        current_request.reset(context)
        _here.discard(job.pk)


class _Heartbeat(threading.Thread):
    """Marks the job alive every JOB_HEARTBEAT_SECONDS until stopped, or until the job is
    no longer this run's (taken over after a pause longer than JOB_STALE_SECONDS)."""

    def __init__(self, job):
        super().__init__(name=f"heartbeat of job {job.pk}", daemon=True)
        self.job, self.stopping = job, threading.Event()

    def run(self):
        try:
            while not self.stopping.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    mine = _this_run(self.job).update(heartbeat_at=timezone.now())
                except DatabaseError:
                    log.warning("job %s: the heartbeat could not be stored", self.job.pk)
                    continue
                if not mine:
                    log.warning("job %s is no longer this worker's run", self.job.pk)
                    return
        finally:
            connections.close_all()  # this thread's own connection

    def stop(self):
        self.stopping.set()
        self.join(timeout=5)


def _this_run(job):
    """The job's row, as long as it is still running this run."""
    return Job.objects.filter(pk=job.pk, state=State.RUNNING, attempts=job.attempts)


def _progress(job, done, total, row=None):
    """Store how far the job got, and one more row of results. Best effort: the work goes
    on if the database cannot take it now (the final state is written at the end)."""
    job.done, job.total = done, total
    if row is not None:
        job.results.append(row)
    try:
        _this_run(job).update(done=done, total=total, results=job.results)
    except DatabaseError:
        log.warning("job %s: its progress could not be stored", job.pk)


def _finish(job, state, summary):
    """The run's end: its state and summary, unless the job is no longer this run's."""
    fields = {"state": state, "summary": summary, "finished_at": timezone.now()}
    if not _this_run(job).update(**fields):
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    return True


# The work of each kind: it reports progress, finishes the job, and returns or raises.


def _sync(job, actor):
    read = {"pages": 0}

    def page_read(page, pages, answer):
        read["pages"] = page
        groups = len(answer.data["items"])
        row = {"outcome": "success", "facts": fact("listed_page", page=page, groups=groups)}
        _progress(job, page, pages, {**row, "logid": answer.logid})

    def group_read(done, groups, row):
        # After the pages of the groups, one step per group whose voiceprints are read.
        _progress(job, read["pages"] + done, read["pages"] + groups, row)

    try:
        result = sync_groups(
            actor, account=job.account_id and job.account, on_page=page_read, on_group=group_read
        )
    except SyncFailed as failed:
        error, entry = failed.error, failed.entry
        row = {"outcome": entry.outcome, "facts": entry.facts, "logid": error.logid}
        _progress(job, job.done, job.total, row)
        summary = fact(
            "sync_job_failed",
            failure=entry.facts,
            code=error.code,
            http_status=error.http_status,
            logid=error.logid,
        )
        _finish(job, State.FAILED, summary)
        raise
    # The pages and groups read, however many Coze's first total promised.
    job.total = job.done
    _this_run(job).update(total=job.total)
    _finish(job, State.SUCCEEDED, result.entry.facts)
    return result


@dataclass(frozen=True)
class Work:
    """What a job of one kind does (`run(job, actor)`), and what a worker's run of it
    leaves queued after it (`after(job)`)."""

    run: Callable
    after: Callable = lambda job: None


def _work(kind):
    from . import imports, recurring  # their jobs are run with this module's machinery

    return {Kind.SYNC: Work(_sync), Kind.IMPORT: Work(imports.run), **recurring.WORK}[kind]


# Jobs whose worker stopped


def recover(*, now=None):
    """Find running jobs whose worker stopped and resume or conclude them (at a worker's
    start, then periodically, and before a sync is started); returns how many."""
    now = now or timezone.now()
    silent_since = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    found = 0
    for job in Job.objects.filter(state=State.RUNNING).defer("params", "results"):
        why = _why_lost(job, silent_since)
        if why is not None and lost(job, why):
            found += 1
    return found


def _why_lost(job, silent_since):
    if job.pk in _here:
        return None
    host, _, pid = job.worker.rpartition(":")
    if host == HOST and pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
        return "gone"  # its process on this machine ended (this one now runs under its id)
    if job.heartbeat_at is None or job.heartbeat_at < silent_since:
        return "silent"
    return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def lost(job, why):
    """The job's run ended unfinished (`why`: "gone", "silent" or "stopped"): conclude the
    audit rows it left pending, then queue it again or mark it interrupted. False when the
    run had moved on meanwhile (finished, or concluded by another worker)."""
    again = job.kind in RESUMABLE and job.task_result_id and job.attempts < runs_allowed(job)
    seconds = round(settings.JOB_STALE_SECONDS)
    old_task = job.task_result_id
    with transaction.atomic():
        if again:
            summary = fact("job_resumed", why=why, seconds=seconds)
            # The heartbeat now says when it was queued again (the page's "no worker yet").
            changed = _this_run(job).update(
                state=State.QUEUED, heartbeat_at=timezone.now(), summary=summary
            )
        else:
            summary = fact("job_interrupted", why=why, seconds=seconds)
            changed = _this_run(job).update(
                state=State.INTERRUPTED, finished_at=timezone.now(), summary=summary
            )
        if not changed:
            return False
        job.state, job.summary = (State.QUEUED if again else State.INTERRUPTED), summary
        # Concluded before the job is queued again: its next run never finds them pending.
        _conclude_pending(job, why)
        if again:
            _enqueue(job)
    log.warning("job %s lost its worker (%s): %s", job.pk, why, job.state)
    _close_task_result(old_task, why)
    return True


def runs_allowed(job):
    """How many runs the job may have before a lost one ends it: MAX_RUNS, and MAX_RUNS
    more from each time an Operator resumed it (an import: services.imports)."""
    return job.params.get("runs_allowed", MAX_RUNS)


def _conclude_pending(job, why):
    """The audit rows the job's runs left pending: no process will finish them now."""
    seconds = round(settings.JOB_STALE_SECONDS)
    rows = AuditEntry.objects.filter(request_id=job.request_id, outcome=AuditEntry.Outcome.PENDING)
    for entry in rows:
        try:
            audit.finish(
                entry,
                AuditEntry.Outcome.UNKNOWN,
                facts=fact("job_stopped", why=why, seconds=seconds),
            )
        except ValueError:
            continue  # finished meanwhile after all


def _close_task_result(task_result_id, why):
    """The database backend's row of a run whose worker died stays RUNNING for ever: say
    it failed (a worker told to stop says so itself, with its traceback)."""
    if not task_result_id or why == "stopped":
        return
    from django_tasks_db import DatabaseBackend
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from ..tasks import run_job

    if isinstance(run_job.get_backend(), DatabaseBackend):
        running = DBTaskResult.objects.filter(id=task_result_id, status=TaskResultStatus.RUNNING)
        running.update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path="groups.services.jobs.WorkerLost",
            traceback=f"The worker running this task stopped ({why}); vpadmin took the job over.",
        )
