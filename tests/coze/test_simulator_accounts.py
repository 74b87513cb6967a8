"""The simulator serving several Coze accounts: one token each, each its own groups,
voiceprints, quota, Coze user, ids and faults; any other token refused."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from groups.coze.simulator import CODE_AUTH, CODE_NOT_FOUND, CODE_QUOTA, OWNER, CozeSimulator
from groups.coze.simulator.accounts import DEFAULT
from tests import audio
from tests.conftest import TEST_TOKEN
from vpadmin import coze_accounts

GROUPS = "/v1/audio/voiceprint_groups"


def call(account, method, path=GROUPS, *, token=None, **kwargs):
    """One API request with the account's token (or `token`)."""
    headers = {"Authorization": f"Bearer {token or account.token}"}
    return requests.request(method, account.url + path, headers=headers, timeout=2, **kwargs)


def create(account, name="kiosk"):
    return call(account, "POST", json={"name": name}).json()


def listed(account, **params):
    return call(account, "GET", params={"page_size": 200, **params}).json()["data"]


def control(sim, method, path, **kwargs):
    return requests.request(method, f"{sim.url}/_sim/{path}", timeout=2, **kwargs)


@pytest.fixture
def two(coze_accounts):
    """Two accounts, as step 12's check has them: the default one (quota 3) and cn2 (2)."""
    return SimpleNamespace(**coze_accounts(default=3, cn2=2))


def test_the_settings_name_the_default_account_as_the_simulator_does():
    assert DEFAULT == coze_accounts.DEFAULT


def test_the_fixture_configures_vpadmin_and_the_simulator_alike(two, coze_sim, settings):
    configured = settings.COZE_ACCOUNTS
    assert configured["default"] == {"token": TEST_TOKEN, "base": coze_sim.url, "quota": 3}
    assert configured["cn2"] == {"token": "pat_test_cn2", "base": coze_sim.url, "quota": 2}
    assert list(configured) == ["default", "cn2"]
    assert (two.default.token, two.default.quota) == (TEST_TOKEN, 3)
    assert (two.cn2.token, two.cn2.quota, two.cn2.url) == ("pat_test_cn2", 2, coze_sim.url)


def test_each_account_lists_only_its_own_groups(two):
    ours = {create(two.default, f"home {n}")["data"]["id"] for n in range(2)}
    theirs = create(two.cn2, "shop")["data"]["id"]

    assert {item["id"] for item in listed(two.default)["items"]} == ours
    assert [item["id"] for item in listed(two.cn2)["items"]] == [theirs]
    assert listed(two.cn2)["total"] == 1
    assert set(two.default.groups) == ours and set(two.cn2.groups) == {theirs}


def test_each_account_has_its_own_quota(two):
    assert [create(two.default, f"home {n}")["code"] for n in range(3)] == [0, 0, 0]
    assert [create(two.cn2, f"shop {n}")["code"] for n in range(2)] == [0, 0]

    full, full_too = create(two.default, "home 4"), create(two.cn2, "shop 3")

    assert (full["code"], full_too["code"]) == (CODE_QUOTA, CODE_QUOTA)
    assert "at most 3 groups" in full["msg"] and "at most 2 groups" in full_too["msg"]
    assert (len(two.default.groups), len(two.cn2.groups)) == (3, 2)
    # A slot freed in one account is that account's alone.
    call(two.cn2, "DELETE", f"{GROUPS}/{next(iter(two.cn2.groups))}")
    assert create(two.default, "home 5")["code"] == CODE_QUOTA
    assert create(two.cn2, "shop 4")["code"] == 0


def test_users_me_answers_each_tokens_own_user(two):
    mine = call(two.default, "GET", "/v1/users/me").json()["data"]
    theirs = call(two.cn2, "GET", "/v1/users/me").json()["data"]

    assert mine == OWNER == two.default.user
    assert theirs == two.cn2.user and theirs["user_id"] != mine["user_id"]
    assert set(theirs) == set(mine) and all(theirs.values())
    create(two.cn2, "shop")
    [group] = listed(two.cn2, user_id=theirs["user_id"])["items"]
    assert group["user_info"]["id"] == theirs["user_id"]
    refused = call(two.cn2, "GET", params={"user_id": mine["user_id"]}).json()
    assert refused["code"] == 4101  # another account's user is not the caller


