"""The Coze token never appears in a page, a log record, an audit row or an error."""

import logging
import uuid

import pytest
from django.db import connection

from groups.coze.simulator import CozeSimulator
from groups.models import AuditEntry, VoiceprintGroup

SECRET = "pat_SECRET_never_shown_1234"


@pytest.fixture
def secret_sim(settings):
    sim = CozeSimulator(token=SECRET).start()
    settings.COZE_API_BASE, settings.COZE_API_TOKEN = sim.url, SECRET
    yield sim
    sim.stop()


def test_the_token_never_leaks(
    operator_client, administrator_client, device, secret_sim, settings, caplog
):
    coze_sim = secret_sim
    caplog.set_level(logging.DEBUG)
    bodies = []

    def create(**fault):
        if fault:
            coze_sim.add_fault(**fault)
        response = operator_client.post(
            "/groups/new/",
            {"name": f"g{len(bodies)}", "device": device.pk, "submission": str(uuid.uuid4())},
            follow=True,
        )
        bodies.append(response.content.decode())

    settings.COZE_TIMEOUT = 0.3
    create()
    create(kind="code", code=4101, msg="denied")
    create(kind="http", status=500)
    create(kind="nonjson")
    create(kind="drop")
    create(kind="delay", seconds=0.6)
    settings.COZE_API_TOKEN = "pat_wrong"  # Coze's answer to a wrong token must not echo ours
    create()
    for path in ["/", "/groups/", "/audit/", "/quota/", f"/devices/{device.pk}/"]:
        bodies.append(operator_client.get(path).content.decode())
    export = administrator_client.get("/audit/export.csv")
    bodies.append(b"".join(export.streaming_content).decode())

    outcomes = AuditEntry.objects.filter(action="group.create").values_list("outcome", flat=True)
    # The dropped answer's group is found at once (a resolution row); the delayed one not.
    assert sorted(outcomes) == sorted(["success"] * 2 + ["failure"] * 4 + ["unknown"] * 2)
    assert VoiceprintGroup.objects.count() == 2
    assert all(SECRET not in body for body in bodies)
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert all(SECRET not in str(record.args) for record in caplog.records)
    with connection.cursor() as cursor:
        for table in ["groups_auditentry", "groups_voiceprintgroup", "groups_device"]:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            assert SECRET not in repr(cursor.fetchall())


def test_a_debug_page_of_a_failure_inside_a_coze_call_never_shows_the_token(
    secret_sim, device, operator, rf, monkeypatch
):
    """Django's technical 500 page lists every frame's local variables (DEBUG, as make run
    has it, including against real Coze)."""
    import sys

    import requests
    from django.views.debug import ExceptionReporter

    from groups import coze

    def broken_json(self, **kwargs):
        raise RuntimeError("the parser broke")

    monkeypatch.setattr(requests.Response, "json", broken_json)
    request = rf.post("/groups/new/")
    request.user = operator
    try:
        coze.get_client().create_group("g")
    except RuntimeError:
        page = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    assert "_parse" in page and "token" in page  # the parser's frame and its locals are shown
    assert SECRET not in page


@pytest.mark.parametrize(
    "echo",
    [
        SECRET,
        SECRET.upper(),
        "\u200b".join(SECRET),  # split by zero-width spaces
        SECRET[:10] + "\u202e" + SECRET[10:],
        "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in SECRET),  # full width
        SECRET[:8] + " " + SECRET[8:],
    ],
)
def test_cozes_message_echoing_the_token_in_any_form_is_redacted(
    echo, operator_client, device, secret_sim
):
    secret_sim.add_fault("code", code=4100, msg=f"token {echo} is not valid")
    response = operator_client.post(
        "/groups/new/", {"name": "g", "device": device.pk, "submission": str(uuid.uuid4())}
    )
    page = response.content.decode()
    assert "token &lt;token&gt; is not valid" in page
    stored = AuditEntry.objects.get(action="group.create").coze_msg
    assert stored == "token <token> is not valid"
