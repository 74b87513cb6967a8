"""Voiceprints in a group through the Coze client, against the simulator on its socket:
the calls as Coze documents them, and Coze's rules for the audio and who may change it."""

import re

import pytest
import requests

from groups import coze
from tests import audio
from tests.conftest import TEST_TOKEN

COLLEAGUE = "7400000000000000042"
LOGID = re.compile(r"^\d{14}[0-9A-F]{20}$")


@pytest.fixture
def group_id(coze_sim):
    return coze.get_client().create_group("living room").data["id"]


def enroll(group_id, name="Mei", data=None, **fields):
    return coze.get_client().create_voiceprint(group_id, name, data or audio.wav(), **fields)


def refused(call, *args, **kwargs):
    with pytest.raises(coze.CozeRefused) as caught:
        call(*args, **kwargs)
    return caught.value


def post_raw(sim, group_id, **kwargs):
    """A create sent by hand, for bodies no client of ours would send."""
    url = f"{sim.url}/v1/audio/voiceprint_groups/{group_id}/features"
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    return requests.post(url, headers=headers, timeout=2, **kwargs).json()


# Create


def test_create_returns_the_new_id_and_logid(coze_sim, group_id):
    answer = enroll(group_id, "Mei", desc="grandmother")

    feature_id = answer.data["id"]
    assert re.fullmatch(r"\d{19}", feature_id)
    assert LOGID.match(answer.logid) and answer.logid == coze_sim.requests[-1]["logid"]
    stored = coze_sim.voiceprints[feature_id]
    assert (stored["group_id"], stored["name"], stored["desc"]) == (group_id, "Mei", "grandmother")
    assert coze_sim.groups[group_id]["feature_count"] == 1


def test_create_sends_every_field_as_text_in_a_multipart_form(coze_sim, group_id):
    enroll(group_id, "Mei", desc="", sample_rate=16000, channel=1)

    sent = coze_sim.requests[-1]
    assert (sent["method"], sent["path"]) == (
        "POST",
        f"/v1/audio/voiceprint_groups/{group_id}/features",
    )
    assert sent["form"] == {"name": "Mei", "desc": "", "sample_rate": "16000", "channel": "1"}
    [sent_file] = sent["files"]
    assert (sent_file["name"], sent_file["format"], sent_file["sample_rate"]) == (
        "file",
        "wav",
        16000,
    )
    assert (sent_file["channels"], sent_file["sample_width"]) == (1, 2)


def test_create_leaves_out_the_fields_not_given(coze_sim, group_id):
    enroll(group_id, "Mei")

    assert coze_sim.requests[-1]["form"] == {"name": "Mei"}


def test_raw_pcm_16k_mono_is_accepted(coze_sim, group_id):
    feature_id = enroll(group_id, data=audio.pcm(), sample_rate=16000, channel=1).data["id"]

    assert coze_sim.voiceprints[feature_id]["audio_format"]["format"] == "pcm"


def test_a_wav_of_another_rate_is_accepted_as_its_header_says(coze_sim, group_id):
    feature_id = enroll(group_id, data=audio.wav(0.5, rate=44100, channels=2)).data["id"]

    assert coze_sim.voiceprints[feature_id]["audio_format"]["sample_rate"] == 44100


def test_a_create_is_never_sent_twice(coze_sim, group_id):
    coze_sim.add_fault("drop", method="POST")

    with pytest.raises(coze.CozeNoAnswer) as caught:
        enroll(group_id)

    assert not caught.value.worth_retrying
    assert [r["method"] for r in coze_sim.requests] == ["POST", "POST"]  # group, voiceprint
    assert coze_sim.groups[group_id]["feature_count"] == 1  # Coze acted all the same


def test_a_rate_limited_create_is_not_worth_retrying_but_the_rest_are(coze_sim, group_id):
    [feature_id] = coze_sim.seed_voiceprints(group_id, 1)
    coze_sim.add_fault("code", code=4020, status=429, times=None)
    client = coze.get_client()

    errors = [
        refused(enroll, group_id),
        refused(client.list_voiceprints, group_id),
        refused(client.update_voiceprint, group_id, feature_id, name="Li"),
        refused(client.delete_voiceprint, group_id, feature_id),
    ]

    assert all(error.rate_limited for error in errors)
    assert [error.worth_retrying for error in errors] == [False, True, True, True]
    coze_sim.clear_faults()


