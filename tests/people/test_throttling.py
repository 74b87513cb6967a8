"""Repeated failed sign-ins are throttled (groups/services/throttling.py), and an attacker who
does not know the password cannot keep the owner out.

Limits are the defaults: 5 failures within 15 minutes lock a username (for browsers that have
not signed in as that person) and an address (for browsers new to the account they try) for
15 minutes. A browser that has signed in as a person keeps a device cookie: its own failures
count against the cookie alone, and it is not held back by the username's or the address's
lock. Every try refused meanwhile gets HTTP 429 and the sign-in page with a message.
"""

import logging
import os
import subprocess
import sys
from datetime import timedelta

from django.conf import settings as django_settings
from django.core import signing
from django.core.management import call_command
from django.db.models import F
from django.test import Client

from groups.models import AuditEntry, SignInLock
from groups.services.throttling import DEVICE_COOKIE, DEVICE_SALT

LOGIN = "/accounts/login/"
LOCKED_MESSAGE = "Too many failed sign-ins for this account or from this address."
WRONG = "Please enter a correct username and password."


def browser(ip="192.0.2.1"):
    """A new browser (no cookies) at `ip`."""
    return Client(REMOTE_ADDR=ip, HTTP_USER_AGENT="Throttle-Test/1.0")


def sign_in(username, password, ip="192.0.2.1", client=None, path=LOGIN):
    client = client or browser(ip)
    return client.post(path, {"username": username, "password": password})


def signed_in(response):
    return response.status_code == 302 and response["Location"] == "/"


def locked_out(response, minutes=15):
    page = response.content.decode()
    return (
        response.status_code == 429
        and LOCKED_MESSAGE in page
        and f"Try again in {minutes} minute" in page
    )


def fail_for_username(username, times=5):
    """Failures for one username, each from its own address."""
    return [sign_in(username, "wrong-guess", ip=f"203.0.113.{n}") for n in range(1, times + 1)]


def fail_from_address(ip, times=5):
    """Failures from one address, each for its own username."""
    return [sign_in(f"nobody{n}", "wrong-guess", ip=ip) for n in range(1, times + 1)]


def known_browser(username, password, ip="198.51.100.50"):
    """A browser that has signed in as `username` once (and signed out)."""
    client = browser(ip)
    assert signed_in(sign_in(username, password, client=client))
    client.post("/accounts/logout/")
    return client


def wait(minutes):
    """Move every count and lock `minutes` into the past."""
    delta = timedelta(minutes=minutes)
    SignInLock.objects.filter(window_started_at__isnull=False).update(
        window_started_at=F("window_started_at") - delta
    )
    SignInLock.objects.filter(locked_until__isnull=False).update(
        locked_at=F("locked_at") - delta, locked_until=F("locked_until") - delta
    )


def rows(*actions):
    entries = AuditEntry.objects.order_by("id")
    if actions:
        entries = entries.filter(action__in=actions)
    return list(entries)


def test_four_failures_are_only_wrong_passwords(viewer):
    responses = fail_for_username("vera", times=4)
    assert all(r.status_code == 200 and WRONG in r.content.decode() for r in responses)
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.1"))


def test_five_failures_for_one_username_lock_it_for_new_browsers_everywhere(viewer):
    responses = fail_for_username("vera")
    assert all(r.status_code == 200 for r in responses[:4])
    assert locked_out(responses[4])  # the failure that reaches the limit already says so
    # The right password, from a new browser at an address never seen before: unchecked.
    response = sign_in("vera", "pw-vera", ip="198.51.100.77")
    assert locked_out(response)
    assert "_auth_user_id" not in response.wsgi_request.session


def test_an_attacker_cannot_lock_the_owner_out_of_her_own_browser(viewer):
    """Five wrong passwords for "vera" from five addresses: her own browser still signs in."""
    hers = known_browser("vera", "pw-vera")
    fail_for_username("vera")
    assert locked_out(sign_in("vera", "pw-vera", ip="198.51.100.77"))
    assert signed_in(sign_in("vera", "pw-vera", client=hers))


def test_made_up_usernames_from_one_address_lock_only_new_browsers_there(viewer, operator):
    hers = known_browser("vera", "pw-vera", ip="198.51.100.9")
    responses = fail_from_address("198.51.100.9")
    assert all(r.status_code == 200 for r in responses[:4]) and locked_out(responses[4])
    # A new browser behind that address is held back; vera's own browser there is not.
    assert locked_out(sign_in("olga", "pw-olga", ip="198.51.100.9"))
    assert signed_in(sign_in("vera", "pw-vera", client=hers))
    # Elsewhere, nobody is held back: those usernames have one failure each.
    assert signed_in(sign_in("olga", "pw-olga", ip="198.51.100.10"))


