"""The Coze token never appears in a page, a log record, an audit row or an error."""

import logging
import uuid

import pytest
from django.db import connection

from groups.models import AuditEntry, VoiceprintGroup
from groups.simulator import CozeSimulator

SECRET = "pat_SECRET_never_shown_1234"


@pytest.fixture
def secret_sim(settings):
    sim = CozeSimulator(token=SECRET).start()
    settings.COZE_API_BASE, settings.COZE_API_TOKEN = sim.url, SECRET
    yield sim
    sim.stop()


def test_the_token_never_leaks(
    operator_client, administrator_client, device, secret_sim, settings, caplog
):
    coze_sim = secret_sim
    caplog.set_level(logging.DEBUG)
    bodies = []

    def create(**fault):
        if fault:
            coze_sim.add_fault(**fault)
        response = operator_client.post(
            "/groups/new/",
            {"name": "g", "device": device.pk, "submission": str(uuid.uuid4())},
            follow=True,
        )
        bodies.append(response.content.decode())

    settings.COZE_TIMEOUT = 0.3
    create()
    create(kind="code", code=4101, msg="denied")
    create(kind="http", status=500)
    create(kind="nonjson")
    create(kind="drop")
    create(kind="delay", seconds=0.6)
    settings.COZE_API_TOKEN = "pat_wrong"  # Coze's answer to a wrong token must not echo ours
    create()
    for path in ["/", "/groups/", "/audit/", "/quota/", f"/devices/{device.pk}/"]:
        bodies.append(operator_client.get(path).content.decode())
    export = administrator_client.get("/audit/export.csv")
    bodies.append(b"".join(export.streaming_content).decode())

    outcomes = AuditEntry.objects.filter(action="group.create").values_list("outcome", flat=True)
    assert sorted(outcomes) == sorted(["success"] + ["failure"] * 4 + ["unknown"] * 2)
    assert VoiceprintGroup.objects.count() == 1
    assert all(SECRET not in body for body in bodies)
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert all(SECRET not in str(record.args) for record in caplog.records)
    with connection.cursor() as cursor:
        for table in ["groups_auditentry", "groups_voiceprintgroup", "groups_device"]:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            assert SECRET not in repr(cursor.fetchall())
