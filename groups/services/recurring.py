"""Jobs that come back by themselves: deletions on Coze, run again while a requested deletion
waits (at its next try, services.deletions backing off), and the retention sweep, daily.

A worker keeps them going (`manage.py db_worker`, which `make run` starts): at its start,
then every half JOB_STALE_SECONDS beside the recovery of stopped jobs, `keep_scheduled()`
queues the sweep when none is queued or running (at once when none ran today, else at
the next midnight) and a deletions run when a deletion waits. Each worker's run of either
queues what follows it as it ends: the sweep tomorrow's sweep, both the next deletions
run. Runs are deferred with django-tasks' `run_after`, which the database backend keeps
(a task is not taken before its time). One of each kind is queued at a time; a deletions
run wanted sooner than the queued one's time (a withdrawal) moves it earlier.

Built on groups.services.jobs (its register, its runs and their recovery).
"""

import datetime

from django.db import transaction
from django.utils import timezone

from ..actors import Actor
from ..models import AuditEntry, CozeAccount, Job
from . import deletions, jobs, retention, tokens

Kind, State = Job.Kind, Job.State
# Who queues the runs nobody asked for: the worker, as the job register names it.
SCHEDULER = Actor(user_agent="manage.py db_worker", via=AuditEntry.Via.JOB)


def start_deletions(actor, *, now=None):
    """A deletions run as soon as a worker can (after a withdrawal): the queued one moved
    to now, or a new one started by `actor`. Returns the job."""
    now = now or timezone.now()
    return _deletions_at(actor, now, now)


def schedule_deletions(*, now=None):
    """A deletions run at the earliest next try of the requested deletions that wait;
    returns the job, or None when no deletion waits."""
    at = deletions.next_try()
    if at is None:
        return None
    return _deletions_at(SCHEDULER, at, now or timezone.now())


def _deletions_at(actor, at, now):
    run_after = at if at > now else None
    with transaction.atomic():
        CozeAccount.locked()  # two workers (or a worker and a withdrawal) queue one run
        queued = Job.objects.filter(kind=Kind.DELETIONS, state=State.QUEUED).first()
        if queued is None:
            job = Job.objects.create(kind=Kind.DELETIONS, **jobs._started_by(actor))
            return jobs._enqueue(job, run_after)
        if queued.run_after is not None and (run_after is None or run_after < queued.run_after):
            # Wanted sooner: queued again for then. Its later task, when its time comes,
            # finds the job run already and does nothing.
            return jobs._enqueue(queued, run_after)
        return queued


def schedule_retention(*, now=None):
    """The daily sweep queued, unless one is queued or running: at once when none has run
    today, else at the next midnight. Returns the job."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        CozeAccount.locked()
        under_way = Job.objects.filter(kind=Kind.RETENTION, state__in=Job.UNDER_WAY).first()
        if under_way is not None:
            return under_way
        ran_today = Job.objects.filter(kind=Kind.RETENTION, started_at__gte=_midnight(today))
        run_after = _midnight(today + datetime.timedelta(days=1)) if ran_today.exists() else None
        job = Job.objects.create(kind=Kind.RETENTION, **jobs._started_by(SCHEDULER))
        return jobs._enqueue(job, run_after)


def _midnight(day):
    """The start of `day` in the current time zone (TIME_ZONE)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def keep_scheduled(*, now=None):
    """What a worker makes sure of, at its start and then periodically: the daily sweep is
    queued, and so is a deletions run while a deletion waits; and the refused API tokens
    that an address's ended window counted are written (groups.services.tokens)."""
    schedule_retention(now=now)
    schedule_deletions(now=now)
    tokens.end_past_refusal_windows(now)


def retention_here(actor):
    """Sweep in this process (`manage.py enforce_retention`), recorded in the register like
    a worker's run; a deletion Coze could not do now is left to a deletions run."""
    found = jobs.run_here(actor, Kind.RETENTION)
    schedule_deletions()
    return found


# The work of each kind (groups.services.jobs runs it)

PROGRESS_EVERY = 20  # deletions tried between two writes of a job's progress and results


def _progress_of(job):
    """What a run tells after each deletion tried: its row of results, stored with the
    progress every PROGRESS_EVERY deletions and at the last (a sweep may try thousands)."""

    def tried(done, total, row):
        if row is not None:
            job.results.append(row)
        if done == total or done % PROGRESS_EVERY == 0:
            jobs._progress(job, done, total)

    return tried


def _deletions(job, actor):
    run = deletions.run_deletions(actor, on_progress=_progress_of(job))
    jobs._finish(job, State.SUCCEEDED, run.facts())
    return run


def _sweep(job, actor):
    found = retention.sweep(actor, on_progress=_progress_of(job))
    jobs._finish(job, State.SUCCEEDED, found.entry.facts)
    return found


def _after_sweep(job):
    schedule_retention()
    schedule_deletions()


WORK = {
    Kind.DELETIONS: jobs.Work(_deletions, after=lambda job: schedule_deletions()),
    Kind.RETENTION: jobs.Work(_sweep, after=_after_sweep),
}
