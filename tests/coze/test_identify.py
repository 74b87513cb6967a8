"""Speaker identification through the Coze client, against the simulator on its socket: the
call as Coze documents it, Coze's rules for the clip, the faults, and a simulator that
really compares voices (espeak-ng's, enrolled reading one text, heard saying others)."""

import functools
import json
import re

import pytest
import requests

from groups import coze
from groups.audio import prepare
from groups.coze.simulator import CozeSimulator
from tests import audio
from tests.conftest import TEST_TOKEN

LOGID = re.compile(r"^\d{14}[0-9A-F]{20}$")
UNKNOWN_GROUP = "7500000000000000001"
# A household: each person an espeak-ng voice that sounds like someone else.
FAMILY = {"Mum": "en+f3", "Dad": "en+m3", "Grandpa": "en+m7", "Sam": "en-us"}
# What they say to the speaker later: never the text they enrolled with.
SENTENCES = (
    "Please turn on the lights in the kitchen and play some quiet music while I cook.",
    "What will the weather be like tomorrow morning? I need to know about an umbrella.",
)
# How far a voice's own voiceprint must score above every other one (points of 0 to 100);
# measured at 17 or more over these voices and sentences, through a phone's M4A too.
MARGIN = 10


@pytest.fixture
def group_id(coze_sim):
    return coze.get_client().create_group("living room").data["id"]


def enroll(group_id, name, data):
    return coze.get_client().create_voiceprint(group_id, name, data).data["id"]


def identify(group_id, data=None, **fields):
    return coze.get_client().identify(group_id, data or tone(220), **fields)


def scores(group_id, data, **fields):
    """{feature_name: score} of an identification, and the names in the order answered."""
    listed = identify(group_id, data, **fields).data["feature_score_list"]
    return {item["feature_name"]: item["score"] for item in listed}, [
        item["feature_name"] for item in listed
    ]


@functools.cache
def tone(hz, seconds=2.0):
    """A steady tone: a "voice" of one pitch, for the tests that need no speech."""
    return audio.wav(seconds, hz=hz)


@functools.cache
def spoken(voice, text=audio.ENROLLMENT_TEXT, phone=False):
    """What vpadmin sends Coze of `voice` reading `text` (recorded on a phone's M4A when
    `phone`): 16 kHz mono WAV from groups.audio.prepare. Cached for the whole module."""
    speech = audio.speech(text, voice)
    return prepare(audio.phone_m4a(speech) if phone else speech).wav


def refused(call, *args, **kwargs):
    with pytest.raises(coze.CozeRefused) as caught:
        call(*args, **kwargs)
    return caught.value


def post_raw(sim, group_id, **kwargs):
    """An identification sent by hand, for bodies no client of ours would send."""
    url = f"{sim.url}/v1/audio/voiceprint_groups/{group_id}/speaker_identify"
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    return requests.post(url, headers=headers, timeout=2, **kwargs).json()


# The call


def test_identify_sends_every_field_as_text_in_a_multipart_form(coze_sim, group_id):
    answer = identify(group_id, audio.pcm(2.0), top_k=3, sample_rate=16000, channel=1)

    sent = coze_sim.requests[-1]
    assert (sent["method"], sent["path"]) == (
        "POST",
        f"/v1/audio/voiceprint_groups/{group_id}/speaker_identify",
    )
    assert sent["form"] == {"top_k": "3", "sample_rate": "16000", "channel": "1"}
    [sent_file] = sent["files"]
    assert (sent_file["name"], sent_file["filename"]) == ("file", "clip.wav")
    assert LOGID.match(answer.logid) and answer.logid == sent["logid"]


def test_identify_leaves_out_the_fields_not_given(coze_sim, group_id):
    identify(group_id, tone(220))

    assert coze_sim.requests[-1]["form"] == {}


