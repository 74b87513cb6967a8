"""Every main page, with a realistic register: no axe-core WCAG 2 A/AA violation, and a
full-page screenshot at desktop and phone width in screenshots/."""

import pytest
from playwright.sync_api import expect


def submit_empty_device_form(page, register):
    page.goto("/devices/new/")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error").first).to_be_visible()


def submit_invalid_group_form(page, register):
    page.goto("/groups/new/")
    page.get_by_label("Name").fill("这个名字对于扣子来说实在是太长了一点点吧")
    page.get_by_label("Description").fill("tab\there")
    page.get_by_role("button", name="Create on Coze").click()
    expect(page.locator(".field-error").first).to_be_visible()


def submit_guardian_consent_without_a_name(page, register):
    page.goto(f"/people/{register.people[1].pk}/consent/")
    page.get_by_label("a guardian (child under 14)").check()
    page.get_by_label("signed form").check()
    page.get_by_role("button", name="Record consent").click()
    expect(page.locator(".field-error").first).to_be_visible()


def show_the_recorder(page, register):
    # The session's Chromium has no microphone: the recorder shows, saying so.
    page.goto(f"/groups/{register.groups[0].pk}/voiceprints/new/")
    expect(page.locator("#recorder").get_by_role("status")).to_contain_text("not available")


def visit(path):
    return lambda page, register: page.goto(path(register) if callable(path) else path)


PAGES = {
    "login": visit("/accounts/login/"),
    "dashboard": visit("/"),
    "devices": visit("/devices/"),
    "device": visit(lambda register: f"/devices/{register.devices[0].pk}/"),
    "device-form-errors": submit_empty_device_form,
    "groups": visit("/groups/"),
    "group": visit(lambda register: f"/groups/{register.groups[0].pk}/"),
    "group-form-errors": submit_invalid_group_form,
    "audit": visit("/audit/"),
    "quota": visit("/quota/"),
    "jobs": visit("/jobs/"),
    "job": visit(lambda register: f"/jobs/{register.job.pk}/"),
    "job-running": visit(lambda register: f"/jobs/{register.running.pk}/"),
    "people": visit("/people/"),
    "person": visit(lambda register: f"/people/{register.people[0].pk}/"),
    "person-no-consent": visit(lambda register: f"/people/{register.people[2].pk}/"),
    "person-form": visit("/people/new/"),
    "consent-form-errors": submit_guardian_consent_without_a_name,
    "team": visit("/team/"),
    "team-new": visit("/team/new/"),
    "team-member": visit(lambda register: f"/team/{register.operator.pk}/"),
    "me": visit("/me/"),
    "enroll": show_the_recorder,
}


@pytest.mark.parametrize("name", PAGES)
def test_the_page_passes_axe_and_is_photographed(
    name, page, sign_in, sample_register, settings, assert_accessible, screenshot, monkeypatch
):
    settings.COZE_SIMULATED = True  # the banner a newcomer sees, checked with the rest
    settings.COZE_API_BASE = "http://127.0.0.1:8765"
    # A running job's page swaps its content in every few seconds: not while axe reads it.
    monkeypatch.setattr("groups.views.jobs.REFRESH_SECONDS", 600)
    if name != "login":
        sign_in(sample_register.admin)
    PAGES[name](page, sample_register)
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page)
    screenshot(page, name)
