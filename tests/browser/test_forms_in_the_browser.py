"""What the browser does with a form before vpadmin sees it, and what it shows when a form
cannot be taken: typed text reaches the server whole, and an expired form says so."""

import re

from playwright.sync_api import expect

from groups.models import Device, VoiceprintGroup

FIFTEEN_EMOJI = "🎤🎧🎵🎶🎹🎸🎺🎻🥁🎷🪕🎼🔊📻🎙"


def test_an_operator_names_a_group_with_fifteen_emoji(page, sign_in, make_user, coze_sim):
    # Fifteen characters for Coze and vpadmin, thirty UTF-16 units for a maxlength attribute.
    sign_in(make_user("olga", "Operator"))
    device = Device.objects.create(name="Music room", serial="MUS-1")

    page.goto(f"/groups/new/?device={device.pk}")
    page.get_by_label("Name").press_sequentially(FIFTEEN_EMOJI)
    expect(page.get_by_label("Name")).to_have_value(FIFTEEN_EMOJI)
    page.get_by_role("button", name="Create on Coze").click()

    expect(page.get_by_role("heading", name=FIFTEEN_EMOJI)).to_be_visible()
    group = VoiceprintGroup.objects.get()
    assert group.name == FIFTEEN_EMOJI and len(group.name) == 15
    assert coze_sim.groups[group.coze_id]["name"] == FIFTEEN_EMOJI


def test_a_name_over_the_limit_is_told_by_the_server_with_the_input_kept(
    page, sign_in, make_user, coze_sim
):
    sign_in(make_user("olga", "Operator"))
    device = Device.objects.create(name="Music room", serial="MUS-1")

    page.goto(f"/groups/new/?device={device.pk}")
    name = page.get_by_label("Name")
    expect(name).to_have_accessible_description(re.compile("1 to 20 characters"))
    name.press_sequentially("🎤" * 21)
    page.get_by_role("button", name="Create on Coze").click()

    expect(page.locator(".field-error")).to_contain_text("at most 20 characters (it has 21)")
    expect(page.get_by_label("Name")).to_have_value("🎤" * 21)
    assert not VoiceprintGroup.objects.exists() and not coze_sim.groups
