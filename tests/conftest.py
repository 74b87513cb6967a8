"""Shared fixtures: the Coze simulator on a real loopback socket, and people in each role."""

from unittest import mock

import pytest
from django.db.backends.base.operations import BaseDatabaseOperations

from groups.coze.simulator import CozeSimulator
from groups.immutability import removal_allowed
from vpadmin.coze_accounts import read_coze_accounts

from . import factories

TEST_TOKEN = "pat_test"


@pytest.fixture(autouse=True, scope="session")
def _flush_passes_the_audit_guard():
    """Transactional tests end with a flush of every table, which the audit log's
    triggers refuse; between tests (only) it may pass, as prune_audit does."""
    flush = BaseDatabaseOperations.execute_sql_flush

    def guarded_flush(ops, sql_list):
        with removal_allowed(ops.connection):
            flush(ops, sql_list)

    with mock.patch.object(BaseDatabaseOperations, "execute_sql_flush", guarded_flush):
        yield


@pytest.fixture(autouse=True)
def _empty_caches():
    """Each test starts with empty caches: what one test's pages kept (the dashboard's
    counts of days long over) is not another's."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def _language_of_the_test():
    """Each test starts in the default language: a page read in Chinese leaves its
    language active on the thread, and pytest-django runs tests in its own order."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(scope="session")
def _coze_sim_server():
    sim = CozeSimulator(token=TEST_TOKEN)
    sim.start("127.0.0.1", 0)
    yield sim
    sim.stop()


@pytest.fixture
def coze_sim(_coze_sim_server, settings):
    """The simulator, emptied, with vpadmin's settings pointing at it."""
    sim = _coze_sim_server
    sim.reset()
    settings.COZE_API_BASE = sim.url
    settings.COZE_API_TOKEN = TEST_TOKEN
    settings.COZE_SIMULATED = False
    settings.COZE_ACCOUNTS = {  # as the settings read them: the default account alone
        "default": {"token": TEST_TOKEN, "base": sim.url, "quota": settings.COZE_GROUP_QUOTA}
    }
    yield sim
    sim.reset()


@pytest.fixture
def coze_accounts(coze_sim, settings):
    """Several Coze accounts on the simulator, configured as vpadmin reads them: call it
    with each account's group quota, e.g. coze_accounts(default=3, cn2=2); it builds the
    environment COZE_ACCOUNTS=cn2 with COZE_CN2_API_TOKEN ("pat_test_cn2") and
    COZE_CN2_GROUP_QUOTA, reads it as the settings do into settings.COZE_ACCOUNTS (and
    COZE_GROUP_QUOTA), has the simulator serve those accounts, and returns {name: the
    simulator's account} (each with its token, url, groups, requests, add_fault ...)."""

    def serve(default=1000, **quotas):
        environ = {"COZE_ACCOUNTS": ",".join(quotas)}
        for name, quota in quotas.items():
            environ[f"COZE_{name.upper()}_API_TOKEN"] = f"{TEST_TOKEN}_{name}"
            environ[f"COZE_{name.upper()}_GROUP_QUOTA"] = str(quota)
        accounts = read_coze_accounts(
            environ, token=TEST_TOKEN, base=coze_sim.url, quota=default, simulated=False
        )
        settings.COZE_ACCOUNTS, settings.COZE_GROUP_QUOTA = accounts, default
        coze_sim.serve_accounts(accounts)
        coze_sim.quota = default  # reset() returns it to the simulator's first value
        return dict(coze_sim.accounts)

    yield serve
    coze_sim.serve_accounts({})


@pytest.fixture
def make_user(db):
    """A user with the given role (an auth group created by the migrations)."""
    return factories.person


@pytest.fixture
def viewer(make_user):
    return make_user("vera", "Viewer")


@pytest.fixture
def operator(make_user):
    return make_user("olga", "Operator")


@pytest.fixture
def administrator(make_user):
    return make_user("ada", "Administrator")


def _client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer):
    return _client_for(viewer)


@pytest.fixture
def operator_client(operator):
    return _client_for(operator)


@pytest.fixture
def administrator_client(administrator):
    return _client_for(administrator)


@pytest.fixture
def device(db):
    return factories.device("Living room speaker", "SPK-001", location="Home")


@pytest.fixture
def run_jobs(db):
    """Run the queued jobs here and now, as `manage.py db_worker` would (the pages only
    queue them); returns how many task runs it made. A run that failed with an unexpected
    error fails the test, unless `failures_expected`."""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )

    def run(*, failures_expected=False):
        runs = 0
        while (task := DBTaskResult.objects.ready().first()) is not None:
            task.claim(worker.worker_id)
            worker.run_task(task)  # as the worker's loop does, without its connection handling
            runs += 1
            if task.status == "FAILED" and not failures_expected:
                raise AssertionError(f"task {task.id} failed:\n{task.traceback}")
        return runs

    return run
