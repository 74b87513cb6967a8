"""Structured logs: one line per request and per Coze call, parseable, never the token."""

import io
import json
import logging
import uuid

import pytest

from vpadmin.logs import JsonFormatter, KeyValueFormatter, RequestContextFilter


@pytest.fixture
def log_lines():
    """Every vpadmin log line written during the test, formatted as JSON and as text."""
    stream_json, stream_text = io.StringIO(), io.StringIO()
    handlers = []
    for stream, formatter in [
        (stream_json, JsonFormatter()),
        (stream_text, KeyValueFormatter("%(message)s")),
    ]:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handler.addFilter(RequestContextFilter())
        handlers.append(handler)
    logger = logging.getLogger("vpadmin")
    for handler in handlers:
        logger.addHandler(handler)
    yield lambda: (
        [json.loads(line) for line in stream_json.getvalue().splitlines()],
        stream_text.getvalue().splitlines(),
    )
    for handler in handlers:
        logger.removeHandler(handler)


def test_a_creation_logs_its_coze_call_and_its_request(
    operator_client, device, coze_sim, log_lines
):
    response = operator_client.post(
        "/groups/new/", {"name": "g", "device": device.pk, "submission": str(uuid.uuid4())}
    )
    as_json, as_text = log_lines()
    coze, request = [line for line in as_json if line.get("event") in ("coze", "request")]
    request_id = response["X-Request-ID"]
    assert coze["request_id"] == request["request_id"] == request_id
    assert coze["user"] == request["user"] == "olga"
    assert (coze["method"], coze["path"], coze["outcome"], coze["http_status"]) == (
        "POST",
        "/v1/audio/voiceprint_groups",
        "success",
        200,
    )
    assert coze["logid"] and isinstance(coze["duration_ms"], int)
    assert (request["action"], request["status"], request["outcome"]) == ("group_new", 302, "ok")
    assert any(f"request_id={request_id}" in line and "event=coze" in line for line in as_text)


def test_refusals_are_logged_with_their_outcome(make_user, log_lines):
    from django.test import Client

    client = Client()
    client.force_login(make_user("nobody"))
    client.get("/team/")
    [request] = [line for line in log_lines()[0] if line.get("event") == "request"]
    assert (request["status"], request["outcome"], request["user"]) == (403, "refused", "nobody")


def test_the_token_is_never_in_a_log_line(operator_client, device, coze_sim, settings, log_lines):
    settings.COZE_API_TOKEN = "pat_wrong_but_secret"
    operator_client.post(
        "/groups/new/", {"name": "g", "device": device.pk, "submission": str(uuid.uuid4())}
    )
    as_json, as_text = log_lines()
    assert as_json and "pat_wrong_but_secret" not in json.dumps(as_json) + "".join(as_text)


def test_log_format_is_checked(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import vpadmin.settings

    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ImproperlyConfigured):
        importlib.reload(vpadmin.settings)
    monkeypatch.setenv("LOG_FORMAT", "json")
    importlib.reload(vpadmin.settings)


def test_a_session_cookie_signed_with_another_key_gets_the_sign_in_page(viewer, settings):
    """The session backend logs "session data corrupted" while the user is being looked up;
    the log line must not start that lookup again (it recursed into a 500 on every page)."""
    from django.test import Client

    client = Client()
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    client.force_login(viewer)  # a session stored under the other key
    settings.SECRET_KEY = "test-secret-key-not-for-production-" + "x" * 20
    assert client.get("/devices/")["Location"] == "/accounts/login/?next=/devices/"
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and 'name="password"' in page.content.decode()


@pytest.fixture
def console():
    """What the configured console handler (settings.LOGGING) prints during the test."""
    [handler] = [h for h in logging.getLogger().handlers if getattr(h, "name", "") == "console"]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_refused_page_is_one_log_line_without_a_traceback(make_user, console):
    from django.test import Client

    client = Client()
    client.force_login(make_user("nobody"))
    assert client.get("/devices/").status_code == 403
    printed = console.getvalue()
    assert "Forbidden (Permission denied): /devices/" in printed
    assert "Traceback" not in printed
    assert len(printed.splitlines()) == 2  # Django's warning and vpadmin's request line
