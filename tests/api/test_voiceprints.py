"""Voiceprints through the API: enrolled from a multipart upload with the page's checks
(consent, ten a group, one a person, the audio's), each refusal a JSON error with a stable
code in the reader's language and an audit row; idempotent with an Idempotency-Key; read,
listed, renamed, re-enrolled and deleted as on their pages; the audio never stored."""

import base64
import datetime
import hashlib
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from groups import coze
from groups.models import AuditEntry, CozeAccount, Voiceprint, VoiceprintGroup
from tests import audio
from tests.factories import consent_for, enrollee, voiceprint

from .conftest import api_for

COLLEAGUE = "7400000000000000042"


@pytest.fixture(scope="module")
def spoken():
    audio.need_espeak()
    return audio.speech()


@pytest.fixture
def living_room(coze_sim, device):
    answer = coze.get_client().create_group("living room")
    return VoiceprintGroup.objects.create(
        coze_id=answer.data["id"], name="living room", device=device
    )


@pytest.fixture
def mum():
    person = enrollee("Mum")
    consent_for(person)
    return person


def enroll(api, group, person, recording, key=None, filename="mum.wav", headers=(), **fields):
    form = {
        "person": person.pk,
        "audio": SimpleUploadedFile(filename, recording, "application/octet-stream"),
        **fields,
    }
    headers = {**dict(headers), **({"idempotency_key": key} if key else {})}
    return api.upload("POST", f"/api/groups/{group.pk}/voiceprints/", form, **headers)


def feature_calls(sim, method=None):
    return [
        r
        for r in sim.requests
        if "/features" in r["path"] and (method is None or r["method"] == method)
    ]


def enrollment_rows():
    return list(AuditEntry.objects.filter(action="voiceprint.create").order_by("pk"))


# Enrolling


def test_a_script_enrolls_mum_and_gets_her_voiceprint(
    operator_api, operator, living_room, mum, spoken, coze_sim
):
    response = enroll(operator_api, living_room, mum, spoken, desc="sofa side")

    assert response.status_code == 201, response.json()
    answer = response.json()
    stored = Voiceprint.objects.get()
    assert response["Location"].endswith(f"/api/voiceprints/{stored.pk}/")
    assert answer["coze_id"] == stored.coze_id and stored.coze_id in coze_sim.voiceprints
    assert (answer["name"], answer["desc"], answer["person"]) == ("Mum", "sofa side", mum.pk)
    assert (answer["group"], answer["device"]) == (living_room.pk, living_room.device_id)
    assert answer["consent"] == mum.consents.get().pk and answer["keep_until"]
    assert answer["enrolled_by"] == "olga" and answer["state"] == "active"
    assert answer["logid"] and answer["logid"] == stored.logid and answer["changeable"]
    assert answer["audio"]["sha256"] == hashlib.sha256(spoken).hexdigest()
    assert 8 < answer["audio"]["duration"] < 30 and answer["audio"]["sample_rate"] == 16000
    assert answer["audio"]["quality"]["source_format"].startswith("wav")
    assert answer["warnings"] == []
    [row] = enrollment_rows()
    assert (row.outcome, row.via, row.actor, row.coze_logid) == (
        "success",
        "api",
        operator,
        answer["logid"],
    )
    assert (row.target_type, row.target_id) == ("voiceprint", str(stored.pk))


def test_a_phones_m4a_is_converted_and_its_shortness_warned_of(
    operator_api, living_room, mum, coze_sim
):
    short = audio.speech(audio.ENROLLMENT_TEXT[:150])  # a few seconds of speech

    response = enroll(operator_api, living_room, mum, audio.phone_m4a(short), filename="m.m4a")

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["audio"]["quality"]["source_format"].startswith("mp4")
    [warning] = answer["warnings"]
    assert warning["code"] == "short" and "seconds of speech" in warning["message"]


def refusal(response, code, status=409):
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code, response.json()
    return response.json()


