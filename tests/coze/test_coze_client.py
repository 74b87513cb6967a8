"""The Coze service module against the simulator, over a real loopback socket."""

import json
import logging
import re
import socket
import time
from pathlib import Path

import pytest
import requests

import vpadmin
from groups import coze

# 34 characters: a 14-digit timestamp and 20 upper-case hex digits, as Coze's.
LOGID = re.compile(r"^\d{14}[0-9A-F]{20}$")


def wait_for(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_create_group_returns_the_new_id_and_logid(coze_sim):
    answer = coze.get_client().create_group("living room", "speaker 2")

    group_id = answer.data["id"]
    assert isinstance(group_id, str) and re.fullmatch(r"\d{19}", group_id)
    assert coze_sim.groups[group_id]["name"] == "living room"
    assert LOGID.match(answer.logid)
    assert answer.logid == coze_sim.requests[-1]["logid"]
    assert answer.http_status == 200
    assert answer.duration_ms >= 0


def test_create_sends_an_authenticated_json_request(coze_sim):
    coze.get_client().create_group("living room", "speaker 2")

    [sent] = coze_sim.requests
    assert sent["method"] == "POST"
    assert sent["path"] == "/v1/audio/voiceprint_groups"
    assert sent["authorized"] is True
    assert sent["json"] == {"name": "living room", "desc": "speaker 2"}
    assert (
        sent["user_agent"]
        == f"vpadmin/{vpadmin.__version__} python-requests/{requests.__version__}"
    )


def test_create_leaves_out_an_empty_desc(coze_sim):
    coze.get_client().create_group("kiosk")

    assert coze_sim.requests[-1]["json"] == {"name": "kiosk"}


def test_list_groups_returns_total_and_items(coze_sim):
    coze_sim.seed_groups(3, name_prefix="car")
    kitchen = coze.get_client().create_group("kitchen").data["id"]

    answer = coze.get_client().list_groups()
    assert answer.data["total"] == 4
    assert answer.data["items"][0]["id"] == kitchen
    assert coze_sim.requests[-1]["query"] == {"page_num": "1", "page_size": "200"}

    cars = coze.get_client().list_groups(page_size=2, name="car").data
    assert cars["total"] == 3 and len(cars["items"]) == 2
    only = coze.get_client().list_groups(group_id=kitchen).data
    assert [item["name"] for item in only["items"]] == ["kitchen"]


def test_update_group_sends_only_what_changes(coze_sim):
    [group_id] = coze_sim.seed_groups(1)

    answer = coze.get_client().update_group(group_id, desc="by the window")

    assert answer.data == {}
    assert coze_sim.requests[-1]["method"] == "PUT"
    assert coze_sim.requests[-1]["json"] == {"desc": "by the window"}
    assert coze_sim.groups[group_id]["desc"] == "by the window"


def test_delete_group(coze_sim):
    [group_id] = coze_sim.seed_groups(1)

    coze.get_client().delete_group(group_id)

    assert coze_sim.requests[-1]["path"] == f"/v1/audio/voiceprint_groups/{group_id}"
    assert group_id not in coze_sim.groups


def test_a_nonzero_code_is_a_refusal(coze_sim):
    coze_sim.add_fault("code", code=4101, msg="no permission")

    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().create_group("kiosk")

    error = caught.value
    assert (error.code, error.msg, error.http_status) == (4101, "no permission", 200)
    assert error.logid == coze_sim.requests[-1]["logid"] and LOGID.match(error.logid)
    assert str(error) == "Coze refused the request: no permission (code 4101)"
    assert coze_sim.groups == {}


@pytest.mark.parametrize(
    ("fault", "rate_limited", "usage_limited"),
    [
        ({"code": 4009}, True, False),  # the system's request ceiling: retry later
        ({"code": 4020}, True, False),  # the RPM peak
        ({"code": 4101, "status": 429}, True, False),  # HTTP 429 says it without a code
        ({"code": 4008}, False, True),  # the day's usage limit: try tomorrow
        ({"code": 4008, "status": 429}, False, True),
        ({"code": 4013}, False, False),  # a model error, not a rate limit
        ({"code": 5000}, False, False),
    ],
)
def test_rate_and_usage_limits_are_known_by_cozes_codes(
    coze_sim, fault, rate_limited, usage_limited
):
    coze_sim.add_fault("code", method="GET", msg="limited", **fault)

    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().list_groups()

    error = caught.value
    assert (error.rate_limited, error.usage_limited) == (rate_limited, usage_limited)
    assert error.worth_retrying is rate_limited  # a list may be sent again without harm


def test_a_rate_limited_create_is_never_worth_retrying(coze_sim):
    coze_sim.add_fault("code", code=4020, status=429, times=None)
    client = coze.get_client()
    [group_id] = coze_sim.seed_groups(1)

    calls = [
        lambda: client.create_group("kiosk"),
        client.list_groups,
        lambda: client.update_group(group_id, name="hall"),
        lambda: client.delete_group(group_id),
    ]
    errors = []
    for call in calls:
        with pytest.raises(coze.CozeRefused) as caught:
            call()
        errors.append(caught.value)

    assert all(error.rate_limited for error in errors)
    assert [error.worth_retrying for error in errors] == [False, True, True, True]
    coze_sim.clear_faults()


def test_errors_made_without_a_call_are_not_worth_retrying():
    error = coze.CozeRefused("slow down", code=4020, http_status=429)

    assert error.rate_limited and not error.worth_retrying


def test_coze_limits_come_back_as_refusals(coze_sim):
    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().create_group("x" * 21)

    assert caught.value.code == 4000
    assert "20" in caught.value.msg


def test_a_wrong_token_is_a_refusal_with_http_401(coze_sim, settings):
    settings.COZE_API_TOKEN = "pat_wrong"

    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().create_group("kiosk")

    error = caught.value
    assert (error.code, error.http_status) == (4100, 401)
    assert LOGID.match(error.logid)
    assert coze_sim.requests[-1]["authorized"] is False
    assert coze_sim.groups == {}


def test_http_5xx_is_a_failure(coze_sim):
    coze_sim.add_fault("http", status=503)

    with pytest.raises(coze.CozeFailed) as caught:
        coze.get_client().create_group("kiosk")

    error = caught.value
    assert error.http_status == 503
    assert error.code == 5000
    assert error.logid == coze_sim.requests[-1]["logid"]


def test_a_body_that_is_not_json_is_a_failure(coze_sim):
    coze_sim.add_fault("nonjson")

    with pytest.raises(coze.CozeFailed) as caught:
        coze.get_client().list_groups()

    error = caught.value
    assert (error.http_status, error.code) == (502, None)
    assert "not JSON" in str(error)
    assert error.logid == coze_sim.requests[-1]["logid"]  # from the header


def test_a_timeout_is_no_answer_though_coze_may_still_act(coze_sim, settings):
    settings.COZE_TIMEOUT = 0.3
    coze_sim.add_fault("delay", seconds=0.6)

    with pytest.raises(coze.CozeNoAnswer) as caught:
        coze.get_client().create_group("kiosk")

    assert 300 <= caught.value.duration_ms < 600
    assert (caught.value.code, caught.value.http_status) == (None, None)
    assert "0.3 s" in caught.value.msg
    # Coze's real ambiguity: the group appears after the client gave up.
    wait_for(lambda: len(coze_sim.groups) == 1)


def test_a_success_without_a_group_id_is_no_answer(coze_sim):
    coze_sim.add_fault("code", code=0, msg="")

    with pytest.raises(coze.CozeNoAnswer) as caught:
        coze.get_client().create_group("kiosk")

    assert (caught.value.code, caught.value.http_status) == (0, 200)
    assert caught.value.logid == coze_sim.requests[-1]["logid"]


def test_a_dropped_connection_is_no_answer_and_is_not_retried(coze_sim):
    coze_sim.add_fault("drop", method="POST")

    with pytest.raises(coze.CozeNoAnswer):
        coze.get_client().create_group("kiosk")

    assert [r["method"] for r in coze_sim.requests] == ["POST"]
    assert len(coze_sim.groups) == 1


def test_a_dropped_list_is_not_retried_either(coze_sim):
    coze_sim.add_fault("drop")

    with pytest.raises(coze.CozeNoAnswer):
        coze.get_client().list_groups()

    assert len(coze_sim.requests) == 1


def test_connection_refused_is_a_failure(coze_sim, settings):
    settings.COZE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    with pytest.raises(coze.CozeFailed) as caught:
        coze.get_client().create_group("kiosk")

    error = caught.value
    assert (error.code, error.http_status, error.logid) == (None, None, "")
    assert str(error) == "The Coze call failed: could not connect to Coze"


@pytest.mark.parametrize(
    ("base_url", "token"),
    [
        ("127.0.0.1:9", "pat_test"),
        ("http://127.0.0.1:9", "pat\nbroken"),
        ("http://127.0.0.1:9", "pat_断"),
    ],
)
def test_a_broken_configuration_is_a_failure(base_url, token):
    with pytest.raises(coze.CozeFailed) as caught:
        coze.CozeClient(base_url, token, 1).list_groups()

    assert "COZE_API_BASE" in str(caught.value)
    assert token not in repr(vars(caught.value)) and token not in str(caught.value)


def test_calls_reuse_one_connection(coze_sim):
    client = coze.get_client()
    client.create_group("kiosk")
    client.list_groups()

    assert coze.get_client() is client
    first, second = coze_sim.requests
    assert first["connection"] == second["connection"]


def test_the_client_follows_the_settings(coze_sim, settings):
    client = coze.get_client()
    settings.COZE_TIMEOUT = 0.5

    rebuilt = coze.get_client()
    assert rebuilt is not client
    assert (rebuilt.base_url, rebuilt.timeout) == (coze_sim.url, 0.5)


def test_each_call_logs_one_line(coze_sim, caplog):
    caplog.set_level(logging.INFO, logger="vpadmin.coze")

    answer = coze.get_client().create_group("kiosk")

    [record] = [r for r in caplog.records if r.name == "vpadmin.coze"]
    assert record.getMessage() == "coze call"
    assert (record.event, record.method, record.path, record.outcome) == (
        "coze",
        "POST",
        "/v1/audio/voiceprint_groups",
        "success",
    )
    assert (record.http_status, record.code, record.logid) == (200, 0, answer.logid)
    assert isinstance(record.duration_ms, int)


def test_the_token_never_leaks(coze_sim, settings, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "pat_test"
    errors = []
    client = coze.get_client()
    group_id = client.create_group("kiosk", "hall").data["id"]
    client.list_groups(name="k")
    client.update_group(group_id, name="hall kiosk")
    client.delete_group(group_id)
    for kind, params in [("code", {}), ("http", {}), ("nonjson", {}), ("drop", {})]:
        coze_sim.add_fault(kind, **params)
        with pytest.raises(coze.CozeError) as caught:
            client.create_group("kiosk")
        errors.append(caught.value)
    coze_sim.add_fault("delay", seconds=0.4)
    with pytest.raises(coze.CozeNoAnswer) as caught:
        coze.CozeClient(coze_sim.url, secret, 0.2).list_groups()
    errors.append(caught.value)
    wait_for(lambda: coze_sim.requests[-1]["logid"])  # the delayed answer was written
    with pytest.raises(coze.CozeFailed) as caught:
        coze.CozeClient(f"http://127.0.0.1:{closed_port()}", secret, 1).list_groups()
    errors.append(caught.value)
    settings.COZE_API_TOKEN = "pat_wrong_secret"
    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().list_groups()
    errors.append(caught.value)

    for error in errors:
        # A chained requests exception would carry the request and its headers.
        assert error.__cause__ is None and error.__context__ is None
        for shown in (str(error), repr(error), repr(error.args), repr(vars(error))):
            assert secret not in shown and "pat_wrong_secret" not in shown
    assert secret not in repr(client) and secret not in repr(client.session.auth)
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert "vpadmin.coze" in caplog.text
    assert secret not in logged and "pat_wrong_secret" not in logged


# What WIRE-SPEC says that earlier code had wrong


def test_a_wrong_token_gets_cozes_own_words(coze_sim, settings):
    settings.COZE_API_TOKEN = "pat_wrong"

    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().list_groups()

    assert caught.value.coze_msg == caught.value.sentence() == "authentication is invalid"


def test_logids_are_34_characters(coze_sim):
    answer = coze.get_client().list_groups()

    assert len(answer.logid) == 34 and LOGID.match(answer.logid)


@pytest.mark.parametrize("call", ["update", "delete"])
def test_update_and_delete_answers_have_no_data(coze_sim, call):
    [group_id] = coze_sim.seed_groups(1)
    client = coze.get_client()

    if call == "update":
        answer = client.update_group(group_id, name="hall")
    else:
        answer = client.delete_group(group_id)

    assert answer.data == {} and LOGID.match(answer.logid)


@pytest.mark.parametrize("data", [None, {}, {"id": "7500000000000000001"}])
def test_an_update_answer_with_or_without_data_is_a_success(coze_sim, data):
    [group_id] = coze_sim.seed_groups(1)
    body = {"code": 0, "msg": "", **({} if data is None else {"data": data})}
    coze_sim.add_fault("raw", status=200, body=json.dumps(body))

    answer = coze.get_client().update_group(group_id, name="hall")

    assert answer.data == (data or {})


AUTH = {"error_code": 4100, "error_message": "authentication is invalid"}
WORD = {"error_code": "invalid_token", "error_message": "the token expired"}


@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "msg"),
    [
        (401, AUTH, "refused", 4100, "authentication is invalid"),
        (400, {"error_code": "4000", "error_message": "bad"}, "refused", 4000, "bad"),
        (401, WORD, "refused", None, "invalid_token: the token expired"),
        (403, {"error_code": "access_denied"}, "refused", None, "access_denied"),
        (200, {"error_message": "went wrong"}, "refused", None, "went wrong"),
        (502, {"error_code": 5000, "error_message": "upstream"}, "failed", 5000, "upstream"),
    ],
)
def test_an_error_body_keeps_cozes_message(coze_sim, status, body, kind, code, msg):
    coze_sim.add_fault("raw", status=status, body=json.dumps(body))

    with pytest.raises(coze.CozeError) as caught:
        coze.get_client().list_groups()

    error = caught.value
    assert error.outcome == kind
    assert (error.code, error.http_status, error.reason) == (code, status, None)
    assert error.coze_msg == error.sentence() == msg
    assert error.logid == coze_sim.requests[-1]["logid"]  # from the header


