"""Job workers as they run in production: `manage.py db_worker` processes against the test
database and the simulator. The sync button answers before any Coze call; a worker killed
mid-sync is replaced and the register ends right; several workers never run one job twice;
`make run` (rundev) starts a worker and one Ctrl-C stops everything."""

import datetime
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from groups.models import AuditEntry, Job, VoiceprintGroup
from groups.services import jobs
from tests.serving.test_servers import database_url, free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def wait_for(condition, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.05)
    return value


def worker_env(coze_sim):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vpadmin.settings",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "COZE_API_BASE": coze_sim.url,
        "COZE_API_TOKEN": "pat_test",
        "COZE_TIMEOUT": "10",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def start_worker(coze_sim):
    """Start `manage.py db_worker` processes (each in a session of its own)."""
    workers = []

    def start():
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
            ],
            cwd=ROOT,
            env=worker_env(coze_sim),
            start_new_session=True,
        )
        workers.append(process)
        return process

    yield start
    for process in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def job_state(job):
    job.refresh_from_db()
    return job.state


def list_calls(sim):
    """The group list calls (a sync also asks once who the token is: GET /v1/users/me)."""
    return [r for r in sim.requests if r["path"] == "/v1/audio/voiceprint_groups"]


def tasks_of(job):
    """The task results of `job`'s runs, oldest first (a worker also queues jobs of its own:
    the daily retention sweep)."""
    tasks = DBTaskResult.objects.order_by("enqueued_at")
    return [task for task in tasks if task.args_kwargs["args"] == [str(job.pk)]]


def queue_syncs(n):
    """Jobs queued as the button queues them (without its one-at-a-time rule)."""
    queued = []
    for _ in range(n):
        with transaction.atomic():
            queued.append(jobs._enqueue(Job.objects.create(kind="sync", username="ada")))
    return queued


def test_sync_answers_at_once_and_the_job_page_shows_it_finishing(
    start_worker, administrator_client, coze_sim
):
    coze_sim.seed_groups(450)
    coze_sim.add_fault("delay", method="GET", seconds=0.3, times=None)  # every list call slow

    response = administrator_client.post("/groups/sync/")

    assert response.status_code == 302
    location = response["Location"]
    job = Job.objects.get(pk=re.fullmatch(r"/jobs/(.+)/", location)[1])
    assert coze_sim.requests == []  # the request made no Coze call: the worker will
    start_worker()
    wait_for(lambda: list_calls(coze_sim), "the worker's first list call")
    running = administrator_client.get(location).content.decode()
    assert "data-refresh" in running  # the page follows the job while it runs
    wait_for(lambda: job_state(job) == "succeeded", "the sync to finish")
    page = administrator_client.get(location).content.decode()
    assert "Synced with Coze: 450 imported" in page and "data-refresh" not in page
    assert VoiceprintGroup.objects.count() == 450
    assert not AuditEntry.objects.filter(outcome="pending").exists()
    assert AuditEntry.objects.get(action="group.sync").request_id == job.request_id


def test_a_worker_killed_mid_sync_is_replaced_and_nothing_is_left_pending(
    start_worker, administrator_client, coze_sim
):
    coze_sim.seed_groups(3)
    coze_sim.add_fault("delay", method="GET", seconds=5)  # the first list call hangs
    job = Job.objects.get(pk=administrator_client.post("/groups/sync/")["Location"][6:-1])
    first = start_worker()
    wait_for(lambda: list_calls(coze_sim), "the list call to be under way")
    assert AuditEntry.objects.get(action="group.sync").outcome == "pending"

    os.killpg(first.pid, signal.SIGKILL)  # mid-sync
    first.wait(timeout=10)
    assert job_state(job) == "running"  # as the killed worker left it
    start_worker()  # on this machine: it sees the old worker's process is gone

    wait_for(lambda: job_state(job) == "succeeded", "the new worker to finish the sync")
    assert job.attempts == 2
    assert VoiceprintGroup.objects.count() == 3
    rows = AuditEntry.objects.filter(action="group.sync").order_by("pk")
    assert [row.outcome for row in rows] == ["unknown", "success"]
    assert rows[0].facts == {"say": "job_stopped", "why": "gone", "seconds": 60}
    assert not AuditEntry.objects.filter(outcome="pending").exists()

    def statuses():
        return [task.status for task in tasks_of(job)]

    # The worker closes its task's result just after the job's own code has returned.
    wait_for(lambda: "RUNNING" not in statuses(), "the task result to be closed")
    assert statuses() == ["FAILED", "SUCCESSFUL"]  # the killed run is not left RUNNING
    page = administrator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Synced with Coze: 3 imported" in page


