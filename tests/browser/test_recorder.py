"""The browser recorder on the enrollment page: Chromium's fake microphone plays speech
into it, and the take reaches Coze as the WAV Coze takes; without a microphone the page
says so and the upload still works."""

import base64
import hashlib
import re
import wave
from datetime import timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from groups.models import Consent, Person, Voiceprint, VoiceprintGroup
from tests.audio import speech

from .conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, session_cookie


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    """About 15 s of speech (22.05 kHz mono, as espeak-ng makes it) in a file, since
    Chromium's fake microphone reads a path; it plays it in a loop."""
    path = tmp_path_factory.mktemp("speech") / "olga.wav"
    path.write_bytes(speech())
    return path


@pytest.fixture(scope="module")
def microphone_browser(playwright, speech_wav):
    """A Chromium of its own whose microphone plays `speech_wav` (the session's browser has
    none). No fake permission prompt: each context grants the microphone, or does not."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS
        + [
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={speech_wav}",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def microphone_page(microphone_browser, live_server):
    """Open a page in a new context of that browser, with the microphone allowed or not,
    signed in as `user`; every request it makes must go to vpadmin."""
    contexts, outside = [], []

    def open_page(user, *, microphone=True):
        context = microphone_browser.new_context(
            base_url=live_server.url,
            viewport=DESKTOP,
            locale="en-US",
            timezone_id="UTC",
            permissions=["microphone"] if microphone else [],
        )
        contexts.append(context)
        context.on(
            "request",
            lambda request: (
                request.url.startswith((live_server.url, "blob:", "data:"))
                or outside.append(request.url)
            ),
        )
        context.add_cookies([session_cookie(user, live_server.url)])
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    assert not outside, f"pages requested outside addresses: {outside}"


@pytest.fixture
def group_on_coze(coze_sim):
    """A group that exists on the simulator and in the register."""
    (coze_id,) = coze_sim.seed_groups(1, name_prefix="Living room")
    return VoiceprintGroup.objects.create(coze_id=coze_id, name="Living room")


@pytest.fixture
def mei(operator):
    """A person with her consent on record."""
    person = Person.objects.create(name="Mei", created_by=operator)
    today = timezone.localdate()
    Consent.objects.create(
        person=person,
        given_by=Consent.GivenBy.PERSON,
        method=Consent.Method.SIGNED_FORM,
        purpose="So that the living room speaker knows her voice.",
        given_on=today,
        keep_until=today + timedelta(days=365),
        recorded_by=operator,
        recorded_by_name=operator.username,
    )
    return person


def wav_format(data):
    with wave.open(BytesIO(data)) as audio:
        return audio.getframerate(), audio.getnchannels(), audio.getsampwidth(), audio.getnframes()


def chosen_file(file_input):
    """The file a file input holds, as the form would send it: (name, type, bytes)."""
    name, kind, url = file_input.evaluate(
        """input => new Promise(resolve => {
            const file = input.files[0], reader = new FileReader();
            reader.onload = () => resolve([file.name, file.type, reader.result]);
            reader.readAsDataURL(file);
        })"""
    )
    return name, kind, base64.b64decode(url.partition(",")[2])


def test_an_operator_records_a_voice_in_the_browser_and_coze_gets_a_16_khz_mono_wav(
    microphone_page, operator, mei, group_on_coze, coze_sim, assert_accessible
):
    page = microphone_page(operator)
    page.goto(f"/groups/{group_on_coze.pk}/voiceprints/new/")
    page.get_by_label("Person").select_option(label="Mei")
    page.get_by_label("Name", exact=True).fill("Mei's voice")
    status = page.locator("#recorder").get_by_role("status")

    page.get_by_role("button", name="Start recording").click()
    expect(status).to_contain_text("Recording")
    expect(page.get_by_role("timer")).to_have_text("00:11", timeout=20_000)
    page.get_by_role("button", name="Stop recording").click()

    expect(status).to_have_text(re.compile(r"^Recorded 00:1[12]\. Listen to it below"))
    expect(page.get_by_label("Your recording")).to_be_visible()
    expect(page.get_by_role("button", name="Record again")).to_be_enabled()
    assert_accessible(page)  # with the take's player shown

    # The audio field now holds the recorder's WAV: 16 kHz, mono, 16-bit, as long as the take.
    filename, kind, sent = chosen_file(page.get_by_label("Audio"))
    rate, channels, width, frames = wav_format(sent)
    assert (filename, kind, rate, channels, width) == ("recording.wav", "audio/wav", 16000, 1, 2)
    assert 11 <= frames / rate < 13

    page.get_by_role("button", name="Enroll on Coze").click()
    expect(page.locator(".msg.success")).to_contain_text("enrolled")
    # vpadmin received that very file, and Coze one WAV of the same format and length.
    voiceprint = Voiceprint.objects.get()
    assert voiceprint.audio_sha256 == hashlib.sha256(sent).hexdigest()
    assert voiceprint.quality["source_rate"] == 16000
    assert voiceprint.quality["source_channels"] == 1
    (create,) = [r for r in coze_sim.requests if r["method"] == "POST" and r["files"]]
    (received,) = create["files"]
    assert (received["format"], received["sample_rate"], received["channels"]) == ("wav", 16000, 1)
    assert received["sample_width"] == 2 and received["frames"] == frames
    # And the register has the voiceprint, as Coze does.
    assert (voiceprint.person, voiceprint.group) == (mei, group_on_coze)
    assert voiceprint.coze_id in coze_sim.voiceprints


def test_without_a_microphone_the_recorder_says_so_and_the_upload_still_works(
    page, sign_in, operator, mei, group_on_coze, coze_sim, speech_wav
):
    # The session's Chromium has no microphone at all.
    sign_in(operator)
    page.goto(f"/groups/{group_on_coze.pk}/voiceprints/new/")
    status = page.locator("#recorder").get_by_role("status")
    expect(status).to_have_text(re.compile("The microphone is not available: none was found"))
    page.get_by_role("button", name="Start recording").click()
    expect(status).to_have_text(re.compile("The microphone is not available: none was found"))

    page.get_by_label("Person").select_option(label="Mei")
    page.get_by_label("Name", exact=True).fill("Mei's voice")
    page.get_by_label("Audio").set_input_files(speech_wav)
    page.get_by_role("button", name="Enroll on Coze").click()

    expect(page.locator(".msg.success")).to_be_visible()
    voiceprint = Voiceprint.objects.get()
    assert voiceprint.person == mei
    assert voiceprint.audio_sha256 == hashlib.sha256(speech_wav.read_bytes()).hexdigest()


def test_when_the_microphone_is_refused_the_recorder_says_so(
    microphone_page, operator, mei, group_on_coze
):
    page = microphone_page(operator, microphone=False)
    page.goto(f"/groups/{group_on_coze.pk}/voiceprints/new/")
    page.get_by_role("button", name="Start recording").click()

    expect(page.locator("#recorder").get_by_role("status")).to_have_text(
        re.compile("The microphone is not available: permission to use it was refused")
    )
    expect(page.get_by_label("Your recording")).to_be_hidden()
    expect(page.get_by_label("Audio")).to_be_enabled()
