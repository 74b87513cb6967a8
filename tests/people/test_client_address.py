"""The client's address and scheme, directly or behind a load balancer: what a client says
about itself in forwarded headers counts only when it comes through a trusted proxy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

from groups.actors import client_ip
from groups.models import AuditEntry

ROOT = Path(__file__).resolve().parents[2]
LOAD_BALANCER = "10.0.0.2"
MALLORY = "198.51.100.66"  # reaches gunicorn directly


@pytest.fixture
def behind_a_load_balancer(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_ADDRESSES = [LOAD_BALANCER]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", LOAD_BALANCER),  # no trusted proxy: the header is ignored
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the client's own claim is not used
        (2, "198.51.100.1, 203.0.113.9", "198.51.100.1"),
        (2, "203.0.113.9", LOAD_BALANCER),  # fewer hops than proxies: not trusted
        (1, "not-an-address", LOAD_BALANCER),
        (1, "", LOAD_BALANCER),
    ],
)
def test_client_ip(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    settings.TRUSTED_PROXY_ADDRESSES = ["10.0.0.0/24"]
    request = RequestFactory().get("/", REMOTE_ADDR=LOAD_BALANCER, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_the_audit_log_records_the_forwarded_address(client, viewer, behind_a_load_balancer):
    client.post(
        "/accounts/login/",
        {"username": "vera", "password": "pw-vera"},
        REMOTE_ADDR=LOAD_BALANCER,
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert AuditEntry.objects.get(action="auth.login").ip_address == "203.0.113.9"


def test_a_client_reaching_vpadmin_directly_cannot_choose_its_address(
    client, viewer, behind_a_load_balancer
):
    client.post(
        "/accounts/login/",
        {"username": "vera", "password": "pw-vera"},
        REMOTE_ADDR=MALLORY,
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert AuditEntry.objects.get(action="auth.login").ip_address == MALLORY


def test_a_client_reaching_vpadmin_directly_cannot_claim_https(client, db, behind_a_load_balancer):
    behind_a_load_balancer.SECURE_SSL_REDIRECT = True
    spoofed = client.get("/healthz", REMOTE_ADDR=MALLORY, HTTP_X_FORWARDED_PROTO="https")
    assert spoofed.status_code == 301 and spoofed["Location"].startswith("https://")
    proxied = client.get("/healthz", REMOTE_ADDR=LOAD_BALANCER, HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200


def production_settings(**environment):
    """vpadmin's settings as production reads them from `environment` alone."""
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": "x" * 50,
        "DJANGO_SETTINGS_MODULE": "vpadmin.settings",
        **environment,
    }
    script = (
        "from django.conf import settings as s; "
        "print(s.TRUSTED_PROXY_COUNT, s.SECURE_PROXY_SSL_HEADER, s.TRUSTED_PROXY_ADDRESSES)"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_by_default_no_forwarded_header_is_trusted(client, viewer, settings):
    assert production_settings().stdout.split(" ", 2)[:2] == ["0", "None"]
    settings.TRUSTED_PROXY_COUNT = 0
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.SECURE_SSL_REDIRECT = True
    spoofed = client.get(
        "/healthz",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert spoofed.status_code == 301


def test_a_proxy_count_trusts_https_from_the_proxys_addresses_only():
    answer = production_settings(TRUSTED_PROXY_COUNT="1")
    assert answer.stdout.strip() == "1 ('HTTP_X_FORWARDED_PROTO', 'https') ['127.0.0.1', '::1']"
    wrong = production_settings(TRUSTED_PROXY_COUNT="1", TRUSTED_PROXY_ADDRESSES="lb.internal")
    assert wrong.returncode != 0 and "TRUSTED_PROXY_ADDRESSES" in wrong.stderr
