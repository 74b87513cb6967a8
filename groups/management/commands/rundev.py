"""`make run`: the development server, plus the bundled Coze simulator when no
COZE_API_TOKEN is set."""

import os
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
    help = "Serve vpadmin for development; start the Coze simulator when no token is set."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        simulator = None
        # The autoreloader runs this command again in a child process: start the
        # simulator only once, in the outer one.
        if settings.COZE_SIMULATED and DJANGO_AUTORELOAD_ENV not in os.environ:
            simulator = self.start_simulator()
        elif not settings.COZE_SIMULATED:
            self.stdout.write(f"Talking to real Coze at {settings.COZE_API_BASE}")
        try:
            call_command("runserver", addrport)
        finally:
            if simulator is not None:
                simulator.terminate()
                simulator.wait(timeout=5)

    def start_simulator(self):
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


def _listening(host, port):
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0
