"""The speaker identification console (/identify/): Mum and Dad enrolled on the living room
speaker, Mum heard again saying something else; every voiceprint ranked against the
device's threshold, each test audited and counted against the daily limit, and the clip
never kept. On the simulator over its socket, with espeak-ng's voices."""

import base64
import datetime
import io
import re
import threading
import time
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups import coze
from groups.audio import prepare
from groups.models import AuditEntry, CozeAccount, Voiceprint, VoiceprintGroup
from groups.services import GroupNotActive
from groups.services import identify as identification
from tests import audio, factories

# What Mum says to the speaker later: never the text she enrolled with.
MUM_LATER = "Please turn on the lights in the kitchen and play some quiet music while I cook."
RACERS = 3
TOP_K_WORDS = "Enter a whole number from 1 to 10, or leave it empty."


@pytest.fixture(scope="module")
def voices():
    """Mum (en+f3) and Dad (en+m3) reading the enrollment text, and Mum later."""
    audio.need_espeak()
    return {
        "mum": audio.speech(voice="en+f3"),
        "dad": audio.speech(voice="en+m3"),
        "mum_later": audio.speech(MUM_LATER, "en+f3"),
    }


@pytest.fixture
def living_room(coze_sim, device):
    answer = coze.get_client().create_group("living room")
    return VoiceprintGroup.objects.create(
        coze_id=answer.data["id"], name="living room", device=device
    )


def enroll(client, group, name, data):
    """Enroll `name` (a person with consent, made here) through the enrollment page."""
    person = factories.enrollee(name)
    factories.consent_for(person)
    form = {
        "person": person.pk,
        "name": "",
        "desc": "",
        "submission": str(uuid.uuid4()),
        "audio": SimpleUploadedFile(f"{name}.wav", data),
    }
    response = client.post(f"/groups/{group.pk}/voiceprints/new/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    return person


@pytest.fixture
def household(operator_client, living_room, voices):
    """Mum and Dad enrolled in the living room's group."""
    return {
        "mum": enroll(operator_client, living_room, "Mum", voices["mum"]),
        "dad": enroll(operator_client, living_room, "Dad", voices["dad"]),
    }


def send(client, group, data, filename="clip.wav", **fields):
    """POST /identify/: a test of a clip of `data` (None: no file) against `group` (or
    what the form's group field is sent as)."""
    form = {"group": getattr(group, "pk", group), "top_k": "", **fields}
    if data is not None:
        form["audio"] = SimpleUploadedFile(filename, data)
    return client.post("/identify/", form)


def identify_calls(sim):
    return [r for r in sim.requests if r["path"].endswith("/speaker_identify")]


def identify_rows(**filters):
    return AuditEntry.objects.filter(action="voiceprint.identify", **filters).order_by("pk")


# What an Operator sees


def test_mum_heard_again_is_on_top_above_the_threshold_and_dad_below(
    operator_client, living_room, household, voices, coze_sim
):
    response = send(operator_client, living_room, voices["mum_later"])

    assert response.status_code == 200
    result = response.context["result"]
    mum, dad = result.matches
    assert (mum.person, dad.person) == (household["mum"], household["dad"])
    assert mum.score >= 40 > dad.score and mum.recognised and not dad.recognised
    assert mum.score - dad.score >= 10
    page = response.content.decode()
    # Each voiceprint ranked, with its person linked, its score and a bar; the threshold
    # drawn across the bars and labelled; the top result in a sentence; Coze's logid.
    assert f'href="/people/{household["mum"].pk}/">Mum</a>' in page
    assert f'href="/people/{household["dad"].pk}/">Dad</a>' in page
    assert f"{mum.score:.1f}" in page and f"{dad.score:.1f}" in page
    assert page.count('class="score-bar"') == 2
    assert page.count('<line class="threshold" x1="40%"') == 3  # the scale and each bar
    assert "threshold 40" in page and page.count(">would be recognised</span>") == 1
    assert f'width="{mum.score:.1f}%"' in page
    assert (
        f"Best match: Mum (voiceprint “Mum”), {mum.score:.1f} of 100, at or above the "
        "threshold of 40: the device would recognise Mum." in page
    )
    assert result.logid and result.logid in page
    assert 'style="' not in page  # the Content-Security-Policy allows no inline style


def test_one_audit_row_keeps_the_top_result_the_scores_and_the_logid(
    operator_client, operator, living_room, household, voices, coze_sim
):
    result = send(operator_client, living_room, voices["mum_later"]).context["result"]

    [row] = identify_rows()
    assert (row.outcome, row.actor, row.target_type, row.target_id) == (
        "success",
        operator,
        "voiceprintgroup",
        str(living_room.pk),
    )
    assert row.device == living_room.device and row.coze_logid == result.logid
    assert row.http_status == 200 and row.duration_ms is not None
    mum, dad = result.matches
    assert row.facts["top"] == {
        "feature_id": mum.feature_id,
        "name": "Mum",
        "person": "Mum",
        "person_id": household["mum"].pk,
        "score": round(mum.score, 1),
        "recognised": True,
    }
    assert row.facts["scores"] == [
        {"feature_id": mum.feature_id, "score": round(mum.score, 1)},
        {"feature_id": dad.feature_id, "score": round(dad.score, 1)},
    ]
    assert (row.facts["threshold"], row.facts["count"]) == (40, 2)
    assert row.explanation.startswith(f"Best match “Mum” (Mum) at {round(mum.score, 1)}")
    assert "2 voiceprints scored" in row.explanation


def test_the_clip_goes_to_coze_as_a_16_khz_wav_and_is_never_stored(
    operator_client, living_room, household, voices, coze_sim
):
    send(operator_client, living_room, audio.phone_m4a(voices["mum_later"]), "mum.m4a")

    [call] = identify_calls(coze_sim)
    [sent] = call["files"]
    assert (sent["format"], sent["sample_rate"], sent["channels"]) == ("wav", 16000, 1)
    assert call["form"] == {"sample_rate": "16000", "channel": "1"}
    pcm = _pcm_of(voices["mum_later"])[20000:20048]  # a slice of speech, however encoded
    shapes = [pcm.hex(), base64.b64encode(pcm).decode(), voices["mum_later"][:48].hex()]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the schema)
            for row in cursor.fetchall():
                for value in row:
                    assert not isinstance(value, bytes | memoryview), table
                    assert not any(shape in str(value) for shape in shapes), table