@pytest.mark.parametrize(
    ("consent", "code"),
    [
        ({}, "no_consent_none"),
        (
            {"given_on": datetime.date(2020, 1, 1), "keep_until": datetime.date(2021, 1, 1)},
            "no_consent_expired",
        ),
        ({"withdrawn_at": timezone.now()}, "no_consent_withdrawn"),
    ],
    ids=["none", "expired", "withdrawn"],
)
def test_nobody_without_consent_in_force_is_enrolled(
    operator_api, operator, living_room, spoken, coze_sim, consent, code
):
    person = enrollee("Stranger")
    if consent:
        consent_for(person, **consent)

    error = refusal(enroll(operator_api, living_room, person, spoken), code)

    assert "Stranger" in error["message"] and "coze" not in error
    assert not feature_calls(coze_sim) and not Voiceprint.objects.exists()
    [row] = enrollment_rows()
    assert (row.outcome, row.via, row.actor, row.facts["say"]) == ("refused", "api", operator, code)


def test_the_eleventh_voice_is_refused_before_coze(
    operator_api, living_room, mum, spoken, coze_sim
):
    for _ in range(10):
        voiceprint(living_room)

    error = refusal(enroll(operator_api, living_room, mum, spoken), "group_full")

    assert "10 of 10" in error["message"] and not feature_calls(coze_sim)
    assert enrollment_rows()[0].facts["say"] == "group_full"


def test_a_person_is_enrolled_once_in_a_group(operator_api, living_room, mum, spoken, coze_sim):
    assert enroll(operator_api, living_room, mum, spoken).status_code == 201

    error = refusal(enroll(operator_api, living_room, mum, spoken), "already_enrolled")

    assert "Mum is already enrolled" in error["message"]
    assert len(feature_calls(coze_sim, "POST")) == 1
    assert enrollment_rows()[-1].facts["say"] == "already_enrolled"


def test_nothing_is_enrolled_in_a_deleted_group(operator_api, living_room, mum, spoken, coze_sim):
    VoiceprintGroup.objects.filter(pk=living_room.pk).update(state="deleted")

    refusal(enroll(operator_api, living_room, mum, spoken), "group_not_active")

    assert not feature_calls(coze_sim)
    missing = enroll(operator_api, VoiceprintGroup(pk=999999), mum, spoken)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda spoken: audio.random_bytes(), "not_audio"),
        (lambda spoken: audio.text_file(), "not_audio"),
        (lambda spoken: audio.silence(), "silent"),
        (lambda spoken: audio.speech(audio.SHORT_TEXT), "too_short"),
        (lambda spoken: audio.louder(spoken, 8), "clipped"),
    ],
    ids=["random", "text", "silent", "short", "clipped"],
)
def test_bad_audio_is_refused_before_coze_with_its_reason(
    operator_api, operator, living_room, mum, spoken, coze_sim, make, code
):
    response = enroll(operator_api, living_room, mum, make(spoken), desc="kitchen side")

    error = refusal(response, "invalid", status=400)
    assert error["codes"] == {"audio": [code]} and len(error["fields"]["audio"]) == 1
    assert not feature_calls(coze_sim) and not Voiceprint.objects.exists()
    [row] = enrollment_rows()
    assert (row.outcome, row.via, row.actor, row.sent_desc) == (
        "refused",
        "api",
        operator,
        "kitchen side",
    )
    assert row.facts["errors"]["audio"][0]["code"] == code


def test_refusals_are_said_in_the_readers_language(operator_api, living_room, spoken, coze_sim):
    stranger = enrollee("Stranger")

    chinese = {"accept_language": "zh-Hans"}
    no_consent = enroll(operator_api, living_room, stranger, spoken, headers=chinese)
    silent = enroll(operator_api, living_room, stranger, audio.silence(), headers=chinese)

    for response in (no_consent, silent):
        said = response.json()["message"] + " ".join(
            response.json().get("fields", {}).get("audio", [])
        )
        assert any("\u4e00" <= ch <= "\u9fff" for ch in said), said
    assert silent.json()["codes"]["audio"] == ["silent"]


