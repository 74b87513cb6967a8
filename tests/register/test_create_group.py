"""Creating a voiceprint group from the form, end to end against the simulator."""

import uuid

import pytest

from groups.coze.simulator import CODE_INTERNAL
from groups.models import AuditEntry, VoiceprintGroup

URL = "/groups/new/"


def post(client, for_device, **fields):
    data = {
        "name": "living room",
        "desc": "speaker 2",
        "device": for_device.pk,
        "submission": str(uuid.uuid4()),
        **fields,
    }
    return client.post(URL, data)


def create_calls(sim):
    return [r for r in sim.requests if r["method"] == "POST"]


def test_it_creates_the_group_on_coze_and_registers_it(operator_client, operator, device, coze_sim):
    response = post(operator_client, device, name="客厅音箱的声纹组", desc="客厅")

    group = VoiceprintGroup.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.pk}/"
    assert (group.name, group.desc, group.device, group.creator) == (
        "客厅音箱的声纹组",
        "客厅",
        device,
        operator,
    )
    remote = coze_sim.groups[group.coze_id]
    assert (remote["name"], remote["desc"]) == ("客厅音箱的声纹组", "客厅")
    assert [r["json"] for r in create_calls(coze_sim)] == [
        {"name": "客厅音箱的声纹组", "desc": "客厅"}
    ]

    entry = AuditEntry.objects.get(action="group.create")
    assert entry.outcome == "success"
    assert entry.coze_logid == group.logid != ""
    assert (entry.actor, entry.actor_username, entry.device) == (operator, "olga", device)
    assert (entry.target_type, entry.target_id) == ("voiceprintgroup", str(group.pk))
    assert (entry.sent_name, entry.sent_desc) == ("客厅音箱的声纹组", "客厅")
    assert (entry.coze_code, entry.http_status) == (0, 200)
    assert entry.duration_ms is not None and entry.request_id == response["X-Request-ID"]
    assert entry.ip_address == "127.0.0.1"

    page = operator_client.get(response["Location"])
    assert group.logid in page.content.decode()
    assert "created on Coze" in page.content.decode()


def test_it_leaves_desc_out_when_empty(operator_client, device, coze_sim):
    post(operator_client, device, desc="   ")
    assert [r["json"] for r in create_calls(coze_sim)] == [{"name": "living room"}]
    assert VoiceprintGroup.objects.get().desc == ""


def test_the_group_shows_on_its_device_page_and_in_the_audit_log(operator_client, device, coze_sim):
    post(operator_client, device, name="kitchen")
    group = VoiceprintGroup.objects.get()
    device_page = operator_client.get(f"/devices/{device.pk}/").content.decode()
    assert "kitchen" in device_page and group.coze_id in device_page
    audit_page = operator_client.get("/audit/").content.decode()
    assert group.logid in audit_page


def test_device_is_preselected_from_the_query_string(operator_client, device, coze_sim):
    page = operator_client.get(f"{URL}?device={device.pk}").content.decode()
    assert f'<option value="{device.pk}" selected>' in page


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("a" * 20, True),
        ("a" * 21, False),
        ("声" * 20, True),
        ("声" * 21, False),
        ("  padded name  ", True),
        ("   ", False),
        ("", False),
        ("tab\there", False),
        ("line\nbreak", False),
        ("nul\x00", False),
        ("🎤" * 20, True),
    ],
)
def test_name_is_validated_with_cozes_limits(operator_client, device, coze_sim, name, valid):
    response = post(operator_client, device, name=name)
    assert VoiceprintGroup.objects.exists() is valid
    assert len(create_calls(coze_sim)) == (1 if valid else 0)
    if valid:
        assert VoiceprintGroup.objects.get().name == name.strip()
    else:
        assert response.status_code == 200
        assert 'class="field-error"' in response.content.decode()
        entry = AuditEntry.objects.get(action="group.create")
        assert entry.outcome == "refused" and "name" in entry.explanation


@pytest.mark.parametrize(("length", "valid"), [(500, True), (501, False)])
def test_desc_is_at_most_500_characters(operator_client, device, coze_sim, length, valid):
    post(operator_client, device, desc="述" * length)
    assert VoiceprintGroup.objects.exists() is valid
    assert len(create_calls(coze_sim)) == (1 if valid else 0)