def test_an_error_body_never_shows_the_token(coze_sim):
    echoed = {"error_code": 4100, "error_message": "token P A T_TEST is not valid"}
    coze_sim.add_fault("raw", status=401, body=json.dumps(echoed))

    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().list_groups()

    assert caught.value.coze_msg == "token <token> is not valid"


@pytest.mark.parametrize(
    "body", [{"error_code": 0, "error_message": ""}, {"result": "ok"}, ["error_code"]]
)
def test_other_json_is_still_not_an_envelope(coze_sim, body):
    coze_sim.add_fault("raw", status=200, body=json.dumps(body))

    with pytest.raises(coze.CozeFailed) as caught:
        coze.get_client().list_groups()

    assert caught.value.reason == "not_envelope" and caught.value.coze_msg == ""


@pytest.mark.parametrize(
    "group_id",
    ["", "abc", "12/../34", "../../v1/users/me", "1?x=1", "12#", "١٢٣", "²", "12\n", " 12", "-12",
     None, True, 1.5],
)  # fmt: skip
@pytest.mark.parametrize("call", ["update_group", "delete_group"])
def test_an_id_that_is_not_cozes_is_refused_before_anything_is_sent(coze_sim, call, group_id):
    with pytest.raises(coze.CozeFailed) as caught:
        getattr(coze.get_client(), call)(
            group_id, **({"name": "x"} if call == "update_group" else {})
        )

    assert caught.value.reason == "bad_id"
    assert caught.value.sentence() == "the group id is not a Coze id, so nothing was sent"
    assert coze_sim.requests == []