def test_a_person_who_does_not_exist_and_no_audio_are_field_errors(
    operator_api, living_room, coze_sim
):
    response = operator_api.upload(
        "POST", f"/api/groups/{living_room.pk}/voiceprints/", {"person": "999999", "name": "x"}
    )

    error = refusal(response, "invalid", status=400)
    assert error["codes"] == {"person": ["invalid_choice"], "audio": ["required"]}
    assert "That person does not exist." in error["fields"]["person"]
    assert enrollment_rows()[0].outcome == "refused" and not feature_calls(coze_sim)


def test_an_upload_too_large_to_hold_in_memory_is_told_so(
    operator_api, living_room, mum, spoken, coze_sim, settings
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = len(spoken) // 2  # Django drops the file unread

    error = refusal(enroll(operator_api, living_room, mum, spoken), "invalid", status=400)

    assert error["codes"] == {"audio": ["too_large_upload"]}
    assert "The file is larger than" in error["fields"]["audio"][0] and not feature_calls(coze_sim)


def test_an_enrollment_is_multipart_form_data(operator_api, living_room, mum, coze_sim):
    response = operator_api.post(f"/api/groups/{living_room.pk}/voiceprints/", {"person": mum.pk})

    refusal(response, "unsupported_media_type", status=415)
    assert not enrollment_rows()


# Idempotency


def test_the_same_idempotency_key_enrolls_once(operator_api, living_room, mum, spoken, coze_sim):
    key = str(uuid.uuid4())

    first = enroll(operator_api, living_room, mum, spoken, key=key)
    second = enroll(operator_api, living_room, mum, spoken, key=key)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"] and second["Location"] == first["Location"]
    assert len(coze_sim.voiceprints) == 1 and Voiceprint.objects.count() == 1
    assert len(feature_calls(coze_sim, "POST")) == 1


def test_a_key_whose_enrollment_failed_is_not_sent_again(
    operator_api, living_room, mum, spoken, coze_sim
):
    key = str(uuid.uuid4())
    coze_sim.add_fault("code", code=4303, msg="file type unsupported", method="POST")
    assert enroll(operator_api, living_room, mum, spoken, key=key).status_code == 502

    again = enroll(operator_api, living_room, mum, spoken, key=key)

    assert "Idempotency-Key" in refusal(again, "already_submitted")["message"]
    assert len(feature_calls(coze_sim, "POST")) == 1 and not Voiceprint.objects.exists()
    bad = enroll(operator_api, living_room, mum, spoken, key="twice")
    assert refusal(bad, "invalid", status=400)["fields"]["Idempotency-Key"]


# Coze's faults


def test_coze_refusing_comes_with_its_code_msg_and_logid(
    operator_api, living_room, mum, spoken, coze_sim
):
    coze_sim.add_fault("code", code=4303, msg="file type unsupported", method="POST")

    error = refusal(enroll(operator_api, living_room, mum, spoken), "coze_refused", status=502)

    assert "Coze did not enroll the voiceprint: file type unsupported" in error["message"]
    [row] = enrollment_rows()
    assert error["coze"]["code"] == 4303 == row.coze_code
    assert error["coze"]["logid"] == row.coze_logid != "" and row.outcome == "failure"


def test_coze_rate_limiting_is_a_503(operator_api, living_room, mum, spoken, coze_sim):
    coze_sim.add_fault("code", code=4020, status=429, method="POST")

    refusal(enroll(operator_api, living_room, mum, spoken), "coze_rate_limited", status=503)

    assert enrollment_rows()[0].outcome == "failure" and not Voiceprint.objects.exists()


def test_a_lost_answer_finds_the_voiceprint_coze_made(
    operator_api, living_room, mum, spoken, coze_sim
):
    coze_sim.add_fault("drop", method="POST")

    response = enroll(operator_api, living_room, mum, spoken)

    assert response.status_code == 201, response.json()
    assert [w["code"] for w in response.json()["warnings"]] == ["found_after_no_answer"]
    assert Voiceprint.objects.get().coze_id in coze_sim.voiceprints
    assert [row.outcome for row in enrollment_rows()] == ["unknown", "success"]


def test_no_answer_and_no_list_is_a_504_and_nothing_is_sent_again(
    operator_api, living_room, mum, spoken, coze_sim
):
    coze_sim.add_fault("drop", method="POST")
    coze_sim.add_fault("http", method="GET", status=503)

    refusal(enroll(operator_api, living_room, mum, spoken), "coze_no_answer", status=504)
    again = enroll(operator_api, living_room, mum, spoken)

    refusal(again, "enrollment_unresolved")
    assert len(feature_calls(coze_sim, "POST")) == 1
    assert [row.outcome for row in enrollment_rows()] == ["unknown", "refused"]


# Permissions


def test_viewers_and_read_only_tokens_cannot_enroll(
    viewer_api, operator, living_room, mum, spoken, coze_sim
):
    denied = refusal(enroll(viewer_api, living_room, mum, spoken), "permission_denied", 403)
    read_only = api_for(operator, read_only=True)
    refusal(enroll(read_only, living_room, mum, spoken), "token_read_only", 403)

    assert denied["message"] and not feature_calls(coze_sim) and not enrollment_rows()
    row = AuditEntry.objects.get(action="permission.denied")
    assert (row.via, row.facts["permission"]) == ("api", "groups.add_voiceprint")
    assert AuditEntry.objects.get(action="token.refused").facts["say"] == "token_read_only"


def test_no_audio_reaches_the_database(operator_api, living_room, mum, spoken, coze_sim):
    assert enroll(operator_api, living_room, mum, spoken).status_code == 201
    refusal(enroll(operator_api, living_room, enrollee("Other"), spoken), "no_consent_none")

    pcm = audio.samples(spoken)[0].tobytes()[20000:20048]  # a slice of speech
    shapes = [pcm.hex(), base64.b64encode(pcm).decode(), spoken[:48].hex()]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the schema)
            for row in cursor.fetchall():
                for value in row:
                    assert not isinstance(value, bytes | memoryview), table
                    assert not any(shape in str(value) for shape in shapes), table