def test_desc_rejects_control_characters(operator_client, device, coze_sim):
    response = post(operator_client, device, desc="two\nlines")
    assert "Control characters" in response.content.decode()
    assert not create_calls(coze_sim)


def test_device_must_exist(operator_client, device, coze_sim):
    response = post(operator_client, device, device=device.pk + 1000)
    assert "That device does not exist." in response.content.decode()
    assert not create_calls(coze_sim) and not VoiceprintGroup.objects.exists()


def test_invalid_input_is_kept_in_the_form(operator_client, device, coze_sim):
    response = post(operator_client, device, name="x" * 21, desc="keep me")
    page = response.content.decode()
    assert 'value="keep me"' in page and "x" * 21 in page


# Coze says no


def assert_failed_attempt(response, sim, *, code, status, outcome="failure"):
    page = response.content.decode()
    entry = AuditEntry.objects.get(action="group.create")
    assert response.status_code == 200
    assert not VoiceprintGroup.objects.exists()
    assert entry.outcome == outcome
    assert (entry.coze_code, entry.http_status) == (code, status)
    assert 'value="living room"' in page and 'value="speaker 2"' in page  # input kept
    return page, entry


def test_a_coze_error_code_is_shown_with_msg_code_and_logid(operator_client, device, coze_sim):
    coze_sim.add_fault("code", code=4101, msg="token lacks createVoiceprintGroup")
    response = post(operator_client, device)
    page, entry = assert_failed_attempt(response, coze_sim, code=4101, status=200)
    assert entry.coze_msg == "token lacks createVoiceprintGroup"
    assert entry.coze_logid and entry.coze_logid in page
    assert "token lacks createVoiceprintGroup" in page and "4101" in page


def test_a_wrong_token_is_an_http_4xx_refusal(operator_client, device, coze_sim, settings):
    settings.COZE_API_TOKEN = "pat_wrong"
    response = post(operator_client, device)
    page, entry = assert_failed_attempt(response, coze_sim, code=4100, status=401)
    assert entry.coze_logid in page


def test_an_http_5xx_is_a_failure(operator_client, device, coze_sim):
    coze_sim.add_fault("http", status=503)
    response = post(operator_client, device)
    page, entry = assert_failed_attempt(response, coze_sim, code=CODE_INTERNAL, status=503)
    assert "503" in page and entry.coze_logid in page


def test_a_body_that_is_not_json_is_a_failure(operator_client, device, coze_sim):
    coze_sim.add_fault("nonjson", status=502)
    response = post(operator_client, device)
    page, entry = assert_failed_attempt(response, coze_sim, code=None, status=502)
    assert "502" in page


def test_a_timeout_is_unknown_and_told_plainly(operator_client, device, coze_sim, settings):
    settings.COZE_TIMEOUT = 0.3
    coze_sim.add_fault("delay", seconds=0.8)  # Coze acts after we gave up: not listed yet
    response = post(operator_client, device)
    assert response.status_code == 302 and response["Location"] == f"/devices/{device.pk}/"
    page = operator_client.get(response["Location"]).content.decode()
    assert "is not on Coze&#x27;s list yet: it may still be created" in page
    assert "Check now" in page
    entry = AuditEntry.objects.get(action="group.create")
    assert entry.outcome == "unknown" and entry.coze_code is None
    assert entry.explanation.startswith("Coze did not answer (no answer within 0.3 s)")
    assert len(create_calls(coze_sim)) == 1  # never retried
    lookup = AuditEntry.objects.get(action="group.check")
    assert (lookup.outcome, lookup.explanation) == (
        "success",
        "Not on Coze yet: Coze may still create it. Check again later.",
    )


