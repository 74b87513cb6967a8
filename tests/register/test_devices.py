"""The device register."""

from groups.models import AuditEntry, Device


def test_it_creates_a_device_and_audits_it(operator_client, operator):
    response = operator_client.post(
        "/devices/new/",
        {"name": "Car", "serial": "CAR-7", "location": "garage", "notes": "left seat mic"},
    )
    device = Device.objects.get()
    assert response["Location"] == f"/devices/{device.pk}/"
    entry = AuditEntry.objects.get(action="device.create")
    assert (entry.outcome, entry.actor, entry.device, entry.target_label) == (
        "success",
        operator,
        device,
        "Car (CAR-7)",
    )


def test_serial_is_unique(operator_client, device):
    response = operator_client.post("/devices/new/", {"name": "Twin", "serial": "SPK-001"})
    assert response.status_code == 200
    assert "This serial is already used by another device." in response.content.decode()
    assert Device.objects.count() == 1
    assert AuditEntry.objects.get(action="device.create").outcome == "refused"


def test_name_and_serial_are_required(operator_client, db):
    response = operator_client.post("/devices/new/", {"name": " ", "serial": ""})
    assert response.content.decode().count('class="field-error"') == 2
    assert not Device.objects.exists()


def test_it_edits_a_device(operator_client, device):
    response = operator_client.post(
        f"/devices/{device.pk}/edit/",
        {"name": "Speaker", "serial": "SPK-001", "location": "Kitchen"},
    )
    assert response.status_code == 302
    device.refresh_from_db()
    assert (device.name, device.location) == ("Speaker", "Kitchen")
    assert AuditEntry.objects.get(action="device.update").outcome == "success"


def test_an_unknown_device_is_404(viewer_client, db):
    assert viewer_client.get("/devices/999/").status_code == 404
    assert viewer_client.get("/devices/999/edit/").status_code == 403


def test_a_serial_taken_by_someone_else_meanwhile_is_a_form_error(operator_client, db):
    """Two operators save the same serial at once: the form checked it before the other's
    row was there, the database refuses ours."""
    from django.db import connection

    raced = []

    def colleague_first(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "groups_device"') and not raced:
            raced.append(True)
            Device.objects.create(name="Colleague's", serial="RACE-1")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(colleague_first):
        response = operator_client.post("/devices/new/", {"name": "Mine", "serial": "RACE-1"})

    assert response.status_code == 200
    assert "already used by another device" in response.content.decode()
    assert not Device.objects.filter(name="Mine").exists()
    assert AuditEntry.objects.get(action="device.create").outcome == "refused"
