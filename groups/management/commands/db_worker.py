"""`python manage.py db_worker`: django-tasks-db's worker, which also takes over the jobs
of workers that stopped (killed, or their machine gone): at its start, then every half
JOB_STALE_SECONDS, each is resumed or concluded (groups.services.jobs.recover); and at the
same times keeps the jobs that come back by themselves queued: the daily retention sweep,
and a deletions run while a deletion waits (groups.services.recurring)."""

import logging
import os
import threading

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from groups.services import jobs, recurring

log = logging.getLogger("vpadmin.jobs")


class Command(db_worker.Command):
    help = (
        "Run the background jobs (syncs with Coze, deletions on Coze, the daily retention "
        "sweep): take queued jobs one at a time, resume the jobs of workers that stopped, "
        "and keep the daily sweep and the retries of deletions queued."
    )

    def handle(self, *args, **options):
        # With --reload (DEBUG's default) this process only restarts a child that works.
        watcher = options["reload"] and not options["batch"]
        if not watcher or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            take_over_stopped_jobs()
            threading.Thread(target=keep_taking_over, name="job recovery", daemon=True).start()
        super().handle(*args, **options)


def take_over_stopped_jobs():
    try:
        found = jobs.recover()
        recurring.keep_scheduled()
    except DatabaseError:
        log.exception("jobs whose worker stopped could not be looked for, or queued")
        return
    finally:
        connections.close_all()  # this thread's; the worker's loop opens its own again
    if found:
        log.warning("%d jobs had lost their worker", found)


def keep_taking_over():
    stopping = threading.Event()  # never set: a daemon thread, it ends with the worker
    while not stopping.wait(settings.JOB_STALE_SECONDS / 2):
        take_over_stopped_jobs()
