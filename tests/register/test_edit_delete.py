"""The rest of a group's life: edit and reassign (Operators), delete (Administrators),
and deleting a device."""

import pytest

from groups.coze.simulator import CODE_NOT_FOUND
from groups.models import AuditEntry, Device, VoiceprintGroup


@pytest.fixture
def group(coze_sim, device, operator):
    """A group that exists on the simulator and in the register."""
    [coze_id] = coze_sim.seed_groups(1, name_prefix="kitchen")
    remote = coze_sim.groups[coze_id]
    return VoiceprintGroup.objects.create(
        coze_id=coze_id, name=remote["name"], desc=remote["desc"], device=device, creator=operator
    )


def calls(sim, method):
    return [r for r in sim.requests if r["method"] == method]


def edit(client, group, **fields):
    data = {
        "name": group.name,
        "desc": group.desc,
        "device": group.device.pk if group.device else "",
        **fields,
    }
    return client.post(f"/groups/{group.pk}/edit/", data)


# Edit


def test_a_rename_goes_through_coze(operator_client, group, coze_sim):
    old = group.name
    response = edit(operator_client, group, name="厨房音箱")
    assert response["Location"] == f"/groups/{group.pk}/"
    assert [r["json"] for r in calls(coze_sim, "PUT")] == [{"name": "厨房音箱"}]
    assert coze_sim.groups[group.coze_id]["name"] == "厨房音箱"
    group.refresh_from_db()
    assert group.name == "厨房音箱"
    entry = AuditEntry.objects.get(action="group.update")
    assert (entry.outcome, entry.sent_name, entry.target_id) == (
        "success",
        "厨房音箱",
        str(group.pk),
    )
    assert entry.coze_logid and entry.explanation == f"name: {old} → 厨房音箱"


def test_clearing_the_description_sends_an_empty_desc(operator_client, group, coze_sim):
    group.desc = "old"
    group.save()
    edit(operator_client, group, desc="")
    assert [r["json"] for r in calls(coze_sim, "PUT")] == [{"desc": ""}]


def test_reassigning_is_local_only(operator_client, group, coze_sim):
    other = Device.objects.create(name="Kiosk", serial="K-1")
    edit(operator_client, group, device=other.pk)
    assert not calls(coze_sim, "PUT")
    group.refresh_from_db()
    assert group.device == other
    entry = AuditEntry.objects.get(action="group.update")
    assert (entry.outcome, entry.device, entry.explanation) == (
        "success",
        other,
        "device: Living room speaker → Kiosk",
    )


def test_an_unassigned_group_is_assigned(operator_client, group, device, coze_sim):
    group.device = None
    group.save()
    page = operator_client.get("/groups/?device=none").content.decode()
    assert f"/groups/{group.pk}/edit/" in page
    edit(operator_client, group, device=device.pk)
    group.refresh_from_db()
    assert group.device == device


def test_nothing_changed_calls_nothing(operator_client, group, coze_sim):
    response = edit(operator_client, group)
    assert not calls(coze_sim, "PUT") and not AuditEntry.objects.filter(action="group.update")
    assert "Nothing to change" in operator_client.get(response["Location"]).content.decode()


def test_an_invalid_edit_is_refused_without_a_call(operator_client, group, coze_sim):
    response = edit(operator_client, group, name="x" * 21)
    assert response.status_code == 200 and 'class="field-error"' in response.content.decode()
    assert not calls(coze_sim, "PUT")
    assert AuditEntry.objects.get(action="group.update").outcome == "refused"


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ({"kind": "code", "code": 4101, "msg": "no permission"}, "failure"),
        ({"kind": "http", "status": 502}, "failure"),
        ({"kind": "nonjson"}, "failure"),
        ({"kind": "drop", "perform": False}, "unknown"),  # the change was not made
        ({"kind": "delay", "seconds": 0.6}, "unknown"),  # made after we stopped waiting
    ],
)
def test_when_coze_does_not_update_nothing_changes(
    operator_client, group, coze_sim, settings, fault, outcome
):
    settings.COZE_TIMEOUT = 0.3
    other = Device.objects.create(name="Kiosk", serial="K-1")
    before = (group.name, group.device_id)
    coze_sim.add_fault(method="PUT", **fault)
    response = edit(operator_client, group, name="renamed", device=other.pk)
    group.refresh_from_db()
    assert (group.name, group.device_id) == before
    entry = AuditEntry.objects.get(action="group.update")
    assert entry.outcome == outcome
    page = response.content.decode()
    assert 'value="renamed"' in page  # the input is kept
    if outcome == "failure":
        assert "Nothing was changed" in page and entry.coze_logid in page
    else:
        assert "may or may not" in page


