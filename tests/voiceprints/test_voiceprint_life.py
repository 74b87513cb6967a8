"""The rest of a voiceprint's life: its page, rename, re-enroll, a person for one made
elsewhere, delete; each through Coze and audited, and no doomed call for what the token
cannot change."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from groups import coze
from groups.models import AuditEntry, CozeAccount, Voiceprint, VoiceprintGroup
from tests import audio
from tests.factories import consent_for, enrollee

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
def mums_voice(living_room, coze_sim):
    """Mum, with consent, enrolled on Coze by vpadmin's token."""
    mum = enrollee("Mum")
    consent = consent_for(mum)
    answer = coze.get_client().create_voiceprint(living_room.coze_id, "Mum", audio.wav(12.0))
    return Voiceprint.objects.create(
        coze_id=answer.data["id"],
        group=living_room,
        name="Mum",
        person=mum,
        consent=consent,
        coze_creator_id=coze_sim.user["user_id"],
        audio_sha256="0" * 64,
    )


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


def feature_calls(sim, method=None):
    return [
        r
        for r in sim.requests
        if "/features" in r["path"] and (method is None or r["method"] == method)
    ]


def test_its_page_shows_person_group_device_and_history(viewer_client, mums_voice):
    page = viewer_client.get(f"/voiceprints/{mums_voice.pk}/").content.decode()
    assert "Mum" in page and "living room" in page and "Living room speaker" in page
    assert f"/voiceprints/{mums_voice.pk}/edit/" not in page  # viewers change nothing


def test_a_rename_goes_through_coze_and_is_audited(operator_client, mums_voice, coze_sim):
    response = operator_client.post(
        f"/voiceprints/{mums_voice.pk}/edit/", {"name": "Mother", "desc": "kitchen"}
    )

    assert response.status_code == 302
    mums_voice.refresh_from_db()
    assert (mums_voice.name, mums_voice.desc) == ("Mother", "kitchen")
    stored = coze_sim.voiceprints[mums_voice.coze_id]
    assert (stored["name"], stored["desc"]) == ("Mother", "kitchen")
    row = AuditEntry.objects.get(action="voiceprint.update")
    assert (
        row.outcome == "success"
        and row.coze_logid
        and row.facts["changes"]["name"]
        == [
            "Mum",
            "Mother",
        ]
    )


def test_re_enrolling_sends_new_audio_and_keeps_its_figures(
    operator_client, mums_voice, spoken, coze_sim
):
    upload = SimpleUploadedFile("new.m4a", audio.phone_m4a(spoken))
    response = operator_client.post(
        f"/voiceprints/{mums_voice.pk}/edit/", {"name": "Mum", "desc": "", "audio": upload}
    )

    assert response.status_code == 302
    [sent] = feature_calls(coze_sim, "PUT")
    assert (sent["files"][0]["sample_rate"], sent["files"][0]["channels"]) == (16000, 1)
    mums_voice.refresh_from_db()
    assert mums_voice.audio_sha256 != "0" * 64 and mums_voice.duration > 8
    assert AuditEntry.objects.get(action="voiceprint.update").facts["changes"]["audio"]


def test_re_enrolling_without_consent_in_force_is_refused(
    operator_client, mums_voice, spoken, coze_sim
):
    mums_voice.person.consents.update(withdrawn_at="2026-01-01T00:00Z")
    upload = SimpleUploadedFile("new.wav", spoken)

    response = operator_client.post(
        f"/voiceprints/{mums_voice.pk}/edit/", {"name": "Mum", "desc": "", "audio": upload}
    )

    assert "withdrawn their consent" in response.content.decode()
    assert not feature_calls(coze_sim, "PUT")


def test_an_administrator_deletes_it_after_confirming(administrator_client, mums_voice, coze_sim):
    confirm = administrator_client.get(f"/voiceprints/{mums_voice.pk}/delete/")
    assert "will be deleted on Coze" in confirm.content.decode()

    administrator_client.post(f"/voiceprints/{mums_voice.pk}/delete/")

    mums_voice.refresh_from_db()
    assert mums_voice.state == "deleted" and mums_voice.logid
    assert mums_voice.coze_id not in coze_sim.voiceprints
    row = AuditEntry.objects.get(action="voiceprint.delete")
    assert row.outcome == "success" and row.coze_logid == mums_voice.logid


def test_operators_cannot_delete(operator_client, mums_voice, coze_sim):
    assert operator_client.post(f"/voiceprints/{mums_voice.pk}/delete/").status_code == 403
    assert not feature_calls(coze_sim, "DELETE")


def test_a_delete_whose_answer_was_lost_is_found_done(administrator_client, mums_voice, coze_sim):
    coze_sim.add_fault("drop", method="DELETE")

    administrator_client.post(f"/voiceprints/{mums_voice.pk}/delete/")

    mums_voice.refresh_from_db()
    assert mums_voice.state == "deleted"
    assert AuditEntry.objects.get(action="voiceprint.delete").outcome == "success"