# Reading and listing


@pytest.fixture
def colleagues_voice(living_room, coze_sim):
    """A voiceprint a colleague made in Coze's console, imported by a sync: nobody's yet."""
    [feature_id] = coze_sim.seed_voiceprints(living_room.coze_id, 1, creator_id=COLLEAGUE)
    CozeAccount.objects.update_or_create(
        pk=1, defaults={"coze_user_id": coze_sim.user["user_id"], "coze_user_name": "us"}
    )
    return Voiceprint.objects.create(
        coze_id=feature_id,
        group=living_room,
        name="remote voiceprint 1",
        coze_creator_id=COLLEAGUE,
        coze_creator_name="Wang",
    )


@pytest.fixture
def mums_voice(operator_api, living_room, mum, spoken, coze_sim):
    response = enroll(operator_api, living_room, mum, spoken)
    assert response.status_code == 201, response.json()
    return Voiceprint.objects.get(pk=response.json()["id"])


def test_a_voiceprint_is_read_with_who_made_it(viewer_api, colleagues_voice, living_room):
    answer = viewer_api.get(f"/api/voiceprints/{colleagues_voice.pk}/").json()

    assert (answer["coze_creator_id"], answer["coze_creator_name"]) == (COLLEAGUE, "Wang")
    assert answer["changeable"] is False and answer["person"] is None
    assert answer["device"] == living_room.device_id and answer["audio"]["sha256"] == ""
    assert viewer_api.get("/api/voiceprints/0/").json()["code"] == "not_found"