def test_a_rename_whose_answer_was_lost_is_found_on_cozes_list(
    operator_client, group, coze_sim, device
):
    coze_sim.add_fault("drop", method="PUT")  # Coze renames; the answer is lost
    response = edit(operator_client, group, name="renamed", desc="", device=device.pk)
    group.refresh_from_db()
    assert response.status_code == 302 and group.name == "renamed"
    lost = AuditEntry.objects.get(action="group.update", resolves__isnull=True)
    assert lost.outcome == "unknown"
    assert lost.resolution.outcome == "success"
    assert lost.resolution.explanation == "name: kitchen 1 → renamed"


def test_viewers_cannot_edit(viewer_client, group, coze_sim):
    assert edit(viewer_client, group, name="nope").status_code == 403
    assert not calls(coze_sim, "PUT")


@pytest.mark.parametrize("state", ["gone", "deleted"])
def test_a_group_no_longer_on_coze_cannot_be_edited(operator_client, group, coze_sim, state):
    group.state = state
    group.save()
    response = edit(operator_client, group, name="renamed")
    assert response["Location"] == f"/groups/{group.pk}/"
    assert not calls(coze_sim, "PUT")


# Delete


def test_the_confirmation_names_the_group_and_its_device(administrator_client, group):
    page = administrator_client.get(f"/groups/{group.pk}/delete/").content.decode()
    assert group.name in page and "Living room speaker" in page and 'method="post"' in page


def test_deleting_keeps_the_group_as_deleted(administrator_client, group, device, coze_sim):
    response = administrator_client.post(f"/groups/{group.pk}/delete/")
    assert response["Location"] == f"/groups/{group.pk}/"
    assert len(calls(coze_sim, "DELETE")) == 1 and group.coze_id not in coze_sim.groups
    group.refresh_from_db()
    assert group.state == "deleted" and group.ended_at is not None
    assert not VoiceprintGroup.objects.active().exists()
    entry = AuditEntry.objects.get(action="group.delete")
    assert (entry.outcome, entry.device, entry.target_id) == ("success", device, str(group.pk))
    assert entry.coze_logid
    device_page = administrator_client.get(f"/devices/{device.pk}/").content.decode()
    assert group.name in device_page and "deleted" in device_page


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ({"kind": "code", "code": CODE_NOT_FOUND, "msg": "not found"}, "failure"),
        ({"kind": "http", "status": 500}, "failure"),
        ({"kind": "nonjson"}, "failure"),
        ({"kind": "drop", "perform": False}, "unknown"),
    ],
)
def test_when_coze_does_not_delete_nothing_changes(
    administrator_client, group, coze_sim, fault, outcome
):
    coze_sim.add_fault(method="DELETE", **fault)
    response = administrator_client.post(f"/groups/{group.pk}/delete/", follow=True)
    group.refresh_from_db()
    assert group.state == "active"
    assert AuditEntry.objects.get(action="group.delete").outcome == outcome
    assert "Coze did not" in response.content.decode()


def test_operators_cannot_delete(operator_client, group, coze_sim):
    assert operator_client.post(f"/groups/{group.pk}/delete/").status_code == 403
    assert not calls(coze_sim, "DELETE")


def test_a_second_delete_calls_nothing(administrator_client, group, coze_sim):
    administrator_client.post(f"/groups/{group.pk}/delete/")
    administrator_client.post(f"/groups/{group.pk}/delete/")
    assert len(calls(coze_sim, "DELETE")) == 1


# Devices


def test_a_device_with_active_groups_is_not_deleted(administrator_client, group, device):
    page = administrator_client.get(f"/devices/{device.pk}/delete/").content.decode()
    assert group.name in page and 'method="post"' not in page.split("<main>")[1]
    response = administrator_client.post(f"/devices/{device.pk}/delete/", follow=True)
    assert Device.objects.filter(pk=device.pk).exists()
    assert group.name in response.content.decode()
    entry = AuditEntry.objects.get(action="device.delete")
    assert entry.outcome == "refused" and group.name in entry.explanation