def test_a_failed_delete_changes_nothing_and_says_why(administrator_client, mums_voice, coze_sim):
    coze_sim.add_fault("http", method="DELETE")

    response = administrator_client.post(f"/voiceprints/{mums_voice.pk}/delete/", follow=True)

    assert "Coze did not delete the voiceprint" in response.content.decode()
    mums_voice.refresh_from_db()
    assert mums_voice.state == "active"
    assert AuditEntry.objects.get(action="voiceprint.delete").outcome == "failure"


def test_what_a_colleague_made_offers_no_doomed_call(
    administrator_client, colleagues_voice, coze_sim
):
    page = administrator_client.get(f"/voiceprints/{colleagues_voice.pk}/").content.decode()
    assert "Made on Coze by Wang" in page
    assert f"/voiceprints/{colleagues_voice.pk}/delete/" not in page

    response = administrator_client.post(f"/voiceprints/{colleagues_voice.pk}/delete/", follow=True)

    assert "lets only its maker change or delete it" in response.content.decode()
    assert (
        not feature_calls(coze_sim, "DELETE") and colleagues_voice.coze_id in coze_sim.voiceprints
    )


def test_whose_voice_a_colleagues_voiceprint_is_can_be_said(
    operator_client, colleagues_voice, coze_sim
):
    dad = enrollee("Dad")
    consent_for(dad)
    form = operator_client.get(f"/voiceprints/{colleagues_voice.pk}/edit/").content.decode()
    assert 'name="person"' in form and 'name="audio"' not in form

    response = operator_client.post(f"/voiceprints/{colleagues_voice.pk}/edit/", {"person": dad.pk})

    assert response.status_code == 302
    colleagues_voice.refresh_from_db()
    assert colleagues_voice.person == dad and colleagues_voice.consent == dad.consents.get()
    assert not feature_calls(coze_sim, "PUT")
    row = AuditEntry.objects.get(action="voiceprint.update")
    assert row.outcome == "success" and row.facts["changes"]["person"] == [None, "Dad"]


def test_a_person_without_consent_cannot_be_given_a_voiceprint(
    operator_client, colleagues_voice, coze_sim
):
    stranger = enrollee("Stranger")

    response = operator_client.post(
        f"/voiceprints/{colleagues_voice.pk}/edit/", {"person": stranger.pk}
    )

    assert "No consent is on record for Stranger" in response.content.decode()
    colleagues_voice.refresh_from_db()
    assert colleagues_voice.person is None


def test_deleting_a_group_deletes_its_voiceprints_in_the_register(
    administrator_client, mums_voice, living_room
):
    administrator_client.post(f"/groups/{living_room.pk}/delete/")

    mums_voice.refresh_from_db()
    assert mums_voice.state == "deleted"


def test_a_missing_voiceprint_is_a_404(viewer_client, db):
    assert viewer_client.get("/voiceprints/999999/").status_code == 404
    assert viewer_client.get("/groups/999999/voiceprints/new/").status_code in (403, 404)


def test_new_audio_for_a_voiceprint_nobody_is_named_for_is_refused(
    operator_client, living_room, spoken, coze_sim
):
    answer = coze.get_client().create_voiceprint(living_room.coze_id, "Someone", audio.wav(12.0))
    nobodys = Voiceprint.objects.create(
        coze_id=answer.data["id"], group=living_room, name="Someone"
    )
    upload = SimpleUploadedFile("new.wav", spoken)

    response = operator_client.post(
        f"/voiceprints/{nobodys.pk}/edit/", {"name": "Someone", "person": "", "audio": upload}
    )

    assert "Say whose voice this is" in response.content.decode()
    assert not feature_calls(coze_sim, "PUT")
    assert AuditEntry.objects.get(action="voiceprint.update").outcome == "refused"


def test_a_refused_change_of_a_colleagues_voiceprint_is_audited(
    administrator_client, colleagues_voice, coze_sim
):
    administrator_client.post(f"/voiceprints/{colleagues_voice.pk}/delete/")
    administrator_client.post(f"/voiceprints/{colleagues_voice.pk}/edit/", {"name": "x"})

    rows = AuditEntry.objects.filter(action__startswith="voiceprint.").order_by("pk")
    assert list(rows.values_list("action", "outcome")) == [
        ("voiceprint.delete", "refused"),
        ("voiceprint.update", "refused"),
    ]


def test_who_the_token_is_is_asked_again_for_another_token(coze_sim, db, monkeypatch):
    from groups.services import whoami

    CozeAccount.objects.update_or_create(
        name="default", defaults={"coze_user_id": "1111", "coze_user_name": "old token"}
    )
    monkeypatch.setattr(whoami, "_asked_for", {"default": "the hash of the token used before"})

    assert whoami.token_user() == (coze_sim.user["user_id"], coze_sim.user["user_name"])
    assert whoami.token_user() == (coze_sim.user["user_id"], coze_sim.user["user_name"])
    assert len([r for r in coze_sim.requests if r["path"] == "/v1/users/me"]) == 1
