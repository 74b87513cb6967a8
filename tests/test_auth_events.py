"""Sign-in, sign-out and failed sign-ins are audited (the password never is)."""

from groups.models import AuditEntry


def test_signing_in_and_out_is_audited(client, viewer):
    response = client.post("/accounts/login/", {"username": "vera", "password": "pw-vera"})
    assert response["Location"] == "/"
    client.post("/accounts/logout/")
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "actor_username"))
    assert actions == [("auth.login", "vera"), ("auth.logout", "vera")]


def test_a_failed_sign_in_keeps_the_username_not_the_password(client, viewer):
    response = client.post("/accounts/login/", {"username": "vera", "password": "guess-123"})
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="auth.login_failed")
    assert (entry.outcome, entry.actor_username, entry.actor) == ("refused", "vera", None)
    assert "guess-123" not in repr(AuditEntry.objects.values().get())


def test_a_username_with_a_nul_character_is_refused_cleanly(client, db):
    response = client.post("/accounts/login/", {"username": "eve\x00", "password": "x"})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
