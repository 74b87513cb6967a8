"""The API's documentation page in a real browser: Swagger UI draws the schema from
vpadmin's own files, and the page's CSP refuses nothing it needs."""


def test_the_api_docs_render_under_the_csp(page, live_server, sign_in, make_user):
    sign_in(make_user("vera", "Viewer"))
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector("text=/api/devices/", timeout=15000)
    assert page.locator(".opblock").count() > 10
    assert refused == []
