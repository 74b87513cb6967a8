"""The processes the benchmark measures: vpadmin under gunicorn, on a free loopback port."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# A sync worker streaming the export is killed after this long: long enough for a slow export
# of a million rows to be measured (as slow as it is) rather than cut short.
TIMEOUT = 900


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """`gunicorn vpadmin.wsgi` with `workers` sync workers; `env` names the settings."""

    def __init__(self, env, workers, log_path):
        self.env, self.workers, self.log_path = env, workers, Path(log_path)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def __enter__(self):
        command = [
            sys.executable, "-m", "gunicorn", "vpadmin.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--worker-class", "sync",
            "--timeout", str(TIMEOUT), "--chdir", str(ROOT), "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, **self.env}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # the master stops its workers
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def _wait_until_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # bound, but no worker ready yet
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within 30 s; see {self.log_path}")


def reset_peak_memory(pid):
    """Reset the process's peak resident set size (VmHWM) to its current size (Linux)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def memory_mb(pid):
    """The process's current (VmRSS) and peak (VmHWM) resident set size, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields["VmRSS"], fields["VmHWM"]
