"""Operators racing for the last quota slot: exactly one wins (parallel real requests)."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from groups.models import AuditEntry, VoiceprintGroup

RACERS = 6


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_only_one_of_several_operators_gets_the_last_slot(operator, device, coze_sim, settings):
    settings.COZE_GROUP_QUOTA = 3
    for n in range(2):
        VoiceprintGroup.objects.create(coze_id=str(n), name=f"g{n}", device=device)
    coze_sim.add_fault("delay", seconds=0.3, times=None)  # every call slow: attempts overlap
    start = threading.Barrier(RACERS)

    def attempt(n):
        client = Client()
        client.force_login(operator)
        start.wait()
        try:
            return client.post(
                "/groups/new/",
                {"name": f"racer {n}", "device": device.pk, "submission": str(uuid.uuid4())},
            ).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = list(pool.map(attempt, range(RACERS)))

    assert sorted(statuses) == [200] * (RACERS - 1) + [302]
    assert VoiceprintGroup.objects.count() == 3
    assert len([r for r in coze_sim.requests if r["method"] == "POST"]) == 1
    outcomes = sorted(
        AuditEntry.objects.filter(action="group.create").values_list("outcome", flat=True)
    )
    assert outcomes == ["refused"] * (RACERS - 1) + ["success"]


@pytest.mark.django_db
def test_sqlite_keeps_a_write_ahead_log_so_readers_never_wait_for_a_writer():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's journal mode")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
