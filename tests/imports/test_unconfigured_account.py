"""An import naming a device served from a Coze account since taken out of the settings:
its new group is a row error of the dry run (nothing could make it), not a crash."""

import pytest

from groups.models import CozeAccount
from tests import factories

from .helpers import HEADER, devices_csv, dry_run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("others", [{"cn2": 2}, {}], ids=["several", "one"])
def test_a_new_group_for_a_device_of_an_unconfigured_account_is_a_row_error(
    coze_accounts, settings, operator_client, others
):
    coze_accounts(default=3, old=2, **others)
    device = factories.device("E", "E-1")
    device.account = CozeAccount.named("old")
    device.save(update_fields=["account"])
    settings.COZE_ACCOUNTS = {
        name: account for name, account in settings.COZE_ACCOUNTS.items() if name != "old"
    }
    rows = [["E-1", "E", "", "", "e", ""], ["A-1", "A", "", "", "a", ""]]

    device_import = dry_run(operator_client, devices_csv(rows, header=HEADER))

    problems = {row.line: row.problems for row in device_import.rows.all()}
    assert problems[3] == []
    assert [p["code"] for p in problems[2][0]["errors"]["account"]] == ["unknown_account"]
    assert device_import.errors == 1 and not device_import.can_run
    page = operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    assert "is not a configured Coze account" in page


def test_the_export_of_a_device_of_an_unconfigured_account_imports_back_unchanged(
    coze_accounts, settings, operator_client
):
    coze_accounts(default=3, old=2)
    device = factories.device("E", "E-1")
    device.account = CozeAccount.named("old")
    device.save(update_fields=["account"])
    factories.group(device, name="e", account=device.account)
    settings.COZE_ACCOUNTS = {
        name: account for name, account in settings.COZE_ACCOUNTS.items() if name != "old"
    }

    exported = b"".join(operator_client.get("/devices/export.csv").streaming_content)
    device_import = dry_run(operator_client, exported)

    assert [row.problems for row in device_import.rows.all()] == [[]]
    assert device_import.changes == 0
