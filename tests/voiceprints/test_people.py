"""The register of people whose voices are enrolled, and their consents: recorded, changed
and consented to on /people/, each write audited; a person's page says whether they may be
enrolled."""

import datetime
import json
import re
import uuid

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groups import services
from groups.models import AuditEntry, Consent, Person
from groups.models.people import consent_state

from .. import factories

TODAY = timezone.localdate
GUARDIAN = {
    "given_by": "guardian",
    "guardian_name": "Li Na",
    "guardian_relation": "mother",
    "method": "signed_form",
    "purpose": "Recognising her voice on the living room speaker.",
}


def consent_form(**values):
    return {
        "given_by": "person",
        "method": "in_person",
        "purpose": "Recognising their voice on the kiosk.",
        "given_on": TODAY().isoformat(),
        "keep_until": "",
        **values,
    }


def english(day):
    """A day as English pages write it (DATE_FORMAT "M j, Y")."""
    return f"{day:%b} {day.day}, {day.year}"


def field_errors(response):
    return {
        name: [error.code for error in errors]
        for name, errors in response.context["form"].errors.as_data().items()
    }


def audit_rows(action):
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


# Recording and changing a person


def test_a_person_is_recorded_and_audited(operator_client, operator):
    response = operator_client.post(
        "/people/new/", {"name": "  Wang Wei ", "reference": "EMP-7", "notes": "Night shift."}
    )
    person = Person.objects.get()
    assert response["Location"] == f"/people/{person.pk}/"
    assert (person.name, person.reference, person.notes) == ("Wang Wei", "EMP-7", "Night shift.")
    assert person.created_by == operator
    (entry,) = audit_rows("person.create")
    assert (entry.outcome, entry.actor, entry.target_type, entry.target_id) == (
        "success",
        operator,
        "person",
        str(person.pk),
    )
    assert entry.target_label == "Wang Wei"
    assert entry.explanation == "Recorded “Wang Wei”, reference EMP-7."
    page = operator_client.get(response["Location"]).content.decode()
    assert "“Wang Wei” recorded." in page and "Recorded “Wang Wei”, reference EMP-7." in page


def test_a_reference_twice_is_refused_with_a_message(operator_client):
    factories.enrollee("Wang Wei", reference="EMP-7")
    response = operator_client.post("/people/new/", {"name": "Li Na", "reference": "EMP-7"})
    assert response.status_code == 200
    assert "Another person already has this reference." in response.content.decode()
    assert field_errors(response) == {"reference": ["unique"]}
    assert list(Person.objects.values_list("name", flat=True)) == ["Wang Wei"]
    (entry,) = audit_rows("person.create")
    assert entry.outcome == "refused"
    assert entry.explanation == "Not valid: reference: is already used."


def test_people_without_a_reference_are_many(operator_client):
    for name in ("Wang Wei", "Li Na"):
        operator_client.post("/people/new/", {"name": name, "reference": ""})
    assert Person.objects.filter(reference="").count() == 2


def test_a_reference_taken_meanwhile_is_refused_by_the_database(operator):
    actor = factories.actor(operator)
    services.create_person(actor, name="Wang Wei", reference="EMP-7")
    with pytest.raises(services.ReferenceTaken):
        services.create_person(actor, name="Li Na", reference="EMP-7")
    li = services.create_person(actor, name="Li Na", reference="EMP-8")
    with pytest.raises(services.ReferenceTaken):
        services.update_person(actor, li, reference="EMP-7", notes="x")
    assert (li.reference, li.notes) == ("EMP-8", "")  # as stored
    assert [e.outcome for e in AuditEntry.objects.all()] == ["success", "success"]


def test_a_change_is_audited_with_old_and_new_values_but_never_the_notes(operator_client, operator):
    person = factories.enrollee("Wang Wei", reference="EMP-7", notes="Allergic to cats")
    response = operator_client.post(
        f"/people/{person.pk}/edit/",
        {"name": "Wang Wei (night)", "reference": "EMP-7", "notes": "Moved to the night shift"},
    )
    assert response["Location"] == f"/people/{person.pk}/"
    person.refresh_from_db()
    assert (person.name, person.notes) == ("Wang Wei (night)", "Moved to the night shift")
    (entry,) = audit_rows("person.update")
    assert entry.facts == {
        "say": "changes",
        "changes": {"name": ["Wang Wei", "Wang Wei (night)"]},
        "changed": ["notes"],
    }
    assert "cats" not in json.dumps(entry.facts) and "night shift" not in json.dumps(entry.facts)
    assert entry.explanation == "name: Wang Wei → Wang Wei (night); notes: changed"


