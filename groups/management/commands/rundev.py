"""`make run`: the development server and a job worker, plus the bundled Coze simulator
when no COZE_API_TOKEN is set; one Ctrl-C stops them all."""

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

STATE_FILE = Path(settings.BASE_DIR) / ".cozesim.json"


class Command(BaseCommand):
    help = (
        "Serve vpadmin for development with a job worker; start the Coze simulator when no "
        "token is set."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        simulator = worker = None
        # The autoreloader runs this command again in a child process: start the
        # simulator and the worker only once, in the outer one.
        outer = DJANGO_AUTORELOAD_ENV not in os.environ
        if settings.COZE_SIMULATED and outer:
            simulator = self.start_simulator()
        elif not settings.COZE_SIMULATED:
            self.stdout.write(f"Talking to real Coze at {settings.COZE_API_BASE}")
        try:
            if outer:
                worker = self.start_worker()
            call_command("runserver", addrport)
        finally:
            # The worker first, while the simulator still answers it. A Ctrl-C has reached
            # the worker too (it would finish its job); this second signal stops it at once,
            # and the job is queued again for the next start.
            for child in (worker, simulator):
                if child is not None:
                    stop(child)

    def start_worker(self):
        """`manage.py db_worker` beside the server: it runs the jobs (Sync with Coze)."""
        self.stdout.write("Starting a job worker (manage.py db_worker)")
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--verbosity", "1"],
            cwd=settings.BASE_DIR,
            preexec_fn=_die_with_parent,
        )

    def start_simulator(self):
        # One simulator serves every account, by token, at COZE_API_BASE (runcozesim reads
        # COZE_ACCOUNTS from the same environment).
        for name, account in settings.COZE_ACCOUNTS.items():
            if account["base"] != settings.COZE_API_BASE:
                raise CommandError(
                    f"No COZE_API_TOKEN, so the bundled simulator serves every account at "
                    f"COZE_API_BASE ({settings.COZE_API_BASE}), but account {name!r} is "
                    f"set to {account['base']}: unset COZE_{name.upper()}_API_BASE."
                )
        address = urlsplit(settings.COZE_API_BASE)
        host, port = address.hostname or "127.0.0.1", address.port or 80
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise CommandError(
                f"No COZE_API_TOKEN, but COZE_API_BASE ({address.netloc}) is "
                "not a loopback address the simulator could serve."
            )
        if _listening(host, port):
            raise CommandError(
                f"Something already listens on {host}:{port}; stop it first "
                "(an older simulator?) so vpadmin talks to its own simulator."
            )
        simulator = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "manage.py",
                "runcozesim",
                f"{host}:{port}",
                "--state",
                str(STATE_FILE),
            ],
            cwd=settings.BASE_DIR,
            # Out of the terminal's process group: a Ctrl-C does not stop it under the
            # worker's feet; handle() stops it after the worker.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if simulator.poll() is not None:
                raise CommandError(
                    f"The Coze simulator could not start on {host}:{port} "
                    "(is another program using that port?)."
                )
            if _listening(host, port):
                return simulator
            time.sleep(0.1)
        simulator.terminate()
        raise CommandError("The Coze simulator did not start within 10 seconds.")


def stop(process, timeout=10):
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
PR_SET_PDEATHSIG = 1  # Linux: a signal for the child when its parent dies


def _die_with_parent():
    """In the child, before it starts: on Linux, be sent SIGTERM when `make run` dies,
    however it dies (even SIGKILL), so no worker or simulator outlives it."""
    prctl = getattr(_LIBC, "prctl", None)
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _listening(host, port):
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0
