"""The OpenAPI schema is current (groups/api/openapi.yaml is what `manage.py spectacular`
makes now) and valid; the docs page loads only vpadmin's own files, under a strict CSP."""

import re
from pathlib import Path

import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

COMMITTED = Path(__file__).resolve().parents[2] / "groups" / "api" / "openapi.yaml"
REGENERATE = "manage.py spectacular --validate --fail-on-warn --file groups/api/openapi.yaml"


def test_the_committed_schema_is_current(tmp_path, db):
    fresh = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(fresh))
    assert fresh.read_text() == COMMITTED.read_text(), f"schema changed: run {REGENERATE}"


def test_the_schema_describes_tokens_errors_and_the_idempotency_key():
    schema = yaml.safe_load(COMMITTED.read_text())
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    create = schema["paths"]["/api/groups/"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    for status in ("400", "401", "403", "409", "502", "504"):
        ref = create["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/Error")
    paths = set(schema["paths"])
    assert {"/api/devices/", "/api/audit/{id}/", "/api/jobs/", "/api/quota/", "/api/sync/"} <= paths


def test_the_schema_is_served_without_a_token(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200 and b"openapi: 3" in response.content


def test_the_docs_page_loads_only_vpadmins_files_under_a_strict_csp(viewer_client):
    page = viewer_client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    csp = page["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe" not in csp
    assert "<style" not in html and not re.search(r"<script>", html)  # no inline code
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(url.startswith("/") for url in sources), sources
    script = viewer_client.get(next(url for url in sources if "script" in url))
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    assert b"/api/schema/" in script.content
    for url in sources:  # vpadmin's own files (whitenoise serves them; the tests do not)
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url


def test_the_docs_page_needs_a_sign_in(client, db):
    assert client.get("/api/docs/").status_code == 302


def test_the_schema_describes_enrollment_as_a_multipart_upload_with_its_errors():
    schema = yaml.safe_load(COMMITTED.read_text())
    enroll = schema["paths"]["/api/groups/{id}/voiceprints/"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in enroll["parameters"]]
    [media] = enroll["requestBody"]["content"]
    assert media == "multipart/form-data"
    body = schema["components"]["schemas"]["EnrollRequest"]
    assert body["properties"]["audio"]["format"] == "binary"
    assert set(body["required"]) == {"person", "audio"}
    assert {"201", "200", "400", "403", "404", "409", "415", "502", "503", "504"} <= set(
        enroll["responses"]
    )
    error = schema["components"]["schemas"]["Error"]["properties"]
    assert {"code", "message", "coze", "fields", "codes"} <= set(error)
    paths = set(schema["paths"])
    assert {"/api/voiceprints/{id}/", "/api/people/{id}/withdraw/"} <= paths
    assert "/api/people/{id}/consents/" in paths
    person = schema["paths"]["/api/people/{id}/"]["get"]["responses"]["200"]
    assert person["content"]["application/json"]["schema"]["$ref"].endswith("/PersonDetail")