def test_saving_a_person_unchanged_writes_nothing(operator_client):
    person = factories.enrollee("Wang Wei", reference="EMP-7")
    response = operator_client.post(
        f"/people/{person.pk}/edit/", {"name": "Wang Wei ", "reference": "EMP-7", "notes": ""}
    )
    assert "Nothing to change." in operator_client.get(response["Location"]).content.decode()
    assert not AuditEntry.objects.filter(action="person.update").exists()


def test_an_invalid_edit_changes_nothing_and_the_page_names_the_person_as_stored(operator_client):
    person = factories.enrollee("Wang Wei")
    response = operator_client.post(
        f"/people/{person.pk}/edit/", {"name": "Wang\u200bWei", "notes": "bell\x07"}
    )
    assert field_errors(response) == {
        "name": ["invisible_character"],
        "notes": ["control_character"],
    }
    assert "<h1>Edit “Wang Wei”</h1>" in response.content.decode()
    person.refresh_from_db()
    assert person.name == "Wang Wei"
    (entry,) = audit_rows("person.update")
    assert (entry.outcome, entry.target_id) == ("refused", str(person.pk))


def test_notes_keep_their_line_breaks(operator_client):
    operator_client.post("/people/new/", {"name": "Wang Wei", "notes": "Line one\r\nLine two"})
    person = Person.objects.get()
    assert person.notes == "Line one\r\nLine two"
    page = operator_client.get(f"/people/{person.pk}/").content.decode()
    assert "Line one<br>Line two" in page


# Consents


def test_a_consent_is_recorded_and_audited(operator_client, operator):
    person = factories.enrollee("Wang Xiaoming")
    given_on = TODAY() - datetime.timedelta(days=6)
    response = operator_client.post(
        f"/people/{person.pk}/consent/", consent_form(**GUARDIAN, given_on=given_on)
    )
    assert response["Location"] == f"/people/{person.pk}/"
    consent = Consent.objects.get()
    assert (consent.given_by, consent.guardian_name, consent.guardian_relation) == (
        "guardian",
        "Li Na",
        "mother",
    )
    assert (consent.recorded_by, consent.recorded_by_name) == (operator, "olga")
    until = given_on + datetime.timedelta(days=1095)
    assert consent.keep_until == until
    (entry,) = audit_rows("consent.create")
    assert (entry.outcome, entry.target_type, entry.target_id, entry.target_label) == (
        "success",
        "person",
        str(person.pk),
        "Wang Xiaoming",
    )
    assert entry.facts["consent"] == consent.pk and "Li Na" not in json.dumps(entry.facts)
    assert entry.explanation == (
        f"Consent given by a guardian (child under 14) on {english(given_on)} (signed form) "
        f"recorded: voiceprints may be kept until {english(until)}."
    )


def test_a_guardians_consent_without_the_guardians_name_is_refused(operator_client):
    person = factories.enrollee()
    response = operator_client.post(
        f"/people/{person.pk}/consent/",
        consent_form(**{**GUARDIAN, "guardian_name": " ", "guardian_relation": ""}),
    )
    assert response.status_code == 200
    assert field_errors(response) == {
        "guardian_name": ["required"],
        "guardian_relation": ["required"],
    }
    page = response.content.decode()
    assert "Name the guardian who gave the consent." in page
    assert not Consent.objects.exists()
    (entry,) = audit_rows("consent.create")
    assert entry.outcome == "refused" and entry.target_id == str(person.pk)
    assert entry.explanation == (
        "Not valid: guardian's name: is required; guardian's relation: is required."
    )


def test_a_persons_own_consent_keeps_no_guardian(operator_client):
    person = factories.enrollee()
    form = consent_form(guardian_name="Li Na\x00\u202e", guardian_relation="x" * 500)
    operator_client.post(f"/people/{person.pk}/consent/", form)
    consent = Consent.objects.get()
    assert (consent.given_by, consent.guardian_name, consent.guardian_relation) == (
        "person",
        "",
        "",
    )