def test_signing_in_as_someone_else_in_between_does_not_reset_the_count(viewer, operator):
    """An attacker with his own account signs in with it between guesses at vera's."""
    attacker = browser("203.0.113.66")
    answers = []
    for _ in range(6):
        answers.append(sign_in("vera", "wrong-guess", client=attacker))
        sign_in("olga", "pw-olga", client=attacker)
        attacker.post("/accounts/logout/")
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429, 429]
    assert locked_out(sign_in("vera", "pw-vera", ip="198.51.100.3"))


def test_guesses_stay_bounded_per_username_across_addresses(viewer):
    responses = [
        sign_in("vera", "wrong-guess", ip=f"203.0.113.{n}") for n in range(1, 41)
    ]  # forty addresses
    assert sum(r.status_code == 200 for r in responses) == 4
    assert AuditEntry.objects.filter(action="auth.login_failed").count() == 5


def test_spellings_of_one_username_share_its_bound(viewer):
    """The sign-in form trims the name and folds its width before looking it up."""
    spellings = ["vera", " vera", "vera ", "\tvera", "ｖｅｒａ", "ｖera", "VERA"]
    responses = [
        sign_in(name, "wrong-guess", ip=f"203.0.113.{n}")
        for n, name in enumerate(spellings * 3, start=1)
    ]
    assert sum(r.status_code == 200 for r in responses) == 4


def test_one_ipv6_host_cannot_escape_the_address_bound_by_changing_address(db):
    responses = [sign_in(f"nobody{n}", "x", ip=f"2001:db8:1:2::{n:x}") for n in range(1, 12)]
    assert [r.status_code for r in responses].count(429) >= 6