def _pcm_of(data):
    with wave.open(io.BytesIO(data)) as file:
        return file.readframes(file.getnframes())


def test_top_k_asks_coze_for_the_best_only(
    operator_client, living_room, household, voices, coze_sim
):
    response = send(operator_client, living_room, voices["mum_later"], top_k="1")

    [only] = response.context["result"].matches
    assert only.person == household["mum"]
    assert identify_calls(coze_sim)[-1]["form"]["top_k"] == "1"
    assert identify_rows().get().facts["top_k"] == 1


def test_a_higher_threshold_on_the_device_recognises_nobody(
    operator_client, living_room, household, voices, coze_sim
):
    living_room.device.identify_threshold = 99
    living_room.device.save()

    response = send(operator_client, living_room, voices["mum_later"])

    page = response.content.decode()
    assert ">would be recognised</span>" not in page and '<line class="threshold" x1="99%"' in page
    assert "below the threshold of 99: the device would recognise nobody." in page
    assert identify_rows().get().facts["threshold"] == 99


def test_a_voiceprint_not_in_the_register_is_listed_by_coze_name_with_person_unknown(
    operator_client, living_room, household, voices, coze_sim
):
    Voiceprint.objects.filter(person=household["dad"]).delete()

    page = send(operator_client, living_room, voices["mum_later"]).content.decode()

    assert 'Dad <span class="muted">(not in the register)</span>' in page
    assert '<span class="pill unknown">unknown</span>' in page


def test_another_accounts_voiceprint_with_the_same_coze_id_is_not_taken_for_ours(
    operator_client, living_room, household, voices, coze_sim
):
    # Coze ids are unique per account: one of another account may be Mum's id, and (older
    # than hers) would come last in the register's order.
    mums = Voiceprint.objects.get(person=household["mum"])
    elsewhere = factories.group(account=CozeAccount.named("cn2"))
    long_ago = timezone.now() - datetime.timedelta(days=400)
    factories.voiceprint(elsewhere, coze_id=mums.coze_id, name="Stranger", created_at=long_ago)

    result = send(operator_client, living_room, voices["mum_later"]).context["result"]

    assert [(m.name, m.person) for m in result.matches][0] == ("Mum", household["mum"])


def test_an_empty_group_says_there_was_nobody_to_compare(operator_client, living_room, voices):
    page = send(operator_client, living_room, voices["mum_later"]).content.decode()

    assert "there was nobody to compare the clip with" in page
    assert identify_rows().get().explanation.startswith("The group had no voiceprint")


# The daily limit


