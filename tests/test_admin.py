"""The Django admin: people and roles are managed there; the audit log is read-only."""

from groups.models import AuditEntry


def test_the_audit_log_is_read_only_in_the_admin(admin_client):
    entry = AuditEntry.objects.create(action="group.create", outcome="success")
    assert admin_client.get("/admin/groups/auditentry/").status_code == 200
    page = admin_client.get(f"/admin/groups/auditentry/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/groups/auditentry/add/").status_code == 403
    assert (
        admin_client.post(
            f"/admin/groups/auditentry/{entry.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_users_are_managed_in_the_admin(admin_client):
    assert admin_client.get("/admin/auth/user/").status_code == 200
    assert admin_client.get("/admin/auth/user/add/").status_code == 200


def test_devices_and_groups_are_read_only_in_the_admin(admin_client, device):
    assert admin_client.get("/admin/groups/device/").status_code == 200
    assert admin_client.get("/admin/groups/device/add/").status_code == 403
    assert admin_client.get("/admin/groups/voiceprintgroup/add/").status_code == 403