def test_the_list_filters_as_the_groups_do(viewer_api, living_room, mum, device):
    other = VoiceprintGroup.objects.create(coze_id="900", name="car")
    voiceprint(living_room, "Mum", person=mum)
    voiceprint(living_room, "imported")
    voiceprint(other, "Car voice", coze_id="901")
    voiceprint(living_room, "old", state="deleted")

    def names(query):
        found = viewer_api.get(f"/api/voiceprints/{query}").json()["results"]
        return sorted(v["name"] for v in found)

    assert names("") == ["Car voice", "Mum", "imported"]
    assert names(f"?group={living_room.pk}") == ["Mum", "imported"]
    assert names(f"?device={device.pk}") == ["Mum", "imported"]
    assert names("?device=none") == ["Car voice"]
    assert names(f"?person={mum.pk}") == ["Mum"] and names("?person=none") == [
        "Car voice",
        "imported",
    ]
    assert names("?q=VOICE") == ["Car voice"] and names("?q=901") == ["Car voice"]
    assert names("?state=deleted") == ["old"] and len(names("?state=all")) == 4
    bad = viewer_api.get("/api/voiceprints/?group=abc")
    assert refusal(bad, "invalid", status=400)["codes"] == {"group": ["invalid"]}


# Renaming and re-enrolling


def test_a_rename_goes_through_coze_and_is_audited(operator_api, operator, mums_voice, coze_sim):
    response = operator_api.patch(f"/api/voiceprints/{mums_voice.pk}/", {"name": "Mother"})

    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Mother" and response.json()["desc"] == ""
    assert coze_sim.voiceprints[mums_voice.coze_id]["name"] == "Mother"
    row = AuditEntry.objects.get(action="voiceprint.update")
    assert (row.outcome, row.via, row.actor) == ("success", "api", operator)
    assert row.facts["changes"] == {"name": ["Mum", "Mother"]}
    too_long = operator_api.patch(f"/api/voiceprints/{mums_voice.pk}/", {"name": "x" * 21})
    assert refusal(too_long, "invalid", status=400)["codes"] == {"name": ["max_length"]}