def test_the_page_says_how_many_tests_are_left_and_refuses_the_third_before_coze(
    operator_client, settings, living_room, household, voices, coze_sim
):
    settings.IDENTIFY_DAILY_LIMIT = 2
    page = operator_client.get("/identify/").content.decode()
    assert "2 of 2 tests left today — each test is billed by Coze" in page

    first = send(operator_client, living_room, voices["mum_later"]).content.decode()
    assert "1 of 2 tests left today" in first
    second = send(operator_client, living_room, voices["mum_later"]).content.decode()
    assert "You have run your 2 tests for today" in second
    assert re.search(r'<button class="primary"\s+disabled>', second)

    third = send(operator_client, living_room, voices["mum_later"])

    assert third.status_code == 200 and third.context["result"] is None
    page = third.content.decode()
    assert page.count("You have run your 2 tests for today, the most allowed") == 1
    assert "so nothing more is sent to Coze until tomorrow." in page
    assert len(identify_calls(coze_sim)) == 2
    refused = identify_rows(outcome="refused").get()
    assert refused.facts == {"say": "identify_limit", "used": 2, "limit": 2}
    assert refused.explanation == (
        "2 of 2 identification tests used today: nothing was sent to Coze."
    )


def test_a_limit_of_zero_turns_tests_off(operator_client, settings, living_room, voices, coze_sim):
    settings.IDENTIFY_DAILY_LIMIT = 0

    response = send(operator_client, living_room, voices["mum_later"])

    assert "Identification tests are turned off here" in response.content.decode()
    assert not identify_calls(coze_sim) and identify_rows().get().outcome == "refused"


def test_refusals_yesterday_and_colleagues_tests_do_not_count(
    operator_client, operator, settings, living_room, household, voices, coze_sim
):
    settings.IDENTIFY_DAILY_LIMIT = 1
    send(operator_client, living_room, audio.text_file())  # refused: not audio
    factories.audit_row(
        "voiceprint.identify",
        actor=operator,
        created_at=timezone.now() - datetime.timedelta(days=1),
    )
    colleague = factories.person("wang", "Operator")
    factories.audit_row("voiceprint.identify", actor=colleague)

    response = send(operator_client, living_room, voices["mum_later"])

    assert response.context["result"] is not None and len(identify_calls(coze_sim)) == 1


def test_the_day_is_the_servers_local_day(operator, settings, db):
    settings.TIME_ZONE = "Asia/Shanghai"  # UTC+8
    local_midnight = timezone.make_aware(
        datetime.datetime.combine(timezone.localdate(), datetime.time.min)
    )
    # The same UTC date as today's tests may be, but yesterday in Shanghai.
    factories.audit_row(
        "voiceprint.identify",
        actor=operator,
        created_at=local_midnight - datetime.timedelta(minutes=1),
    )
    factories.audit_row("voiceprint.identify", actor=operator, created_at=local_midnight)
    factories.audit_row("voiceprint.identify", "pending", actor=operator)  # under way: billed

    assert identification.tests_used(operator) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_tests_sent_at_once_at_the_last_one_get_one_through(
    operator, settings, living_room, voices, coze_sim
):
    settings.IDENTIFY_DAILY_LIMIT = 1
    clients = [Client() for _ in range(RACERS)]
    for client in clients:
        client.force_login(operator)
    start = threading.Barrier(RACERS + 1)

    def hold_the_user():
        # Every racer reaches the count while the lock is held, so all of them would see
        # no test used yet unless the lock orders them.
        try:
            with transaction.atomic():
                list(get_user_model().objects.select_for_update().filter(pk=operator.pk))
                start.wait()
                time.sleep(1.5)
        finally:
            connection.close()

    def attempt(client):
        start.wait()
        try:
            # The page, not its context: the test client's context is caught from every thread.
            return send(client, living_room, voices["mum_later"]).content
        finally:
            connection.close()

    with ThreadPoolExecutor(RACERS + 1) as pool:
        holder = pool.submit(hold_the_user)
        pages = list(pool.map(attempt, clients))
        holder.result()

    assert sum(b'class="card identify-result"' in page for page in pages) == 1
    assert len(identify_calls(coze_sim)) == 1
    assert identify_rows(outcome="refused").count() == RACERS - 1


# Coze failing, and input that cannot be tested


