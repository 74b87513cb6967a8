"""Sign-in, sign-out, failed sign-ins and refusals are audited with the client's address and
user agent (the password never is)."""

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


def browser(ip="203.0.113.5", agent="Mozilla/5.0 (X11; Linux) vpadmin-test"):
    from django.test import Client

    return Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def test_sign_in_and_out_rows_carry_the_address_and_user_agent(viewer):
    client = browser()
    signed_in = client.post("/accounts/login/", {"username": "vera", "password": "pw-vera"})
    signed_out = client.post("/accounts/logout/")
    rows = list(
        AuditEntry.objects.order_by("id").values_list(
            "action", "ip_address", "user_agent", "request_id"
        )
    )
    agent = "Mozilla/5.0 (X11; Linux) vpadmin-test"
    assert rows == [
        ("auth.login", "203.0.113.5", agent, signed_in["X-Request-ID"]),
        ("auth.logout", "203.0.113.5", agent, signed_out["X-Request-ID"]),
    ]


def test_a_failed_sign_in_through_the_form_is_audited_once_with_address_and_agent(viewer):
    response = browser(ip="2001:db8::7").post(
        "/accounts/login/", {"username": "vera", "password": "guess-123"}
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.get()  # exactly one row for the one attempt
    assert (entry.action, entry.outcome, entry.actor_username, entry.facts["username"]) == (
        "auth.login_failed",
        "refused",
        "vera",
        "vera",
    )
    assert (entry.ip_address, entry.user_agent, entry.request_id) == (
        "2001:db8::7",
        "Mozilla/5.0 (X11; Linux) vpadmin-test",
        response["X-Request-ID"],
    )


def test_an_unknown_username_is_audited_as_typed(db):
    browser().post("/accounts/login/", {"username": "mallory", "password": "guess-123"})
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_username, entry.ip_address) == (
        "auth.login_failed",
        "mallory",
        "203.0.113.5",
    )


def test_a_refusal_row_carries_the_address_and_user_agent(make_user):
    nobody = make_user("nobody")
    client = browser(ip="198.51.100.23", agent="curl/8.5.0")
    client.force_login(nobody)
    assert client.get("/devices/").status_code == 403
    entry = AuditEntry.objects.get(action="permission.denied")
    assert (entry.actor, entry.ip_address, entry.user_agent) == (
        nobody,
        "198.51.100.23",
        "curl/8.5.0",
    )


def test_a_very_long_user_agent_is_cut_not_refused(viewer):
    browser(agent="A" * 2000).post("/accounts/login/", {"username": "vera", "password": "pw-vera"})
    assert AuditEntry.objects.get(action="auth.login").user_agent == "A" * 300


def test_a_nul_character_in_the_user_agent_is_stored_not_a_server_error(viewer):
    client = browser(agent="Mozilla/5.0\x00evil")
    response = client.post("/accounts/login/", {"username": "vera", "password": "guess-123"})
    assert response.status_code == 200
    client.post("/accounts/login/", {"username": "vera", "password": "pw-vera"})
    rows = list(AuditEntry.objects.order_by("id").values_list("action", "user_agent"))
    assert rows == [
        ("auth.login_failed", "Mozilla/5.0\ufffdevil"),
        ("auth.login", "Mozilla/5.0\ufffdevil"),
    ]