def test_the_default_keeping_date_is_the_retention_period_from_the_consent(
    operator_client, settings
):
    settings.VOICEPRINT_RETENTION_DAYS = 30
    person = factories.enrollee()
    page = operator_client.get(f"/people/{person.pk}/consent/").content.decode()
    default = TODAY() + datetime.timedelta(days=30)
    assert f"keep them 30 days from the consent (until {english(default)} for" in page
    given_on = TODAY() - datetime.timedelta(days=3)
    operator_client.post(
        f"/people/{person.pk}/consent/", consent_form(given_on=given_on.isoformat())
    )
    assert Consent.objects.get().keep_until == given_on + datetime.timedelta(days=30)


def test_a_shorter_keeping_date_is_kept_when_they_asked(operator_client):
    person = factories.enrollee()
    until = TODAY() + datetime.timedelta(days=90)
    operator_client.post(f"/people/{person.pk}/consent/", consent_form(keep_until=until))
    assert Consent.objects.get().keep_until == until
    (entry,) = audit_rows("consent.create")
    assert entry.explanation.endswith("Earlier than the default date, as they asked.")


def test_a_later_keeping_date_than_the_default_is_refused(operator_client, settings):
    settings.VOICEPRINT_RETENTION_DAYS = 365
    person = factories.enrollee()
    response = operator_client.post(
        f"/people/{person.pk}/consent/",
        consent_form(keep_until=TODAY() + datetime.timedelta(days=366)),
    )
    assert field_errors(response) == {"keep_until": ["after_default"]}
    assert "at most 365 days from the consent" in response.content.decode()
    assert not Consent.objects.exists()
    (entry,) = audit_rows("consent.create")
    assert entry.explanation == "Not valid: kept until: is later than 365 days after the consent."


@pytest.mark.parametrize(
    ("given_on", "keep_until", "errors"),
    [
        (1, None, {"given_on": ["in_future"]}),
        (0, -1, {"keep_until": ["before_given"]}),
        (-2000, None, {"given_on": ["passed"]}),
        (-30, 10, {"keep_until": ["passed"]}),
    ],
)
def test_dates_that_cannot_be_are_refused(operator_client, given_on, keep_until, errors):
    person = factories.enrollee()
    day = TODAY() + datetime.timedelta(days=given_on)
    until = "" if keep_until is None else day + datetime.timedelta(days=keep_until)
    response = operator_client.post(
        f"/people/{person.pk}/consent/", consent_form(given_on=day, keep_until=until)
    )
    assert field_errors(response) == errors
    assert not Consent.objects.exists()


def test_the_service_refuses_what_the_form_would_and_audits_it(operator, settings):
    person = factories.enrollee()
    with pytest.raises(services.ConsentRefused) as refused:
        services.record_consent(
            factories.actor(operator),
            person,
            given_by="guardian",
            method="by carrier pigeon",
            purpose="",
            given_on=TODAY(),
            keep_until=TODAY() + datetime.timedelta(days=5000),
        )
    assert set(refused.value.errors) == {
        "method",
        "purpose",
        "guardian_name",
        "guardian_relation",
        "keep_until",
    }
    assert not Consent.objects.exists()
    (entry,) = audit_rows("consent.create")
    assert entry.outcome == "refused" and entry.target_id == str(person.pk)


def test_the_consent_form_offers_a_purpose_in_the_readers_language(operator_client):
    person = factories.enrollee()
    page = operator_client.get(f"/people/{person.pk}/consent/").content.decode()
    assert "Recognising your voice on our devices" in page
    assert f'value="{TODAY().isoformat()}"' in page  # given today, unless changed


# Who may do what


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/people/new/"),
        ("post", "/people/new/"),
        ("get", "/people/{pk}/edit/"),
        ("post", "/people/{pk}/edit/"),
        ("get", "/people/{pk}/consent/"),
        ("post", "/people/{pk}/consent/"),
    ],
)
def test_viewers_cannot_record(viewer_client, viewer, method, path):
    person = factories.enrollee("Wang Wei")
    data = {"name": "Mallory", **consent_form()}
    response = getattr(viewer_client, method)(path.format(pk=person.pk), data)
    assert response.status_code == 403
    (entry,) = audit_rows("permission.denied")
    assert (entry.outcome, entry.actor) == ("refused", viewer)
    assert path.format(pk=person.pk) in entry.explanation
    assert list(Person.objects.values_list("name", flat=True)) == ["Wang Wei"]
    assert not Consent.objects.exists()