def test_every_voiceprint_is_scored_best_first(coze_sim, group_id):
    ids = {name: enroll(group_id, name, tone(hz)) for name, hz in (("Mei", 220), ("Li", 330))}
    enroll(group_id, "Bo", tone(165))

    listed = identify(group_id, tone(330)).data["feature_score_list"]

    assert [item["feature_name"] for item in listed][0] == "Li"
    assert [item["score"] for item in listed] == sorted(
        (item["score"] for item in listed), reverse=True
    )
    assert listed[0] == {
        "feature_id": ids["Li"],
        "feature_name": "Li",
        "feature_desc": "",
        "score": listed[0]["score"],
    }
    assert listed[0]["score"] > 95 and all(0 <= item["score"] < 50 for item in listed[1:])
    assert all(isinstance(item["score"], float) for item in listed)
    assert len(coze_sim.voiceprints) == 3  # identifying changes nothing


def test_top_k_keeps_the_best(coze_sim, group_id):
    for name, hz in (("Mei", 220), ("Li", 330), ("Bo", 165)):
        enroll(group_id, name, tone(hz))
    everyone = identify(group_id, tone(165)).data["feature_score_list"]

    best_two = identify(group_id, tone(165), top_k=2).data["feature_score_list"]

    assert best_two == everyone[:2]
    assert identify(group_id, tone(165), top_k=10).data["feature_score_list"] == everyone


@pytest.mark.parametrize("top_k", ["0", "-1", "two", ""])
def test_top_k_must_be_a_positive_integer(coze_sim, group_id, top_k):
    files = {"file": ("clip.wav", tone(220)), "top_k": (None, top_k)}

    body = post_raw(coze_sim, group_id, files=files)

    assert body["code"] == 4000 and "top_k" in body["msg"]


def test_an_empty_group_answers_an_empty_list(coze_sim, group_id):
    assert identify(group_id).data == {"feature_score_list": []}


def test_an_unknown_group_is_not_found(coze_sim):
    error = refused(identify, UNKNOWN_GROUP)

    assert error.code == 4200 and error.not_found


@pytest.mark.parametrize("group", ["../users/me", "", "12ab"])
def test_a_group_id_that_is_not_cozes_is_refused_before_anything_is_sent(coze_sim, group):
    with pytest.raises(coze.CozeFailed) as caught:
        identify(group)

    assert caught.value.sentence() == "the group id is not a Coze id, so nothing was sent"
    assert coze_sim.requests == []


# Voices the simulator never heard, and clips without a voice


def test_voiceprints_made_elsewhere_score_low_and_the_same_each_time(coze_sim, group_id):
    coze_sim.seed_voiceprints(group_id, 2)
    enroll(group_id, "Mei", tone(220))

    first, order = scores(group_id, tone(220))
    again, _ = scores(group_id, tone(220))

    assert order[0] == "Mei" and first == again
    assert all(5 <= first[name] < 20 for name in ("remote voiceprint 1", "remote voiceprint 2"))


def test_a_clip_without_a_voice_scores_every_voiceprint_low(coze_sim, group_id):
    enroll(group_id, "Mei", tone(220))

    silent, _ = scores(group_id, audio.silence(2.0))

    assert 5 <= silent["Mei"] < 20


def test_a_re_enrolled_voiceprint_is_heard_with_its_new_voice(coze_sim, group_id):
    feature_id = enroll(group_id, "Mei", tone(220))
    before, _ = scores(group_id, tone(330))

    coze.get_client().update_voiceprint(group_id, feature_id, audio=tone(330))

    after, _ = scores(group_id, tone(330))
    assert before["Mei"] < 50 < 95 < after["Mei"]


def test_the_voice_is_kept_as_numbers_in_the_state_file_and_never_listed(tmp_path):
    state = tmp_path / "sim.json"
    sim = CozeSimulator(TEST_TOKEN, state_file=state).start()
    client = coze.CozeClient(sim.url, TEST_TOKEN, 5)
    try:
        group_id = client.create_group("kitchen").data["id"]
        feature_id = client.create_voiceprint(group_id, "Mei", tone(220)).data["id"]
        heard = client.identify(group_id, tone(220)).data["feature_score_list"]
        [item] = client.list_voiceprints(group_id).data["items"]
    finally:
        sim.stop()

    assert "voice" not in item
    saved = json.loads(state.read_text())["features"][0]
    assert len(saved["voice"]) == 41 and all(isinstance(x, float) for x in saved["voice"])
    assert len(state.read_bytes()) < len(tone(220)) / 10  # the numbers, never the audio
    again = CozeSimulator(TEST_TOKEN, state_file=state).start()
    try:
        client = coze.CozeClient(again.url, TEST_TOKEN, 5)
        assert client.identify(group_id, tone(220)).data["feature_score_list"] == heard
        assert heard[0]["feature_id"] == feature_id
    finally:
        again.stop()


