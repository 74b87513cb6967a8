"""Coze rate-limiting us: a clear message and no retry for a create; the sync's list call
backs off and tries again."""

import uuid

import pytest

from groups.actors import Actor
from groups.models import AuditEntry, VoiceprintGroup
from groups.services.sync import SyncFailed, sync_groups


@pytest.mark.parametrize("fault", [{"code": 4013}, {"code": 4013, "status": 429}])
def test_a_rate_limited_create_is_not_retried_and_says_so(operator_client, device, coze_sim, fault):
    coze_sim.add_fault("code", msg="request rate limit exceeded", **fault)
    response = operator_client.post(
        "/groups/new/", {"name": "g", "device": device.pk, "submission": str(uuid.uuid4())}
    )
    assert len([r for r in coze_sim.requests if r["method"] == "POST"]) == 1
    assert "Coze is limiting how fast requests may be made" in response.content.decode()
    assert 'value="g"' in response.content.decode()
    assert AuditEntry.objects.get(action="group.create").outcome == "failure"
    assert not VoiceprintGroup.objects.exists()


def test_the_sync_backs_off_and_retries_the_list_call(coze_sim, settings, db):
    settings.COZE_LIST_BACKOFF = 0.01
    coze_sim.seed_groups(3)
    coze_sim.add_fault("code", method="GET", code=4013, status=429, times=2)
    result = sync_groups(Actor.for_command("sync_coze_groups"))
    assert (result.imported, result.list_calls) == (3, 3)
    assert len([r for r in coze_sim.requests if r["method"] == "GET"]) == 3


def test_the_sync_gives_up_after_its_retries_and_changes_nothing(coze_sim, settings, db):
    settings.COZE_LIST_BACKOFF, settings.COZE_LIST_RETRIES = 0.01, 2
    coze_sim.seed_groups(3)
    coze_sim.add_fault("code", method="GET", code=4013, times=None)
    with pytest.raises(SyncFailed) as failed:
        sync_groups(Actor.for_command("sync_coze_groups"))
    assert failed.value.page == 1
    assert len([r for r in coze_sim.requests if r["method"] == "GET"]) == 3
    assert not VoiceprintGroup.objects.exists()
    assert failed.value.entry.outcome == "failure"


def test_other_list_errors_are_not_retried(coze_sim, settings, db):
    settings.COZE_LIST_BACKOFF = 0.01
    coze_sim.add_fault("http", method="GET", status=500)
    with pytest.raises(SyncFailed):
        sync_groups(Actor.for_command("sync_coze_groups"))
    assert len([r for r in coze_sim.requests if r["method"] == "GET"]) == 1
