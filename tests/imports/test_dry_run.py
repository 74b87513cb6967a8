"""The dry run of an import: the file read as scripts and Excel write it, every row checked
by the pages' forms, duplicates and existing serials found, the quota counted; nothing is
done and Coze is not called. Viewers may not import."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from groups.models import AuditEntry, Device, DeviceImport
from tests import factories

from .helpers import HEADER, devices_csv, dry_run, fleet, upload

pytestmark = pytest.mark.django_db


def test_a_dry_run_says_what_would_be_done_and_does_nothing(operator_client, coze_sim):
    factories.device("Old name", "KIOSK-0001", location="Hall 1")  # to update
    factories.device("Kiosk 2", "KIOSK-0002", location="Hall 2")  # unchanged
    before = AuditEntry.objects.count()

    device_import = dry_run(operator_client, devices_csv(fleet(4)))

    assert device_import.plan["devices"] == {"create": 2, "update": 1, "unchanged": 1, "again": 0}
    assert device_import.plan["groups"] == {"create": 4, "exists": 0}
    assert device_import.plan["quota"] == {"needed": 4, "free": 1000, "used": 0, "limit": 1000}
    assert device_import.can_run and device_import.job is None
    page = operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    assert "2 to create, 1 to update, 1 unchanged" in page
    assert "takes 4 of 1,000 free (0 of 1,000 in use)" in page
    assert "Run the import" in page
    assert (
        Device.objects.count() == 2 and Device.objects.get(serial="KIOSK-0001").name == "Old name"
    )
    assert coze_sim.requests == [] and AuditEntry.objects.count() == before


def test_the_file_as_excel_saves_it_reads_the_same(operator_client, coze_sim):
    rows = [["ser-001", "客厅音箱", "Home", "line one\nline two", "客厅", "张家"]]
    plain = dry_run(operator_client, devices_csv(rows))
    excel = dry_run(operator_client, devices_csv(rows, bom=True, crlf=True), "excel.csv")
    semicolons = dry_run(operator_client, devices_csv(rows, delimiter=";", crlf=True))
    chinese_windows = dry_run(operator_client, devices_csv(rows, encoding="gb18030"))

    read = [
        [(r.serial, r.name, r.location, r.notes, r.group_name, r.group_desc) for r in i.rows.all()]
        for i in (plain, excel, semicolons, chinese_windows)
    ]
    assert read[0] == [("ser-001", "客厅音箱", "Home", "line one\nline two", "客厅", "张家")]
    assert read[1][0][:3] == read[0][0][:3] and read[1][0][3] == "line one\nline two"
    assert read[2] == read[0] == read[3]
    assert [i.encoding for i in (plain, excel, chinese_windows)] == ["utf-8", "utf-8", "gb18030"]
    assert excel.plan["devices"]["create"] == 1 and not excel.errors
    page = operator_client.get(f"/imports/{chinese_windows.pk}/").content.decode()
    assert "Read as GB18030" in page


def test_unknown_and_missing_columns_are_named_and_nothing_is_kept(operator_client):
    content = devices_csv([["A-1", "x", "", ""]], header=["serail", "name", "location", "notes"])

    response = upload(operator_client, content)

    page = response.content.decode()
    assert response.status_code == 200
    assert "unknown columns: serail" in page and "missing columns: serial" in page
    assert DeviceImport.objects.count() == 0


@pytest.mark.parametrize(
    "content, says",
    [
        (b"", "The submitted file is empty."),  # Django's own word
        (devices_csv([]), "The file has a header but no rows of devices."),
        (b"\xff\xfe\x00s\x00e", "neither UTF-8 nor GB18030"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "neither UTF-8 nor GB18030"),  # a picture
        (devices_csv([["A-1", "a", "", "", "", "", "extra"]]), "Row 2 has more cells"),
    ],
)
def test_a_file_that_cannot_be_read_is_told_plainly(operator_client, content, says):
    response = upload(operator_client, content)

    assert says in response.content.decode()
    assert DeviceImport.objects.count() == 0


def test_the_size_and_row_limits_are_told(operator_client, settings):
    settings.IMPORT_MAX_ROWS = 3
    page = upload(operator_client, devices_csv(fleet(4))).content.decode()
    assert "The file has more than 3 rows: split it into several." in page

    settings.IMPORT_MAX_BYTES = 1000
    page = upload(operator_client, devices_csv(fleet(30))).content.decode()
    assert "The file is larger than 1 kB" in page
    assert DeviceImport.objects.count() == 0


def test_rows_are_checked_by_the_pages_forms_and_block_the_run(operator_client, coze_sim):
    rows = [
        ["OK-1", "Fine", "", "", "fine", ""],
        ["has space", "x" * 101, "", "", "", ""],
        ["OK-2", "Fine too", "", "", "y" * 21, ""],
        ["OK-3", "Tab\there", "", "", "", ""],
        ["OK-4", "No group name", "", "", "", "but a description"],
    ]

    device_import = dry_run(operator_client, devices_csv(rows))

    assert device_import.errors == 4 and not device_import.can_run
    problems = {row.line: row.problem_texts for row in device_import.rows.all()}
    assert problems[2] == []
    assert "serial: is not valid" in problems[3][0] and "name: is too long" in problems[3][0]
    assert problems[4] == ["Not valid: group name: is too long (at most 20 characters)."]
    assert problems[5] == ["Not valid: name: contains control characters."]
    assert problems[6] == ["A group description without a group name."]
    page = operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    assert "Nothing was done. Correct the rows below" in page and "Run the import" not in page
    assert "<td>Fine</td>" not in page  # only the rows with problems, unless all are asked for
    every_row = operator_client.get(f"/imports/{device_import.pk}/?rows=all").content.decode()
    assert "<td>Fine</td>" in every_row
    assert operator_client.post(f"/imports/{device_import.pk}/run/").status_code == 302
    assert DeviceImport.objects.get(pk=device_import.pk).job is None


def test_duplicates_in_the_file_are_found(operator_client, coze_sim):
    rows = [
        ["DUP-1", "Speaker", "", "", "living room", ""],
        ["dup-1", "Speaker", "", "", "kitchen", ""],  # the same device, a second group: fine
        ["DUP-1", "Another name", "", "", "", ""],  # the same serial, other details
        ["DUP-1", "Speaker", "", "", "living room", ""],  # the same group again
    ]

    device_import = dry_run(operator_client, devices_csv(rows))

    by_line = {row.line: row for row in device_import.rows.all()}
    assert by_line[3].device_plan == "again" and by_line[3].problems == []
    assert by_line[4].problem_texts == [
        "Serial DUP-1 is on row 2 already, with other details: one row per device, or the "
        "same details on each."
    ]
    assert by_line[5].problem_texts == [
        "Row 2 asks for the same group “living room” for this device."
    ]
    assert device_import.errors == 2


def test_an_existing_serial_updates_its_device_and_its_group_is_seen(operator_client, coze_sim):
    device = factories.device("Speaker", "SPK-9", notes="old notes")
    factories.group(device, name="living room", desc="on Coze")

    device_import = dry_run(
        operator_client, devices_csv([["spk-9", "Speaker", "", "new notes", "living room", ""]])
    )

    [row] = device_import.rows.all()
    assert (row.device_plan, row.group_plan) == ("update", "exists")
    assert row.notice_texts == [
        "The device already has the group “living room”: it is left as it is.",
        "Its description on Coze differs from the file's; an import does not change it.",
    ]
    assert device_import.plan["quota"]["needed"] == 0


def test_more_groups_than_the_quota_has_free_cannot_run(operator_client, settings, coze_sim):
    settings.COZE_GROUP_QUOTA = 3
    factories.group(factories.device())

    device_import = dry_run(operator_client, devices_csv(fleet(3)))

    assert device_import.quota_short == 1 and not device_import.can_run
    page = operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    assert "need 1 more places than the quota has free" in page


def test_a_file_the_register_holds_already_has_no_changes(operator_client, coze_sim):
    factories.device("Kiosk 1", "KIOSK-0001", location="Hall 1")

    device_import = dry_run(operator_client, devices_csv(fleet(1, groups=False)))

    page = operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    assert "No changes: the register holds every row of the file already." in page
    assert not device_import.can_run


def test_viewers_may_not_import(viewer_client, viewer):
    assert viewer_client.get("/imports/new/").status_code == 403
    assert upload(viewer_client, devices_csv(fleet(1))).status_code == 403
    assert DeviceImport.objects.count() == 0
    refusal = AuditEntry.objects.filter(action="permission.denied").latest("pk")
    assert refusal.facts["permission"] == "groups.add_deviceimport"
    assert "/imports/new/" not in viewer_client.get("/devices/").content.decode()


def test_operators_find_the_import_on_the_devices_page(operator_client):
    page = operator_client.get("/devices/").content.decode()
    assert 'href="/imports/new/"' in page and 'href="/devices/export.csv"' in page


def test_the_dry_run_page_answers_in_constant_queries(operator_client, coze_sim):
    def queries(n):
        device_import = dry_run(operator_client, devices_csv(fleet(n, prefix=f"N{n}")))
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(f"/imports/{device_import.pk}/").status_code == 200
        return len(captured)

    assert queries(10) == queries(30)


def test_the_header_may_be_in_any_order_and_case(operator_client, coze_sim):
    header = ["Name", "SERIAL", "notes", "location"]
    device_import = dry_run(operator_client, devices_csv([["A", "a-1", "", ""]], header=header))

    [row] = device_import.rows.all()
    assert (row.serial, row.name, row.device_plan) == ("a-1", "A", "create")
    assert HEADER[:4] == ["serial", "name", "location", "notes"]


def test_a_file_too_large_to_hold_is_said_to_be_too_large(operator_client, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000  # Django keeps no file beyond it

    page = upload(operator_client, devices_csv(fleet(50))).content.decode()

    assert "The file is larger than 5,000 kB: split it into several." in page
    assert "This field is required" not in page
    assert DeviceImport.objects.count() == 0
