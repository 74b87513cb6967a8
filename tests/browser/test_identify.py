"""Testing recognition in a real Chromium: Mum and Dad enrolled on the living room speaker,
Mum recorded again through the page's recorder (Chromium's fake microphone plays her
saying something else), and the ranking shows her on top, above the threshold line, and
Dad below it."""

import re

import pytest
from playwright.sync_api import expect

from groups.models import AuditEntry, Device, VoiceprintGroup
from tests import audio, factories

from .conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, session_cookie

MUM_LATER = "Please turn on the lights in the kitchen and play some quiet music while I cook."


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Mum's and Dad's enrollments, and Mum later, as WAV files (Chromium's fake microphone
    and the file inputs read paths)."""
    folder = tmp_path_factory.mktemp("household")
    spoken = {
        "mum.wav": audio.speech(voice="en+f3"),
        "dad.wav": audio.speech(voice="en+m3"),
        "mum-later.wav": audio.speech(MUM_LATER, "en+f3"),
    }
    for name, data in spoken.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def mum_at_the_microphone(playwright, clips):
    """A Chromium of its own whose microphone hears Mum saying something new, in a loop."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS
        + [
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={clips / 'mum-later.wav'}",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def operator_page(mum_at_the_microphone, live_server, operator):
    context = mum_at_the_microphone.new_context(
        base_url=live_server.url,
        viewport=DESKTOP,
        locale="en-US",
        timezone_id="UTC",
        permissions=["microphone"],
    )
    outside = []
    context.on(
        "request",
        lambda request: (
            request.url.startswith((live_server.url, "blob:", "data:"))
            or outside.append(request.url)
        ),
    )
    context.add_cookies([session_cookie(operator, live_server.url)])
    yield context.new_page()
    context.close()
    assert not outside, f"pages requested outside addresses: {outside}"


@pytest.fixture
def living_room(coze_sim):
    (coze_id,) = coze_sim.seed_groups(1, name_prefix="living room")
    device = Device.objects.create(name="Living room speaker", serial="SPK-LR-0001")
    return VoiceprintGroup.objects.create(coze_id=coze_id, name="living room", device=device)


def enroll(page, group, name, clip):
    person = factories.enrollee(name)
    factories.consent_for(person)
    page.goto(f"/groups/{group.pk}/voiceprints/new/")
    page.get_by_label("Person").select_option(label=name)
    page.get_by_label("Audio").set_input_files(clip)
    page.get_by_role("button", name="Enroll on Coze").click()
    expect(page.locator(".msg.success")).to_contain_text(f"{name} is enrolled")


def test_mum_recorded_again_is_on_top_above_the_threshold_and_dad_below_it(
    operator_page, living_room, clips, coze_sim, assert_accessible, screenshot
):
    page = operator_page
    enroll(page, living_room, "Mum", clips / "mum.wav")
    enroll(page, living_room, "Dad", clips / "dad.wav")

    page.goto(f"/devices/{living_room.device.pk}/")
    page.get_by_role("link", name="Test recognition on this device").click()
    expect(page.get_by_label("Group")).to_have_value(str(living_room.pk))
    expect(page.get_by_text("50 of 50 tests left today")).to_be_visible()
    page.get_by_role("button", name="Start recording").click()
    expect(page.get_by_role("timer")).to_have_text("00:06", timeout=15_000)
    page.get_by_role("button", name="Stop recording").click()
    expect(page.locator("#recorder").get_by_role("status")).to_contain_text("Recorded")
    page.get_by_role("button", name="Test on Coze").click()

    ranking = page.get_by_role("table")
    rows = ranking.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Mum")
    expect(rows.nth(0)).to_contain_text("would be recognised")
    expect(rows.nth(1)).to_contain_text("Dad")
    expect(rows.nth(1)).to_contain_text("below the threshold")
    expect(ranking.locator("thead")).to_contain_text("threshold 40")
    expect(
        page.get_by_text(re.compile(r"^Best match: Mum .* would recognise Mum\.$"))
    ).to_be_visible()
    # The bars as drawn: Mum's reaches past the threshold's line, Dad's stops short of it.
    widths = [
        float(width.rstrip("%"))
        for width in rows.locator("rect.fill").evaluate_all(
            "bars => bars.map(bar => bar.getAttribute('width'))"
        )
    ]
    assert widths[0] >= 40 > widths[1] and widths[0] - widths[1] >= 10
    row = AuditEntry.objects.get(action="voiceprint.identify")
    expect(page.get_by_text(row.coze_logid)).to_be_visible()
    expect(page.get_by_text("49 of 50 tests left today")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "identify-result")


def test_an_operator_finds_the_group_by_searching_for_its_device(
    operator_page, living_room, assert_accessible
):
    page = operator_page
    Device.objects.create(name="Kitchen speaker", serial="SPK-K-0002")

    page.goto("/identify/")
    expect(page.get_by_label("Group")).to_have_value("")
    page.get_by_label("Search").fill("living")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(re.compile(r"/identify/\?q=living$"))
    expect(
        page.get_by_text("One active group matches “living”: it is chosen below.")
    ).to_be_visible()
    expect(page.get_by_label("Group")).to_have_value(str(living_room.pk))
    assert page.get_by_label("Group").locator("option").count() == 2  # the empty choice too
    assert_accessible(page)