def test_viewers_see_people_and_no_buttons(viewer_client):
    person = factories.enrollee("Wang Wei")
    listed = viewer_client.get("/people/").content.decode()
    assert "Wang Wei" in listed and "/people/new/" not in listed
    page = viewer_client.get(f"/people/{person.pk}/").content.decode()
    assert "No consent is in force" in page
    assert f"/people/{person.pk}/consent/" not in page and f"/people/{person.pk}/edit/" not in page


def test_people_are_in_the_navigation(viewer_client):
    assert 'href="/people/"' in viewer_client.get("/").content.decode()
    page = viewer_client.get("/people/").content.decode()
    assert '<a href="/people/" aria-current="page">' in page


# A person's page


def test_the_person_page_shows_their_consents_newest_first(viewer_client):
    person = factories.enrollee("Wang Xiaoming", reference="S-12")
    factories.consent_for(
        person,
        given_on=datetime.date(2024, 1, 5),
        keep_until=datetime.date(2024, 6, 30),
        recorded_at=timezone.now() - datetime.timedelta(days=900),
    )
    factories.consent_for(
        person,
        **{**GUARDIAN, "method": "electronic"},
        given_on=TODAY(),
        keep_until=TODAY() + datetime.timedelta(days=100),
        recorded_by_name="olga",
    )
    page = viewer_client.get(f"/people/{person.pk}/").content.decode()
    newest, oldest = page.index("Li Na (mother)"), page.index("Jan 5, 2024")
    assert newest < oldest
    until = TODAY() + datetime.timedelta(days=100)
    assert f"in force until {english(until)}" in page
    assert "expired after Jun 30, 2024" in page
    assert "electronic" in page and "Recognising her voice on the living room speaker." in page
    assert "olga" in page and "S-12" in page
    assert "No consent is in force" not in page


@pytest.mark.parametrize("ended", ["withdrawn", "expired", "none"])
def test_the_banner_says_when_no_consent_is_in_force(operator_client, ended):
    person = factories.enrollee("Wang Wei")
    if ended == "withdrawn":
        factories.consent_for(person, withdrawn_at=timezone.now())
    elif ended == "expired":
        factories.consent_for(
            person,
            given_on=TODAY() - datetime.timedelta(days=20),
            keep_until=TODAY() - datetime.timedelta(days=1),
        )
    page = operator_client.get(f"/people/{person.pk}/").content.decode()
    assert "No consent is in force: Wang Wei cannot be enrolled until one is recorded." in page
    assert f'href="/people/{person.pk}/consent/">Record consent</a>' in page


def test_a_consent_ending_today_is_still_in_force(viewer_client):
    person = factories.enrollee()
    factories.consent_for(person, given_on=TODAY() - datetime.timedelta(days=5), keep_until=TODAY())
    assert (
        "No consent is in force" not in viewer_client.get(f"/people/{person.pk}/").content.decode()
    )


def test_the_person_page_lists_every_voiceprint_with_its_group_and_device(viewer_client, device):
    person = factories.enrollee("Wang Wei")
    consent = factories.consent_for(person)
    kitchen = factories.group(device, "kitchen")
    loose = factories.group(None, "loose")
    enrolled = factories.voiceprint(kitchen, "wang-kitchen", person=person, consent=consent)
    factories.voiceprint(loose, "wang-old", person=person, state="deleted")
    factories.voiceprint(kitchen, "someone else")
    page = viewer_client.get(f"/people/{person.pk}/").content.decode()
    assert f'<a href="/voiceprints/{enrolled.pk}/">wang-kitchen</a>' in page
    assert f'<a href="/groups/{kitchen.pk}/">kitchen</a>' in page
    assert f'<a href="/devices/{device.pk}/">Living room speaker</a>' in page
    assert "wang-old" in page and "deleted" in page and "someone else" not in page


# The list