# Coze's rules for the clip


@pytest.mark.parametrize(
    ("data", "fields", "code"),
    [
        (b"ID3\x04\x00" + bytes(4000), {}, 4303),  # mp3
        (b"\x00\x00\x00\x20ftypM4A " + bytes(4000), {}, 4303),  # m4a
        (audio.pcm(0.2, rate=44100), {"sample_rate": 44100}, 4303),
        (audio.pcm(0.2, channels=2), {"channel": 2}, 4303),
        (audio.pcm(0.2) + b"\x00", {}, 4304),  # half a 16-bit sample
        (audio.wav()[:30], {}, 4304),  # a header cut short
    ],
)
def test_only_wav_or_16k_mono_16_bit_pcm_is_taken(coze_sim, group_id, data, fields, code):
    assert refused(identify, group_id, data, **fields).code == code


def test_raw_pcm_is_heard_as_the_same_voice_as_its_wav(coze_sim, group_id):
    enroll(group_id, "Mei", tone(220))

    as_wav, _ = scores(group_id, tone(220))
    as_pcm, _ = scores(group_id, audio.pcm(2.0, hz=220), sample_rate=16000, channel=1)

    assert as_pcm["Mei"] == pytest.approx(as_wav["Mei"], abs=0.5)


def test_a_clip_over_4_mb_is_too_large(coze_sim, group_id):
    big = audio.wav(4 * 1024 * 1024 / 32000 + 0.01)

    assert refused(identify, group_id, big).code == 4302


def test_the_clip_must_come_as_one_multipart_file(coze_sim, group_id):
    clip = tone(220)
    assert post_raw(coze_sim, group_id, files={"file": ("a.wav", b"")})["code"] == 4300
    assert post_raw(coze_sim, group_id, files={"top_k": (None, "1")})["code"] == 4300
    assert post_raw(coze_sim, group_id, data={"top_k": "1"})["code"] == 4300
    two = [("file", ("a.wav", clip)), ("file", ("b.wav", clip))]
    assert post_raw(coze_sim, group_id, files=two)["code"] == 4301


# Faults, lost answers and answers not in Coze's shape


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
def test_faults_reach_identification(coze_sim, group_id, kind, error):
    coze_sim.add_fault(kind, method="POST")

    with pytest.raises(error):
        identify(group_id)

    assert coze_sim.state()["faults"] == []


def test_a_lost_answer_is_never_sent_again(coze_sim, group_id):
    coze_sim.add_fault("drop", method="POST")

    with pytest.raises(coze.CozeNoAnswer) as caught:
        identify(group_id)

    assert not caught.value.worth_retrying and not caught.value.retry_safe
    assert [r["path"].rpartition("/")[2] for r in coze_sim.requests] == [
        "voiceprint_groups",
        "speaker_identify",
    ]


def test_a_rate_limited_identification_is_not_worth_retrying(coze_sim, group_id):
    coze_sim.add_fault("code", code=4020, status=429)

    error = refused(identify, group_id)

    assert error.rate_limited and not error.worth_retrying


def test_a_slow_identification_is_no_answer(coze_sim, group_id, settings):
    settings.COZE_TIMEOUT = 0.2
    coze_sim.add_fault("delay", seconds=0.4, method="POST")

    with pytest.raises(coze.CozeNoAnswer) as caught:
        identify(group_id)

    assert caught.value.reason == "timeout"


def answer_with(sim, data):
    """The next call answered with Coze's envelope around `data`."""
    body = json.dumps({"code": 0, "msg": "", "data": data, "detail": {"logid": "x"}})
    sim.add_fault("raw", status=200, body=body)


