"""Coze rate-limiting us: a clear message and no retry for a create; the sync's list call
backs off and tries again, but only where a retry can help."""

import uuid

import pytest

from groups.actors import Actor
from groups.models import AuditEntry, VoiceprintGroup
from groups.services.sync import SyncFailed, sync_groups

LIMITING = "Coze is limiting how fast requests may be made"


def create(client, device, name="g"):
    return client.post(
        "/groups/new/", {"name": name, "device": device.pk, "submission": str(uuid.uuid4())}
    )


@pytest.mark.parametrize(
    "fault", [{"code": 4009}, {"code": 4020}, {"code": 4020, "status": 429}, {"status": 429}]
)
def test_a_rate_limited_create_is_not_retried_and_says_so(operator_client, device, coze_sim, fault):
    coze_sim.add_fault("code", msg="slow down", **fault)
    response = create(operator_client, device)
    assert len([r for r in coze_sim.requests if r["method"] == "POST"]) == 1
    assert LIMITING in response.content.decode()
    assert 'value="g"' in response.content.decode()
    assert AuditEntry.objects.get(action="group.create").outcome == "failure"
    assert not VoiceprintGroup.objects.exists()


def test_the_days_usage_limit_says_to_try_tomorrow(operator_client, device, coze_sim):
    coze_sim.add_fault("code", code=4008, msg="daily limit reached")
    page = create(operator_client, device).content.decode()
    assert "limit of API calls for today is used up" in page and "daily limit reached" in page
    assert len(coze_sim.requests) == 1


@pytest.mark.parametrize(("code", "msg"), [(4013, "model error"), (4008, "daily limit reached")])
def test_a_model_error_or_the_days_limit_is_told_in_cozes_words(
    operator_client, device, coze_sim, code, msg
):
    coze_sim.add_fault("code", code=code, msg=msg)
    page = create(operator_client, device).content.decode()
    assert LIMITING not in page
    assert msg in page and str(code) in page
    assert len(coze_sim.requests) == 1


@pytest.mark.parametrize("fault", [{"code": 4020, "status": 429}, {"code": 4009}])
def test_the_sync_backs_off_and_retries_the_list_call(coze_sim, settings, db, fault):
    settings.COZE_LIST_BACKOFF = 0.01
    coze_sim.seed_groups(3)
    coze_sim.add_fault("code", method="GET", times=2, **fault)
    result = sync_groups(Actor.for_command("sync_coze_groups"))
    assert (result.imported, result.list_calls) == (3, 3)
    lists = [r for r in coze_sim.requests if r["path"] == "/v1/audio/voiceprint_groups"]
    assert len(lists) == 3  # (then the sync asks once who the token is: GET /v1/users/me)


def test_the_sync_gives_up_after_its_retries_and_changes_nothing(coze_sim, settings, db):
    settings.COZE_LIST_BACKOFF, settings.COZE_LIST_RETRIES = 0.01, 2
    coze_sim.seed_groups(3)
    coze_sim.add_fault("code", method="GET", code=4009, times=None)
    with pytest.raises(SyncFailed) as failed:
        sync_groups(Actor.for_command("sync_coze_groups"))
    assert failed.value.page == 1
    assert len([r for r in coze_sim.requests if r["method"] == "GET"]) == 3
    assert not VoiceprintGroup.objects.exists()
    assert failed.value.entry.outcome == "failure"


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http", "status": 500},
        {"kind": "code", "code": 4013, "msg": "model error"},  # not a rate limit
        {"kind": "code", "code": 4008, "msg": "daily limit"},  # no pause lifts it today
        {"kind": "code", "code": 4008, "status": 429, "msg": "daily limit"},
    ],
)
def test_other_list_errors_are_not_retried(coze_sim, settings, db, fault):
    settings.COZE_LIST_BACKOFF = 0.01
    coze_sim.add_fault(method="GET", **fault)
    with pytest.raises(SyncFailed):
        sync_groups(Actor.for_command("sync_coze_groups"))
    assert len([r for r in coze_sim.requests if r["method"] == "GET"]) == 1