def test_coze_refusing_is_told_with_its_code_and_logid_and_audited(
    operator_client, living_room, household, voices, coze_sim
):
    coze_sim.add_fault("code", code=4000, msg="invalid parameter", method="POST")

    response = send(operator_client, living_room, voices["mum_later"], top_k="2")

    row = identify_rows().get()
    assert (row.outcome, row.coze_code) == ("failure", 4000) and row.coze_logid
    page = response.content.decode()
    assert response.status_code == 200 and response.context["result"] is None
    assert (
        f"Coze did not run the test: invalid parameter (code 4000, HTTP 200, logid "
        f"{row.coze_logid})." in page
    )
    assert f'<option value="{living_room.pk}" selected>' in page and 'value="2"' in page
    assert row.facts["say"] == "coze_refused" and row.facts["threshold"] == 40


def test_coze_down_is_told_and_the_test_still_counts(
    operator_client, settings, living_room, household, voices, coze_sim
):
    settings.IDENTIFY_DAILY_LIMIT = 5
    coze_sim.add_fault("http", status=503, method="POST")

    page = send(operator_client, living_room, voices["mum_later"]).content.decode()

    row = identify_rows().get()
    assert row.outcome == "failure" and row.http_status == 503
    assert "Coze did not run the test" in page and "HTTP 503" in page
    assert "4 of 5 tests left today" in page


def test_no_answer_is_unknown_and_never_sent_twice(
    operator_client, living_room, household, voices, coze_sim
):
    coze_sim.add_fault("drop", method="POST")

    page = send(operator_client, living_room, voices["mum_later"]).content.decode()

    assert identify_rows().get().outcome == "unknown" and len(identify_calls(coze_sim)) == 1
    assert "the test may have been run, and billed, without vpadmin seeing its scores" in page


def test_viewers_get_403_and_the_refusal_is_audited(viewer_client, living_room, voices):
    assert viewer_client.get("/identify/").status_code == 403
    assert send(viewer_client, living_room, voices["mum_later"]).status_code == 403
    assert AuditEntry.objects.filter(action="permission.denied", outcome="refused").count() == 2
    assert not identify_rows().exists()


@pytest.mark.parametrize(
    ("group", "clip", "fields", "words"),
    [
        ("", "speech", {}, "Choose the group to test."),
        ("gone", "speech", {}, "That group does not exist, or is no longer on Coze."),
        ("999999", "speech", {}, "That group does not exist, or is no longer on Coze."),
        ("ours", "text", {}, "This file is not audio we can read."),
        ("ours", "silence", {}, "The recording is silent"),
        ("ours", None, {}, "This field is required."),
        ("ours", "speech", {"top_k": "0"}, TOP_K_WORDS),
        ("ours", "speech", {"top_k": "11"}, TOP_K_WORDS),
        ("ours", "speech", {"top_k": "x"}, TOP_K_WORDS),
    ],
    ids=[
        "no-group",
        "gone-group",
        "no-such-group",
        "not-audio",
        "silent",
        "no-clip",
        "top-k-0",
        "top-k-11",
        "top-k-x",
    ],  # fmt: skip
)
def test_input_that_cannot_be_tested_is_told_plainly_before_coze(
    operator_client, living_room, household, voices, coze_sim, group, clip, fields, words
):
    if group in ("ours", "gone"):
        if group == "gone":
            living_room.state = VoiceprintGroup.State.GONE
            living_room.save()
        group = living_room.pk
    clips = {"speech": voices["mum_later"], "text": audio.text_file(), "silence": audio.silence()}

    response = send(operator_client, group, clips.get(clip), **fields)

    assert response.status_code == 200 and response.context["result"] is None
    assert words in response.content.decode()
    assert not identify_calls(coze_sim)
    assert identify_rows().get().outcome == "refused"


def test_a_group_gone_after_the_form_was_checked_is_refused_before_coze(
    operator, living_room, voices, coze_sim
):
    recording = prepare(voices["mum_later"])
    VoiceprintGroup.objects.filter(pk=living_room.pk).update(state=VoiceprintGroup.State.DELETED)

    with pytest.raises(GroupNotActive):
        identification.identify(factories.actor(operator), living_room, recording)

    assert not identify_calls(coze_sim)
    row = identify_rows().get()
    assert (row.outcome, row.facts["say"]) == ("refused", "group_not_active")


# Choosing a group or a device


def test_a_device_with_one_group_is_chosen_by_the_device(operator_client, living_room):
    page = operator_client.get(f"/identify/?device={living_room.device.pk}").content.decode()

    assert f'<option value="{living_room.pk}" selected>living room — Living room speaker' in page


