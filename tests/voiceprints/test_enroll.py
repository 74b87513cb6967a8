"""Enrolling a person's voice in a group: consent first, audio checked and converted,
ten a group, audited like a create, and the audio never kept."""

import base64
import datetime
import io
import threading
import time
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from groups import coze
from groups.models import AuditEntry, Consent, CozeAccount, Person, Voiceprint, VoiceprintGroup
from tests import audio

COLLEAGUE = "7400000000000000042"
RACERS = 4


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


def enrollee(name="Mum", *, consent=True, **consent_fields):
    person = Person.objects.create(name=name)
    if consent:
        today = timezone.localdate()
        values = {
            "given_by": "person",
            "method": "signed_form",
            "purpose": "Recognising her voice on the living room speaker.",
            "given_on": today,
            "keep_until": today + datetime.timedelta(days=365),
            **consent_fields,
        }
        Consent.objects.create(person=person, **values)
    return person


def post(client, group, person, data, filename="mum.wav", **fields):
    form = {
        "person": person.pk,
        "name": "",
        "desc": "",
        "submission": str(uuid.uuid4()),
        "audio": SimpleUploadedFile(filename, data, content_type="application/octet-stream"),
        **fields,
    }
    return client.post(f"/groups/{group.pk}/voiceprints/new/", form)


def feature_calls(sim):
    """The requests that reached Coze's voiceprint calls."""
    return [r for r in sim.requests if "/features" in r["path"]]


def sent_audio(sim):
    [sent] = [r for r in sim.requests if r["method"] == "POST" and r["path"].endswith("/features")]
    [file] = sent["files"]
    return file


def test_an_operator_enrolls_mum_from_a_wav(operator_client, living_room, spoken, coze_sim):
    mum = enrollee("Mum")

    response = post(operator_client, living_room, mum, spoken)

    voiceprint = Voiceprint.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/voiceprints/{voiceprint.pk}/"
    assert (voiceprint.name, voiceprint.person, voiceprint.group) == ("Mum", mum, living_room)
    assert (
        voiceprint.consent == mum.consents.get()
        and voiceprint.keep_until == voiceprint.consent.keep_until
    )
    assert voiceprint.coze_id in coze_sim.voiceprints
    assert (
        voiceprint.logid
        and voiceprint.audio_sha256 == __import__("hashlib").sha256(spoken).hexdigest()
    )
    assert 8 < voiceprint.duration < 30 and voiceprint.sample_rate == 16000
    assert voiceprint.enrolled_by_name == "otto" or voiceprint.enrolled_by is not None
    file = sent_audio(coze_sim)
    assert (file["format"], file["sample_rate"], file["channels"], file["sample_width"]) == (
        "wav",
        16000,
        1,
        2,
    )
    rows = AuditEntry.objects.filter(action="voiceprint.create").order_by("pk")
    [row] = rows
    assert (row.outcome, row.target_type, row.target_id) == (
        "success",
        "voiceprint",
        str(voiceprint.pk),
    )
    assert row.coze_logid == voiceprint.logid and row.device == living_room.device


def test_dad_is_enrolled_from_a_phones_m4a(operator_client, living_room, spoken, coze_sim):
    dad = enrollee("Dad")

    response = post(operator_client, living_room, dad, audio.phone_m4a(spoken), "dad.m4a")

    assert response.status_code == 302, response.content.decode()[:2000]
    file = sent_audio(coze_sim)
    assert (file["format"], file["sample_rate"], file["channels"]) == ("wav", 16000, 1)
    assert Voiceprint.objects.get().quality["source_format"].startswith("mp4")


def test_an_enrollment_keeps_its_own_voiceprint_when_another_account_has_its_id(
    operator_client, living_room, spoken, coze_sim, monkeypatch
):
    # Coze ids are unique per account: Coze may give Mum's voiceprint the id one of
    # another account has in the register.
    elsewhere = VoiceprintGroup.objects.create(
        coze_id="42", name="shop", account=CozeAccount.named("cn2")
    )
    theirs = Voiceprint.objects.create(coze_id="7600000000000000001", group=elsewhere, name="x")
    monkeypatch.setattr(coze_sim.default.store, "_new_id", lambda: theirs.coze_id)

    response = post(operator_client, living_room, enrollee(), spoken)

    assert response.status_code == 302
    mums = Voiceprint.objects.get(group=living_room)
    assert (mums.coze_id, mums.person.name) == (theirs.coze_id, "Mum")
    theirs.refresh_from_db()
    assert (theirs.group, theirs.name, theirs.person) == (elsewhere, "x", None)


