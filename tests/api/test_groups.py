"""Groups through the API: the same checks, idempotency, quota and Coze errors as the page,
said in one JSON shape in the reader's language."""

import uuid

from groups.models import AuditEntry, VoiceprintGroup

from .. import factories


def test_the_same_idempotency_key_creates_one_group(operator_api, device, coze_sim):
    key = str(uuid.uuid4())
    body = {"name": "hall", "device": device.pk}
    first = operator_api.post("/api/groups/", body, idempotency_key=key)
    second = operator_api.post("/api/groups/", body, idempotency_key=key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second["Location"].endswith(f"/api/groups/{first.json()['id']}/")
    assert len(coze_sim.groups) == 1 and VoiceprintGroup.objects.count() == 1


def test_without_a_key_each_request_is_a_creation(operator_api, device, coze_sim):
    operator_api.post("/api/groups/", {"name": "a", "device": device.pk})
    operator_api.post("/api/groups/", {"name": "b", "device": device.pk})
    assert len(coze_sim.groups) == 2


def test_an_idempotency_key_that_is_no_uuid_is_a_400(operator_api, device, coze_sim):
    response = operator_api.post(
        "/api/groups/", {"name": "a", "device": device.pk}, idempotency_key="twice"
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "Idempotency-Key" in response.json()["fields"] and not coze_sim.groups


def test_coze_errors_come_with_coze_code_msg_and_logid(operator_api, device, coze_sim):
    coze_sim.add_fault("code", code=4101, msg="no permission")
    response = operator_api.post("/api/groups/", {"name": "hall", "device": device.pk})
    assert response.status_code == 502
    error = response.json()
    assert error["code"] == "coze_refused" and "no permission" in error["message"]
    assert error["coze"]["code"] == 4101 and error["coze"]["msg"] == "no permission"
    row = AuditEntry.objects.get(action="group.create")
    assert error["coze"]["logid"] == row.coze_logid != "" and row.via == "api"


def test_a_full_quota_is_quota_full(operator_api, device, coze_sim, settings):
    settings.COZE_GROUP_QUOTA = 1
    factories.group(device, "old")
    response = operator_api.post("/api/groups/", {"name": "hall", "device": device.pk})
    assert response.status_code == 409 and response.json()["code"] == "quota_full"
    assert not coze_sim.groups


def test_validation_errors_keep_the_field_names(operator_api, device, coze_sim):
    response = operator_api.post("/api/groups/", {"name": "x" * 21, "device": 999999})
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid" and set(error["fields"]) == {"name", "device"}
    assert "That device does not exist." in error["fields"]["device"]
    row = AuditEntry.objects.get(action="group.create")
    assert row.outcome == "refused" and row.via == "api" and not coze_sim.groups


def test_messages_follow_accept_language(operator_api, device, coze_sim, settings):
    settings.COZE_GROUP_QUOTA = 1
    factories.group(device, "old")
    response = operator_api.post(
        "/api/groups/", {"name": "hall", "device": device.pk}, accept_language="zh-Hans"
    )
    assert response.json()["code"] == "quota_full"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["message"])
    missing = operator_api.get("/api/groups/0/", accept_language="zh-Hans").json()
    assert missing["code"] == "not_found"


def test_update_and_delete_go_to_coze(operator_api, administrator_api, device, coze_sim):
    made = operator_api.post("/api/groups/", {"name": "hall", "device": device.pk}).json()
    changed = operator_api.patch(f"/api/groups/{made['id']}/", {"desc": "by the door"})
    assert changed.status_code == 200 and changed.json()["desc"] == "by the door"
    assert coze_sim.groups[made["coze_id"]]["desc"] == "by the door"
    assert operator_api.delete(f"/api/groups/{made['id']}/").status_code == 403
    assert administrator_api.delete(f"/api/groups/{made['id']}/").status_code == 204
    assert made["coze_id"] not in coze_sim.groups
    again = administrator_api.delete(f"/api/groups/{made['id']}/")
    assert again.status_code == 409 and again.json()["code"] == "group_not_active"


def test_devices_are_created_changed_and_deleted(operator_api, administrator_api, db):
    made = operator_api.post("/api/devices/", {"name": "Car", "serial": "car-1"})
    assert made.status_code == 201
    pk = made.json()["id"]
    taken = operator_api.post("/api/devices/", {"name": "Other", "serial": "CAR-1"})
    assert taken.status_code == 400 and "serial" in taken.json()["fields"]
    assert (
        operator_api.patch(f"/api/devices/{pk}/", {"location": "garage"}).json()["location"]
        == "garage"
    )
    assert administrator_api.delete(f"/api/devices/{pk}/").status_code == 204
    actions = set(AuditEntry.objects.filter(via="api").values_list("action", "outcome"))
    assert {("device.create", "success"), ("device.update", "success")} <= actions
    assert ("device.create", "refused") in actions and ("device.delete", "success") in actions


def test_a_device_serving_groups_is_not_deleted(administrator_api, device, coze_sim):
    factories.group(device, "kitchen")
    response = administrator_api.delete(f"/api/devices/{device.pk}/")
    assert response.status_code == 409 and response.json()["code"] == "device_serves_groups"


def test_sync_starts_a_job_once(administrator_api, operator_api, coze_sim):
    first = administrator_api.post("/api/sync/")
    assert first.status_code == 202 and first.json()["kind"] == "sync"
    again = administrator_api.post("/api/sync/")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert operator_api.post("/api/sync/").status_code == 403
    job = administrator_api.get(f"/api/jobs/{first.json()['id']}/").json()
    assert job["state"] == "queued" and job["results"] == []


def test_quota_answers_the_gauges_figures(viewer_api, device, settings):
    settings.COZE_GROUP_QUOTA = 10
    factories.group(device)
    quota = viewer_api.get("/api/quota/").json()
    assert (quota["used"], quota["limit"], quota["free"], quota["level"]) == (1, 10, 9, "ok")


def test_a_devices_recognition_threshold_is_read_and_set_as_on_its_page(operator_api, device):
    assert operator_api.get(f"/api/devices/{device.pk}/").json()["identify_threshold"] == 40

    changed = operator_api.patch(f"/api/devices/{device.pk}/", {"identify_threshold": 55})
    too_high = operator_api.patch(f"/api/devices/{device.pk}/", {"identify_threshold": 101})

    assert changed.status_code == 200 and changed.json()["identify_threshold"] == 55
    assert too_high.status_code == 400
    assert too_high.json()["fields"]["identify_threshold"] == [
        "Enter a whole number from 0 to 100."
    ]
    device.refresh_from_db()
    assert device.identify_threshold == 55
    row = AuditEntry.objects.filter(action="device.update", outcome="success").get()
    assert row.facts["changes"] == {"identify_threshold": [40, 55]}
