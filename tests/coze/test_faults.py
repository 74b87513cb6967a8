"""Faults between Coze's answer and our database write: nothing is lost."""

import uuid
from datetime import timedelta

from django.db import OperationalError, connection

from groups.actors import Actor
from groups.models import AuditEntry, VoiceprintGroup
from groups.services.sync import sync_groups


def fail_group_inserts(execute, sql, params, many, context):
    if sql.startswith('INSERT INTO "groups_voiceprintgroup"'):
        raise OperationalError("the database went away")
    return execute(sql, params, many, context)


def age(entry, remote_group, minutes=3):
    """Let time pass: the pending row and Coze's group both a few minutes older."""
    AuditEntry.objects.filter(pk=entry.pk).update(
        created_at=entry.created_at - timedelta(minutes=minutes)
    )
    remote_group["created_at"] -= minutes * 60


def test_a_database_failure_after_coze_created_the_group_is_recovered_by_sync(
    operator_client, operator, device, coze_sim
):
    with connection.execute_wrapper(fail_group_inserts):
        response = operator_client.post(
            "/groups/new/",
            {"name": "客厅", "desc": "d", "device": device.pk, "submission": str(uuid.uuid4())},
        )
    page = response.content.decode()
    [coze_id] = coze_sim.groups
    assert (
        f"Coze created the group (id {coze_id}" in page
        and "sync with Coze will register it" in page
    )
    assert not VoiceprintGroup.objects.exists()
    attempt = AuditEntry.objects.get(action="group.create")
    assert attempt.outcome == "pending"  # left for reconciliation, not lost

    age(attempt, coze_sim.groups[coze_id])
    result = sync_groups(Actor.for_command("sync_coze_groups"))
    assert (result.resolved, result.imported) == (1, 0)
    group = VoiceprintGroup.objects.get()
    assert (group.coze_id, group.device, group.creator) == (coze_id, device, operator)
    attempt.refresh_from_db()
    assert attempt.outcome == "unknown" and attempt.resolution.outcome == "success"