def test_nobody_without_consent_is_enrolled(operator_client, living_room, spoken, coze_sim):
    stranger = enrollee("Stranger", consent=False)

    response = post(operator_client, living_room, stranger, spoken)

    assert response.status_code == 200
    assert "No consent is on record for Stranger" in response.content.decode()
    assert not Voiceprint.objects.exists() and not feature_calls(coze_sim)
    row = AuditEntry.objects.get(action="voiceprint.create")
    assert (row.outcome, row.facts["say"]) == ("refused", "no_consent_none")


def test_a_withdrawn_or_past_consent_is_no_consent(operator_client, living_room, spoken, coze_sim):
    past = enrollee(
        "Past", given_on=datetime.date(2020, 1, 1), keep_until=datetime.date(2021, 1, 1)
    )
    withdrawn = enrollee("Gone")
    withdrawn.consents.update(withdrawn_at=timezone.now())

    for person, say in ((past, "passed its date"), (withdrawn, "withdrawn their consent")):
        response = post(operator_client, living_room, person, spoken)
        assert say in response.content.decode()
    assert not Voiceprint.objects.exists() and not feature_calls(coze_sim)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda spoken: audio.random_bytes(), "not audio"),
        (lambda spoken: audio.silence(), "silent"),
        (lambda spoken: audio.wav(2.0), "seconds"),
    ],
    ids=["not-audio", "silent", "short"],
)
def test_bad_audio_is_refused_before_coze_with_the_fields_kept(
    operator_client, living_room, spoken, coze_sim, make, words
):
    mum = enrollee("Mum")

    response = post(operator_client, living_room, mum, make(spoken), desc="kitchen side")

    page = response.content.decode()
    assert response.status_code == 200 and words in page.lower()
    assert 'value="kitchen side"' in page
    assert not feature_calls(coze_sim) and not Voiceprint.objects.exists()
    assert AuditEntry.objects.get(action="voiceprint.create").outcome == "refused"


def test_the_eleventh_voice_is_refused_before_coze(operator_client, living_room, spoken, coze_sim):
    people = [enrollee(f"P{n}") for n in range(11)]
    for person in people[:10]:
        assert post(operator_client, living_room, person, spoken).status_code == 302
    calls = len(coze_sim.requests)

    response = post(operator_client, living_room, people[10], spoken)

    assert "already holds 10 of 10 voiceprints" in response.content.decode()
    assert len(coze_sim.requests) == calls and Voiceprint.objects.count() == 10
    assert AuditEntry.objects.filter(action="voiceprint.create", outcome="refused").count() == 1


def test_a_resent_form_enrolls_once(operator_client, living_room, spoken, coze_sim):
    mum = enrollee("Mum")
    token = str(uuid.uuid4())

    post(operator_client, living_room, mum, spoken, submission=token)
    response = post(operator_client, living_room, mum, spoken, submission=token)

    assert Voiceprint.objects.count() == 1 and len(coze_sim.voiceprints) == 1
    assert response["Location"] == f"/voiceprints/{Voiceprint.objects.get().pk}/"


def test_coze_refusing_is_told_with_its_code_and_logid(
    operator_client, living_room, spoken, coze_sim
):
    mum = enrollee("Mum")
    coze_sim.add_fault("code", code=4303, msg="file type unsupported", method="POST")

    response = post(operator_client, living_room, mum, spoken, desc="kept")

    page = response.content.decode()
    assert "Coze did not enroll the voiceprint: file type unsupported" in page and "4303" in page
    assert 'value="kept"' in page and not Voiceprint.objects.exists()
    row = AuditEntry.objects.get(action="voiceprint.create")
    assert row.outcome == "failure" and row.coze_code == 4303 and row.coze_logid


def test_a_lost_answer_finds_the_voiceprint_coze_made(
    operator_client, living_room, spoken, coze_sim
):
    mum = enrollee("Mum")
    coze_sim.add_fault("drop", method="POST")

    response = post(operator_client, living_room, mum, spoken)

    voiceprint = Voiceprint.objects.get()
    assert response["Location"] == f"/voiceprints/{voiceprint.pk}/"
    assert voiceprint.person == mum and voiceprint.coze_id in coze_sim.voiceprints
    outcomes = list(
        AuditEntry.objects.filter(action="voiceprint.create")
        .order_by("pk")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["unknown", "success"]


def test_viewers_cannot_enroll(viewer_client, living_room, spoken, coze_sim):
    mum = enrollee("Mum")
    assert post(viewer_client, living_room, mum, spoken).status_code == 403
    assert not feature_calls(coze_sim)


def test_no_audio_reaches_the_database(operator_client, living_room, spoken, coze_sim):
    post(operator_client, living_room, enrollee("Mum"), spoken)
    assert Voiceprint.objects.exists()

    pcm = _pcm_of(spoken)[20000:20048]  # a slice of speech, in any encoding one might store
    shapes = [pcm, pcm.hex(), base64.b64encode(pcm).decode(), spoken[:48].hex()]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the schema)
            for row in cursor.fetchall():
                for value in row:
                    assert not isinstance(value, bytes | memoryview), table
                    text = str(value)
                    assert not any(str(shape) in text for shape in shapes[1:]), table


