"""An Operator imports devices in a real Chromium: upload, dry run, run, progress."""

import re

from playwright.sync_api import expect

from groups.models import Device
from tests.imports.helpers import devices_csv, fleet


def test_an_operator_uploads_checks_and_runs_an_import(
    page, sign_in, make_user, coze_sim, run_jobs, assert_accessible, tmp_path
):
    sign_in(make_user("olga", "Operator"))
    csv_file = tmp_path / "fleet.csv"
    csv_file.write_bytes(devices_csv(fleet(3), bom=True, crlf=True))

    page.goto("/devices/")
    page.get_by_role("link", name="Import devices").click()
    assert_accessible(page)
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", name="Import devices: dry run")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("3 to create, 0 to update, 0 unchanged")
    assert_accessible(page)
    assert Device.objects.count() == 0 and coze_sim.requests == []
    page.get_by_role("button", name="Run the import").click()

    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", name="Import of devices")).to_be_visible()
    run_jobs()
    # The page follows the job by itself until it ends.
    expect(page.get_by_role("status")).to_contain_text(
        "Import done: 3 devices created", timeout=10_000
    )
    expect(page.locator("progress")).to_have_attribute("value", "3")
    expect(page.get_by_role("link", name="Download the results (CSV)")).to_be_visible()
    assert len(coze_sim.groups) == 3
