"""cozepy's voiceprint calls (voiceprint_groups.features, and speaker_identify), unchanged,
against the simulator.

cozepy 0.20.0 puts every form field in a multipart part as given; an int (16000) crashes
inside httpx before anything is sent, so sample_rate, channel and top_k are passed as text.
"""

import re
import warnings

import pytest

with warnings.catch_warnings():
    # cozepy imports authlib.jose, which warns about its own deprecation (as in
    # test_cozepy_sdk.py); authlib sets its warning to "always" on import.
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from cozepy import Coze, CozeAPIError, TokenAuth

from tests import audio
from tests.conftest import TEST_TOKEN

LOGID = re.compile(r"^\d{14}[0-9A-F]{20}$")


def features(sim):
    return Coze(auth=TokenAuth(token=TEST_TOKEN), base_url=sim.url).audio.voiceprint_groups.features


@pytest.fixture
def group_id(coze_sim):
    [group_id] = coze_sim.seed_groups(1)
    return group_id


def test_create_with_string_fields(coze_sim, group_id):
    made = features(coze_sim).create(
        group_id=group_id,
        name="Mei",
        file=audio.wav(),
        desc="grandmother",
        sample_rate="16000",
        channel="1",
    )

    assert coze_sim.voiceprints[made.id]["name"] == "Mei"
    assert LOGID.match(made.response.logid)
    sent = coze_sim.requests[-1]
    assert sent["form"] == {
        "name": "Mei",
        "desc": "grandmother",
        "sample_rate": "16000",
        "channel": "1",
    }
    assert sent["files"][0]["filename"] == "upload"  # cozepy's name for bytes
    assert coze_sim.groups[group_id]["feature_count"] == 1


def test_create_from_raw_pcm(coze_sim, group_id):
    made = features(coze_sim).create(
        group_id=group_id, name="Li", file=audio.pcm(), sample_rate="16000", channel="1"
    )

    assert coze_sim.voiceprints[made.id]["audio_format"]["format"] == "pcm"


def test_list_iterates_every_page(coze_sim, group_id):
    seeded = coze_sim.seed_voiceprints(group_id, 10)

    listed = features(coze_sim).list(group_id=group_id, page_size=4)
    pages = list(listed.iter_pages())

    assert [len(page.items) for page in pages] == [4, 4, 2]
    assert [item.id for item in listed] == list(reversed(seeded))
    first = pages[0].items[0]
    assert (first.group_id, first.user_info.nickname) == (group_id, "Coze simulator")
    assert first.audio_url.startswith("https://")


def test_update_by_name_alone_and_with_a_new_file(coze_sim, group_id):
    [feature_id] = coze_sim.seed_voiceprints(group_id, 1)
    sdk = features(coze_sim)

    sdk.update(group_id=group_id, feature_id=feature_id, name="Mei Lin")
    assert coze_sim.requests[-1]["form"] == {"name": "Mei Lin"}  # multipart, no file
    sdk.update(group_id=group_id, feature_id=feature_id, file=audio.wav(2.0), desc="again")

    stored = coze_sim.voiceprints[feature_id]
    assert (stored["name"], stored["desc"], stored["audio_format"]["format"]) == (
        "Mei Lin",
        "again",
        "wav",
    )


def test_delete(coze_sim, group_id):
    [feature_id] = coze_sim.seed_voiceprints(group_id, 1)

    features(coze_sim).delete(group_id=group_id, feature_id=feature_id)

    assert coze_sim.voiceprints == {}
    assert coze_sim.groups[group_id]["feature_count"] == 0


def test_cozes_rules_raise_coze_api_error(coze_sim, group_id):
    coze_sim.seed_voiceprints(group_id, 1, creator_id="7400000000000000042")
    [theirs] = coze_sim.voiceprints
    sdk = features(coze_sim)

    with pytest.raises(CozeAPIError) as caught:
        sdk.create(group_id=group_id, name="Mei", file=b"ID3" + bytes(1000))
    assert caught.value.code == 4303
    with pytest.raises(CozeAPIError) as caught:
        sdk.delete(group_id=group_id, feature_id=theirs)
    assert caught.value.code == 4101 and LOGID.match(caught.value.logid)


def test_a_fault_raises_coze_api_error(coze_sim, group_id):
    coze_sim.add_fault("code", code=4009)

    with pytest.raises(CozeAPIError) as caught:
        list(features(coze_sim).list(group_id=group_id))

    assert caught.value.code == 4009


def test_speaker_identify_with_string_fields(coze_sim, group_id):
    sdk = Coze(auth=TokenAuth(token=TEST_TOKEN), base_url=coze_sim.url).audio.voiceprint_groups
    mei = features(coze_sim).create(group_id=group_id, name="Mei", file=audio.wav(2.0, hz=220))
    features(coze_sim).create(group_id=group_id, name="Li", file=audio.wav(2.0, hz=330))
    coze_sim.seed_voiceprints(group_id, 1)

    found = sdk.speaker_identify(
        group_id=group_id, file=audio.wav(2.0, hz=220), top_k="2", sample_rate="16000", channel="1"
    )

    assert [score.feature_id for score in found.feature_score_list][0] == mei.id
    assert len(found.feature_score_list) == 2
    assert found.feature_score_list[0].feature_name == "Mei"
    assert found.feature_score_list[0].score > found.feature_score_list[1].score
    assert LOGID.match(found.response.logid)
    assert coze_sim.requests[-1]["form"] == {"top_k": "2", "sample_rate": "16000", "channel": "1"}


def test_speaker_identify_in_an_empty_group_and_an_unknown_one(coze_sim, group_id):
    sdk = Coze(auth=TokenAuth(token=TEST_TOKEN), base_url=coze_sim.url).audio.voiceprint_groups

    assert sdk.speaker_identify(group_id=group_id, file=audio.wav()).feature_score_list == []
    with pytest.raises(CozeAPIError) as caught:
        sdk.speaker_identify(group_id="7500000000000000001", file=audio.wav())
    assert caught.value.code == 4200
