"""The Django admin: a superusers' tool (people and roles are managed on /team/); the audit
log is read-only there."""

from groups.models import AuditEntry, Voiceprint
from tests import factories


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


def test_people_and_roles_are_not_in_the_admin(admin_client):
    """Every account change goes through /team/, checked and audited."""
    assert admin_client.get("/admin/auth/user/").status_code == 404
    assert admin_client.get("/admin/auth/user/add/").status_code == 404
    assert admin_client.get("/admin/auth/group/").status_code == 404


def test_an_administrator_gets_no_admin_access(administrator, administrator_client):
    administrator.refresh_from_db()
    assert not administrator.is_staff
    assert administrator_client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
    assert administrator_client.get("/admin/login/?next=/admin/").status_code == 403
    assert administrator_client.get("/admin/groups/auditentry/").status_code == 302
    assert 'href="/admin/"' not in administrator_client.get("/").content.decode()


def test_even_staff_status_gives_no_admin_access(administrator, administrator_client):
    administrator.is_staff = True  # as an older release set it for Administrators
    administrator.save()
    assert administrator_client.get("/admin/auth/user/").status_code in (302, 404)
    assert administrator_client.get("/admin/groups/auditentry/").status_code == 302


def test_the_admin_sends_anonymous_visitors_to_vpadmins_sign_in(client, db):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"


def test_a_superuser_changes_their_password_on_their_own_page(admin_client):
    assert admin_client.get("/admin/password_change/")["Location"] == "/me/#password"


def test_devices_and_groups_are_read_only_in_the_admin(admin_client, device):
    assert admin_client.get("/admin/groups/device/").status_code == 200
    assert admin_client.get("/admin/groups/device/add/").status_code == 403
    assert admin_client.get("/admin/groups/voiceprintgroup/add/").status_code == 403


def test_voiceprints_are_read_only_in_the_admin(admin_client):
    mum = factories.enrollee("Mum")
    kept = factories.voiceprint(factories.group(), name="mum", person=mum)
    listed = admin_client.get(f"/admin/groups/voiceprint/?group__id__exact={kept.group_id}")
    assert listed.status_code == 200 and "Mum" in listed.content.decode()
    page = admin_client.get(f"/admin/groups/voiceprint/{kept.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/groups/voiceprint/add/").status_code == 403
    deleted = admin_client.post(f"/admin/groups/voiceprint/{kept.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403 and Voiceprint.objects.filter(pk=kept.pk).exists()