def test_a_device_with_several_groups_asks_which(operator_client, living_room):
    factories.group(living_room.device, "visitors")

    page = operator_client.get(f"/identify/?device={living_room.device.pk}").content.decode()

    assert "has 2 active voiceprint groups: choose the one to test." in page
    assert '<option value="" selected>' in page.split('id="id_group"')[1]


def test_a_group_is_chosen_by_its_id_and_a_gone_one_is_not_offered(operator_client, living_room):
    gone = factories.group(living_room.device, "old", state=VoiceprintGroup.State.GONE)

    page = operator_client.get(f"/identify/?group={living_room.pk}").content.decode()
    assert f'<option value="{living_room.pk}" selected>' in page
    assert f'value="{gone.pk}"' not in page
    page = operator_client.get(f"/identify/?device={factories.device().pk}").content.decode()
    assert "has no active voiceprint group: there is nothing to test on it." in page


def group_select(page):
    """The options of the group's <select> on the page."""
    return page.split('id="id_group"')[1].split("</select>")[0]


def test_no_group_is_listed_until_one_is_searched_for_or_chosen(operator_client, living_room):
    for n in range(3):
        factories.group(factories.device(f"Hall {n}", f"HALL-{n}"), f"hall {n}")

    page = operator_client.get("/identify/").content.decode()

    select = group_select(page)
    assert select.count("<option") == 1 and "Choose a group (device)" in select
    assert "Search for the device or the group to test" in page
    assert '<form class="filters" method="get" role="search">' in page


@pytest.mark.parametrize(
    "q, offered",
    [
        ("living", ["living room — Living room speaker"]),  # the device's name
        ("spk-0", ["living room — Living room speaker"]),  # its serial, in any case
        ("HALL", ["hall 0 — Hall 0", "hall 1 — Hall 1"]),  # the groups' names
        ("nothing like it", []),
    ],
)
def test_a_search_offers_the_groups_by_device_name_serial_or_group_name(
    operator_client, living_room, q, offered
):
    factories.group(factories.device("Hall 1", "HALL-1"), "hall 1")
    factories.group(factories.device("Hall 0", "HALL-0"), "hall 0")
    factories.group(
        factories.device("Hall 2", "HALL-2"), "hall 2", state=VoiceprintGroup.State.GONE
    )

    page = operator_client.get("/identify/", {"q": q}).content.decode()

    select = group_select(page)
    assert re.findall(r'<option value="\d+"(?: selected)?>([^<]*)</option>', select) == offered
    if len(offered) == 1:
        assert f"One active group matches “{q}”: it is chosen below." in page
        assert "selected>living room" in select
    elif offered:
        assert f"2 active groups match “{q}”: choose the one to test below." in page
    else:
        assert f"No active group matches “{q}”." in page


def test_a_search_offers_twenty_groups_and_says_there_are_more(operator_client, db):
    for n in range(21):
        factories.group(factories.device(f"Car {n:02d}", f"CAR-{n:02d}"), f"car {n:02d}")

    page = operator_client.get("/identify/?q=car").content.decode()

    select = group_select(page)
    assert select.count("<option") == 21 and "car 19 — Car 19" in select
    assert "car 20" not in select
    assert "More than 20 active groups match “car”: the first 20 are offered below" in page


def test_a_refused_test_keeps_the_search_and_the_group_sent(operator_client, living_room):
    factories.group(factories.device("Living room lamp", "LAMP-1"), "lamp")

    page = operator_client.post(
        "/identify/?q=living", {"group": living_room.pk, "top_k": ""}
    ).content.decode()

    select = group_select(page)
    assert f'<option value="{living_room.pk}" selected>living room — Living room speaker' in select
    assert "lamp — Living room lamp" in select
    assert 'value="living"' in page


def test_a_search_reads_the_register_in_constant_queries(operator_client, living_room):
    def queries(path):
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(path).status_code == 200
        return len(captured)

    few = {path: queries(path) for path in ("/identify/", "/identify/?q=hall")}
    for n in range(30):
        factories.group(factories.device(f"Hall {n}", f"HALL-{n}"), f"hall {n}")
    assert {path: queries(path) for path in few} == few
    assert few["/identify/?q=hall"] == few["/identify/"] + 1


# The device's threshold, and its latest tests


