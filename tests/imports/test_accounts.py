"""Imports with several Coze accounts: the optional `account` column, checked like the API's
account; the dry run's quota counted per account in the order the run assigns them; the
run creating each group in its account; and the export writing each device's account."""

import csv
import io
import re

import pytest

from groups.models import CozeAccount, VoiceprintGroup
from tests import factories

from .helpers import HEADER, devices_csv, dry_run
from .test_export import export
from .test_import_run import start

pytestmark = pytest.mark.django_db
WITH_ACCOUNT = [*HEADER, "account"]


@pytest.fixture
def two(coze_accounts):
    return coze_accounts(default=3, cn2=2)


def served_by_cn2(name, serial):
    device = factories.device(name, serial)
    device.account = CozeAccount.named("cn2")
    device.save(update_fields=["account"])
    return device


def by_account(device_import):
    return {a["account"]: (a["needed"], a["free"]) for a in device_import.plan["quota"]["accounts"]}


def test_the_dry_run_counts_each_accounts_groups_as_the_run_will_assign_them(operator_client, two):
    served_by_cn2("E", "E-1")
    rows = [
        ["A-1", "A", "", "", "a", "", "cn2"],  # named: cn2
        ["E-1", "E", "", "", "e", "", ""],  # the device's own: cn2 (now full)
        ["A-2", "B", "", "", "b", "", ""],  # the most free: default 3 vs cn2 0
        ["A-3", "C", "", "", "c", "", ""],  # the most free: default 2 vs 0
        ["A-2", "B", "", "", "b2", "", ""],  # its device's, as row 4 gives it: default
    ]

    device_import = dry_run(operator_client, devices_csv(rows, header=WITH_ACCOUNT))

    assert device_import.errors == 0
    assert by_account(device_import) == {"default": (3, 3), "cn2": (2, 2)}
    assert [r.account for r in device_import.rows.all()] == ["cn2", "", "", "", ""]
    assert device_import.can_run and device_import.quota_short == 0
    page = operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    assert "cn2: takes 2 of 2 free (0 of 2 in use)" in page
    assert "default: takes 3 of 3 free (0 of 3 in use)" in page
    assert "a: create on Coze (cn2)" in page


def test_the_dry_run_names_the_account_that_would_be_short(operator_client, two):
    served_by_cn2("E", "E-1")
    rows = [
        ["A-1", "A", "", "", "a", "", "cn2"],
        ["E-1", "E", "", "", "e", "", ""],
        ["A-1", "A", "", "", "a2", "", ""],  # its device's, as row 2 gives it: cn2, full
        ["A-2", "B", "", "", "b", "", ""],  # the most free: default
    ]

    device_import = dry_run(operator_client, devices_csv(rows, header=WITH_ACCOUNT))

    assert device_import.errors == 0
    assert by_account(device_import) == {"default": (1, 3), "cn2": (3, 2)}
    assert device_import.quota_short == 1 and not device_import.can_run
    page = operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    assert (
        "Nothing was done: account cn2 would be short of 1 places: it would receive 3 groups "
        "and has 2 free." in page
    )
    assert "Run the import" not in page


def test_an_unknown_account_or_another_than_the_devices_is_a_row_error(operator_client, two):
    served_by_cn2("E", "E-1")
    rows = [
        ["A-1", "A", "", "", "a", "", "intl"],
        ["E-1", "E", "", "", "e", "", "default"],
        ["A-2", "B", "", "", "b", "", "cn2"],
        ["A-2", "B", "", "", "b2", "", "default"],  # row 4 gave the device cn2
        ["A-3", "C", "", "", "c", "", " default "],
        ["A-4", "D", "", "", "d", "", ""],  # the most free: default (2 vs 1)
        ["A-4", "D", "", "", "d2", "", "cn2"],  # row 7 gave the device default
    ]

    device_import = dry_run(operator_client, devices_csv(rows, header=WITH_ACCOUNT))

    problems = {r.line: r.problems for r in device_import.rows.all()}
    codes = {
        line: [p["code"] for f in found for p in f["errors"].get("account", [])]
        for line, found in problems.items()
    }
    assert codes == {
        2: ["unknown_account"],
        3: ["other_account"],
        4: [],
        5: ["other_account"],
        6: [],
        7: [],
        8: ["other_account"],
    }
    assert problems[2][0]["errors"]["account"][0]["accounts"] == "default, cn2"
    assert problems[3][0]["errors"]["account"][0]["account"] == "cn2"
    assert problems[8][0]["errors"]["account"][0]["account"] == "default"
    assert device_import.errors == 4 and not device_import.can_run
    page = operator_client.get(f"/imports/{device_import.pk}/?rows=all").content.decode()
    assert "is not a configured Coze account (configured: default, cn2)" in page
    assert "is not the device&#x27;s: its groups go to account cn2" in page


def test_a_run_creates_each_group_in_its_account(operator_client, two, coze_sim, run_jobs):
    rows = [
        ["A-1", "A", "", "", "a", "", "cn2"],
        ["A-2", "B", "", "", "b", "", ""],  # the most free then: default (3 vs 1)
        ["A-1", "A", "", "", "a2", "", ""],  # its device's: cn2
    ]
    device_import = dry_run(operator_client, devices_csv(rows, header=WITH_ACCOUNT))
    assert by_account(device_import) == {"default": (1, 3), "cn2": (2, 2)}

    start(operator_client, device_import)
    run_jobs()

    made = {g.name: g.account.name for g in VoiceprintGroup.objects.select_related("account")}
    assert made == {"a": "cn2", "b": "default", "a2": "cn2"}
    assert len(two["cn2"].groups) == 2 and len(two["default"].groups) == 1
    assert {r.outcome for r in device_import.rows.all()} == {"success"}


def test_an_export_with_accounts_imports_back_unchanged(operator_client, two, run_jobs):
    rows = [
        ["A-1", "A", "Hall", "", "a", "", "cn2"],
        ["A-2", "B", "", "", "b", "", "default"],
        ["A-3", "C", "", "", "", "", ""],  # no group: no account
    ]
    start(operator_client, dry_run(operator_client, devices_csv(rows, header=WITH_ACCOUNT)))
    run_jobs()

    content = export(operator_client)

    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert table[0] == WITH_ACCOUNT
    assert [row[-1] for row in table[1:]] == ["cn2", "default", ""]
    again = dry_run(operator_client, content, "vpadmin-devices.csv")
    assert again.errors == 0 and not again.changes
    assert again.plan["groups"] == {"create": 0, "exists": 2}
    assert by_account(again) == {"default": (0, 2), "cn2": (0, 1)}
    # A copy that moves a device to another account is refused, row by row.
    moved = re.sub(rb"cn2\r?\n", b"default\r\n", content, count=1)
    refused = dry_run(operator_client, moved, "moved.csv")
    assert refused.errors == 1