def test_an_answer_is_put_in_order_with_ids_as_text_and_scores_as_floats(coze_sim, group_id):
    listed = [
        {"feature_id": 7511988408546279468, "feature_name": "Li", "feature_desc": "", "score": 40},
        {"feature_id": "7511988408546279469", "feature_name": "Mei", "score": "81.5"},
    ]
    answer_with(coze_sim, {"feature_score_list": listed})

    answered = identify(group_id).data["feature_score_list"]

    assert answered == [
        {
            "feature_id": "7511988408546279469",
            "feature_name": "Mei",
            "feature_desc": "",
            "score": 81.5,
        },
        {
            "feature_id": "7511988408546279468",
            "feature_name": "Li",
            "feature_desc": "",
            "score": 40.0,
        },
    ]


@pytest.mark.parametrize("data", [None, {}, {"feature_score_list": None}])
def test_an_answer_without_a_list_is_no_voiceprints(coze_sim, group_id, data):
    answer_with(coze_sim, data)

    assert identify(group_id).data["feature_score_list"] == []


@pytest.mark.parametrize(
    "listed",
    [
        "Mei 81.5",
        {"feature_id": "7511988408546279469", "score": 81.5},
        ["7511988408546279469"],
        [{"feature_name": "Mei", "score": 81.5}],
        [{"feature_id": "", "score": 81.5}],
        [{"feature_id": True, "score": 81.5}],
        [{"feature_id": "7511988408546279469", "score": "high"}],
        [{"feature_id": "7511988408546279469", "score": None}],
        [{"feature_id": "7511988408546279469", "score": False}],
        [{"feature_id": "7511988408546279469", "score": float("nan")}],
        [{"feature_id": "7511988408546279469", "score": 10**400}],
        [{"feature_id": "7511988408546279469", "score": 1, "feature_name": ["Mei"]}],
    ],
)
def test_an_answer_not_in_cozes_shape_fails_in_words(coze_sim, group_id, listed):
    answer_with(coze_sim, {"feature_score_list": listed})

    with pytest.raises(coze.CozeFailed) as caught:
        identify(group_id)

    error = caught.value
    assert (error.reason, error.code, error.http_status) == ("bad_scores", 0, 200)
    assert error.sentence() == "the identification answer was not in Coze's shape"
    assert not error.retry_safe


# Real voices: each person's clip scores highest against their own voiceprint


@pytest.fixture
def family(coze_sim, group_id):
    """The family enrolled in the living room, each reading the enrollment text."""
    audio.need_espeak()
    return {name: enroll(group_id, name, spoken(voice)) for name, voice in FAMILY.items()}


@pytest.mark.parametrize("sentence", SENTENCES)
def test_each_voice_scores_highest_against_its_own_voiceprint(group_id, family, sentence):
    for name, voice in FAMILY.items():
        heard, order = scores(group_id, spoken(voice, sentence))

        others = max(score for other, score in heard.items() if other != name)
        assert order[0] == name, (name, heard)
        assert heard[name] - others >= MARGIN, (name, heard)


def test_a_clip_recorded_on_a_phone_still_finds_its_voice(group_id, family):
    for name, voice in FAMILY.items():
        heard, order = scores(group_id, spoken(voice, SENTENCES[0], phone=True))

        others = max(score for other, score in heard.items() if other != name)
        assert order[0] == name and heard[name] - others >= MARGIN, (name, heard)


def test_a_colleagues_voiceprint_is_scored_like_any_other(coze_sim, group_id, family):
    [theirs] = coze_sim.seed_voiceprints(group_id, 1, creator_id="7400000000000000042")
    coze_sim.voiceprints[theirs]["voice"] = coze_sim.voiceprints[family["Dad"]]["voice"]

    heard, order = scores(group_id, spoken(FAMILY["Dad"], SENTENCES[1]))

    assert set(order[:2]) == {"Dad", "remote voiceprint 1"}
    assert heard["Dad"] == heard["remote voiceprint 1"]