def _pcm_of(data):
    with wave.open(io.BytesIO(data)) as file:
        return file.readframes(file.getnframes())


def test_the_group_page_and_the_device_page_list_the_voiceprints(
    operator_client, living_room, spoken, coze_sim, django_assert_max_num_queries
):
    for name in ("Mum", "Dad", "Kid"):
        post(operator_client, living_room, enrollee(name), spoken)
    page = operator_client.get(f"/groups/{living_room.pk}/").content.decode()
    assert all(name in page for name in ("Mum", "Dad", "Kid")) and "3 of 10 places taken" in page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_only_one_of_several_operators_gets_the_tenth_place(
    operator, living_room, spoken, coze_sim
):
    for n in range(9):
        Voiceprint.objects.create(coze_id=str(6_100_000 + n), group=living_room, name=f"v{n}")
    people = [enrollee(f"Racer {n}") for n in range(RACERS)]
    clients = [Client() for _ in people]
    for client in clients:
        client.force_login(operator)
    start = threading.Barrier(RACERS + 1)

    def hold_the_group():
        # Every racer reaches the group's lock while it is held, so all of them count the
        # places at the same moment unless the lock orders them.
        try:
            with transaction.atomic():
                VoiceprintGroup.objects.select_for_update().get(pk=living_room.pk)
                start.wait()
                time.sleep(1.5)
        finally:
            connection.close()

    def attempt(client, person):
        start.wait()
        try:
            return post(client, living_room, person, spoken).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(RACERS + 1) as pool:
        holder = pool.submit(hold_the_group)
        statuses = list(pool.map(attempt, clients, people))
        holder.result()

    assert sorted(statuses) == [200] * (RACERS - 1) + [302]
    assert Voiceprint.objects.active().filter(group=living_room).count() == 10
    assert len(feature_calls(coze_sim)) == 1
    outcomes = sorted(
        AuditEntry.objects.filter(action="voiceprint.create").values_list("outcome", flat=True)
    )
    assert outcomes == ["refused"] * (RACERS - 1) + ["success"]


def test_an_upload_too_large_to_hold_in_memory_is_told_so(
    operator_client, living_room, spoken, coze_sim, settings
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = len(spoken) // 2  # Django drops the file unread

    response = post(operator_client, living_room, enrollee("Mum"), spoken, desc="kept")

    page = response.content.decode()
    assert "The file is larger than" in page and 'value="kept"' in page
    assert "This field is required" not in page and not feature_calls(coze_sim)


def test_a_person_is_enrolled_once_in_a_group(operator_client, living_room, spoken, coze_sim):
    mum = enrollee("Mum")
    post(operator_client, living_room, mum, spoken)

    response = post(operator_client, living_room, mum, spoken)

    assert "Mum is already enrolled in this group" in response.content.decode()
    assert len(feature_calls(coze_sim)) == 1 and Voiceprint.objects.count() == 1
    assert AuditEntry.objects.filter(action="voiceprint.create", outcome="refused").count() == 1


def test_an_enrollment_coze_finished_late_is_neither_repeated_nor_lost(
    operator_client, operator, living_room, spoken, coze_sim, settings
):
    from groups.actors import Actor
    from groups.services import sync_groups

    settings.COZE_TIMEOUT = 0.5
    coze_sim.add_fault("delay", seconds=1.0, method="POST")  # made on Coze after we gave up
    mum = enrollee("Mum")

    first = post(operator_client, living_room, mum, spoken)
    again = post(operator_client, living_room, mum, spoken)

    assert first.status_code == again.status_code == 302
    assert not Voiceprint.objects.exists()
    assert len([r for r in feature_calls(coze_sim) if r["method"] == "POST"]) == 1
    time.sleep(1.0)  # Coze finishes the first
    sync_groups(Actor.for_command("sync_coze_groups", user=operator))

    voiceprint = Voiceprint.objects.get()
    assert (voiceprint.person, voiceprint.name, voiceprint.state) == (mum, "Mum", "active")
    assert voiceprint.audio_sha256 and voiceprint.enrolled_by == operator
    attempt = AuditEntry.objects.get(action="voiceprint.create", outcome="unknown")
    assert attempt.resolution_or_none(fresh=True).target_id == str(voiceprint.pk)
