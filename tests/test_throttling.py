"""Repeated failed sign-ins are throttled (django-axes): per username and per address, audited.

Limits are the defaults: the 5th failure for one username, or from one address, locks it
for 15 minutes; every try meanwhile gets HTTP 429 and the sign-in page with a message.
"""

import logging
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.db.models import F
from django.test import Client

from groups.models import AuditEntry

LOGIN = "/accounts/login/"
LOCKED_MESSAGE = (
    "Too many failed sign-ins for this account or from this address. Try again in 15 minutes."
)
WRONG = "Please enter a correct username and password."


def sign_in(username, password, ip="192.0.2.1", path=LOGIN):
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT="Throttle-Test/1.0")
    return client.post(path, {"username": username, "password": password})


def signed_in(response):
    return response.status_code == 302 and response["Location"] == "/"


def locked_out(response):
    return response.status_code == 429 and LOCKED_MESSAGE in response.content.decode()


def fail_for_username(username, times=5):
    """Failures for one username, each from its own address."""
    return [sign_in(username, "wrong-guess", ip=f"203.0.113.{n}") for n in range(1, times + 1)]


def fail_from_address(ip, times=5):
    """Failures from one address, each for its own username."""
    return [sign_in(f"nobody{n}", "wrong-guess", ip=ip) for n in range(1, times + 1)]


def age_attempts(minutes):
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_four_failures_are_only_wrong_passwords(viewer):
    responses = fail_for_username("vera", times=4)
    assert all(r.status_code == 200 and WRONG in r.content.decode() for r in responses)
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.1"))


def test_five_failures_for_one_username_lock_it_from_every_address(viewer):
    responses = fail_for_username("vera")
    assert all(r.status_code == 200 for r in responses[:4])
    assert locked_out(responses[4])  # the failure that reaches the limit already says so
    # The right password, from an address never seen before, is refused unchecked.
    response = sign_in("vera", "pw-vera", ip="198.51.100.77")
    assert locked_out(response)
    assert "_auth_user_id" not in response.wsgi_request.session


def test_five_failures_from_one_address_lock_it_for_every_username(viewer):
    responses = fail_from_address("198.51.100.9")
    assert all(r.status_code == 200 for r in responses[:4]) and locked_out(responses[4])
    assert locked_out(sign_in("vera", "pw-vera", ip="198.51.100.9"))
    # The same person from elsewhere is not locked: her username has no failures.
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.10"))


def test_a_locked_out_try_is_refused_with_the_sign_in_page_and_one_audit_row(viewer):
    fail_for_username("vera")
    before = AuditEntry.objects.count()
    response = sign_in("vera", "pw-vera", ip="198.51.100.5")
    page = response.content.decode()
    assert response.status_code == 429
    assert LOCKED_MESSAGE in page and 'name="username"' in page and WRONG not in page
    assert 'value="vera"' in page and "Traceback" not in page
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.outcome, entry.actor, entry.actor_username) == (
        "auth.login_failed",
        "refused",
        None,
        "vera",
    )
    assert "locked out" in entry.explanation
    assert (entry.request_id, entry.ip_address, entry.user_agent) == (
        response["X-Request-ID"],
        "198.51.100.5",
        "Throttle-Test/1.0",
    )


def test_every_try_leaves_exactly_one_audit_row(viewer):
    fail_for_username("vera")
    sign_in("vera", "pw-vera", ip="198.51.100.5")
    rows = list(AuditEntry.objects.order_by("id").values_list("action", "outcome", "detail"))
    assert len(rows) == 6
    assert {(action, outcome) for action, outcome, _ in rows} == {("auth.login_failed", "refused")}
    assert [("locked out" in detail) for _, _, detail in rows] == [False] * 4 + [True] * 2


def test_others_are_unaffected(viewer, operator):
    fail_for_username("vera")
    fail_from_address("198.51.100.9")
    assert signed_in(sign_in("olga", "pw-olga", ip="198.51.100.200"))


def test_the_lock_lifts_after_the_cool_off(viewer):
    fail_for_username("vera")
    age_attempts(14)
    assert locked_out(sign_in("vera", "pw-vera", ip="198.51.100.5"))
    age_attempts(16)
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.5"))


def test_trying_again_during_the_lockout_restarts_the_wait(viewer):
    for _ in range(5):
        sign_in("vera", "wrong-guess", ip="198.51.100.5")
    for _ in range(2):
        age_attempts(14)
        assert locked_out(sign_in("vera", "pw-vera", ip="198.51.100.5"))
    age_attempts(16)
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.5"))


def test_a_shorter_cool_off_from_settings_is_honoured_and_shown(viewer, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    responses = fail_for_username("vera", times=2)
    assert responses[1].status_code == 429
    assert "Try again in 1 minute." in responses[1].content.decode()
    age_attempts(2)
    assert signed_in(sign_in("vera", "pw-vera"))


def test_a_successful_sign_in_before_the_limit_resets_the_count(viewer):
    for _ in range(2):
        assert all(r.status_code == 200 for r in fail_for_username("vera", times=4))
        assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.5"))
    assert not AccessAttempt.objects.filter(username="vera").exists()


def test_the_admin_sign_in_is_throttled_too(viewer):
    fail_for_username("vera")
    response = sign_in("vera", "pw-vera", path="/admin/login/")
    assert locked_out(response)


def test_passwords_never_reach_the_log_the_audit_log_or_axes_rows(viewer, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="axes")  # every line axes can write, not only warnings
    guess, real = "Guess-Pa55word-xyzzy", "pw-vera"
    for n in range(5):
        sign_in("vera", guess, ip=f"203.0.113.{n}")
    sign_in("vera", real, ip="198.51.100.5")
    assert AuditEntry.objects.filter(detail__contains="locked out").count() == 2
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "AXES" in logged  # axes did log these attempts
    stored = repr(list(AuditEntry.objects.values())) + repr(list(AccessAttempt.objects.values()))
    for password in (guess, real):
        assert password not in logged
        assert password not in stored


def test_the_test_clients_login_needs_a_request_so_tests_use_force_login(viewer, client):
    from axes.exceptions import AxesBackendRequestParameterRequired

    with pytest.raises(AxesBackendRequestParameterRequired):
        client.login(username="vera", password="pw-vera")
    client.force_login(viewer)
    assert client.get("/").status_code == 200


def test_settings_read_the_limits_from_the_environment():
    def settings_with(**environ):
        code = "import vpadmin.settings as s; print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)"
        env = {**os.environ, "SECRET_KEY": "x" * 50, **environ}
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )

    configured = settings_with(LOGIN_FAILURE_LIMIT="3", LOGIN_LOCKOUT_MINUTES="30")
    assert configured.stdout == "3 0:30:00\n"
    refused = settings_with(LOGIN_FAILURE_LIMIT="0")
    assert refused.returncode != 0 and "LOGIN_FAILURE_LIMIT" in refused.stderr
    assert django_settings.AXES_LOCKOUT_PARAMETERS == ["ip_address", "username"]
