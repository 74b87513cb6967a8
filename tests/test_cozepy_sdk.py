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

from .conftest import TEST_TOKEN

# 34 characters: a 14-digit timestamp and 20 upper-case hex digits, as Coze's.
LOGID = re.compile(r"^\d{14}[0-9A-F]{20}$")


def sdk(sim, token=TEST_TOKEN):
    return Coze(auth=TokenAuth(token=token), base_url=sim.url).audio.voiceprint_groups


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


def test_a_wrong_token_raises_coze_api_error_4100(coze_sim):
    with pytest.raises(CozeAPIError) as caught:
        sdk(coze_sim, token="pat_wrong").create(name="kiosk")

    assert caught.value.code == 4100
    assert LOGID.match(caught.value.logid)
    assert coze_sim.groups == {}


def test_cozes_refusals_raise_coze_api_error(coze_sim):
    with pytest.raises(CozeAPIError) as caught:
        sdk(coze_sim).create(name="n" * 21)
    assert caught.value.code == 4000

    with pytest.raises(CozeAPIError) as caught:
        sdk(coze_sim).delete(group_id="7500000000000000001")
    assert caught.value.code == 4200