def test_a_device_whose_groups_are_deleted_can_go(administrator_client, group, device):
    group.state = "deleted"
    group.save()
    response = administrator_client.post(f"/devices/{device.pk}/delete/")
    assert response["Location"] == "/devices/"
    assert not Device.objects.exists()
    group.refresh_from_db()
    assert group.device is None
    entry = AuditEntry.objects.get(action="device.delete")
    assert (entry.outcome, entry.target_label) == ("success", "Living room speaker (SPK-001)")


def test_operators_cannot_delete_devices(operator_client, device):
    assert operator_client.post(f"/devices/{device.pk}/delete/").status_code == 403
    assert Device.objects.exists()


# The sync button


def sync(client, run_jobs):
    """Press "Sync with Coze", let the worker run the job, and read the job's page."""
    response = client.post("/groups/sync/", {"next": "/quota/"})
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    run_jobs()
    return client.get(response["Location"]).content.decode()


def test_administrators_sync_from_the_groups_page(administrator_client, coze_sim, run_jobs):
    coze_sim.seed_groups(3)
    assert "3 imported" in sync(administrator_client, run_jobs)
    assert VoiceprintGroup.objects.filter(device=None).count() == 3
    assert "no changes" in sync(administrator_client, run_jobs)


def test_sync_never_redirects_off_site(administrator_client, coze_sim, db):
    response = administrator_client.post("/groups/sync/", {"next": "https://evil.example/"})
    assert response["Location"].startswith("/jobs/")


def test_a_failed_sync_says_why(administrator_client, coze_sim, run_jobs):
    coze_sim.add_fault("http", method="GET", status=503)
    page = sync(administrator_client, run_jobs)
    assert "Sync with Coze failed: Coze&#x27;s list call failed on page 1 (" in page
    assert "nothing was changed" in page
    assert "HTTP 503" in page


def test_operators_cannot_sync_and_get_is_refused(operator_client, administrator_client, db):
    assert operator_client.post("/groups/sync/").status_code == 403
    assert administrator_client.get("/groups/sync/").status_code == 405


def test_the_audit_log_still_shows_a_deleted_devices_rows(administrator_client, device):
    administrator_client.post("/devices/new/", {"name": "Temp", "serial": "T-1"})
    temp = Device.objects.get(serial="T-1")
    administrator_client.post(f"/devices/{temp.pk}/delete/")
    entry = AuditEntry.objects.get(action="device.create")
    assert entry.device_id == temp.pk  # the final row is not rewritten
    for path in ["/", "/audit/", f"/audit/?device={temp.pk}"]:
        page = administrator_client.get(path)
        assert page.status_code == 200 and "Temp (T-1)" in page.content.decode()


# Ids and creators Coze's rules turn away


def test_a_coze_id_that_is_not_cozes_is_never_sent(
    operator_client, administrator_client, group, coze_sim
):
    VoiceprintGroup.objects.filter(pk=group.pk).update(coze_id="../../v1/users/me")
    group.refresh_from_db()

    edited = edit(operator_client, group, name="renamed").content.decode()
    deleted = administrator_client.post(f"/groups/{group.pk}/delete/", follow=True)

    assert coze_sim.requests == []
    assert "the group id is not a Coze id, so nothing was sent" in edited
    assert "the group id is not a Coze id" in deleted.content.decode()
    group.refresh_from_db()
    assert (group.name, group.state) == ("kitchen 1", "active")
    outcomes = AuditEntry.objects.filter(action__in=["group.update", "group.delete"])
    assert sorted(outcomes.values_list("outcome", flat=True)) == ["failure", "failure"]


def test_a_group_a_colleague_made_cannot_be_deleted_with_our_token(
    administrator_client, coze_sim, device, operator
):
    [coze_id] = coze_sim.seed_groups(1, name_prefix="theirs", creator_id="7400000000000000042")
    group = VoiceprintGroup.objects.create(
        coze_id=coze_id, name="theirs 1", device=device, creator=operator
    )

    response = administrator_client.post(f"/groups/{group.pk}/delete/", follow=True)

    group.refresh_from_db()
    assert group.state == "active" and coze_id in coze_sim.groups
    assert "code 4101" in response.content.decode()
    assert AuditEntry.objects.get(action="group.delete").outcome == "failure"
