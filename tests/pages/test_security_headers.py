"""Headers a production deployment relies on."""

import pytest


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/", "/healthz", "/nope/"])
def test_every_answer_has_a_strict_content_security_policy(administrator_client, path):
    policy = administrator_client.get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_pages_cannot_be_framed_and_sniffed(administrator_client):
    response = administrator_client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_use_no_inline_script_or_style(administrator_client, device):
    for path in [
        "/",
        "/devices/",
        f"/devices/{device.pk}/",
        "/groups/new/",
        "/audit/",
        "/quota/",
        "/admin/",
        "/admin/auth/user/",
    ]:
        page = administrator_client.get(path).content.decode()
        assert "<script>" not in page and " style=" not in page and "<style" not in page, path