def test_a_known_browser_has_its_own_count_and_is_then_treated_as_new(viewer):
    hers = known_browser("vera", "pw-vera")
    responses = [sign_in("vera", "typo", client=hers) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    # The username is not locked by her typos: a new browser elsewhere signs in.
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.30"))
    # Her locked browser counts as a new one now: the right password still works.
    assert signed_in(sign_in("vera", "pw-vera", client=hers))


def test_a_device_cookie_is_only_for_the_person_it_names(viewer, operator):
    hers = known_browser("vera", "pw-vera")
    fail_for_username("olga")
    assert locked_out(sign_in("olga", "pw-olga", client=hers))
    forged = browser()
    forged.cookies[DEVICE_COOKIE] = hers.cookies[DEVICE_COOKIE].value[:-3] + "abc"
    fail_for_username("vera")
    assert locked_out(sign_in("vera", "pw-vera", client=forged))


def test_the_device_cookie_is_http_only_and_signed(viewer):
    response = sign_in("vera", "pw-vera")
    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert signing.loads(cookie.value, salt=DEVICE_SALT)["u"] == "vera"


def test_failures_up_to_the_lock_are_each_audited_then_one_row_per_lock(viewer):
    for _ in range(30):
        sign_in("vera", "wrong-guess", ip="198.51.100.5")
    failed = rows("auth.login_failed")
    assert len(failed) == 5
    assert {(e.outcome, e.actor, e.actor_username) for e in failed} == {("refused", None, "vera")}
    locked = rows("auth.locked")
    assert sorted(e.target_label for e in locked) == ["address:198.51.100.5", "username:vera"]
    assert locked[0].explanation.startswith("After 5 failed sign-ins,")
    assert len(rows()) == 7  # 5 failures and 2 locks; the 25 refused tries are counted
    assert sorted(SignInLock.objects.values_list("kind", "refused")) == [
        ("address", 25),
        ("username", 25),
    ]


def test_a_failed_sign_in_row_says_what_happened_in_the_readers_language(viewer):
    sign_in("vera", "guess-123", ip="198.51.100.5")
    [entry] = rows()
    assert entry.facts == {"say": "sign_in_failed", "username": "vera", "known_browser": False}
    assert entry.detail == ""
    assert entry.explanation == "Wrong password, or no such person: “vera”."
    from django.utils import translation

    with translation.override("zh-hans"):
        assert "vera" in entry.explanation and "Wrong" not in entry.explanation


def test_a_locked_out_try_gets_the_sign_in_page_without_a_check(viewer):
    fail_for_username("vera")
    before = len(rows())
    response = sign_in("vera", "pw-vera", ip="198.51.100.5")
    page = response.content.decode()
    assert locked_out(response)
    assert 'name="username"' in page and 'value="vera"' in page
    assert WRONG not in page and "Traceback" not in page
    assert len(rows()) == before
    assert SignInLock.objects.get(kind="username", key="vera").refused == 1


def test_the_lock_lifts_after_its_time_and_says_how_many_tries_it_refused(viewer):
    fail_for_username("vera")
    sign_in("vera", "pw-vera", ip="198.51.100.5")
    wait(14)
    assert locked_out(sign_in("vera", "pw-vera", ip="198.51.100.5"), minutes=1)
    wait(2)
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.5"))
    [unlocked] = rows("auth.unlocked")
    assert (unlocked.outcome, unlocked.actor_username, unlocked.target_label) == (
        "success",
        "vera",
        "username:vera",
    )
    assert unlocked.facts["refused"] == 2
    assert unlocked.explanation == (
        "The lock on signing in as “vera” from a browser new to that account ended; "
        "2 tries were refused during it."
    )


def test_trying_during_the_lock_does_not_extend_it(viewer):
    fail_for_username("vera")
    for left in (11, 7, 3):
        wait(4)
        assert locked_out(sign_in("vera", "pw-vera", ip="198.51.100.5"), minutes=left)
    wait(4)
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.5"))


def test_failures_older_than_the_window_are_forgotten(viewer):
    fail_for_username("vera", times=4)
    wait(16)
    assert all(r.status_code == 200 for r in fail_for_username("vera", times=4))


def test_a_shorter_lock_from_settings_is_honoured_and_shown(viewer, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCKOUT_MINUTES = 1
    responses = fail_for_username("vera", times=2)
    assert responses[1].status_code == 429
    assert "Try again in 1 minute." in responses[1].content.decode()
    wait(2)
    assert signed_in(sign_in("vera", "pw-vera"))


def test_the_admin_sign_in_is_the_same_throttled_page(viewer):
    response = browser().get("/admin/login/?next=/admin/")
    assert response["Location"] == "/accounts/login/?next=/admin/"
    fail_for_username("vera")
    assert locked_out(sign_in("vera", "pw-vera", path=LOGIN))


def test_a_nul_character_in_the_user_agent_is_counted_and_audited(viewer):
    client = Client(REMOTE_ADDR="192.0.2.9", HTTP_USER_AGENT="evil\x00agent")
    responses = [sign_in("vera", "wrong", client=client) for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 4 + [429]
    assert rows("auth.login_failed")[0].user_agent == "evil\ufffdagent"


def test_an_unlock_command_lifts_a_lock_and_is_audited(viewer):
    fail_for_username("vera")
    call_command("unlock_sign_in", "vera", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.5"))
    [unlocked] = rows("auth.unlocked")
    assert unlocked.facts["say"] == "lock_lifted"
    assert (unlocked.actor_label, unlocked.via) == ("manage.py unlock_sign_in", "command")


def test_passwords_never_reach_the_log_the_audit_log_or_the_lock_records(viewer, caplog):
    caplog.set_level(logging.DEBUG)
    guess, real = "Guess-Pa55word-xyzzy", "pw-vera"
    for n in range(5):
        sign_in("vera", guess, ip=f"203.0.113.{n}")
    sign_in("vera", real, ip="198.51.100.5")
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    stored = repr(list(AuditEntry.objects.values())) + repr(list(SignInLock.objects.values()))
    for password in (guess, real):
        assert password not in logged
        assert password not in stored


def test_settings_read_the_limits_from_the_environment():
    def settings_with(**environ):
        code = "import vpadmin.settings as s; print(s.LOGIN_FAILURE_LIMIT, s.LOGIN_LOCKOUT_MINUTES)"
        env = {**os.environ, "SECRET_KEY": "x" * 50, **environ}
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )

    configured = settings_with(LOGIN_FAILURE_LIMIT="3", LOGIN_LOCKOUT_MINUTES="30")
    assert configured.stdout == "3 30\n"
    refused = settings_with(LOGIN_FAILURE_LIMIT="0")
    assert refused.returncode != 0 and "LOGIN_FAILURE_LIMIT" in refused.stderr
    assert django_settings.LOGIN_FAILURE_LIMIT == 5


def test_administrators_see_the_counts_on_the_team_page_and_unlock(viewer, administrator_client):
    for _ in range(8):
        sign_in("vera", "wrong-guess", ip="198.51.100.5")
    page = administrator_client.get("/team/").content.decode()
    assert "signing in as “vera” from a browser new to that account" in page
    assert "signing in from 198.51.100.5 with a browser new to the account" in page
    lock = SignInLock.objects.get(kind="username", key="vera")
    assert (lock.failures, lock.refused) == (5, 3)
    response = administrator_client.post(f"/team/locks/{lock.pk}/unlock/")
    assert response["Location"] == "/team/"
    [unlocked] = rows("auth.unlocked")
    assert (unlocked.actor_username, unlocked.facts["say"], unlocked.facts["refused"]) == (
        "ada",
        "lock_lifted",
        3,
    )
    # The address stays locked; the username is free for a new browser elsewhere.
    assert signed_in(sign_in("vera", "pw-vera", ip="198.51.100.6"))
    assert locked_out(sign_in("vera", "pw-vera", ip="198.51.100.5"))


def test_only_administrators_unlock(viewer, operator_client):
    fail_for_username("vera")
    lock = SignInLock.objects.get(kind="username", key="vera")
    assert operator_client.post(f"/team/locks/{lock.pk}/unlock/").status_code == 403
    assert SignInLock.objects.get(pk=lock.pk).locked_until is not None
