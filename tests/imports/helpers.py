"""Files an import reads, as Operators make them: by a script, or saved by Excel."""

import csv
import io
import re

from groups.models import DeviceImport

HEADER = ["serial", "name", "location", "notes", "group_name", "group_desc"]


def devices_csv(rows, *, header=HEADER, bom=False, crlf=False, delimiter=",", encoding="utf-8"):
    """The bytes of a CSV with `header` and `rows` (lists of cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode(encoding) + buffer.getvalue().encode(encoding)


def fleet(n, *, prefix="KIOSK", groups=True):
    """`n` devices, each with a group named for it when `groups`."""
    return [
        [f"{prefix}-{i:04d}", f"Kiosk {i}", f"Hall {i % 7}", "", f"kiosk {i}" if groups else "", ""]
        for i in range(1, n + 1)
    ]


def upload(client, content, name="devices.csv"):
    """Upload a file to /imports/new/; returns the response."""
    file = io.BytesIO(content)
    file.name = name
    return client.post("/imports/new/", {"file": file})


def dry_run(client, content, name="devices.csv"):
    """Upload a file that can be read; returns its import (the dry run's page redirected to)."""
    response = upload(client, content, name)
    assert response.status_code == 302, response.content.decode()[:3000]
    match = re.fullmatch(r"/imports/(\d+)/", response["Location"])
    assert match, response["Location"]
    return DeviceImport.objects.get(pk=match[1])