def test_a_dropped_connection_is_found_at_once_and_registered(operator_client, device, coze_sim):
    coze_sim.add_fault("drop")  # Coze makes the group, then the answer is lost
    response = post(operator_client, device)
    group = VoiceprintGroup.objects.get()
    assert response["Location"] == f"/groups/{group.pk}/"
    assert "vpadmin found “living room” on Coze" in operator_client.get(
        response["Location"]
    ).content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert list(coze_sim.groups) == [group.coze_id] and group.device == device
    attempt = AuditEntry.objects.get(action="group.create", resolves__isnull=True)
    assert attempt.outcome == "unknown"
    resolution = attempt.resolution
    assert resolution.outcome == "success" and resolution.target_id == str(group.pk)
    assert resolution.coze_logid  # the lookup's own logid
    assert resolution.explanation == f"Found on Coze as {group.coze_id}, so the group was created."
    assert len(create_calls(coze_sim)) == 1


def test_coze_unreachable_is_a_failure(operator_client, device, settings, db):
    settings.COZE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    response = post(operator_client, device)
    entry = AuditEntry.objects.get(action="group.create")
    assert entry.outcome == "failure"
    assert "Coze did not create the group" in response.content.decode()


def test_after_a_refusal_the_form_has_a_new_submission_token(operator_client, device, coze_sim):
    coze_sim.add_fault("code", code=4000, msg="bad")
    first = str(uuid.uuid4())
    response = post(operator_client, device, submission=first)
    assert first not in response.content.decode()
    assert 'name="submission"' in response.content.decode()


# Quota and double submits


def test_it_refuses_at_the_quota_before_calling_coze(operator_client, device, coze_sim, settings):
    settings.COZE_GROUP_QUOTA = 2
    for n in range(2):
        VoiceprintGroup.objects.create(coze_id=f"9{n}", name=f"g{n}", device=device)
    response = post(operator_client, device)
    assert "The Coze account is full: 2 of 2" in response.content.decode()
    assert not create_calls(coze_sim)
    assert VoiceprintGroup.objects.count() == 2
    entry = AuditEntry.objects.get(action="group.create")
    assert entry.outcome == "refused"
    assert entry.explanation == "The Coze account was full: 2 of 2 groups in use."


def test_the_form_of_a_full_account_says_so_and_offers_no_submit(operator_client, device, settings):
    settings.COZE_GROUP_QUOTA = 2
    VoiceprintGroup.objects.create(coze_id="90", name="g0", device=device)
    assert (
        '<button class="primary">Create on Coze'
        in operator_client.get("/groups/new/").content.decode()
    )

    VoiceprintGroup.objects.create(coze_id="91", name="g1", device=device)

    page = operator_client.get("/groups/new/").content.decode()
    assert "The quota is full: Coze will not accept another group." in page
    assert '<button class="primary" disabled>Create on Coze' in page


def test_the_last_free_slot_can_be_taken(operator_client, device, coze_sim, settings):
    settings.COZE_GROUP_QUOTA = 2
    VoiceprintGroup.objects.create(coze_id="90", name="g0", device=device)
    assert post(operator_client, device).status_code == 302
    assert VoiceprintGroup.objects.count() == 2


def test_a_pending_creation_holds_its_slot(operator_client, device, coze_sim, settings):
    settings.COZE_GROUP_QUOTA = 1
    AuditEntry.objects.create(action="group.create", outcome="pending", sent_name="in flight")
    post(operator_client, device)
    assert not create_calls(coze_sim)


def test_a_double_submit_creates_one_group(operator_client, device, coze_sim):
    submission = str(uuid.uuid4())
    first = post(operator_client, device, submission=submission)
    second = post(operator_client, device, submission=submission)
    group = VoiceprintGroup.objects.get()
    assert len(create_calls(coze_sim)) == 1
    assert first["Location"] == second["Location"] == f"/groups/{group.pk}/"
    assert AuditEntry.objects.filter(action="group.create").count() == 1
    page = operator_client.get(second["Location"]).content.decode()
    assert "already submitted" in page


def test_a_resent_failed_form_is_not_sent_again(operator_client, device, coze_sim):
    coze_sim.add_fault("code", code=4000, msg="nope")
    submission = str(uuid.uuid4())
    post(operator_client, device, submission=submission)
    response = post(operator_client, device, submission=submission)
    assert len(create_calls(coze_sim)) == 1
    assert "already submitted" in response.content.decode()