def test_an_id_given_as_a_number_is_sent_as_its_digits(coze_sim):
    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().delete_group(7500000000000000001)

    assert caught.value.not_found
    assert coze_sim.requests[-1]["path"] == "/v1/audio/voiceprint_groups/7500000000000000001"


def test_me_says_who_the_token_belongs_to(coze_sim):
    answer = coze.get_client().me()

    assert answer.data == coze_sim.user
    assert set(answer.data) == {"user_id", "user_name", "nick_name", "avatar_url"}
    assert LOGID.match(answer.logid)
    [sent] = coze_sim.requests
    assert (sent["method"], sent["path"], sent["authorized"]) == ("GET", "/v1/users/me", True)


def test_me_names_the_creator_of_the_tokens_own_groups(coze_sim):
    coze_sim.seed_groups(1)
    coze_sim.seed_groups(1, creator_id="7400000000000000042")
    client = coze.get_client()

    me = client.me().data["user_id"]
    items = client.list_groups().data["items"]
    own = client.list_groups(user_id=me).data["items"]

    assert sorted(item["user_info"]["id"] == me for item in items) == [False, True]
    assert [item["user_info"]["id"] for item in own] == [me]
    assert coze_sim.requests[-1]["query"]["user_id"] == me


def test_me_gives_the_user_id_as_a_string(coze_sim):
    body = {"code": 0, "msg": "", "data": {**coze_sim.user, "user_id": 7484523878849822754}}
    coze_sim.add_fault("raw", status=200, body=json.dumps(body))

    assert coze.get_client().me().data["user_id"] == "7484523878849822754"


