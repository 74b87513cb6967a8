"""People and consents through the API: recorded and changed with the pages' forms, a
consent recorded by the consent page's rules, read with their consents and voiceprints, and
a withdrawal that starts the deletions of every voiceprint of theirs (and says which, and
the job); each refusal a JSON error with a stable code, each write an audit row."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from groups import coze
from groups.models import AuditEntry, Consent, Job, Person, Voiceprint, VoiceprintGroup
from groups.models.people import default_keep_until
from tests import audio
from tests.factories import consent_for, enrollee, voiceprint

from .conftest import api_for

CONSENT = {"given_by": "person", "method": "signed_form", "purpose": "The living room speaker."}


def refusal(response, code, status=409):
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code, response.json()
    return response.json()


# People


def test_a_script_records_a_person_then_changes_them(operator_api, operator):
    made = operator_api.post("/api/people/", {"name": "Mum", "reference": "HH-1", "notes": "x"})

    assert made.status_code == 201, made.json()
    person = made.json()
    assert made["Location"].endswith(f"/api/people/{person['id']}/")
    assert (person["name"], person["reference"], person["created_by"]) == ("Mum", "HH-1", "olga")
    assert (person["consent_state"], person["consents"], person["voiceprints"]) == ("none", [], [])

    changed = operator_api.patch(f"/api/people/{person['id']}/", {"name": "Mother"})

    assert changed.status_code == 200 and changed.json()["name"] == "Mother"
    assert changed.json()["reference"] == "HH-1" and changed.json()["notes"] == "x"
    rows = AuditEntry.objects.filter(via="api", actor=operator).order_by("pk")
    assert [(r.action, r.outcome) for r in rows] == [
        ("person.create", "success"),
        ("person.update", "success"),
    ]
    assert rows[1].facts["changes"] == {"name": ["Mum", "Mother"]}


def test_a_reference_twice_and_a_name_missing_are_field_errors(operator_api, operator):
    enrollee("Dad", reference="HH-1")

    taken = operator_api.post("/api/people/", {"name": "Mum", "reference": "HH-1"})
    unnamed = operator_api.post("/api/people/", {"name": "  ", "reference": "HH-2"})

    assert refusal(taken, "invalid", 400)["codes"] == {"reference": ["unique"]}
    assert "Another person already has this reference." in taken.json()["fields"]["reference"]
    assert refusal(unnamed, "invalid", 400)["codes"] == {"name": ["required"]}
    assert Person.objects.count() == 1
    rows = AuditEntry.objects.filter(action="person.create")
    assert {(r.outcome, r.via, r.actor) for r in rows} == {("refused", "api", operator)}


def test_people_are_listed_with_their_consent_and_searched(viewer_api):
    mum, dad, gran = enrollee("Mum", reference="HH-1"), enrollee("Dad"), enrollee("Gran")
    consent_for(mum)
    consent_for(dad, withdrawn_at=timezone.now())
    consent_for(gran, given_on=datetime.date(2020, 1, 1), keep_until=datetime.date(2021, 1, 1))

    listed = viewer_api.get("/api/people/").json()["results"]

    states = {p["name"]: (p["consent_state"], p["consent_until"]) for p in listed}
    assert states == {
        "Dad": ("withdrawn", str(default_keep_until(timezone.localdate()))),
        "Gran": ("expired", "2021-01-01"),
        "Mum": ("in_force", str(default_keep_until(timezone.localdate()))),
    }
    assert [p["name"] for p in viewer_api.get("/api/people/?q=hh-1").json()["results"]] == ["Mum"]


def test_a_person_is_read_with_their_consents_and_voiceprints(viewer_api, device):
    mum = enrollee("Mum")
    old = consent_for(mum, given_on=datetime.date(2020, 1, 1), keep_until=datetime.date(2021, 1, 1))
    new = consent_for(mum)
    group = VoiceprintGroup.objects.create(coze_id="1", name="living room", device=device)
    voiceprint(group, "Mum", person=mum, consent=new)

    person = viewer_api.get(f"/api/people/{mum.pk}/").json()

    assert [(c["id"], c["state"]) for c in person["consents"]] == [
        (new.pk, "in_force"),
        (old.pk, "expired"),
    ]
    [held] = person["voiceprints"]
    assert (held["name"], held["group"], held["device"], held["state"]) == (
        "Mum",
        group.pk,
        device.pk,
        "active",
    )
    assert person["voiceprint_count"] == 1 and person["consent_state"] == "in_force"
    assert viewer_api.get("/api/people/0/").json()["code"] == "not_found"


def test_read_only_tokens_and_viewers_only_read(viewer_api, operator, administrator_api):
    mum = enrollee("Mum")
    read_only = api_for(operator, read_only=True)

    refusal(read_only.post("/api/people/", {"name": "X"}), "token_read_only", 403)
    refusal(viewer_api.post("/api/people/", {"name": "X"}), "permission_denied", 403)
    refusal(viewer_api.patch(f"/api/people/{mum.pk}/", {"name": "X"}), "permission_denied", 403)
    refusal(viewer_api.post(f"/api/people/{mum.pk}/consents/", CONSENT), "permission_denied", 403)
    withdraw = viewer_api.post(f"/api/people/{mum.pk}/withdraw/", {"withdrawal_method": "phone"})
    refusal(withdraw, "permission_denied", 403)

    denied = AuditEntry.objects.filter(action="permission.denied").order_by("pk")
    assert [row.facts["permission"] for row in denied] == [
        "groups.add_person",
        "groups.change_person",
        "groups.add_consent",
        "groups.withdraw_consent",
    ]
    assert Person.objects.get().name == "Mum" and not Consent.objects.exists()
    # People are not deleted (a withdrawal deletes their voiceprints): the API has no such
    # operation, for any role (a 405, as for any method an address does not answer).
    answer = administrator_api.delete(f"/api/people/{mum.pk}/")
    refusal(answer, "method_not_allowed", 405)
    assert "PATCH" in answer["Allow"] and "DELETE" not in answer["Allow"]
    assert Person.objects.filter(pk=mum.pk).exists()


# Consents


def test_a_consent_is_recorded_as_on_its_page(operator_api, operator):
    mum = enrollee("Mum")
    today = timezone.localdate()

    response = operator_api.post(
        f"/api/people/{mum.pk}/consents/", {**CONSENT, "given_on": str(today)}
    )

    assert response.status_code == 201, response.json()
    consent = response.json()
    assert consent["state"] == "in_force" and consent["recorded_by"] == "olga"
    assert consent["keep_until"] == str(default_keep_until(today))
    assert (consent["guardian_name"], consent["withdrawn_at"]) == ("", None)
    row = AuditEntry.objects.get(action="consent.create")
    assert (row.outcome, row.via, row.actor, row.target_id) == (
        "success",
        "api",
        operator,
        str(mum.pk),
    )
    assert row.facts["consent"] == consent["id"]
    person = operator_api.get(f"/api/people/{mum.pk}/").json()
    assert person["consent_state"] == "in_force" and person["consents"][0]["id"] == consent["id"]


@pytest.mark.parametrize(
    ("fields", "codes"),
    [
        (
            {"given_by": "guardian"},
            {"guardian_name": ["required"], "guardian_relation": ["required"]},
        ),
        ({"given_on": "2999-01-01"}, {"given_on": ["in_future"]}),
        ({"keep_until": "2000-01-01"}, {"keep_until": ["before_given"]}),
        ({"keep_until": "2999-01-01"}, {"keep_until": ["after_default"]}),
        ({"given_on": "2001-01-01"}, {"given_on": ["passed"]}),
        ({"method": "carrier pigeon"}, {"method": ["invalid_choice"]}),
        ({"given_on": "yesterday"}, {"given_on": ["invalid"]}),
        ({"purpose": ""}, {"purpose": ["blank"]}),
    ],
    ids=["guardian", "future", "before", "too-long", "passed", "method", "day", "purpose"],
)
def test_the_consent_pages_rules_refuse_with_codes(operator_api, operator, fields, codes):
    mum = enrollee("Mum")
    body = {**CONSENT, "given_on": str(timezone.localdate()), **fields}

    error = refusal(operator_api.post(f"/api/people/{mum.pk}/consents/", body), "invalid", 400)

    assert error["codes"] == codes and all(error["fields"][name] for name in codes)
    assert not Consent.objects.exists()
    row = AuditEntry.objects.get(action="consent.create")
    assert (row.outcome, row.via, row.actor, row.target_id) == (
        "refused",
        "api",
        operator,
        str(mum.pk),
    )


def test_a_guardians_consent_keeps_the_guardian(operator_api):
    kid = enrollee("Kid")
    body = {
        **CONSENT,
        "given_by": "guardian",
        "guardian_name": "Mum",
        "guardian_relation": "mother",
        "given_on": str(timezone.localdate()),
        "keep_until": str(timezone.localdate() + datetime.timedelta(days=30)),
    }

    consent = operator_api.post(f"/api/people/{kid.pk}/consents/", body).json()

    assert (consent["given_by"], consent["guardian_name"], consent["guardian_relation"]) == (
        "guardian",
        "Mum",
        "mother",
    )
    assert consent["keep_until"] == body["keep_until"]


def test_rules_are_said_in_the_readers_language(operator_api):
    mum = enrollee("Mum")
    body = {**CONSENT, "given_on": "2999-01-01"}

    error = operator_api.post(
        f"/api/people/{mum.pk}/consents/", body, accept_language="zh-Hans"
    ).json()

    said = error["message"] + error["fields"]["given_on"][0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in said), said


# Withdrawing


def on_coze(group, name, sim, **fields):
    answer = coze.get_client().create_voiceprint(group.coze_id, name, audio.wav(12.0))
    values = {"coze_creator_id": sim.user["user_id"], **fields}
    return Voiceprint.objects.create(coze_id=answer.data["id"], group=group, name=name, **values)


@pytest.fixture
def dad(coze_sim, device):
    """Dad, with consent, enrolled in two groups on the simulator."""
    person = enrollee("Dad")
    consent = consent_for(person)
    for name in ("living room", "kitchen"):
        answer = coze.get_client().create_group(name)
        group = VoiceprintGroup.objects.create(coze_id=answer.data["id"], name=name, device=device)
        on_coze(group, "Dad", coze_sim, person=person, consent=consent)
    return person


def test_a_withdrawal_starts_the_deletion_of_every_voiceprint_and_says_so(
    operator_api, operator, dad, coze_sim, run_jobs
):
    response = operator_api.post(
        f"/api/people/{dad.pk}/withdraw/",
        {"withdrawal_method": "written", "withdrawal_note": "Letter of 3 May"},
    )

    assert response.status_code == 200, response.json()
    answer = response.json()
    consent = dad.consents.get()
    assert answer["consents"] == [consent.pk]
    assert answer["person"]["consent_state"] == "withdrawn"
    assert answer["person"]["consents"][0]["withdrawal_method"] == "written"
    assert answer["person"]["consents"][0]["withdrawn_by"] == "olga"
    deleting = {v["id"]: v for v in answer["voiceprints"]}
    assert set(deleting) == set(dad.voiceprints.values_list("pk", flat=True))
    assert {(v["deletion_reason"], v["deletion_state"]) for v in deleting.values()} == {
        ("withdrawal", "waiting")
    }
    job = Job.objects.get(kind="deletions")
    assert (answer["job"]["id"], answer["job"]["kind"], answer["job"]["state"]) == (
        str(job.pk),
        "deletions",
        "queued",
    )
    assert job.user == operator and job.via == "api"
    row = AuditEntry.objects.get(action="consent.withdraw")
    assert (row.outcome, row.via, row.actor, row.facts["voiceprints"]) == (
        "success",
        "api",
        operator,
        2,
    )

    assert run_jobs() == 1

    done = operator_api.get(f"/api/jobs/{job.pk}/").json()
    assert done["state"] == "succeeded" and len(done["results"]) == 2
    assert not any(v.coze_id in coze_sim.voiceprints for v in dad.voiceprints.all())
    person = operator_api.get(f"/api/people/{dad.pk}/").json()
    assert {(v["state"], v["deletion_state"]) for v in person["voiceprints"]} == {
        ("deleted", "done")
    }


def test_a_withdrawal_with_nothing_to_delete_starts_no_job(operator_api, coze_sim):
    mum = enrollee("Mum")
    consent_for(mum)

    answer = operator_api.post(
        f"/api/people/{mum.pk}/withdraw/", {"withdrawal_method": "phone"}
    ).json()

    assert (answer["voiceprints"], answer["job"]) == ([], None)
    assert not Job.objects.exists()


def test_nothing_to_withdraw_and_no_method_change_nothing(operator_api, operator, dad, coze_sim):
    stranger = enrollee("Stranger")

    nothing = operator_api.post(
        f"/api/people/{stranger.pk}/withdraw/", {"withdrawal_method": "phone"}
    )
    no_method = operator_api.post(f"/api/people/{dad.pk}/withdraw/", {"withdrawal_note": "x"})

    assert "Stranger" in refusal(nothing, "nothing_to_withdraw")["message"]
    assert refusal(no_method, "invalid", 400)["codes"] == {"withdrawal_method": ["required"]}
    assert not Consent.objects.filter(withdrawn_at__isnull=False).exists()
    assert not Voiceprint.objects.filter(deletion_requested_at__isnull=False).exists()
    assert not Job.objects.exists()
    rows = AuditEntry.objects.filter(action="consent.withdraw").order_by("pk")
    assert [(r.outcome, r.via, r.actor, r.facts["say"]) for r in rows] == [
        ("refused", "api", operator, "nothing_to_withdraw"),
        ("refused", "api", operator, "invalid_form"),
    ]


def test_after_a_withdrawal_enrollment_is_refused(operator_api, dad, coze_sim):
    operator_api.post(f"/api/people/{dad.pk}/withdraw/", {"withdrawal_method": "phone"})
    group = dad.voiceprints.first().group

    response = operator_api.upload(
        "POST",
        f"/api/groups/{group.pk}/voiceprints/",
        {"person": dad.pk, "audio": SimpleUploadedFile("dad.wav", audio.speech())},
    )

    refusal(response, "no_consent_withdrawn")