def test_a_success_without_a_voiceprint_id_is_no_answer(coze_sim, group_id):
    coze_sim.add_fault("code", code=0, msg="")

    with pytest.raises(coze.CozeNoAnswer) as caught:
        enroll(group_id)

    assert caught.value.reason == "no_voiceprint_id" and caught.value.http_status == 200
    assert caught.value.sentence() == "the answer had no voiceprint id"


# List


def test_list_pages_the_groups_voiceprints_newest_first(coze_sim, group_id):
    seeded = coze_sim.seed_voiceprints(group_id, 5)
    client = coze.get_client()

    pages = [client.list_voiceprints(group_id, n, 2).data for n in (1, 2, 3)]

    assert [page["total"] for page in pages] == [5, 5, 5]
    assert [item["id"] for page in pages for item in page["items"]] == list(reversed(seeded))
    assert coze_sim.requests[-1]["query"] == {"page_num": "3", "page_size": "2"}
    assert "has_more" not in pages[0]


def test_list_items_have_cozes_shape(coze_sim, group_id):
    enroll(group_id, "Mei", desc="grandmother")

    [item] = coze.get_client().list_voiceprints(group_id).data["items"]

    assert set(item) == {
        "id",
        "group_id",
        "name",
        "desc",
        "icon_url",
        "audio_url",
        "created_at",
        "updated_at",
        "user_info",
    }
    assert item["user_info"]["id"] == coze_sim.user["user_id"]
    assert isinstance(item["created_at"], int) and (item["name"], item["group_id"]) == (
        "Mei",
        group_id,
    )
    assert coze_sim.requests[-1]["query"] == {"page_num": "1", "page_size": "200"}


def test_list_refuses_page_sizes_outside_1_to_200(coze_sim, group_id):
    assert refused(coze.get_client().list_voiceprints, group_id, 1, 201).code == 4000


def test_an_unknown_group_is_not_found(coze_sim):
    error = refused(coze.get_client().list_voiceprints, "7500000000000000001")

    assert error.not_found
    assert refused(enroll, "7500000000000000001").code == 4200


# Update and delete


def test_a_rename_is_multipart_without_a_file(coze_sim, group_id):
    feature_id = enroll(group_id, "Mei").data["id"]

    answer = coze.get_client().update_voiceprint(group_id, feature_id, name="Mei Lin", desc="")

    assert answer.data == {}
    sent = coze_sim.requests[-1]
    assert (sent["method"], sent["form"], sent["files"]) == (
        "PUT",
        {"name": "Mei Lin", "desc": ""},
        [],
    )
    assert coze_sim.voiceprints[feature_id]["name"] == "Mei Lin"


def test_re_enrolling_replaces_the_audio(coze_sim, group_id):
    feature_id = enroll(group_id, "Mei").data["id"]
    coze_sim.voiceprints[feature_id]["audio_url"] = "https://old.invalid/mei.wav"

    coze.get_client().update_voiceprint(group_id, feature_id, audio=audio.wav(2.0))

    stored = coze_sim.voiceprints[feature_id]
    assert stored["audio_url"] != "https://old.invalid/mei.wav"
    assert stored["name"] == "Mei"
    assert coze_sim.requests[-1]["files"][0]["size"] == len(audio.wav(2.0))


def test_delete_removes_it_and_the_group_counts_one_fewer(coze_sim, group_id):
    kept, gone = enroll(group_id, "Mei").data["id"], enroll(group_id, "Li").data["id"]

    answer = coze.get_client().delete_voiceprint(group_id, gone)

    assert answer.data == {}
    assert set(coze_sim.voiceprints) == {kept}
    assert coze_sim.groups[group_id]["feature_count"] == 1
    assert refused(coze.get_client().delete_voiceprint, group_id, gone).not_found


def test_a_rename_or_re_enrollment_moves_the_groups_updated_at(coze_sim, group_id):
    feature_id = enroll(group_id, "Mei").data["id"]
    client = coze.get_client()
    for change in ({"name": "Mei Lin"}, {"audio": audio.wav(2.0)}):
        coze_sim.groups[group_id]["updated_at"] = 1_700_000_000

        client.update_voiceprint(group_id, feature_id, **change)

        assert coze_sim.groups[group_id]["updated_at"] > 1_700_000_000
        assert coze_sim.groups[group_id]["feature_count"] == 1


