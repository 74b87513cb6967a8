"""API tokens on /me/ and /team/<id>/: issued once and shown once, listed by prefix,
revoked after a confirmation; Administrators issue and revoke others'."""

from groups.models import ApiToken, AuditEntry

from .conftest import Api


def issue(client, url, **fields):
    data = {"name": "laptop script", "scope": "write", "expires_days": "30", **fields}
    return client.post(url, data)


def test_i_issue_my_own_token_and_see_it_once(viewer_client, viewer):
    response = issue(viewer_client, "/me/tokens/new/", scope="read")
    assert response.status_code == 201 and "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    assert secret.startswith("vpa_") and secret in response.content.decode()
    token = ApiToken.objects.get()
    assert (token.user, token.read_only, token.expires_at is not None) == (viewer, True, True)
    page = viewer_client.get("/me/").content.decode()
    assert token.shown in page and secret not in page and "laptop script" in page
    assert Api(secret).get("/api/quota/").status_code == 200
    row = AuditEntry.objects.get(action="token.create")
    assert row.actor == viewer and row.facts["prefix"] == token.prefix


def test_a_bad_name_issues_nothing(viewer_client):
    response = issue(viewer_client, "/me/tokens/new/", name="")
    assert response.status_code == 302 and not ApiToken.objects.exists()
    assert AuditEntry.objects.get(action="token.create").outcome == "refused"


def test_i_revoke_my_token_after_confirming(viewer_client):
    secret = issue(viewer_client, "/me/tokens/new/").context["secret"]
    token = ApiToken.objects.get()
    confirm = viewer_client.get(f"/tokens/{token.pk}/revoke/")
    assert confirm.status_code == 200 and token.shown in confirm.content.decode()
    assert viewer_client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    assert Api(secret).get("/api/quota/").status_code == 401
    assert AuditEntry.objects.filter(action="token.revoke").count() == 1


def test_nobody_else_revokes_my_token(viewer_client, operator_client):
    issue(viewer_client, "/me/tokens/new/")
    token = ApiToken.objects.get()
    assert operator_client.post(f"/tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_an_administrator_issues_and_revokes_for_others(administrator_client, operator):
    response = issue(administrator_client, f"/team/{operator.pk}/tokens/new/")
    assert response.status_code == 201
    token = ApiToken.objects.get()
    assert token.user == operator and token.created_by_name == "ada"
    page = administrator_client.get(f"/team/{operator.pk}/").content.decode()
    assert token.shown in page
    administrator_client.post(f"/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.get().revoked_at is not None


def test_an_operator_cannot_issue_for_others(operator_client, viewer):
    assert issue(operator_client, f"/team/{viewer.pk}/tokens/new/").status_code == 403
    assert not ApiToken.objects.exists()
