"""The bundled Coze simulator: Coze's wire format, limits, quota, faults and control API."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests

from groups.coze.simulator import CozeSimulator, new_logid
from tests.conftest import TEST_TOKEN

GROUPS = "/v1/audio/voiceprint_groups"
# 34 characters: a 14-digit timestamp and 20 upper-case hex digits, as Coze's.
LOGID = re.compile(r"^\d{14}[0-9A-F]{20}$")


def call(sim, method, path=GROUPS, *, token=TEST_TOKEN, timeout=2, headers=None, **kwargs):
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return requests.request(method, sim.url + path, headers=headers, timeout=timeout, **kwargs)


def create(sim, name="kiosk", **body):
    return call(sim, "POST", json={"name": name, **body}).json()


def control(sim, method, path, **kwargs):
    return requests.request(method, f"{sim.url}/_sim/{path}", timeout=2, **kwargs)


def wait_for(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# Creating, and Coze's limits


def test_create_answers_with_an_envelope_and_a_19_digit_id(coze_sim):
    answer = call(coze_sim, "POST", json={"name": "living room", "desc": "speaker 2"})

    body = answer.json()
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert (body["code"], body["msg"]) == (0, "")
    assert re.fullmatch(r"\d{19}", body["data"]["id"])
    assert coze_sim.groups[body["data"]["id"]]["desc"] == "speaker 2"


def test_every_answer_carries_a_fresh_logid_in_header_and_body(coze_sim):
    first, second = call(coze_sim, "GET"), call(coze_sim, "GET", token="pat_wrong")

    for answer in (first, second):
        assert LOGID.match(answer.headers["x-tt-logid"])
        assert answer.json()["detail"]["logid"] == answer.headers["x-tt-logid"]
    assert first.headers["x-tt-logid"] != second.headers["x-tt-logid"]


def test_a_logid_has_cozes_34_characters():
    logid = new_logid()

    assert len(logid) == 34
    assert time.strptime(logid[:14], "%Y%m%d%H%M%S")
    assert re.fullmatch(r"[0-9A-F]{20}", logid[14:])


@pytest.mark.parametrize(
    ("name", "accepted"),
    [("n" * 20, True), ("n" * 21, False), ("声" * 20, True), ("声" * 21, False), ("", False)],
)
def test_names_are_1_to_20_characters(coze_sim, name, accepted):
    body = create(coze_sim, name)

    assert (body["code"] == 0) is accepted
    if not accepted:
        assert body["code"] == 4000 and "20 characters" in body["msg"]
        assert coze_sim.groups == {}


@pytest.mark.parametrize(("length", "code"), [(500, 0), (501, 4000)])
def test_desc_is_at_most_500_characters(coze_sim, length, code):
    assert create(coze_sim, desc="述" * length)["code"] == code


def test_a_name_is_required_and_the_body_must_be_json(coze_sim):
    assert call(coze_sim, "POST", json={"desc": "x"}).json()["code"] == 4000
    assert call(coze_sim, "POST", data="{not json").json()["code"] == 4000
    assert call(coze_sim, "POST", json=["kiosk"]).json()["code"] == 4000
    assert coze_sim.groups == {}


def test_creating_beyond_the_quota_is_refused(coze_sim):
    coze_sim.seed_groups(1000)

    body = create(coze_sim)

    assert body["code"] == 4118
    assert "1000" in body["msg"]
    assert len(coze_sim.groups) == 1000


def test_the_quota_can_be_changed_and_reset_restores_it(coze_sim):
    coze_sim.quota = 1
    assert create(coze_sim)["code"] == 0
    assert create(coze_sim)["code"] == 4118

    coze_sim.reset()
    assert coze_sim.quota == 1000 and coze_sim.groups == {} and coze_sim.requests == []


# Listing


def test_list_pages_newest_first(coze_sim):
    seeded = coze_sim.seed_groups(5)

    pages = [
        call(coze_sim, "GET", params={"page_num": n, "page_size": 2}).json()["data"]
        for n in (1, 2, 3)
    ]

    assert [page["total"] for page in pages] == [5, 5, 5]
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    listed = [item["id"] for page in pages for item in page["items"]]
    assert listed == list(reversed(seeded))


def test_list_items_have_cozes_shape(coze_sim):
    create(coze_sim, "kiosk", desc="hall")

    [item] = call(coze_sim, "GET").json()["data"]["items"]

    assert set(item) == {
        "id", "name", "desc", "icon_url", "feature_count", "created_at", "updated_at", "user_info",
    }  # fmt: skip
    assert (item["name"], item["desc"], item["feature_count"]) == ("kiosk", "hall", 0)
    assert abs(item["created_at"] - time.time()) < 5 and item["updated_at"] == item["created_at"]
    assert set(item["user_info"]) == {"id", "name", "nickname", "avatar_url"}


def test_icon_and_avatar_are_urls(coze_sim):
    create(coze_sim)

    [item] = call(coze_sim, "GET").json()["data"]["items"]

    for url in (item["icon_url"], item["user_info"]["avatar_url"]):
        assert urlsplit(url).scheme == "https" and urlsplit(url).hostname
    assert item["icon_url"].endswith("/default_voiceprint_group_icon.png")


def test_list_defaults_to_ten_per_page(coze_sim):
    coze_sim.seed_groups(12)

    data = call(coze_sim, "GET").json()["data"]

    assert (data["total"], len(data["items"])) == (12, 10)


def test_list_filters_by_name_prefix_and_by_group_id(coze_sim):
    coze_sim.seed_groups(3, name_prefix="car")
    kiosk = create(coze_sim, "kiosk")["data"]["id"]
    create(coze_sim, "the car")

    cars = call(coze_sim, "GET", params={"name": "car"}).json()["data"]
    assert cars["total"] == 3
    assert all(item["name"].startswith("car") for item in cars["items"])
    one = call(coze_sim, "GET", params={"group_id": kiosk}).json()["data"]
    assert [item["name"] for item in one["items"]] == ["kiosk"]
    assert call(coze_sim, "GET", params={"group_id": "1"}).json()["data"] == {
        "total": 0,
        "items": [],
    }


@pytest.mark.parametrize(
    "params", [{"page_size": 0}, {"page_size": 201}, {"page_num": 0}, {"page_size": "ten"}]
)
def test_list_refuses_bad_paging(coze_sim, params):
    body = call(coze_sim, "GET", params=params).json()

    assert body["code"] == 4000
    assert "data" not in body


def test_list_accepts_200_per_page(coze_sim):
    assert call(coze_sim, "GET", params={"page_size": 200}).json()["code"] == 0


# Updating and deleting


def test_update_changes_name_and_desc(coze_sim):
    [group_id] = coze_sim.seed_groups(1, created_at=1_700_000_000)

    body = call(coze_sim, "PUT", f"{GROUPS}/{group_id}", json={"name": "hall", "desc": "d"}).json()

    assert (body["code"], body["msg"]) == (0, "")
    assert set(body) == {"code", "msg", "detail"}  # no data key, as Coze's answer
    group = coze_sim.groups[group_id]
    assert (group["name"], group["desc"], group["created_at"]) == ("hall", "d", 1_700_000_000)
    assert group["updated_at"] > group["created_at"]


def test_update_keeps_the_limits(coze_sim):
    [group_id] = coze_sim.seed_groups(1)

    body = call(coze_sim, "PUT", f"{GROUPS}/{group_id}", json={"name": "n" * 21}).json()

    assert body["code"] == 4000
    assert coze_sim.groups[group_id]["name"] == "remote group 1"


def test_delete_removes_the_group(coze_sim):
    [group_id] = coze_sim.seed_groups(1)

    body = call(coze_sim, "DELETE", f"{GROUPS}/{group_id}").json()

    assert (body["code"], body["msg"]) == (0, "")
    assert set(body) == {"code", "msg", "detail"}  # no data key, as Coze's answer
    assert coze_sim.groups == {}


def test_an_empty_update_is_accepted_and_changes_nothing(coze_sim):
    [group_id] = coze_sim.seed_groups(1, created_at=1_700_000_000)
    before = dict(coze_sim.groups[group_id])

    body = call(coze_sim, "PUT", f"{GROUPS}/{group_id}", json={}).json()

    assert body["code"] == 0 and coze_sim.groups[group_id] == before


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_group_id_that_is_not_a_number_is_an_invalid_parameter(coze_sim, method):
    body = call(coze_sim, method, f"{GROUPS}/abc", json={"name": "x"}).json()

    assert body["code"] == 4000 and "group_id" in body["msg"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_an_unknown_group_is_not_found(coze_sim, method):
    body = call(coze_sim, method, f"{GROUPS}/7500000000000000001", json={"name": "x"}).json()

    assert body["code"] == 4200
    assert "not found" in body["msg"]


@pytest.mark.parametrize(
    ("method", "path", "token"),
    [
        ("GET", "/v1/audio/voices", TEST_TOKEN),
        ("GET", "/v1/audio/voices", "pat_wrong"),
        ("PATCH", GROUPS, TEST_TOKEN),
        ("GET", f"{GROUPS}/7500000000000000001", TEST_TOKEN),
        ("GET", f"{GROUPS}/7500000000000000001/speaker_identify", TEST_TOKEN),
        ("POST", "/v1/users/me", TEST_TOKEN),
    ],
)
def test_an_unknown_route_is_a_plain_404(coze_sim, method, path, token):
    coze_sim.add_fault("http")  # left for the next API call: a 404 is not one

    answer = call(coze_sim, method, path, token=token)

    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text == "404 page not found"  # no envelope, no code of our making
    assert len(coze_sim.state()["faults"]) == 1
    coze_sim.clear_faults()


# Who the token belongs to, and what only a group's creator may do


def test_users_me_answers_the_tokens_user(coze_sim):
    answer = call(coze_sim, "GET", "/v1/users/me")

    body = answer.json()
    assert (answer.status_code, body["code"], body["msg"]) == (200, 0, "")
    assert set(body["data"]) == {"user_id", "user_name", "nick_name", "avatar_url"}
    assert all(isinstance(value, str) and value for value in body["data"].values())
    assert urlsplit(body["data"]["avatar_url"]).scheme == "https"
    assert body["data"] == coze_sim.user
    assert LOGID.match(answer.headers["x-tt-logid"])
    assert call(coze_sim, "GET", "/v1/users/me", token="pat_wrong").json()["code"] == 4100


def test_a_group_shows_its_creator_as_users_me_names_them(coze_sim):
    create(coze_sim)
    me = call(coze_sim, "GET", "/v1/users/me").json()["data"]

    [item] = call(coze_sim, "GET").json()["data"]["items"]

    assert item["user_info"] == {
        "id": me["user_id"],
        "name": me["user_name"],
        "nickname": me["nick_name"],
        "avatar_url": me["avatar_url"],
    }


def test_list_filters_by_the_callers_own_user_id(coze_sim):
    mine = coze_sim.seed_groups(2, name_prefix="mine")
    theirs = coze_sim.seed_groups(3, name_prefix="theirs", creator_id="7400000000000000042")
    own_id = coze_sim.user["user_id"]

    everyone = call(coze_sim, "GET").json()["data"]
    own = call(coze_sim, "GET", params={"user_id": own_id}).json()["data"]
    blank = call(coze_sim, "GET", params={"user_id": ""}).json()["data"]

    assert everyone["total"] == blank["total"] == 5
    assert own["total"] == 2
    assert {item["id"] for item in own["items"]} == set(mine)
    assert {item["user_info"]["id"] for item in everyone["items"]} == {
        own_id,
        "7400000000000000042",
    }
    assert not set(theirs) & {item["id"] for item in own["items"]}


def test_list_refuses_another_users_id(coze_sim):
    coze_sim.seed_groups(1, creator_id="7400000000000000042")

    body = call(coze_sim, "GET", params={"user_id": "7400000000000000042"}).json()

    assert body["code"] == 4101 and "data" not in body


@pytest.mark.parametrize(("method", "body"), [("PUT", {"name": "mine now"}), ("DELETE", None)])
def test_only_its_creator_may_change_or_delete_a_group(coze_sim, method, body):
    [group_id] = coze_sim.seed_groups(1, creator_id="7400000000000000042")
    before = dict(coze_sim.groups[group_id])

    answer = call(coze_sim, method, f"{GROUPS}/{group_id}", json=body).json()

    assert answer["code"] == 4101 and "creator" in answer["msg"]
    assert coze_sim.groups[group_id] == before


def test_seeding_refuses_a_creator_id_that_is_not_a_string(coze_sim):
    with pytest.raises(ValueError):
        coze_sim.seed_groups(1, creator_id=7400000000000000042)


# Authentication and what is recorded


@pytest.mark.parametrize("token", ["pat_wrong", None])
def test_a_wrong_or_missing_token_gets_cozes_401(coze_sim, token):
    answer = call(coze_sim, "POST", token=token, json={"name": "kiosk"})

    assert answer.status_code == 401
    assert (answer.json()["code"], answer.json()["msg"]) == (4100, "authentication is invalid")
    assert coze_sim.groups == {}
    assert coze_sim.requests[-1]["authorized"] is False


def test_requests_are_recorded_without_the_token(coze_sim):
    call(coze_sim, "POST", json={"name": "kiosk"}, headers={"User-Agent": "probe/1"})

    [sent] = coze_sim.requests
    assert {key: sent[key] for key in ("method", "path", "query", "json", "authorized")} == {
        "method": "POST",
        "path": GROUPS,
        "query": {},
        "json": {"name": "kiosk"},
        "authorized": True,
    }
    assert sent["user_agent"] == "probe/1"
    assert TEST_TOKEN not in repr(coze_sim.requests)


def test_connections_are_kept_alive(coze_sim):
    with requests.Session() as session:
        for _ in range(3):
            session.get(coze_sim.url + GROUPS, headers={"Authorization": f"Bearer {TEST_TOKEN}"})

    assert len({sent["connection"] for sent in coze_sim.requests}) == 1


# Faults


def test_a_code_fault_answers_the_code_and_changes_nothing(coze_sim):
    coze_sim.add_fault("code")
    coze_sim.add_fault("code", code=4101, msg="no permission", status=403)

    first, second, third = (create(coze_sim) for _ in range(3))

    assert (first["code"], first["msg"]) == (4009, "已达系统请求上限，请稍后重试")
    assert (second["code"], second["msg"]) == (4101, "no permission")
    assert third["code"] == 0
    assert len(coze_sim.groups) == 1


def test_an_http_fault_answers_5xx_with_an_envelope(coze_sim):
    coze_sim.add_fault("http", status=503)

    answer = call(coze_sim, "POST", json={"name": "kiosk"})

    assert answer.status_code == 503
    assert answer.json()["code"] != 0
    assert coze_sim.groups == {}


def test_a_nonjson_fault_answers_a_gateway_page(coze_sim):
    coze_sim.add_fault("nonjson")

    answer = call(coze_sim, "POST", json={"name": "kiosk"})

    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in answer.text
    assert coze_sim.groups == {}


def test_a_delay_fault_answers_late_and_still_acts(coze_sim):
    coze_sim.add_fault("delay", seconds=0.5)

    with pytest.raises(requests.ReadTimeout):
        call(coze_sim, "POST", json={"name": "kiosk"}, timeout=0.2)

    wait_for(lambda: len(coze_sim.groups) == 1)


def test_a_reset_cancels_a_request_still_sleeping_in_a_delay(coze_sim):
    coze_sim.add_fault("delay", seconds=1.0)
    outcome = []
    caller = threading.Thread(target=lambda: outcome.append(_answer_or_error(coze_sim)))
    caller.start()
    wait_for(lambda: len(coze_sim.requests) == 1)
    record = coze_sim.requests[-1]

    coze_sim.reset()

    caller.join(timeout=5)  # the request ends when its delay does: dropped, not applied
    assert isinstance(outcome[0], requests.ConnectionError)
    assert coze_sim.groups == {} and record["logid"] == ""


def _answer_or_error(sim):
    try:
        return call(sim, "POST", json={"name": "kiosk"}, timeout=5)
    except requests.RequestException as error:
        return error


def test_a_drop_fault_acts_then_closes_without_an_answer(coze_sim):
    coze_sim.add_fault("drop")
    with pytest.raises(requests.ConnectionError):
        call(coze_sim, "POST", json={"name": "kiosk"})
    assert len(coze_sim.groups) == 1

    coze_sim.add_fault("drop", perform=False)
    with pytest.raises(requests.ConnectionError):
        call(coze_sim, "POST", json={"name": "kiosk"})
    assert len(coze_sim.groups) == 1


def test_faults_match_a_method_and_a_number_of_requests(coze_sim):
    coze_sim.add_fault("code", method="post", times=2)

    assert call(coze_sim, "GET").json()["code"] == 0
    assert [create(coze_sim)["code"] for _ in range(3)] == [4009, 4009, 0]


def test_a_fault_without_a_count_lasts_until_cleared(coze_sim):
    coze_sim.add_fault("http", times=None)

    assert [call(coze_sim, "GET").status_code for _ in range(3)] == [500, 500, 500]
    coze_sim.clear_faults()
    assert call(coze_sim, "GET").status_code == 200


def test_a_fault_can_let_requests_through_before_it_applies(coze_sim):
    coze_sim.add_fault("http", method="GET", after=2)

    assert create(coze_sim)["code"] == 0  # another method: neither counted nor faulted
    assert [call(coze_sim, "GET").status_code for _ in range(4)] == [200, 200, 500, 200]
    assert coze_sim.state()["faults"] == []


def test_a_fault_can_be_for_one_path(coze_sim):
    [one, other] = [create(coze_sim, name)["data"]["id"] for name in ("one", "other")]
    features = f"{GROUPS}/{one}/features"
    coze_sim.add_fault("http", method="GET", path=features, after=1, times=None)

    assert call(coze_sim, "GET", features).status_code == 200  # let through
    assert call(coze_sim, "GET", f"{GROUPS}/{other}/features").status_code == 200
    assert call(coze_sim, "GET").status_code == 200
    assert [call(coze_sim, "GET", features).status_code for _ in range(2)] == [500, 500]
    assert coze_sim.state()["faults"][0]["path"] == features
    with pytest.raises(ValueError):
        coze_sim.add_fault("http", path="v1/audio/voiceprint_groups")


def test_a_waiting_fault_shows_how_many_requests_it_still_lets_through(coze_sim):
    coze_sim.add_fault("drop", times=2, after=3)
    call(coze_sim, "GET")

    [fault] = coze_sim.state()["faults"]
    assert (fault["after"], fault["times"]) == (2, 2)


def test_the_control_api_queues_a_fault_that_waits(coze_sim):
    answer = control(coze_sim, "POST", "faults", json={"kind": "code", "after": 1})
    assert answer.status_code == 200 and answer.json()["faults"][0]["after"] == 1

    assert [create(coze_sim)["code"] for _ in range(3)] == [0, 4009, 0]


def test_faults_apply_only_after_the_bearer_check(coze_sim):
    coze_sim.add_fault("http")

    assert call(coze_sim, "GET", token="pat_wrong").json()["code"] == 4100
    assert call(coze_sim, "GET").status_code == 500


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("teapot", {}),
        ("delay", {"secs": 1}),
        ("code", {"code": "4000"}),
        ("drop", {"times": 0}),
        ("http", {"after": -1}),
        ("http", {"after": "2"}),
        ("http", {"after": True}),
    ],
)
def test_bad_faults_are_rejected(coze_sim, kind, params):
    with pytest.raises(ValueError):
        coze_sim.add_fault(kind, **params)


# Seeding and persistence


def test_seeded_groups_look_created_elsewhere(coze_sim):
    ids = coze_sim.seed_groups(
        3, name_prefix="a very long prefix for names", created_at=1_700_000_000
    )

    assert len(set(ids)) == 3
    for group_id in ids:
        group = coze_sim.groups[group_id]
        assert len(group["name"]) <= 20 and group["created_at"] == 1_700_000_000


def test_seeded_groups_can_have_a_desc_and_be_changed_as_on_cozes_console(coze_sim):
    [group_id] = coze_sim.seed_groups(1, desc="made in the console", created_at=1_700_000_000)

    changed = coze_sim.edit_group(group_id, name="renamed", feature_count=2)

    [item] = call(coze_sim, "GET").json()["data"]["items"]
    assert (item["name"], item["desc"], item["feature_count"]) == (
        "renamed",
        "made in the console",
        2,
    )
    assert item["created_at"] == 1_700_000_000 < item["updated_at"] == changed["updated_at"]
    with pytest.raises(ValueError):
        coze_sim.edit_group(group_id, icon_url="x")
    with pytest.raises(KeyError):
        coze_sim.edit_group("1", name="nobody")


def test_a_state_file_keeps_the_groups_across_restarts(tmp_path):
    state = tmp_path / "sim.json"
    sim = CozeSimulator(TEST_TOKEN, state_file=state).start()
    try:
        kept = create(sim, "kept")["data"]["id"]
        gone = create(sim, "gone")["data"]["id"]
        call(sim, "DELETE", f"{GROUPS}/{gone}")
    finally:
        sim.stop()

    assert [group["id"] for group in json.loads(state.read_text())["groups"]] == [kept]
    assert list(tmp_path.iterdir()) == [state]  # no temporary file left behind
    again = CozeSimulator(TEST_TOKEN, state_file=state).start()
    try:
        assert [item["name"] for item in call(again, "GET").json()["data"]["items"]] == ["kept"]
        assert create(again, "new")["data"]["id"] not in (kept, gone)
    finally:
        again.stop()


# The control API


def test_the_control_api_reports_state(coze_sim):
    coze_sim.seed_groups(2)
    coze_sim.add_fault("delay", seconds=1, times=None)

    state = control(coze_sim, "GET", "state").json()

    assert (state["groups"], state["quota"]) == (2, 1000)
    assert state["faults"] == [{"kind": "delay", "method": None, "times": None, "seconds": 1}]
    coze_sim.clear_faults()


def test_the_control_api_queues_and_clears_faults(coze_sim):
    answer = control(coze_sim, "POST", "faults", json={"kind": "code", "code": 4101, "times": 2})
    assert answer.status_code == 200
    assert create(coze_sim)["code"] == 4101

    assert control(coze_sim, "DELETE", "faults").json()["faults"] == []
    assert create(coze_sim)["code"] == 0


def test_the_control_api_rejects_a_bad_fault(coze_sim):
    answer = control(coze_sim, "POST", "faults", json={"kind": "teapot"})

    assert answer.status_code == 400
    assert "teapot" in answer.json()["error"]


def test_the_control_api_seeds_sets_quota_and_resets(coze_sim):
    seeded = control(coze_sim, "POST", "seed", json={"count": 3}).json()
    assert seeded["groups"] == 3 and set(seeded["ids"]) == set(coze_sim.groups)
    theirs = control(coze_sim, "POST", "seed", json={"count": 1, "creator_id": "74000042"})
    [their_id] = theirs.json()["ids"]
    assert coze_sim.groups[their_id]["user_info"]["id"] == "74000042"
    assert control(coze_sim, "POST", "seed", json={"count": 1, "creator_id": 7}).status_code == 400

    assert control(coze_sim, "POST", "quota", json={"quota": 4}).json()["quota"] == 4
    assert create(coze_sim)["code"] == 4118

    assert control(coze_sim, "POST", "reset").json()["groups"] == 0
    assert coze_sim.quota == 1000


def test_control_calls_need_no_token_and_are_not_recorded(coze_sim):
    control(coze_sim, "GET", "state")
    control(coze_sim, "POST", "seed", json={"count": 1})

    assert coze_sim.requests == []
    assert control(coze_sim, "GET", "nothing").status_code == 404


# The management command


def test_runcozesim_serves_the_configured_token_until_terminated(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "manage.py", "runcozesim", f"127.0.0.1:{port}", "--seed", "2"]
    command += ["--quota", "5", "--state", str(tmp_path / "sim.json")]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}" in line
        assert "2 groups, quota 5" in line and TEST_TOKEN not in line

        remote = SimpleNamespace(url=f"http://127.0.0.1:{port}")
        assert call(remote, "GET").json()["data"]["total"] == 2
        assert call(remote, "GET", token="pat_wrong").status_code == 401
        assert control(remote, "GET", "state").json()["quota"] == 5
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=5) == 0
        server.stdout.close()
    assert len(json.loads((tmp_path / "sim.json").read_text())["groups"]) == 2
