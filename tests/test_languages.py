"""The interface in English and Simplified Chinese."""

import pytest


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", ["Dashboard", "Audit log", "Quota"]), ("zh-hans", ["仪表盘", "审计日志", "配额"])],
)
def test_the_dashboard_follows_the_browser_language(viewer_client, language, expected):
    page = viewer_client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert all(text in page for text in expected)


def test_the_switcher_changes_the_language(viewer_client):
    response = viewer_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/groups/"})
    assert response["Location"] == "/groups/"
    assert "声纹组" in viewer_client.get("/groups/").content.decode()