def test_an_accounts_user_is_the_same_after_a_restart(two, coze_sim):
    again = CozeSimulator("pat_other", accounts={"cn2": {"token": "pat_x", "quota": 1}})
    assert again.account("cn2").user == two.cn2.user


def test_ids_tell_the_account_and_another_accounts_id_is_not_found(two):
    home = create(two.default)["data"]["id"]
    shop = create(two.cn2)["data"]["id"]

    assert two.default.holds_id(home) and not two.default.holds_id(shop)
    assert two.cn2.holds_id(shop) and not two.cn2.holds_id(home)
    assert len(home) == len(shop) == 19
    assert listed(two.default, group_id=shop)["total"] == 0
    for method, body in (("PUT", {"name": "taken"}), ("DELETE", None)):
        answer = call(two.default, method, f"{GROUPS}/{shop}", json=body).json()
        assert answer["code"] == CODE_NOT_FOUND
    assert two.cn2.groups[shop]["name"] == "kiosk"


def test_a_voiceprint_in_one_account_is_not_visible_from_the_other(two):
    home = create(two.default)["data"]["id"]
    features = f"{GROUPS}/{home}/features"
    made = call(
        two.default, "POST", features, data={"name": "Mei"}, files={"file": audio.wav()}
    ).json()
    assert made["code"] == 0

    assert call(two.default, "GET", features).json()["data"]["total"] == 1
    assert call(two.cn2, "GET", features).json()["code"] == CODE_NOT_FOUND
    gone = call(two.cn2, "DELETE", f"{features}/{made['data']['id']}").json()
    assert gone["code"] == CODE_NOT_FOUND
    assert set(two.default.voiceprints) == {made["data"]["id"]} and two.cn2.voiceprints == {}


def test_ten_voiceprints_a_group_in_every_account(two):
    shop = create(two.cn2)["data"]["id"]
    two.cn2.seed_voiceprints(shop, 10)

    features = f"{GROUPS}/{shop}/features"
    eleventh = call(two.cn2, "POST", features, data={"name": "Li"}, files={"file": audio.wav()})

    assert eleventh.json()["code"] == CODE_QUOTA
    assert two.cn2.groups[shop]["feature_count"] == 10 and two.default.voiceprints == {}


def test_an_unknown_token_is_refused_and_recorded_as_nobodys(two, coze_sim):
    answer = call(two.cn2, "GET", token="pat_test_intl")

    assert (answer.status_code, answer.json()["code"]) == (401, CODE_AUTH)
    assert call(two.cn2, "GET", token="pat_test_cn2 ").status_code == 401
    record = coze_sim.requests[-1]
    assert (record["authorized"], record["account"]) == (False, None)
    assert two.cn2.requests == two.default.requests == []


def test_requests_are_recorded_with_their_account(two, coze_sim):
    create(two.default)
    listed(two.cn2)

    assert [(r["method"], r["account"]) for r in coze_sim.requests] == [
        ("POST", "default"),
        ("GET", "cn2"),
    ]
    assert [r["method"] for r in two.cn2.requests] == ["GET"]
    assert control(coze_sim, "GET", "state").json()["accounts"]["cn2"]["requests"] == 1


# Faults and the control API


def test_a_fault_for_one_account_leaves_the_other_alone(two, coze_sim):
    two.cn2.add_fault("http", times=None)

    assert call(two.cn2, "GET").status_code == 500
    assert call(two.default, "GET").json()["code"] == 0
    assert coze_sim.state()["faults"] == []  # the default account's
    assert len(coze_sim.state()["accounts"]["cn2"]["faults"]) == 1
    coze_sim.add_fault("code", code=4009)  # the default account's, as before
    assert call(two.cn2, "GET").status_code == 500
    assert call(two.default, "GET").json()["code"] == 4009

    coze_sim.clear_faults()  # every account's
    assert call(two.cn2, "GET").json()["code"] == 0


