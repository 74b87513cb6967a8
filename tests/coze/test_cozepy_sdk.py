"""The official SDK, cozepy, works unchanged against the simulator."""

import re
import warnings

import pytest

with warnings.catch_warnings():
    # cozepy imports authlib.jose, which warns about its own deprecation (harmless here);
    # authlib sets its warning to "always" on import, so ours must come after that.
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from cozepy import Coze, CozeAPIError, TokenAuth

from tests.conftest import TEST_TOKEN

# 34 characters: a 14-digit timestamp and 20 upper-case hex digits, as Coze's.
LOGID = re.compile(r"^\d{14}[0-9A-F]{20}$")


def coze(sim, token=TEST_TOKEN):
    return Coze(auth=TokenAuth(token=token), base_url=sim.url)


def sdk(sim, token=TEST_TOKEN):
    return coze(sim, token).audio.voiceprint_groups


def test_create(coze_sim):
    group = sdk(coze_sim).create(name="音箱1的声纹组", desc="客厅")

    assert coze_sim.groups[group.id]["name"] == "音箱1的声纹组"
    assert LOGID.match(group.response.logid)
    assert group.response.logid == coze_sim.requests[-1]["logid"]
    assert coze_sim.requests[-1]["json"] == {"name": "音箱1的声纹组", "desc": "客厅"}


def test_list_iterates_every_page(coze_sim):
    seeded = coze_sim.seed_groups(25)

    groups = sdk(coze_sim).list(page_size=10)
    pages = list(groups.iter_pages())

    assert [len(page.items) for page in pages] == [10, 10, 5]
    assert groups.total == 25
    assert [group.id for group in groups] == list(reversed(seeded))
    first = pages[0].items[0]
    assert (first.feature_count, first.user_info.nickname) == (0, "Coze simulator")
    assert [sent["query"] for sent in coze_sim.requests[:3]] == [
        {"page_num": str(n), "page_size": "10"} for n in (1, 2, 3)
    ]


def test_list_filters_by_name(coze_sim):
    coze_sim.seed_groups(3, name_prefix="car")
    sdk(coze_sim).create(name="kiosk")

    assert [group.name for group in sdk(coze_sim).list(name="kio")] == ["kiosk"]


def test_update_and_delete(coze_sim):
    [group_id] = coze_sim.seed_groups(1)
    groups = sdk(coze_sim)

    groups.update(group_id=group_id, name="hall", desc="by the door")
    assert (coze_sim.groups[group_id]["name"], coze_sim.groups[group_id]["desc"]) == (
        "hall",
        "by the door",
    )

    groups.delete(group_id=group_id)
    assert coze_sim.groups == {}


def test_update_and_delete_answers_without_data_validate(coze_sim):
    [group_id] = coze_sim.seed_groups(1)

    updated = sdk(coze_sim).update(group_id=group_id, name="hall")
    deleted = sdk(coze_sim).delete(group_id=group_id)

    for answer in (updated, deleted):
        assert LOGID.match(answer.response.logid)
    assert [r["method"] for r in coze_sim.requests] == ["PUT", "DELETE"]


def test_list_filters_by_group_id_and_by_the_callers_user_id(coze_sim):
    mine = coze_sim.seed_groups(2, name_prefix="mine")
    coze_sim.seed_groups(2, name_prefix="theirs", creator_id="7400000000000000042")
    me = coze(coze_sim).users.me()

    own = list(sdk(coze_sim).list(user_id=me.user_id))
    [one] = sdk(coze_sim).list(group_id=mine[0])

    assert sorted(group.id for group in own) == sorted(mine)
    assert all(group.user_info.id == me.user_id for group in own)
    assert len(list(sdk(coze_sim).list())) == 4
    assert one.id == mine[0]
    assert any(sent["query"].get("user_id") == me.user_id for sent in coze_sim.requests)


def test_users_me(coze_sim):
    me = coze(coze_sim).users.me()

    assert (me.user_id, me.user_name, me.nick_name, me.avatar_url) == (
        coze_sim.user["user_id"],
        coze_sim.user["user_name"],
        coze_sim.user["nick_name"],
        coze_sim.user["avatar_url"],
    )
    assert me.avatar_url.startswith("https://")
    assert LOGID.match(me.response.logid)
    assert coze_sim.requests[-1]["path"] == "/v1/users/me"


def test_a_group_lists_its_icon_and_its_creators_avatar_as_urls(coze_sim):
    coze_sim.seed_groups(1)

    [group] = sdk(coze_sim).list()

    assert group.icon_url.startswith("https://")
    assert group.user_info.avatar_url.startswith("https://")