def test_two_workers_never_run_the_same_job_twice(start_worker, coze_sim):
    coze_sim.seed_groups(2)
    coze_sim.add_fault("delay", method="GET", seconds=0.05, times=None)
    queued = queue_syncs(12)

    start_worker(), start_worker()

    wait_for(lambda: all(job_state(job) == "succeeded" for job in queued), "every job to finish")

    def tasks():
        return [task for job in queued for task in tasks_of(job)]

    # The worker closes its task's result just after the job's own code has returned.
    wait_for(
        lambda: all(task.status not in ("READY", "RUNNING") for task in tasks()),
        "every task result to be closed",
    )
    assert [job.attempts for job in queued] == [1] * 12
    assert len(list_calls(coze_sim)) == 12  # one sync (one list call) per job, no more
    assert [(task.status, len(task.worker_ids)) for task in tasks()] == [("SUCCESSFUL", 1)] * 12
    assert VoiceprintGroup.objects.count() == 2


def test_a_worker_asked_to_stop_finishes_its_job_first(start_worker, coze_sim):
    coze_sim.add_fault("delay", method="GET", seconds=1)
    [job] = queue_syncs(1)
    worker = start_worker()
    wait_for(lambda: list_calls(coze_sim), "the list call to be under way")

    worker.send_signal(signal.SIGTERM)  # systemd's stop

    assert worker.wait(timeout=15) == 0
    assert job_state(job) == "succeeded" and job.attempts == 1


def test_a_worker_queues_the_daily_sweep_and_leaves_tomorrows_for_tomorrow(start_worker, coze_sim):
    start_worker()

    def swept():
        return Job.objects.filter(kind="retention", state="succeeded").first()

    first = wait_for(swept, "the worker's first retention sweep")
    assert first.program == "manage.py db_worker"
    assert AuditEntry.objects.get(action="retention.sweep").request_id == first.request_id
    tomorrow = wait_for(
        lambda: Job.objects.filter(kind="retention", state="queued").first(), "the next sweep"
    )
    midnight = datetime.datetime.combine(
        timezone.localdate() + datetime.timedelta(days=1), datetime.time.min
    )
    assert tomorrow.run_after == timezone.make_aware(midnight)
    time.sleep(1)  # ten turns of the worker's loop: a deferred task is not taken early
    [task] = tasks_of(tomorrow)
    assert (task.status, task.run_after) == ("READY", tomorrow.run_after)
    assert Job.objects.filter(kind="retention").count() == 2


def processes():
    """Every live process: pid -> (parent pid, command line) (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended meanwhile
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":  # a zombie has ended
            found[int(entry.name)] = (int(parent), args)
    return found


def descendants(pid):
    """The command lines of the processes started by `pid`, and theirs, by pid."""
    table, found, parents = processes(), {}, {pid}
    while parents:
        children = {p: args for p, (parent, args) in table.items() if parent in parents}
        found.update(children)
        parents = set(children) - {pid}
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_make_run_starts_a_worker_and_one_ctrl_c_stops_everything(tmp_path):
    port, sim_port = free_port(), free_port()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("COZE_")
    }  # no token: the bundled simulator
    url = database_url()
    if url.startswith("sqlite"):
        # A database of its own, as `make run` has: the worker writes at once (it schedules
        # the retention sweep), and the suite's SQLite file may be held by this process.
        url = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    env.update(
        DJANGO_SETTINGS_MODULE="vpadmin.settings",
        DEBUG="true",
        DATABASE_URL=url,
        COZE_API_BASE=f"http://127.0.0.1:{sim_port}",
        LOG_LEVEL="WARNING",
    )
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=120)
    rundev = subprocess.Popen(
        [sys.executable, "manage.py", "rundev", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group, as a terminal gives `make run`
        # and Ctrl-C's default meaning, which a suite run in the background (SIGINT
        # ignored, and so inherited as ignored) would otherwise pass on.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "rundev.log").open("w"),  # said when it does not stop
    )
    started = {}
    try:

        def serving():
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(serving, "the development server")
        started = descendants(rundev.pid)
        running = " | ".join(started.values())
        assert "runcozesim" in running and "db_worker" in running
        assert running.count("manage.py rundev") == 1  # the autoreloader's server

        os.killpg(rundev.pid, signal.SIGINT)  # Ctrl-C in the terminal

        # Generous: a loaded machine (CI) is slow to stop a worker finishing its task.
        try:
            rundev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            log = (tmp_path / "rundev.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"make run did not stop on Ctrl-C; its log ends:\n{log}")
        wait_for(lambda: not set(started) & set(processes()), "every process to end", 60)
    finally:
        for pid in set(started) & set(processes()):
            os.kill(pid, signal.SIGKILL)
