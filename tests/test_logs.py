"""Structured logs: one line per request and per Coze call, parseable, never the token."""

import io
import json
import logging
import uuid

import pytest

from groups.logs import JsonFormatter, KeyValueFormatter, RequestContextFilter


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


def test_refusals_are_logged_with_their_outcome(viewer_client, log_lines, db):
    viewer_client.get("/team/")
    [request] = [line for line in log_lines()[0] if line.get("event") == "request"]
    assert (request["status"], request["outcome"], request["user"]) == (403, "refused", "vera")


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