@pytest.mark.parametrize("call", ["create", "list", "me"])
def test_a_wrong_token_raises_coze_api_error_4100(coze_sim, call):
    client = coze(coze_sim, token="pat_wrong")
    with pytest.raises(CozeAPIError) as caught:
        if call == "create":
            client.audio.voiceprint_groups.create(name="kiosk")
        elif call == "list":
            list(client.audio.voiceprint_groups.list())
        else:
            client.users.me()

    assert (caught.value.code, caught.value.msg) == (4100, "authentication is invalid")
    assert LOGID.match(caught.value.logid)
    assert caught.value.logid == coze_sim.requests[-1]["logid"]
    assert coze_sim.groups == {}


def test_cozes_refusals_raise_coze_api_error(coze_sim):
    with pytest.raises(CozeAPIError) as caught:
        sdk(coze_sim).create(name="n" * 21)
    assert caught.value.code == 4000

    with pytest.raises(CozeAPIError) as caught:
        sdk(coze_sim).delete(group_id="7500000000000000001")
    assert caught.value.code == 4200
    assert "not found" in caught.value.msg and LOGID.match(caught.value.logid)


@pytest.mark.parametrize("call", ["update", "delete"])
def test_a_colleagues_group_cannot_be_changed(coze_sim, call):
    [group_id] = coze_sim.seed_groups(1, creator_id="7400000000000000042")

    with pytest.raises(CozeAPIError) as caught:
        if call == "update":
            sdk(coze_sim).update(group_id=group_id, name="mine now")
        else:
            sdk(coze_sim).delete(group_id=group_id)

    assert caught.value.code == 4101 and "creator" in caught.value.msg
    assert LOGID.match(caught.value.logid)
    assert coze_sim.groups[group_id]["name"] == "remote group 1"


def test_listing_another_users_groups_is_refused(coze_sim):
    with pytest.raises(CozeAPIError) as caught:
        list(sdk(coze_sim).list(user_id="7400000000000000042"))

    assert caught.value.code == 4101


@pytest.mark.parametrize(("code", "status"), [(4009, 200), (4020, 429), (4013, 200)])
def test_faults_raise_coze_api_error_with_code_msg_and_logid(coze_sim, code, status):
    coze_sim.add_fault("code", code=code, status=status, msg="said Coze")

    with pytest.raises(CozeAPIError) as caught:
        sdk(coze_sim).create(name="kiosk")

    assert (caught.value.code, caught.value.msg) == (code, "said Coze")
    assert caught.value.logid == coze_sim.requests[-1]["logid"]
    assert LOGID.match(caught.value.logid)


def test_an_error_body_raises_coze_api_error_with_its_message(coze_sim):
    coze_sim.add_fault("raw")

    with pytest.raises(CozeAPIError) as caught:
        list(sdk(coze_sim).list())

    assert caught.value.msg == "invalid parameter"
    assert LOGID.match(caught.value.logid)


def test_an_unknown_route_is_a_plain_404(coze_sim):
    client = Coze(auth=TokenAuth(token=TEST_TOKEN), base_url=coze_sim.url + "/nowhere")

    with pytest.raises(CozeAPIError) as caught:
        client.users.me()

    assert (caught.value.code, caught.value.msg) == (404, "404 page not found")


def test_a_second_accounts_token_works_unchanged(coze_accounts):
    """Each account is the same simulator by another token: cozepy sees its own account."""
    accounts = coze_accounts(default=3, cn2=2)
    cn2 = Coze(auth=TokenAuth(token=accounts["cn2"].token), base_url=accounts["cn2"].url)
    made = [cn2.audio.voiceprint_groups.create(name=f"shop {n}") for n in (1, 2)]
    mine = sdk(accounts["default"]).create(name="home")

    me = cn2.users.me()
    groups = list(cn2.audio.voiceprint_groups.list())
    with pytest.raises(CozeAPIError) as caught:
        cn2.audio.voiceprint_groups.create(name="shop 3")

    assert (
        me.user_id
        == accounts["cn2"].user["user_id"]
        != coze(accounts["default"]).users.me().user_id
    )
    assert {group.id for group in groups} == {group.id for group in made}
    assert {group.user_info.id for group in groups} == {me.user_id}
    assert caught.value.code == 4118 and LOGID.match(caught.value.logid)
    assert [group.id for group in sdk(accounts["default"]).list()] == [mine.id]
    with pytest.raises(CozeAPIError) as caught:
        cn2.audio.voiceprint_groups.delete(group_id=mine.id)
    assert caught.value.code == 4200
