"""The device register exported as the CSV an import reads: the list's filters, the import's
columns, one row per device and active group; an import of it changes nothing."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from groups.devices_csv import COLUMNS
from tests import factories

from .helpers import dry_run

pytestmark = pytest.mark.django_db


def export(client, query=""):
    response = client.get(f"/devices/export.csv{query}")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="vpadmin-devices.csv"'
    return b"".join(response.streaming_content)


def test_an_export_imported_again_changes_nothing(operator_client, coze_sim):
    speaker = factories.device("客厅音箱", "SPK-1", location="Home", notes="line one\r\nline two")
    factories.group(speaker, name="客厅", desc="张家")
    factories.group(speaker, name="kitchen")
    factories.group(speaker, name="old", state="deleted")
    factories.device("=SUM(1)", "-KIOSK-2", location="@hall", notes="+1 spare")
    factories.device("Car", "CAR-3")

    content = export(operator_client)

    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert content.startswith(b"\xef\xbb\xbf") and tuple(table[0]) == COLUMNS
    assert table[1:] == [
        ["'-KIOSK-2", "'=SUM(1)", "'@hall", "'+1 spare", "", "", ""],
        ["CAR-3", "Car", "", "", "", "", ""],
        ["SPK-1", "客厅音箱", "Home", "line one\r\nline two", "kitchen", "", ""],
        ["SPK-1", "客厅音箱", "Home", "line one\r\nline two", "客厅", "张家", ""],
    ]
    device_import = dry_run(operator_client, content, "vpadmin-devices.csv")
    assert device_import.errors == 0
    assert device_import.plan["devices"] == {"create": 0, "update": 0, "unchanged": 3, "again": 1}
    assert device_import.plan["groups"] == {"create": 0, "exists": 2}
    page = operator_client.get(f"/imports/{device_import.pk}/").content.decode()
    assert "No changes: the register holds every row of the file already." in page


def test_the_export_takes_the_lists_filter(viewer_client):
    factories.device("Kiosk", "KIO-1", location="Hall")
    factories.device("Car", "CAR-1")

    table = list(csv.reader(io.StringIO(export(viewer_client, "?q=hall").decode("utf-8-sig"))))

    assert [row[0] for row in table[1:]] == ["KIO-1"]


def test_the_export_reads_the_register_in_constant_queries(viewer_client):
    def queries(n):
        for _ in range(n):
            factories.group(factories.device())
        with CaptureQueriesContext(connection) as captured:
            export(viewer_client)
        return len(captured)

    assert queries(10) == queries(30)