def test_me_with_a_wrong_token_is_a_refusal(coze_sim, settings):
    settings.COZE_API_TOKEN = "pat_wrong"

    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().me()

    assert (caught.value.code, caught.value.http_status) == (4100, 401)


def test_a_colleagues_group_cannot_be_changed_with_our_token(coze_sim):
    [group_id] = coze_sim.seed_groups(1, creator_id="7400000000000000042")

    with pytest.raises(coze.CozeRefused) as caught:
        coze.get_client().delete_group(group_id)

    assert caught.value.code == 4101 and not caught.value.not_found
    assert group_id in coze_sim.groups


def test_a_base_url_that_reaches_no_api_is_a_plain_404(coze_sim):
    client = coze.CozeClient(coze_sim.url + "/nowhere", "pat_test", 2)

    with pytest.raises(coze.CozeRefused) as caught:
        client.list_groups()

    error = caught.value
    assert (error.http_status, error.code, error.reason) == (404, None, "not_json")
    assert LOGID.match(error.logid)


def test_only_the_coze_service_imports_requests():
    root = Path(coze.__file__).parent.parent.parent
    importing = re.compile(r"^\s*(import requests|from requests\b|import urllib3|from urllib3\b)")
    importers = [
        path.relative_to(root).as_posix()
        for folder in ("groups", "vpadmin")
        for path in (root / folder).rglob("*.py")
        if any(importing.match(line) for line in path.read_text(encoding="utf-8").splitlines())
    ]
    assert importers and all(path.startswith("groups/coze/") for path in importers), importers