def test_coze_console_changes_a_colleagues_voiceprint_and_its_group_follows(coze_sim, group_id):
    renamed, removed = coze_sim.seed_voiceprints(group_id, 2, creator_id=COLLEAGUE)

    item = coze_sim.edit_voiceprint(renamed, name="Grandma", updated_at=1_800_000_000)
    assert (item["name"], item["user_info"]["id"]) == ("Grandma", COLLEAGUE)
    assert "audio_format" not in item
    assert coze_sim.groups[group_id]["updated_at"] == 1_800_000_000
    coze_sim.delete_voiceprint(removed)

    listed = coze.get_client().list_voiceprints(group_id).data
    assert [(i["id"], i["name"]) for i in listed["items"]] == [(renamed, "Grandma")]
    assert coze_sim.groups[group_id]["feature_count"] == listed["total"] == 1
    with pytest.raises(ValueError):
        coze_sim.edit_voiceprint(renamed, audio_url="https://elsewhere.invalid/x.wav")


def test_a_voiceprint_is_found_only_in_its_own_group(coze_sim, group_id):
    feature_id = enroll(group_id).data["id"]
    other = coze.get_client().create_group("kitchen").data["id"]

    assert refused(coze.get_client().delete_voiceprint, other, feature_id).not_found


def test_deleting_a_group_deletes_its_voiceprints(coze_sim, group_id):
    coze_sim.seed_voiceprints(group_id, 3)

    coze.get_client().delete_group(group_id)

    assert coze_sim.voiceprints == {}


def test_a_colleagues_voiceprint_cannot_be_changed_with_our_token(coze_sim, group_id):
    [theirs] = coze_sim.seed_voiceprints(group_id, 1, creator_id=COLLEAGUE)
    client = coze.get_client()

    [item] = client.list_voiceprints(group_id).data["items"]
    assert item["user_info"]["id"] == COLLEAGUE != client.me().data["user_id"]
    for error in (
        refused(client.update_voiceprint, group_id, theirs, name="Li"),
        refused(client.delete_voiceprint, group_id, theirs),
    ):
        assert error.code == 4101 and not error.not_found
    assert coze_sim.voiceprints[theirs]["name"] == "remote voiceprint 1"


@pytest.mark.parametrize(
    ("group", "feature"),
    [("../users/me", "1"), ("7500000000000000001", "1/../2"), ("7500000000000000001", "")],
)
def test_ids_that_are_not_cozes_are_refused_before_anything_is_sent(coze_sim, group, feature):
    client = coze.get_client()
    calls = [
        lambda: client.update_voiceprint(group, feature, name="x"),
        lambda: client.delete_voiceprint(group, feature),
    ]
    if group != "7500000000000000001":
        calls += [lambda: client.list_voiceprints(group), lambda: enroll(group)]
    for call in calls:
        with pytest.raises(coze.CozeFailed) as caught:
            call()
        bad = "group" if group != "7500000000000000001" else "voiceprint"
        assert caught.value.sentence() == f"the {bad} id is not a Coze id, so nothing was sent"
    assert coze_sim.requests == []


# Coze's rules for the audio and the group


def test_a_group_holds_at_most_ten_voiceprints(coze_sim, group_id):
    coze_sim.seed_voiceprints(group_id, 9)
    enroll(group_id, "tenth")

    error = refused(enroll, group_id, "eleventh")

    assert error.code == 4118 and "10" in error.msg
    assert coze_sim.groups[group_id]["feature_count"] == 10


@pytest.mark.parametrize(
    ("data", "fields", "code"),
    [
        (b"ID3\x04\x00" + bytes(4000), {}, 4303),  # mp3
        (b"\x00\x00\x00\x20ftypM4A " + bytes(4000), {}, 4303),  # m4a
        (b"OggS" + bytes(4000), {}, 4303),
        (audio.pcm(0.2, rate=44100), {"sample_rate": 44100}, 4303),
        (audio.pcm(0.2, channels=2), {"channel": 2}, 4303),
        (audio.pcm(0.2) + b"\x00", {}, 4304),  # half a 16-bit sample
        (audio.wav()[:30], {}, 4304),  # a header cut short
        (audio.wav(0.0), {}, 4304),  # no audio at all
    ],
)
def test_only_wav_or_16k_mono_16_bit_pcm_is_taken(coze_sim, group_id, data, fields, code):
    error = refused(enroll, group_id, data=data, **fields)

    assert error.code == code
    assert coze_sim.voiceprints == {}


