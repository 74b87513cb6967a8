"""Headers a production deployment relies on."""

import pytest

from .. import factories


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/", "/healthz", "/nope/"])
def test_every_answer_has_a_strict_content_security_policy(administrator_client, path):
    policy = administrator_client.get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_media_may_come_from_blob_addresses_and_nothing_else_is_widened(administrator_client):
    # The browser recorder plays its take back from an object URL (static/recorder.js).
    directives = dict(
        (part.split(" ", 1) + [""])[:2]
        for part in administrator_client.get("/")["Content-Security-Policy"].split("; ")
    )
    assert directives["media-src"] == "'self' blob:"
    widened = [name for name, sources in directives.items() if "blob:" in sources]
    assert widened == ["media-src"]


def test_pages_cannot_be_framed_and_sniffed(administrator_client):
    response = administrator_client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_use_no_inline_script_or_style(administrator_client, device):
    group = factories.group(device)
    for path in [
        "/",
        "/devices/",
        f"/devices/{device.pk}/",
        "/groups/new/",
        f"/groups/{group.pk}/voiceprints/new/",  # the browser recorder
        "/audit/",
        "/quota/",
        "/admin/",
        "/admin/auth/user/",
    ]:
        page = administrator_client.get(path).content.decode()
        assert "<script>" not in page and " style=" not in page and "<style" not in page, path
