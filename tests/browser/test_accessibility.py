"""Beyond axe: the keyboard alone (Tab order, focus that can be seen) and field errors
that a screen reader announces with their field. axe itself runs in test_page_tour."""

import re

from playwright.sync_api import expect

FOCUSED = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    text: (el.innerText || el.value || "").trim(),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth),
  };
}"""


def tab(page):
    page.keyboard.press("Tab")
    return page.evaluate(FOCUSED)


def is_visible_focus(stop):
    return stop["outlineStyle"] not in ("none", "hidden") and stop["outlineWidth"] >= 2


def test_tab_from_the_top_of_sign_in_reaches_the_form_in_order_with_visible_focus(page):
    page.goto("/accounts/login/")
    expect(page.get_by_label("Username")).to_be_focused()  # autofocus, for the impatient
    page.mouse.click(1, 1)  # back to the top of the page, before the first link

    stops = [tab(page) for _ in range(6)]

    assert [(stop["id"] or stop["text"]) for stop in stops] == [
        "vpadmin",
        "language",
        "Switch",
        "id_username",
        "id_password",
        "Sign in",
    ]
    invisible = [stop for stop in stops if not is_visible_focus(stop)]
    assert not invisible, f"focus without a visible outline: {invisible}"


def test_every_tab_stop_of_the_dashboard_shows_its_focus(page, sign_in, sample_register):
    sign_in(sample_register.operator)
    page.goto("/")
    page.mouse.click(1, 1)

    stops = []
    while len(stops) < 80 and (stop := tab(page))["tag"] != "body":  # body: past the last
        stops.append(stop)

    assert {"Dashboard", "Devices", "Audit log", "Create a voiceprint group"} <= {
        stop["text"] for stop in stops
    }
    invisible = [stop for stop in stops if not is_visible_focus(stop)]
    assert not invisible, f"focus without a visible outline: {invisible}"


def test_each_field_error_is_announced_with_its_field(page, sign_in, make_user):
    sign_in(make_user("olga", "Operator"))
    page.goto("/groups/new/")
    page.get_by_label("Name").fill("客厅\t音箱")
    page.get_by_label("Description").fill("Family")
    page.get_by_role("button", name="Create on Coze").click()

    name, desc, device = (page.get_by_label(label) for label in ("Name", "Description", "Device"))
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile("Control characters"))
    expect(device).to_have_attribute("aria-invalid", "true")
    expect(device).to_have_accessible_description(re.compile("This field is required"))
    expect(desc).not_to_have_attribute("aria-invalid", "true")
    expect(desc).to_have_accessible_description(re.compile("at most 500 characters"))
