"""vpadmin as it runs in production: gunicorn processes sharing one database and one
Coze (the simulator). Nothing is lost when several servers race or one is killed."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.test import Client

from groups.actors import Actor
from groups.models import AuditEntry, VoiceprintGroup
from groups.services.sync import sync_groups

ROOT = Path(__file__).resolve().parents[2]


def database_url():
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """Collected static files, as a production server needs them."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vpadmin.settings", "STATIC_ROOT": str(root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return root


STARTUP_SECONDS = 120  # gunicorn's start, on a machine whose load is 10 or more
STOP_SECONDS = 30
# One request, queued behind the racers on the same server on a loaded machine (gunicorn's
# worker timeout too): the race is in the answers, never in how long they take.
REQUEST_SECONDS = 120


def free_port():
    """A port free now (the other serving tests' servers bind it themselves, later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_socket():
    """A socket listening on a free port, for gunicorn to serve on (`-b fd://N`): the port
    is held from the start, so no other process on the machine can take it meanwhile."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    return listener


@pytest.fixture
def start_server(static_root, coze_sim):
    """Start gunicorn processes with production settings against the test database."""
    servers = []

    def start(quota, workers=2):
        listener = listening_socket()
        port = listener.getsockname()[1]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "vpadmin.settings",
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url(),
            "STATIC_ROOT": str(static_root),
            "COZE_API_BASE": coze_sim.url,
            "COZE_API_TOKEN": "pat_test",
            "COZE_GROUP_QUOTA": str(quota),
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(  # a session of its own, so it can be killed whole
            [
                sys.executable,
                "-m",
                "gunicorn",
                "vpadmin.wsgi",
                "-b",
                f"fd://{listener.fileno()}",
                "-w",
                str(workers),
                "--timeout",
                str(REQUEST_SECONDS),
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            pass_fds=[listener.fileno()],
        )
        listener.close()  # gunicorn holds it now
        servers.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert process.poll() is None, f"gunicorn exited ({process.returncode})"
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    return process, url
            except requests.RequestException:  # still booting: the request waits in the queue
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start in {STARTUP_SECONDS} s")

    yield start
    for process in servers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_SECONDS)


def signed_in(user, url):
    """A browser-like session for `user` on the server at `url`, with the CSRF token the
    creation form gave it (`session.csrf_token`)."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    # The form as a signed-in person sees it, and its token from this very answer: on a
    # loaded machine a page read anyhow (an error page, a redirect) sets no cookie, and the
    # racers then failed far from the cause, reading a cookie that was never set.
    form = session.get(f"{url}/groups/new/", timeout=REQUEST_SECONDS, allow_redirects=False)
    assert form.status_code == 200, f"the creation form answered {form.status_code}"
    assert 'name="csrfmiddlewaretoken"' in form.text, "the creation form has no CSRF token"
    session.csrf_token = form.cookies.get("csrftoken")
    assert session.csrf_token, "the creation form set no CSRF cookie"
    return session


def create(session, url, device, name):
    response = session.post(
        f"{url}/groups/new/",
        data={
            "name": name,
            "device": device.pk,
            "submission": str(uuid.uuid4()),
            "csrfmiddlewaretoken": session.csrf_token,
        },
        headers={"Referer": f"{url}/groups/new/"},
        allow_redirects=False,
        timeout=REQUEST_SECONDS,
    )
    return response.status_code


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_servers_give_out_exactly_the_last_three_slots(
    start_server, operator, device, coze_sim
):
    for n in range(7):
        VoiceprintGroup.objects.create(coze_id=str(n), name=f"g{n}", device=device)
    urls = [start_server(quota=10)[1] for _ in range(2)]
    sessions = [signed_in(operator, url) for url in urls]
    coze_sim.add_fault("delay", seconds=0.2, times=None)  # every create slow: they overlap
    attempts = [(sessions[n % 2], urls[n % 2], f"racer {n}") for n in range(20)]

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda a: create(a[0], a[1], device, a[2]), attempts))

    assert sorted(statuses) == [200] * 17 + [302] * 3  # 3 created, 17 refused, no 500
    assert VoiceprintGroup.objects.count() == 10
    assert len([r for r in coze_sim.requests if r["method"] == "POST"]) == 3
    outcomes = sorted(
        AuditEntry.objects.filter(action="group.create").values_list("outcome", flat=True)
    )
    assert outcomes == ["refused"] * 17 + ["success"] * 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_server_killed_while_coze_creates_loses_nothing(start_server, operator, device, coze_sim):
    process, url = start_server(quota=100, workers=1)
    session = signed_in(operator, url)
    coze_sim.add_fault("delay", seconds=1.0)  # Coze makes the group after our server died

    def create_on_a_dying_server():
        with contextlib.suppress(requests.ConnectionError):  # it dies mid-request
            create(session, url, device, "客厅")

    threading.Thread(target=create_on_a_dying_server, daemon=True).start()
    deadline = time.monotonic() + 10
    while not AuditEntry.objects.filter(action="group.create", outcome="pending").exists():
        assert time.monotonic() < deadline, "the attempt was never recorded"
        time.sleep(0.05)
    # Killed once Coze has the request (on a busy machine the POST may follow the row late).
    while not any(r["method"] == "POST" for r in coze_sim.requests):
        assert time.monotonic() < deadline, "the creation never reached Coze"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not coze_sim.groups:
        assert time.monotonic() < deadline, "Coze never made the group"
        time.sleep(0.05)

    assert not VoiceprintGroup.objects.exists()
    attempt = AuditEntry.objects.get(action="group.create")
    assert attempt.outcome == "pending"  # the row that says what was under way
    # Later, once the attempt is old enough to be no longer in flight, a sync registers it.
    [remote] = coze_sim.groups.values()
    AuditEntry.objects.filter(pk=attempt.pk).update(
        created_at=attempt.created_at - timedelta(minutes=3)
    )
    remote["created_at"] -= 180
    assert sync_groups(Actor.for_command("sync_coze_groups")).resolved == 1
    group = VoiceprintGroup.objects.get()
    assert (group.name, group.device, group.creator) == ("客厅", device, operator)
