"""API tokens: hashed at rest, refused (401, audited) when unknown, revoked, expired or
their owner's account is off; read-only tokens only read; use recorded once a minute."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from groups.models import ApiToken, AuditEntry
from groups.services import tokens

from .. import factories
from .conftest import Api, api_for


def test_the_database_never_holds_the_token(operator, device):
    api = api_for(operator)
    assert api.get("/api/devices/").status_code == 200
    secret = api.token
    shapes = [secret, secret.removeprefix("vpa_"), secret.removeprefix("vpa_")[8:]]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the schema)
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                assert not any(shape in text for shape in shapes), table
    token = ApiToken.objects.get()
    assert token.prefix == secret[4:12] and len(token.key_hash) == 64


def refusals():
    return list(AuditEntry.objects.filter(action="token.refused").values_list("facts", flat=True))


def test_an_unknown_token_is_a_401_in_json_and_audited(db):
    response = Api("vpa_madeUpToken123").get("/api/devices/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert refusals() == [{"say": "token_unknown", "prefix": "madeUpTo"}]


def test_no_token_is_a_401_without_an_audit_row(db, client):
    response = client.get("/api/devices/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert not AuditEntry.objects.exists()


def test_a_revoked_token_stops_working(operator):
    api = api_for(operator)
    token = ApiToken.objects.get()
    assert tokens.revoke_token(factories.actor(operator), token)
    response = api.get("/api/devices/")
    assert response.status_code == 401 and "revoked" in response.json()["message"]
    assert refusals()[0]["say"] == "token_revoked_used"
    assert AuditEntry.objects.filter(action="token.revoke", actor=operator).exists()


def test_an_expired_token_stops_working(operator):
    api = api_for(operator)
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = api.get("/api/devices/")
    assert response.status_code == 401 and "expired" in response.json()["message"]
    assert refusals()[0]["say"] == "token_expired"


def test_an_inactive_persons_token_stops_working(operator):
    api = api_for(operator)
    operator.is_active = False
    operator.save()
    assert api.get("/api/devices/").status_code == 401
    assert refusals()[0]["say"] == "token_inactive"


def test_the_token_keyword_works_too(operator, device):
    _, secret = tokens.create_token(factories.actor(operator), operator, name="t", read_only=True)
    from django.test import Client

    assert Client().get("/api/devices/", HTTP_AUTHORIZATION=f"Token {secret}").status_code == 200


def test_a_read_only_token_reads_but_cannot_write(operator, device):
    api = api_for(operator, read_only=True)
    assert api.get("/api/devices/").status_code == 200
    response = api.post("/api/devices/", {"name": "x", "serial": "X-1"})
    assert response.status_code == 403 and response.json()["code"] == "token_read_only"
    assert refusals()[0]["say"] == "token_read_only" and refusals()[0]["method"] == "POST"
    assert not AuditEntry.objects.filter(action="device.create").exists()


def test_a_viewers_token_cannot_create(viewer_api, viewer):
    response = viewer_api.post("/api/devices/", {"name": "x", "serial": "X-1"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    row = AuditEntry.objects.get(action="permission.denied")
    assert (row.actor, row.via, row.facts["permission"]) == (viewer, "api", "groups.add_device")


def test_last_use_is_written_at_most_once_a_minute(operator, device, django_assert_num_queries):
    api = api_for(operator)
    api.get("/api/devices/")
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    api.get("/api/devices/")
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - datetime.timedelta(minutes=2))
    api.get("/api/devices/")
    assert ApiToken.objects.get().last_used_at > first


def test_requests_with_a_token_are_throttled(operator, settings, device):
    settings.API_THROTTLE_RATE = "2/minute"
    api = api_for(operator)
    assert [api.get("/api/devices/").status_code for _ in range(2)] == [200, 200]
    response = api.get("/api/devices/")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Token \xff"])
def test_a_malformed_header_is_a_401(db, header):
    from django.test import Client

    response = Client().get("/api/devices/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