def test_a_delay_in_one_account_does_not_hold_the_other(two):
    two.default.add_fault("delay", seconds=1.0)
    slow = threading.Thread(target=lambda: call(two.default, "GET"))
    slow.start()
    time.sleep(0.1)  # the slow request is asleep in its delay

    started = time.monotonic()
    assert call(two.cn2, "GET").json()["code"] == 0
    assert time.monotonic() - started < 0.5
    slow.join()


def test_the_control_api_targets_one_account_or_all(two, coze_sim):
    fault = {"kind": "code", "code": 4101, "times": None}
    assert control(coze_sim, "POST", "faults", json={**fault, "account": "cn2"}).ok

    assert call(two.cn2, "GET").json()["code"] == 4101
    assert call(two.default, "GET").json()["code"] == 0

    everywhere = control(coze_sim, "POST", "faults", json={"kind": "http", "account": "*"})
    assert len(everywhere.json()["accounts"]["default"]["faults"]) == 1
    assert call(two.default, "GET").status_code == 500
    assert call(two.cn2, "GET").json()["code"] == 4101  # the first fault in its queue

    cleared = control(coze_sim, "DELETE", "faults", json={"account": "cn2"}).json()
    assert (cleared["account"], cleared["faults"]) == ("cn2", [])
    assert call(two.cn2, "GET").json()["code"] == 0
    assert control(coze_sim, "DELETE", "faults").json()["accounts"]["default"]["faults"] == []


def test_the_control_api_seeds_sets_the_quota_and_resets_one_account(two, coze_sim):
    seeded = control(coze_sim, "POST", "seed", json={"count": 2, "account": "cn2"}).json()
    assert (seeded["account"], seeded["groups"]) == ("cn2", 2)
    assert set(seeded["ids"]) == set(two.cn2.groups) and two.default.groups == {}
    [group_id] = seeded["ids"][:1]
    voiceprints = {"group_id": group_id, "count": 3, "account": "cn2"}
    assert len(control(coze_sim, "POST", "seed_voiceprints", json=voiceprints).json()["ids"]) == 3
    assert control(coze_sim, "POST", "quota", json={"quota": 7, "account": "cn2"}).ok
    assert (two.cn2.quota, two.default.quota) == (7, 3)
    create(two.default)

    reset = control(coze_sim, "POST", "reset", json={"account": "cn2"}).json()

    assert (reset["groups"], reset["quota"]) == (0, 2)  # its first quota
    assert two.cn2.voiceprints == {} and len(two.default.groups) == 1
    assert len(coze_sim.requests) == 1  # the records stay: only sim.reset() forgets them
    assert control(coze_sim, "POST", "reset").json()["groups"] == 0
    assert coze_sim.requests == []


def test_the_control_api_state_of_one_account(two, coze_sim):
    create(two.cn2)

    state = control(coze_sim, "GET", "state", json={"account": "cn2"}).json()

    assert state == {"account": "cn2", "groups": 1, "quota": 2, "faults": [], "requests": 1}
    assert control(coze_sim, "GET", "state").json()["groups"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "http", "account": "intl"},
        {"kind": "http", "account": 7},
        {"count": 1, "account": "*", "path": "seed"},
    ],
)
def test_the_control_api_refuses_an_account_it_cannot_target(two, coze_sim, body):
    path = body.pop("path", "faults")

    answer = control(coze_sim, "POST", path, json=body)

    assert answer.status_code == 400 and answer.json()["error"]
    assert coze_sim.state()["accounts"]["cn2"]["faults"] == [] and two.cn2.groups == {}


# Configuring the accounts served


