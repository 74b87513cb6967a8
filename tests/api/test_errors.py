"""What schemathesis found (tests/api/test_schemathesis.py), each kept fixed here: an API
address that names nothing answers the API's JSON 404, not the HTML page; a bug under /api/
answers JSON, never the page; a method an address does not answer is a 405 with Allow,
not a 403 and an audit row; and the rows' choices that may be empty, and a person's
consent state `none`, are answered as the schema documents them."""

import pytest
from django.test import RequestFactory

from groups.api import errors, views
from groups.models import AuditEntry
from tests.factories import consent_for, device, enrollee, group, voiceprint

from .conftest import assert_documented


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/api/people/0.5/withdraw/"),  # the router's ids have no dot
        ("POST", "/api/groups/x/voiceprints/"),  # <int:pk>
        ("GET", "/api/nothing/"),
    ],
)
def test_an_api_address_that_names_nothing_is_a_json_404(administrator_api, method, path):
    response = administrator_api.call(method, path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "message": "Not found."}


def test_a_page_that_does_not_exist_is_still_a_page(administrator_client):
    response = administrator_client.get("/devices/x/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_bug_under_the_api_answers_json(administrator_api, monkeypatch):
    def broken(view, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.QuotaView, "get", broken)
    administrator_api.client.raise_request_exception = False
    response = administrator_api.get("/api/quota/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error" and "a bug" not in response.content.decode()


def test_a_page_bug_is_still_the_page(db):
    answer = errors.server_error(RequestFactory().get("/devices/"))
    assert answer.status_code == 500 and answer["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/audit/1/", "/api/devices/", "/api/quota/"])
def test_a_method_an_address_does_not_answer_is_a_405_not_a_refusal(administrator_api, path):
    response = administrator_api.client.generic("TRACE", path)
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    assert "GET" in response["Allow"] and "TRACE" not in response["Allow"]
    assert not AuditEntry.objects.filter(action="auth.permission_denied").exists()


def test_a_method_the_role_may_not_use_is_still_refused(viewer_api):
    response = viewer_api.delete("/api/devices/1/")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_empty_choices_and_a_person_without_consent_are_answered_as_documented(viewer_api):
    in_force, nobody = enrollee("Mum"), enrollee("Guest")
    consent = consent_for(in_force)  # not withdrawn: its withdrawal_method is ""
    voiceprint(group(device()), person=in_force, consent=consent)  # deletion_reason ""

    mum = viewer_api.get(f"/api/people/{in_force.pk}/")
    assert mum.json()["consents"][0]["withdrawal_method"] == ""
    assert mum.json()["voiceprints"][0]["deletion_reason"] == ""
    assert_documented(mum, "GET", "/api/people/{id}/")

    guest = viewer_api.get(f"/api/people/{nobody.pk}/")
    assert guest.json()["consent_state"] == "none"
    assert_documented(guest, "GET", "/api/people/{id}/")

    listed = viewer_api.get("/api/people/")
    assert {p["consent_state"] for p in listed.json()["results"]} == {"in_force", "none"}
    assert_documented(listed, "GET", "/api/people/")
    assert_documented(viewer_api.get("/api/voiceprints/"), "GET", "/api/voiceprints/")