def test_new_audio_re_enrolls_it(operator_api, mums_voice, spoken, coze_sim):
    again = audio.speech(voice="en+f2")

    response = operator_api.upload(
        "PATCH",
        f"/api/voiceprints/{mums_voice.pk}/",
        {"audio": SimpleUploadedFile("again.wav", again, "audio/wav")},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["audio"]["sha256"] == hashlib.sha256(again).hexdigest()
    assert len(feature_calls(coze_sim, "PUT")) == 1
    mums_voice.person.consents.update(withdrawn_at=timezone.now())
    refused = operator_api.upload(
        "PATCH",
        f"/api/voiceprints/{mums_voice.pk}/",
        {"audio": SimpleUploadedFile("again.wav", again, "audio/wav")},
    )
    refusal(refused, "no_consent_withdrawn")
    assert len(feature_calls(coze_sim, "PUT")) == 1


def test_whose_a_colleagues_voiceprint_is_can_be_said_but_not_its_name(
    operator_api, colleagues_voice, mum, coze_sim
):
    renamed = operator_api.patch(f"/api/voiceprints/{colleagues_voice.pk}/", {"person": mum.pk})

    assert renamed.status_code == 200 and renamed.json()["person"] == mum.pk
    assert renamed.json()["name"] == "remote voiceprint 1" and not feature_calls(coze_sim, "PUT")
    refused = operator_api.patch(f"/api/voiceprints/{colleagues_voice.pk}/", {"name": "Gran"})
    assert "Wang" in refusal(refused, "not_the_creator")["message"]
    row = AuditEntry.objects.get(action="voiceprint.update", outcome="refused")
    assert (row.via, row.facts["say"]) == ("api", "not_the_creator")


def test_coze_refusing_a_rename_changes_nothing(operator_api, mums_voice, coze_sim):
    coze_sim.add_fault("code", code=4000, msg="bad name", method="PUT")

    response = operator_api.patch(f"/api/voiceprints/{mums_voice.pk}/", {"name": "Mother"})

    error = refusal(response, "coze_refused", status=502)
    assert "Coze did not change the voiceprint: bad name" in error["message"]
    assert error["coze"]["code"] == 4000 and error["coze"]["logid"]
    mums_voice.refresh_from_db()
    assert mums_voice.name == "Mum" == coze_sim.voiceprints[mums_voice.coze_id]["name"]
    assert AuditEntry.objects.get(action="voiceprint.update").outcome == "failure"


def test_new_audio_for_a_voiceprint_nobody_is_named_for_is_refused(
    operator_api, living_room, spoken, coze_sim
):
    nobodys = voiceprint(living_room, "imported", coze_creator_id=coze_sim.user["user_id"])

    response = operator_api.upload(
        "PATCH",
        f"/api/voiceprints/{nobodys.pk}/",
        {"audio": SimpleUploadedFile("x.wav", spoken, "audio/wav")},
    )

    refusal(response, "no_person")
    assert not feature_calls(coze_sim, "PUT")
    row = AuditEntry.objects.get(action="voiceprint.update")
    assert (row.outcome, row.via, row.facts["say"]) == ("refused", "api", "no_person_for_audio")


# Deleting


def test_an_administrator_deletes_it_on_coze(
    administrator_api, administrator, operator_api, mums_voice, coze_sim
):
    refusal(operator_api.delete(f"/api/voiceprints/{mums_voice.pk}/"), "permission_denied", 403)

    response = administrator_api.delete(f"/api/voiceprints/{mums_voice.pk}/")

    assert response.status_code == 204
    mums_voice.refresh_from_db()
    assert mums_voice.state == "deleted" and mums_voice.coze_id not in coze_sim.voiceprints
    row = AuditEntry.objects.get(action="voiceprint.delete")
    assert (row.outcome, row.via, row.actor, row.coze_logid) == (
        "success",
        "api",
        administrator,
        mums_voice.logid,
    )
    again = administrator_api.delete(f"/api/voiceprints/{mums_voice.pk}/")
    refusal(again, "voiceprint_not_active")
    refused = AuditEntry.objects.get(action="voiceprint.delete", outcome="refused")
    assert (
        refused.facts["say"] == "voiceprint_ended" and len(feature_calls(coze_sim, "DELETE")) == 1
    )
    read = api_for(administrator, read_only=True)
    refusal(read.delete(f"/api/voiceprints/{mums_voice.pk}/"), "token_read_only", 403)


def test_a_colleagues_voiceprint_is_not_deleted_and_no_call_is_made(
    administrator_api, colleagues_voice, coze_sim
):
    error = refusal(
        administrator_api.delete(f"/api/voiceprints/{colleagues_voice.pk}/"), "not_the_creator"
    )

    assert "Wang" in error["message"] and not feature_calls(coze_sim, "DELETE")
    row = AuditEntry.objects.get(action="voiceprint.delete")
    assert (row.outcome, row.via, row.facts["say"]) == ("refused", "api", "not_the_creator")


def test_coze_failing_a_delete_changes_nothing_and_says_why(
    administrator_api, mums_voice, coze_sim
):
    coze_sim.add_fault("http", method="DELETE")

    error = refusal(
        administrator_api.delete(f"/api/voiceprints/{mums_voice.pk}/"), "coze_refused", status=502
    )

    assert "Coze did not delete the voiceprint" in error["message"]
    assert error["coze"]["http_status"] == 500
    mums_voice.refresh_from_db()
    assert mums_voice.state == "active" and mums_voice.coze_id in coze_sim.voiceprints
    assert AuditEntry.objects.get(action="voiceprint.delete").outcome == "failure"
