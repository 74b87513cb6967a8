"""The audit log as CSV: the filtered rows, streamed, opening cleanly in spreadsheets."""

import csv
import io

from groups.models import AuditEntry


def export(client, query=""):
    response = client.get(f"/audit/export.csv{query}")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_it_exports_the_filtered_rows(administrator_client, device):
    AuditEntry.objects.create(
        action="group.create",
        outcome="failure",
        device=device,
        sent_name="客厅",
        coze_logid="L1",
        coze_code=4000,
    )
    AuditEntry.objects.create(action="group.create", outcome="success", coze_logid="L2")
    rows = export(administrator_client, "?outcome=failure")
    assert len(rows) == 1
    assert (rows[0]["coze_logid"], rows[0]["sent_name"], rows[0]["device_id"]) == (
        "L1",
        "客厅",
        str(device.pk),
    )
    assert {r["coze_logid"] for r in export(administrator_client)} >= {"L1", "L2"}


def test_csv_pieces_hold_every_row_once_with_formulas_made_inert():
    import csv
    import io

    from vpadmin.spreadsheets import csv_chunks

    rows = [[n, f"=cmd{n}", "", None, "-1", "plain"] for n in range(7)]
    for count in (0, 3, 6, 7):  # none, a piece and a half, two whole pieces, and more
        pieces = list(csv_chunks(["a", "b", "c", "d", "e", "f"], rows[:count], chunk_rows=3))
        assert len([p for p in pieces if p]) == max(1, -(-count // 3))
        text = "".join(pieces).removeprefix("\ufeff")
        read = list(csv.reader(io.StringIO(text)))
        assert read[0] == ["a", "b", "c", "d", "e", "f"]
        assert read[1:] == [[str(n), f"'=cmd{n}", "", "", "'-1", "plain"] for n in range(count)]
