"""A creation whose answer was lost, as an Operator sees it in a real Chromium."""

import re
import time

from playwright.sync_api import expect

from groups.models import Device, VoiceprintGroup


def test_after_no_answer_a_resubmit_is_refused_and_check_now_finds_the_group(
    page, sign_in, make_user, coze_sim, settings
):
    settings.COZE_TIMEOUT = 0.5
    sign_in(make_user("olga", "Operator"))
    device = Device.objects.create(name="Hall speaker", serial="HALL-1")
    coze_sim.add_fault("delay", seconds=1.0, times=1)  # Coze acts after vpadmin gave up

    page.goto(f"/groups/new/?device={device.pk}")
    page.get_by_label("Name").fill("Resubmit test")
    page.get_by_role("button", name="Create on Coze").click()

    # Not the form again with an inviting button: the device's page, saying what is known.
    expect(page).to_have_url(re.compile(rf"/devices/{device.pk}/$"))
    expect(page.locator("main")).to_contain_text("It was not sent again")
    expect(page.get_by_role("button", name="Check now")).to_be_visible()

    page.go_back()  # the form, as the browser kept it: submitting it again sends nothing
    page.get_by_role("button", name="Create on Coze").click()
    expect(page.locator("main")).to_contain_text("so it was not sent again")
    assert len([r for r in coze_sim.requests if r["method"] == "POST"]) == 1

    time.sleep(0.8)  # Coze finishes the creation
    page.get_by_role("button", name="Check now").click()
    group = VoiceprintGroup.objects.get()
    expect(page).to_have_url(re.compile(rf"/groups/{group.pk}/$"))
    expect(page.locator("main")).to_contain_text("it is now registered")
    assert len(coze_sim.groups) == 1
