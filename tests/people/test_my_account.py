"""My own account on /me/: the password change, checked, audited and throttled like a
sign-in; Django's other account pages are not served."""

import pytest
from django.test import Client

from groups.models import AuditEntry

CHANGE = "/me/password/"
LOCKED_MESSAGE = "Too many failed sign-ins for this account or from this address."


def change(client, old, new):
    return client.post(CHANGE, {"old_password": old, "new_password1": new, "new_password2": new})


def signs_in(username, password):
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302


def test_the_header_and_my_page_link_to_the_password_change(viewer_client):
    header = viewer_client.get("/devices/").content.decode()
    assert 'href="/me/#password"' in header and "Change password" in header
    page = viewer_client.get("/me/").content.decode()
    assert 'id="password"' in page and 'action="/me/password/"' in page
    assert 'name="old_password"' in page and 'name="new_password1"' in page


def test_i_change_my_password_with_the_current_one_and_stay_signed_in(viewer_client):
    response = change(viewer_client, "pw-vera", "Quiet-Harbour-58")
    assert response["Location"] == "/me/"
    assert viewer_client.get("/").status_code == 200  # this session goes on
    assert signs_in("vera", "Quiet-Harbour-58") and not signs_in("vera", "pw-vera")
    [entry] = AuditEntry.objects.filter(action="account.password")
    assert (entry.outcome, entry.actor_username, entry.target_label) == ("success", "vera", "vera")
    assert entry.explanation == "“vera” changed their own password."
    assert "Quiet-Harbour-58" not in repr(list(AuditEntry.objects.values()))


def test_a_wrong_current_password_is_refused_and_audited(viewer_client):
    response = change(viewer_client, "guess-1", "Quiet-Harbour-58")
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    [entry] = AuditEntry.objects.filter(action="account.password")
    assert (entry.outcome, entry.facts["say"]) == ("refused", "wrong_current_password")
    assert "guess-1" not in repr(list(AuditEntry.objects.values()))


def test_guesses_at_the_current_password_are_throttled(viewer_client):
    answers = [change(viewer_client, f"guess-{n}", "Quiet-Harbour-58") for n in range(6)]
    assert [r.status_code for r in answers] == [200] * 4 + [429] * 2
    assert LOCKED_MESSAGE in answers[5].content.decode()
    # Even the right one is not checked during the lock.
    assert change(viewer_client, "pw-vera", "Quiet-Harbour-58").status_code == 429
    assert signs_in("vera", "pw-vera") is False  # a new browser: the username is locked
    assert AuditEntry.objects.filter(action="account.password").count() == 5
    assert AuditEntry.objects.filter(action="auth.locked").count() == 2


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password_change/",
        "/accounts/password_change/done/",
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ],
)
def test_djangos_other_account_pages_are_not_served(viewer_client, client, path):
    assert client.get(path).status_code == 404
    assert viewer_client.get(path).status_code == 404
    assert client.post(path, {"email": "vera@example.com"}).status_code == 404
