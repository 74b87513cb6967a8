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


def test_the_database_writes_each_cell_as_the_file_shows_it(administrator_client):
    """The export asks the database for the cells' text (free text made inert, times as
    str() writes them, the code as stored); Python only words the rows with facts."""
    from datetime import UTC, datetime

    from groups.views.audit import FREE_TEXT

    texts = {name: f'=HYPERLINK("x")-{name}' for name in FREE_TEXT - {"detail"}}
    with_microseconds = datetime(2026, 12, 1, 8, 0, 0, 5, tzinfo=UTC)
    whole_second = datetime(2026, 12, 1, 9, 0, 0, 0, tzinfo=UTC)
    AuditEntry.objects.create(
        created_at=with_microseconds,
        action="group.create",
        outcome="failure",
        detail="+1 written before facts",
        coze_code=10**45,  # past the column: kept as its first digits, marked as cut
        http_status=200,
        duration_ms=12,
        ip_address="2001:db8::1",
        **texts,
    )
    AuditEntry.objects.create(
        created_at=whole_second,
        action="group.create",
        outcome="success",
        coze_logid="-L2",
        coze_code=-4000,
        target_label="@home",
        sent_name="\tTab",
        sent_desc="\rReturn",
    )
    AuditEntry.objects.create(
        action="consent.withdraw",
        outcome="refused",
        coze_logid="L3",
        detail="an older sentence the facts replace",
        facts={"say": "nothing_to_withdraw", "person": "=Eve"},
    )
    rows = {r["coze_logid"]: r for r in export(administrator_client)}

    first = rows["'" + texts["coze_logid"]]
    assert {name: first[name] for name in texts} == {k: "'" + v for k, v in texts.items()}
    assert first["detail"] == "'+1 written before facts"
    assert first["created_at"] == str(with_microseconds) == "2026-12-01 08:00:00.000005+00:00"
    assert first["coze_code"] == "1" + "0" * 38 + "…"
    assert (first["http_status"], first["duration_ms"]) == ("200", "12")
    assert (first["ip_address"], first["action"], first["outcome"]) == (
        "2001:db8::1",
        "group.create",
        "failure",
    )

    second = rows["'-L2"]
    assert second["created_at"] == str(whole_second) == "2026-12-01 09:00:00+00:00"
    assert second["coze_code"] == "-4000"  # a number, not text a spreadsheet would run
    assert (second["target_label"], second["sent_name"], second["sent_desc"]) == (
        "'@home",
        "'\tTab",
        "'\rReturn",
    )
    assert (second["http_status"], second["device_id"], second["detail"]) == ("", "", "")

    third = rows["L3"]
    assert third["detail"] == "'=Eve has no consent in force: nothing was withdrawn."
