"""Who may do what: each refusal is a 403 and an audit row; anonymous users log in first."""

import uuid

import pytest
from django.db import connection

from groups.models import AuditEntry, Device, VoiceprintGroup

READ_PAGES = ["/", "/devices/", "/groups/", "/people/", "/audit/", "/quota/", "/jobs/"]


@pytest.mark.parametrize(
    "path", [*READ_PAGES, "/groups/new/", "/devices/new/", "/audit/export.csv"]
)
def test_anonymous_users_are_sent_to_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("path", READ_PAGES)
def test_a_user_without_a_role_gets_403_and_an_audit_row(make_user, path):
    from django.test import Client

    nobody = make_user("nobody")
    client = Client()
    client.force_login(nobody)
    response = client.get(path)
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()
    entry = AuditEntry.objects.get(action="permission.denied")
    assert (entry.outcome, entry.actor, entry.request_id) == (
        "refused",
        nobody,
        response["X-Request-ID"],
    )
    assert path in entry.explanation


@pytest.mark.parametrize("path", READ_PAGES)
def test_viewers_see_every_page(viewer_client, path, coze_sim):
    assert viewer_client.get(path).status_code == 200


def test_viewers_cannot_create_a_group(viewer_client, device, coze_sim):
    response = viewer_client.post(
        "/groups/new/", {"name": "x", "device": device.pk, "submission": str(uuid.uuid4())}
    )
    assert response.status_code == 403
    assert not coze_sim.requests and not VoiceprintGroup.objects.exists()
    assert AuditEntry.objects.filter(action="permission.denied", actor__username="vera").exists()


@pytest.mark.parametrize("path", ["/devices/new/", "/audit/export.csv"])
def test_viewers_cannot_add_devices_or_export(viewer_client, path, db):
    assert viewer_client.get(path).status_code == 403


def test_viewers_cannot_edit_devices(viewer_client, device):
    response = viewer_client.post(f"/devices/{device.pk}/edit/", {"name": "x", "serial": "y"})
    assert response.status_code == 403
    device.refresh_from_db()
    assert device.name == "Living room speaker"


def test_operators_create_devices_and_groups(operator_client, coze_sim):
    response = operator_client.post("/devices/new/", {"name": "Kiosk", "serial": "K-1"})
    device = Device.objects.get()
    assert response["Location"] == f"/devices/{device.pk}/"
    response = operator_client.post(
        "/groups/new/", {"name": "kiosk", "device": device.pk, "submission": str(uuid.uuid4())}
    )
    assert response.status_code == 302 and VoiceprintGroup.objects.count() == 1


def test_operators_cannot_export_the_audit_log(operator_client):
    assert operator_client.get("/audit/export.csv").status_code == 403


def test_administrators_export_the_audit_log(administrator_client):
    assert administrator_client.get("/audit/export.csv").status_code == 200


def test_a_superuser_is_an_administrator(admin_client, coze_sim):
    for path in [*READ_PAGES, "/audit/export.csv", "/groups/new/"]:
        assert admin_client.get(path).status_code == 200


def test_roles_exist_after_migrate(db):
    from django.contrib.auth.models import Group

    perms = {
        group.name: {p.codename for p in group.permissions.all()}
        for group in Group.objects.prefetch_related("permissions")
    }
    assert perms["Viewer"] == {
        "view_device",
        "view_voiceprintgroup",
        "view_auditentry",
        "view_user",  # the team page, read-only
        "view_job",  # the job register
        "view_person",
        "view_consent",
        "view_voiceprint",
    }
    assert perms["Operator"] - perms["Viewer"] == {
        "add_device",
        "change_device",
        "add_voiceprintgroup",
        "change_voiceprintgroup",
        "add_person",
        "change_person",
        "add_consent",
        "add_voiceprint",
        "change_voiceprint",
        "identify_voiceprint",
        "withdraw_consent",
        "add_deviceimport",  # start imports
    }
    assert {
        "delete_voiceprint",
        "delete_device",
        "delete_voiceprintgroup",
        "sync_voiceprintgroup",
        "export_auditentry",
        "add_user",
        "change_user",
        "add_deviceimport",
    } <= perms["Administrator"]


def test_a_persons_permissions_are_read_in_one_query_with_the_same_answers(
    make_user, django_user_model
):
    from django.contrib.auth.models import Permission
    from django.test.utils import CaptureQueriesContext

    operator = make_user("otto", "Operator")
    operator.user_permissions.add(Permission.objects.get(codename="view_user"))  # their own
    operator = django_user_model.objects.get(pk=operator.pk)
    with CaptureQueriesContext(connection) as queries:
        assert operator.has_perm("groups.add_voiceprintgroup")  # from the role
        assert operator.has_perm("auth.view_user")  # their own
        assert not operator.has_perm("groups.export_auditentry")
    assert len(queries) == 1
    boss = django_user_model.objects.create_superuser("boss", password="pw-boss-long")
    assert boss.has_perm("groups.export_auditentry")
    operator.is_active = False
    operator.save()
    assert not django_user_model.objects.get(pk=operator.pk).has_perm("auth.view_user")