def test_the_list_shows_consent_voiceprints_and_devices(viewer_client, device):
    other = factories.device("Kiosk", "KSK-1")
    wang, li, zhao, qian = (factories.enrollee(n) for n in ("Wang", "Li", "Zhao", "Qian"))
    factories.consent_for(wang, keep_until=datetime.date(2029, 1, 1))
    factories.consent_for(wang, withdrawn_at=timezone.now())  # an older one in force still counts
    factories.consent_for(li, withdrawn_at=timezone.now())
    factories.consent_for(
        zhao, given_on=datetime.date(2020, 1, 1), keep_until=datetime.date(2021, 1, 1)
    )
    for group in (factories.group(device), factories.group(other), factories.group(device)):
        factories.voiceprint(group, person=wang)
    factories.voiceprint(factories.group(other), person=li, state="deleted")

    response = viewer_client.get("/people/")
    rows = {row["person"].name: row for row in response.context["rows"]}
    assert {name: row["state"]["code"] for name, row in rows.items()} == {
        "Wang": "in_force",
        "Li": "withdrawn",
        "Zhao": "expired",
        "Qian": "none",
    }
    assert rows["Wang"]["state"]["date"] == datetime.date(2029, 1, 1)
    assert rows["Wang"]["devices"] == [
        (f"/devices/{other.pk}/", "Kiosk"),
        (f"/devices/{device.pk}/", "Living room speaker"),
    ]
    assert rows["Wang"]["voiceprints"] == 3
    assert rows["Li"]["voiceprints"] == 0 and rows["Li"]["devices"] == []
    page = response.content.decode()
    assert "in force until Jan 1, 2029" in page and "expired after Jan 1, 2021" in page
    assert "no consent" in page and "withdrawn on" in page
    assert rows["Qian"]["person"] == qian


# A consent as (days from today to its keeping date, withdrawn or not, minutes after the
# first it was recorded): expired, in force, withdrawn, recorded in any order.
consents = st.lists(st.tuples(st.integers(-3, 3), st.booleans(), st.integers(0, 3)), max_size=4)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(consents=consents)
def test_the_list_says_each_consent_state_as_the_api_does(viewer_client, consents):
    """The list reads each page's consents with its people; the API asks subqueries: the
    same state and date, whatever a person's consents."""
    person = factories.enrollee(f"Person {uuid.uuid4().hex}")
    first = timezone.now() - datetime.timedelta(days=1)
    for days, withdrawn, minutes in consents:
        factories.consent_for(
            person,
            given_on=TODAY() - datetime.timedelta(days=10),
            keep_until=TODAY() + datetime.timedelta(days=days),
            recorded_at=first + datetime.timedelta(minutes=minutes),
            withdrawn_at=timezone.now() if withdrawn else None,
        )

    rows = viewer_client.get(f"/people/?q={person.name}").context["rows"]

    annotated = Person.objects.with_consent_state().get(pk=person.pk)
    assert [row["state"] for row in rows] == [consent_state(annotated)]


def test_the_list_names_three_devices_and_counts_the_rest_with_a_link(viewer_client):
    wang = factories.enrollee("Wang")
    devices = [factories.device(f"Speaker {n}", f"SPK-{n}") for n in (4, 2, 0, 3, 1)]
    for device in devices:
        factories.voiceprint(factories.group(device), person=wang)
    factories.voiceprint(
        factories.group(factories.device("Gone", "GONE-1")), person=wang, state="deleted"
    )

    page = viewer_client.get("/people/").content.decode()

    cell = page.split(f'<a href="/people/{wang.pk}/">Wang</a>')[1].split("</tr>")[0]
    first = {device.name: device.pk for device in devices}
    assert (
        f'<a href="/devices/{first["Speaker 0"]}/">Speaker 0</a>, '
        f'<a href="/devices/{first["Speaker 1"]}/">Speaker 1</a>, '
        f'<a href="/devices/{first["Speaker 2"]}/">Speaker 2</a> '
        f'<a href="/people/{wang.pk}/#voiceprints">and 2 more</a>'
    ) in cell
    assert "Speaker 3" not in cell and "Gone" not in cell
    assert 'id="voiceprints"' in viewer_client.get(f"/people/{wang.pk}/").content.decode()


