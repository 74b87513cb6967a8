"""What the browser does with a form before vpadmin sees it, and what it shows when a form
cannot be taken: typed text reaches the server whole, and an expired form says so."""

import json
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


def sign_in_again_in_another_tab(context, username):
    """Meanwhile, in another tab, the person signs out and in again: open forms' tokens go
    stale."""
    other = context.new_page()
    other.goto("/")  # the sign-in page, if not signed in
    sign_out = other.get_by_role("button", name="Sign out")
    if sign_out.count():
        sign_out.click()
    other.get_by_label("Username").fill(username)
    other.get_by_label("Password").fill(f"pw-{username}")
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    other.close()


def stored(page):
    """This tab's sessionStorage, as text, for what static/drafts.js keeps."""
    return page.evaluate("JSON.stringify(Object.assign({}, window.sessionStorage))")


def test_a_form_left_open_while_signing_in_again_says_so_and_leads_back(
    page, context, sign_in, make_user, assert_accessible
):
    sign_in(make_user("olga", "Operator"))
    page.goto("/devices/new/")
    page.get_by_label("Name").fill("Car")
    page.get_by_label("Serial").fill("CAR-7")
    page.get_by_label("Notes").fill("Under the back seat, left")

    sign_in_again_in_another_tab(context, "olga")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("you signed in again")
    expect(page.get_by_role("main")).to_contain_text("what you typed is put back in it")
    assert_accessible(page)
    assert not Device.objects.exists()

    page.get_by_role("link", name="Back to the form").click()
    expect(page).to_have_url(re.compile(r"/devices/new/$"))
    expect(page.get_by_role("status")).to_have_text(
        "What you typed before the form expired is back: check it and submit again."
    )
    expect(page.get_by_label("Name")).to_have_value("Car")
    expect(page.get_by_label("Serial")).to_have_value("CAR-7")
    expect(page.get_by_label("Notes")).to_have_value("Under the back seat, left")
    assert "Under the back seat" not in stored(page)  # put back, then dropped
    assert_accessible(page)

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Car")).to_be_visible()
    device = Device.objects.get()
    assert (device.serial, device.notes) == ("CAR-7", "Under the back seat, left")
    assert stored(page) == "{}"  # a form answered leaves nothing typed in the browser


def test_a_form_posted_normally_leaves_no_draft_and_opened_again_is_empty(page, sign_in, make_user):
    sign_in(make_user("olga", "Operator"))
    page.goto("/devices/new/")
    page.get_by_label("Name").fill("Van")
    page.get_by_label("Serial").fill("VAN-1")
    page.get_by_label("Notes").fill("Glovebox")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Van")).to_be_visible()
    assert stored(page) == "{}"
    page.goto("/devices/new/")
    expect(page.get_by_label("Notes")).to_have_value("")
    expect(page.get_by_role("status")).to_have_count(0)


def test_an_expired_sign_in_form_keeps_the_username_but_never_the_password(
    page, context, make_user
):
    make_user("olga", "Operator")
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("pw-olga")

    sign_in_again_in_another_tab(context, "olga")

    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    kept = stored(page)
    assert "pw-olga" not in kept and "csrfmiddlewaretoken" not in kept
    assert json.loads(json.loads(kept)["vpadmin.draft"])["values"] == [["username", "olga"]]


def test_opening_the_sync_address_shows_where_its_button_is(
    page, sign_in, make_user, assert_accessible
):
    sign_in(make_user("ada", "Administrator"))
    page.goto("/groups/sync/")
    expect(page.get_by_role("heading", name="Nothing to show here")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Go to the “Sync with Coze” button").click()
    expect(page).to_have_url(re.compile(r"/groups/$"))
    expect(page.get_by_role("button", name="Sync with Coze")).to_be_visible()