def test_a_file_over_4_mb_is_too_large(coze_sim, group_id):
    big = audio.wav(4 * 1024 * 1024 / 32000 + 0.01)
    assert len(big) > 4 * 1024 * 1024 > len(audio.wav(4 * 1024 * 1024 / 32000 - 0.01))

    assert refused(enroll, group_id, data=big).code == 4302
    assert enroll(group_id, data=audio.wav(4 * 1024 * 1024 / 32000 - 0.01)).data["id"]


def test_a_re_enrollment_follows_the_same_rules(coze_sim, group_id):
    feature_id = enroll(group_id).data["id"]
    update = coze.get_client().update_voiceprint

    assert refused(update, group_id, feature_id, audio=b"fLaC" + bytes(100)).code == 4303


def test_the_file_must_come_as_one_multipart_file(coze_sim, group_id):
    empty = post_raw(coze_sim, group_id, files={"file": ("a.wav", b""), "name": (None, "Mei")})
    assert empty["code"] == 4300
    nofile = post_raw(coze_sim, group_id, files={"name": (None, "Mei")})
    assert nofile["code"] == 4300
    not_multipart = post_raw(coze_sim, group_id, data={"name": "Mei"})
    assert not_multipart["code"] == 4300
    two = [
        ("file", ("a.wav", audio.wav())),
        ("file", ("b.wav", audio.wav())),
        ("name", (None, "Mei")),
    ]
    assert post_raw(coze_sim, group_id, files=two)["code"] == 4301
    noname = post_raw(coze_sim, group_id, files={"file": ("a.wav", audio.wav())})
    assert noname["code"] == 4000
    assert coze_sim.voiceprints == {}


# Faults on these calls too


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("code", coze.CozeRefused),
        ("http", coze.CozeFailed),
        ("nonjson", coze.CozeFailed),
        ("raw", coze.CozeRefused),
        ("drop", coze.CozeNoAnswer),
    ],
)
def test_faults_reach_every_voiceprint_call(coze_sim, group_id, kind, error):
    [feature_id] = coze_sim.seed_voiceprints(group_id, 1)
    client = coze.get_client()
    calls = [
        lambda: enroll(group_id),
        lambda: client.list_voiceprints(group_id),
        lambda: client.update_voiceprint(group_id, feature_id, name="Li"),
        lambda: client.delete_voiceprint(
            group_id,
            feature_id,
        ),
    ]
    for call in calls:
        coze_sim.add_fault(kind, **({"perform": False} if kind == "drop" else {}))
        with pytest.raises(error):
            call()
    assert coze_sim.state()["faults"] == []
    assert list(coze_sim.voiceprints) == [feature_id]  # nothing was done


def test_a_slow_voiceprint_call_is_no_answer(coze_sim, group_id, settings):
    settings.COZE_TIMEOUT = 0.2
    coze_sim.add_fault("delay", seconds=0.4, method="GET")

    with pytest.raises(coze.CozeNoAnswer) as caught:
        coze.get_client().list_voiceprints(group_id)

    assert caught.value.reason == "timeout"


# The simulator's controls and state file


def test_the_control_api_seeds_a_colleagues_voiceprints(coze_sim, group_id):
    url = f"{coze_sim.url}/_sim/seed_voiceprints"
    body = {"group_id": group_id, "count": 2, "creator_id": COLLEAGUE}

    answer = requests.post(url, json=body, timeout=2).json()

    assert sorted(answer["ids"]) == sorted(coze_sim.voiceprints)
    assert {item["user_info"]["id"] for item in coze_sim.voiceprints.values()} == {COLLEAGUE}
    assert coze_sim.groups[group_id]["feature_count"] == 2
    unknown = requests.post(url, json={**body, "group_id": "1"}, timeout=2)
    assert unknown.status_code == 400


def test_a_state_file_keeps_the_voiceprints_across_restarts(tmp_path):
    from groups.coze.simulator import CozeSimulator

    state = tmp_path / "sim.json"
    sim = CozeSimulator(TEST_TOKEN, state_file=state)
    [kept_group, gone_group] = sim.seed_groups(2)
    [kept] = sim.seed_voiceprints(kept_group, 1)
    sim.seed_voiceprints(gone_group, 1)
    sim.start()
    try:
        url = f"{sim.url}/v1/audio/voiceprint_groups/{gone_group}"
        requests.delete(url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=2)
    finally:
        sim.stop()

    again = CozeSimulator(TEST_TOKEN, state_file=state)
    assert list(again.voiceprints) == [kept]
    assert again.groups[kept_group]["feature_count"] == 1