def test_the_list_is_searched_by_name_and_reference_and_sorted(viewer_client):
    factories.enrollee("Wang Wei", reference="EMP-7")
    factories.enrollee("Li Na", reference="EMP-12")
    factories.enrollee("Zhao Lei")

    def names(query):
        return [row["person"].name for row in viewer_client.get(f"/people/{query}").context["rows"]]

    assert names("") == ["Li Na", "Wang Wei", "Zhao Lei"]
    assert names("?q=wang") == ["Wang Wei"]
    assert names("?q=EMP&sort=-reference") == ["Wang Wei", "Li Na"]
    assert names("?q=nobody") == []
    assert "No person matches “nobody”." in viewer_client.get("/people/?q=nobody").content.decode()


# Bad input

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hostile = st.one_of(
    st.sampled_from(
        ["<script>alert(1)</script>", "\x00", "\u202e", "a" * 10_000, "𝕏" * 101, "\r\n", " "]
    ),
    st.text(max_size=300),
)
days = st.one_of(
    st.dates().map(str),
    st.sampled_from(["9999-12-31", "0001-01-01", "10000-01-01", "2026-02-30", "2026-13-01"]),
    hostile,
)


@EXAMPLES
@given(name=hostile, reference=hostile, notes=hostile)
def test_any_person_form_is_answered(operator_client, name, reference, notes):
    response = operator_client.post("/people/new/", {"name": name, "reference": reference})
    assert response.status_code in (200, 302)
    response = operator_client.post(
        "/people/new/", {"name": "x", "reference": reference, "notes": notes}
    )
    assert response.status_code in (200, 302)
    for person in Person.objects.all():
        assert person.name == person.name.strip() and len(person.name) <= 100


@EXAMPLES
@given(
    given_by=st.one_of(st.sampled_from(["person", "guardian"]), hostile),
    guardian=hostile,
    method=st.one_of(st.sampled_from(["signed_form", "electronic"]), hostile),
    purpose=hostile,
    given_on=days,
    keep_until=days,
)
def test_any_consent_form_is_answered(
    operator_client, given_by, guardian, method, purpose, given_on, keep_until
):
    person = Person.objects.first() or factories.enrollee()
    response = operator_client.post(
        f"/people/{person.pk}/consent/",
        {
            "given_by": given_by,
            "guardian_name": guardian,
            "guardian_relation": guardian,
            "method": method,
            "purpose": purpose,
            "given_on": given_on,
            "keep_until": keep_until,
        },
    )
    assert response.status_code in (200, 302)
    for consent in Consent.objects.all():
        assert consent.given_on <= TODAY() <= consent.keep_until


@pytest.mark.parametrize("path", ["/people/{n}/", "/people/{n}/edit/", "/people/{n}/consent/"])
@pytest.mark.parametrize("n", ["0", "999999", "9" * 19, "9" * 40, "-1", "abc", "%00"])
def test_a_person_who_does_not_exist_is_404(administrator_client, path, n):
    assert administrator_client.get(path.format(n=n)).status_code == 404
    assert administrator_client.post(path.format(n=n), consent_form()).status_code == 404


def test_names_are_escaped_everywhere(administrator_client, device):
    script = "<script>alert(1)</script>"
    person = factories.enrollee(script, reference=script, notes=script)
    factories.consent_for(person, purpose=script, guardian_name=script)
    factories.voiceprint(factories.group(device), script[:20], person=person)
    administrator_client.post(f"/people/{person.pk}/edit/", {"name": "x", "notes": script})
    for path in ["/people/", f"/people/{person.pk}/", f"/people/{person.pk}/edit/", "/audit/"]:
        page = administrator_client.get(path).content.decode()
        assert not re.search(r"<script", page.split("<main>")[1]), path


def test_people_and_consents_are_read_only_in_the_admin(admin_client):
    person = factories.enrollee("Wang Wei")
    consent = factories.consent_for(person)
    assert "Wang Wei" in admin_client.get("/admin/groups/person/").content.decode()
    assert admin_client.get("/admin/groups/consent/").status_code == 200
    page = admin_client.get(f"/admin/groups/consent/{consent.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert admin_client.get("/admin/groups/person/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/groups/person/{person.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Person.objects.filter(pk=person.pk).exists()