def test_the_threshold_is_edited_on_the_device_and_audited(administrator_client, device):
    form = {"name": device.name, "serial": device.serial, "location": "", "notes": ""}

    response = administrator_client.post(
        f"/devices/{device.pk}/edit/", {**form, "identify_threshold": "55"}
    )

    device.refresh_from_db()
    assert response.status_code == 302 and device.identify_threshold == 55
    row = AuditEntry.objects.get(action="device.update")
    assert row.facts["changes"] == {"identify_threshold": [40, 55], "location": ["Home", ""]}
    assert "recognition threshold: 40 → 55" in row.explanation
    for bad in ("101", "-1", "x"):
        page = administrator_client.post(
            f"/devices/{device.pk}/edit/", {**form, "identify_threshold": bad}
        ).content.decode()
        assert "Enter a whole number from 0 to 100." in page
    # Left out (an older form or client), the device keeps its threshold.
    administrator_client.post(f"/devices/{device.pk}/edit/", form)
    device.refresh_from_db()
    assert device.identify_threshold == 55


def test_the_device_form_explains_the_threshold(administrator_client, device):
    page = administrator_client.get(f"/devices/{device.pk}/edit/").content.decode()

    assert "Recognition threshold" in page and 'value="40"' in page
    assert "Coze&#x27;s real-time sessions use 40." in page


def test_the_device_page_shows_its_threshold_latest_tests_and_the_link(
    operator_client, living_room, household, voices, coze_sim
):
    for _ in range(12):
        factories.audit_row("voiceprint.identify", "failure", device=living_room.device)
    result = send(operator_client, living_room, voices["mum_later"]).context["result"]

    page = operator_client.get(f"/devices/{living_room.device.pk}/").content.decode()

    assert "40 of 100: a score at or above it is recognised" in page
    assert f'href="/identify/?device={living_room.device.pk}">Test recognition on this device' in (
        page
    )
    tests = page.split("Latest recognition tests")[1].split("</table>")[0]
    assert tests.count("<tr>") == 11  # the header and the latest ten
    assert result.logid in tests and "“Mum”" in tests and "olga" in tests
    assert f"{result.top.score:.1f}" in tests
    group_page = operator_client.get(f"/groups/{living_room.pk}/").content.decode()
    assert f'href="/identify/?group={living_room.pk}">Test recognition with this group' in (
        group_page
    )


def test_viewers_see_no_link_to_the_console(viewer_client, living_room):
    page = viewer_client.get(f"/devices/{living_room.device.pk}/").content.decode()
    assert "/identify/" not in page


def test_the_result_page_reads_the_register_in_constant_queries(
    operator_client, living_room, voices, coze_sim
):
    def queries_for_a_test():
        with CaptureQueriesContext(connection) as queries:
            send(operator_client, living_room, voices["mum_later"])
        return len(queries)

    def add_voiceprints(count):
        for coze_id in coze_sim.seed_voiceprints(living_room.coze_id, count):
            person = factories.enrollee()
            factories.voiceprint(living_room, coze_id=coze_id, person=person)

    add_voiceprints(1)
    few = queries_for_a_test()
    add_voiceprints(9)
    assert queries_for_a_test() == few


def test_the_group_list_escapes_names_and_marks_an_invalid_choice(operator_client, living_room):
    # At most 20 characters, as Coze (and PostgreSQL's column) takes a group's name.
    factories.group(factories.device("Kitchen <b>&</b>"), "<img src=x alt='y'>")

    page = operator_client.get("/identify/?q=<b>").content.decode()
    assert "&lt;img src=x alt=&#x27;y&#x27;&gt; — Kitchen &lt;b&gt;&amp;&lt;/b&gt;" in page
    assert "<img src=x" not in page and "<b>&" not in page
    assert 'value="&lt;b&gt;"' in page and "One active group matches “&lt;b&gt;”" in page
    assert '<option value="" selected>' not in page  # the one found is chosen

    refused = send(operator_client, "", None).content.decode()
    select = re.search(r'<select [^>]*id="id_group"[^>]*>', refused).group(0)
    assert 'aria-invalid="true"' in select
    assert 'name="group"' in select and "required" in select
    assert 'aria-describedby="id_group_helptext id_group_error"' in select


def test_a_timeout_is_told_with_the_time_waited_not_the_clips_length(
    operator_client, settings, living_room, household, voices, coze_sim
):
    coze_sim.add_fault("delay", seconds=3.0, method="POST")  # COZE_TIMEOUT is 2 s in tests

    page = send(operator_client, living_room, voices["mum_later"]).content.decode()

    row = identify_rows().get()
    assert row.outcome == "unknown" and 3 < row.facts["clip_seconds"] < 10
    assert "no answer within 2 s" in page and "no answer within 2 s" in row.explanation
