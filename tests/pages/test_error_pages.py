"""The answers Django would give bare, as vpadmin's own pages: an expired form (CSRF) and
an address opened with a method it does not answer (405)."""

import pytest
from django.test import Client

from groups.models import Device


@pytest.fixture
def olgas_browser(operator):
    """Olga's browser, whose open form carries a token from before she signed in again."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    return client


def post_expired_form(client, referer, **headers):
    return client.post(
        "/devices/new/",
        {"name": "Car", "serial": "CAR-7", "csrfmiddlewaretoken": "x" * 64},
        HTTP_REFERER=referer,
        **headers,
    )


def test_an_expired_form_says_what_happened_and_links_back_to_it(olgas_browser):
    response = post_expired_form(olgas_browser, "http://testserver/devices/new/?from=list")
    page = response.content.decode()
    assert response.status_code == 403 and not Device.objects.exists()
    assert "This form has expired" in page and "you signed in again" in page
    assert "what you typed is put back in it, except passwords and files" in page
    assert "reload the page" in page.split("<noscript>")[1]  # only without script
    assert '<a href="/devices/new/?from=list">Back to the form</a>' in page
    # static/drafts.js puts the input back when that address is opened again from here.
    assert 'data-form-expired="/devices/new/?from=list"' in page
    assert 'src="/static/drafts.js" defer' in page
    assert 'aria-label="Main"' in page  # vpadmin's own layout, with its navigation


def test_an_expired_form_from_elsewhere_links_to_the_dashboard(olgas_browser):
    page = post_expired_form(olgas_browser, "https://evil.example/devices/new/").content.decode()
    assert "evil.example" not in page and '<a href="/">Back to the dashboard</a>' in page
    assert "data-form-expired" not in page and "put back" not in page


def test_an_expired_form_is_explained_in_chinese(olgas_browser):
    response = post_expired_form(
        olgas_browser, "http://testserver/devices/new/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "表单已过期" in response.content.decode()


def test_a_get_on_the_sync_address_says_which_button_does_it(administrator_client):
    response = administrator_client.get("/groups/sync/")
    page = response.content.decode()
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "“Sync with Coze” button" in page and "the groups page" in page
    assert '<a href="/groups/">' in page and 'aria-label="Main"' in page


def test_a_viewer_is_told_the_button_is_an_administrators(viewer_client, administrator_client):
    page = viewer_client.get("/groups/sync/").content.decode()
    assert "Your role does not have this button" in page
    mine = administrator_client.get("/groups/sync/").content.decode()
    assert "Your role does not have this button" not in mine


def test_the_button_page_is_in_chinese_too(administrator_client):
    response = administrator_client.get("/groups/sync/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 405 and "与 Coze 同步" in response.content.decode()


def test_any_other_wrong_method_gets_a_page_with_the_way_back(administrator_client):
    response = administrator_client.post("/healthz", HTTP_REFERER="http://testserver/quota/")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert '<a href="/quota/">Back to the page you were on</a>' in response.content.decode()


def test_signing_out_by_address_points_to_the_button(viewer_client):
    response = viewer_client.get("/accounts/logout/")
    assert response.status_code == 405 and "“Sign out” button" in response.content.decode()