@pytest.mark.parametrize(
    "accounts",
    [
        {"cn2": {"token": TEST_TOKEN, "quota": 2}},  # the default account's token
        {"cn2": {"token": "pat_a"}, "intl": {"token": "pat_a"}},
        {"cn2": {"token": ""}},
        {"CN2": {"token": "pat_a"}},
        {"cn-2": {"token": "pat_a"}},
        {"cn2": {"token": "pat_a", "quota": -1}},
        {"cn2": {"token": "pat_a", "quota": "3"}},
        {f"a{n}": {"token": f"pat_{n}"} for n in range(101)},
    ],
)
def test_the_accounts_served_are_checked(accounts):
    with pytest.raises(ValueError):
        CozeSimulator(TEST_TOKEN, accounts=accounts)


def test_serving_other_accounts_forgets_the_ones_before(two, coze_sim):
    create(two.cn2)

    coze_sim.serve_accounts({"intl": {"token": "pat_test_intl", "quota": 5}})

    assert list(coze_sim.accounts) == ["default", "intl"]
    assert call(two.cn2, "GET").status_code == 401
    intl = coze_sim.account("intl")
    assert listed(intl)["total"] == 0 and intl.holds_id(create(intl)["data"]["id"])
    with pytest.raises(ValueError, match="cn2"):
        coze_sim.account("cn2")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_runcozesim_serves_the_accounts_of_coze_accounts_with_development_tokens(tmp_path):
    """No COZE_API_TOKEN: every account gets its fixed development token, as vpadmin
    sends it, and its own state file beside the default account's."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("COZE_")}
    env.update(
        DJANGO_SETTINGS_MODULE="vpadmin.settings",
        SECRET_KEY="runcozesim-test-" + "k" * 40,
        COZE_API_BASE=f"http://127.0.0.1:{port}",
        COZE_ACCOUNTS="cn2,intl",
        COZE_GROUP_QUOTA="3",
        COZE_CN2_GROUP_QUOTA="2",
    )
    state = tmp_path / "sim.json"
    command = [sys.executable, "manage.py", "runcozesim", "--state", str(state)]
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}" in line
        assert "0 groups, quota 3; account cn2: 0 groups, quota 2; account intl" in line
        assert "pat_vpadmin_simulator" not in line

        def account(token):
            return SimpleNamespace(url=f"http://127.0.0.1:{port}", token=token)

        default, cn2, intl = (
            account(coze_accounts.dev_token(name)) for name in ("default", "cn2", "intl")
        )
        assert cn2.token == "pat_vpadmin_simulator_cn2"
        assert [create(cn2, f"shop {n}")["code"] for n in range(3)] == [0, 0, CODE_QUOTA]
        assert create(intl)["code"] == 0
        assert (listed(default)["total"], listed(cn2)["total"], listed(intl)["total"]) == (0, 2, 1)
        users = {call(a, "GET", "/v1/users/me").json()["data"]["user_id"] for a in (default, cn2)}
        assert len(users) == 2
        assert call(default, "GET", token="pat_vpadmin_simulator_eu").status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=5) == 0
        server.stdout.close()
    assert not state.exists()  # the default account changed nothing
    assert len(json.loads((tmp_path / "sim.cn2.json").read_text())["groups"]) == 2
    assert len(json.loads((tmp_path / "sim.intl.json").read_text())["groups"]) == 1


def test_a_restarted_account_keeps_its_groups_and_its_range_of_ids(tmp_path):
    accounts = {"cn2": {"token": "pat_a", "quota": 5, "state_file": tmp_path / "cn2.json"}}
    first = CozeSimulator(TEST_TOKEN, accounts=accounts).start()
    try:
        made = create(first.account("cn2"))["data"]["id"]
    finally:
        first.stop()

    # Named second now: the ids it made stay, and new ones come from its new range.
    again = CozeSimulator(TEST_TOKEN, accounts={"intl": {"token": "pat_b"}, **accounts}).start()
    try:
        cn2 = again.account("cn2")
        assert (
            set(cn2.groups) == {made} and cn2.groups[made]["user_info"]["id"] == cn2.user["user_id"]
        )
        assert cn2.holds_id(create(cn2)["data"]["id"])
    finally:
        again.stop()
