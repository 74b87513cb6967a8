"""Finding any past action by filters alone, and exporting exactly what was found."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from groups.models import AuditEntry, Device

NOW = timezone.now()


@pytest.fixture
def log(device, operator, administrator):
    other = Device.objects.create(name="Kiosk", serial="K-1")
    rows = [
        # (days ago, actor, action, outcome, device, logid, name, request id)
        (1, operator, "group.create", "failure", device, "LOG-A", "客厅", "req1"),
        (3, operator, "group.create", "failure", device, "LOG-B", "书房", "req2"),
        (3, administrator, "group.create", "success", device, "LOG-C", "卧室", "req3"),
        (5, operator, "group.create", "failure", other, "LOG-D", "大厅", "req4"),
        (20, operator, "group.create", "failure", device, "LOG-E", "旧的", "req5"),
        (2, administrator, "group.delete", "failure", device, "LOG-F", "客厅", "req6"),
    ]
    for days, actor, action, outcome, dev, logid, name, request_id in rows:
        AuditEntry.objects.create(
            created_at=NOW - timedelta(days=days),
            actor=actor,
            actor_username=actor.username,
            action=action,
            outcome=outcome,
            device=dev,
            coze_logid=logid,
            sent_name=name,
            target_label=name,
            request_id=request_id,
        )
    return other


def logids(client, query):
    page = client.get(f"/audit/?{query}")
    assert page.status_code == 200
    return sorted(e.coze_logid for e in page.context["page"] if e.coze_logid)


def day(days_ago):
    return (timezone.localdate() - timedelta(days=days_ago)).isoformat()


def test_each_filter(viewer_client, log, device):
    assert logids(viewer_client, "user=ada") == ["LOG-C", "LOG-F"]
    assert logids(viewer_client, "action=group.delete") == ["LOG-F"]
    assert logids(viewer_client, "outcome=success") == ["LOG-C"]
    assert logids(viewer_client, f"device={log.pk}") == ["LOG-D"]
    assert logids(viewer_client, f"since={day(4)}") == ["LOG-A", "LOG-B", "LOG-C", "LOG-F"]
    assert logids(viewer_client, f"until={day(4)}") == ["LOG-D", "LOG-E"]
    assert logids(viewer_client, "q=LOG-B") == ["LOG-B"]
    assert logids(viewer_client, "q=req6") == ["LOG-F"]
    assert logids(viewer_client, "q=客厅") == ["LOG-A", "LOG-F"]


def test_filters_combine(viewer_client, log, device):
    query = f"device={device.pk}&action=group.create&outcome=failure&since={day(7)}"
    assert logids(viewer_client, query) == ["LOG-A", "LOG-B"]
    assert logids(viewer_client, query + "&user=ada") == []
    assert logids(viewer_client, query + f"&until={day(2)}") == ["LOG-B"]


def test_bad_filter_values_are_ignored_not_errors(viewer_client, log):
    for query in ["since=yesterday", "until=2026-02-31", "device=abc", "outcome=<b>", "page=999"]:
        assert viewer_client.get(f"/audit/?{query}").status_code == 200


def test_the_filters_stay_in_the_form_and_the_export_link(
    viewer_client, administrator_client, log, device
):
    query = f"device={device.pk}&outcome=failure&since={day(7)}"
    page = administrator_client.get(f"/audit/?{query}").content.decode()
    assert f'<input type="hidden" name="device" value="{device.pk}">' in page
    assert f"<strong>{device.name}</strong>" in page
    assert f'value="{day(7)}"' in page
    assert f"/audit/export.csv?{query.replace('&', '&amp;')}" in page
    # "any device" drops the device and keeps the other filters.
    assert f'<a href="?outcome=failure&amp;since={day(7)}">any device</a>' in page


def test_a_device_is_found_by_name_or_serial_not_picked_from_every_device(
    viewer_client, log, device
):
    assert logids(viewer_client, "device_name=kios") == ["LOG-D"]
    assert logids(viewer_client, "device_name=K-1") == ["LOG-D"]
    assert logids(viewer_client, "device_name=nothing-like-it") == []
    page = viewer_client.get("/audit/").content.decode()
    assert 'name="device_name"' in page
    assert f'<option value="{device.pk}"' not in page  # no list of every device


def test_a_deleted_devices_history_is_still_filtered_by_its_id(viewer_client, log, device):
    deleted = log.pk  # its rows keep its id (no constraint, no ON DELETE action)
    log.delete()
    assert logids(viewer_client, f"device={deleted}") == ["LOG-D"]
    page = viewer_client.get(f"/audit/?device={deleted}").content.decode()
    assert f"deleted device #{deleted}" in page
    # Its rows are still on the dashboard, with no device.
    latest = viewer_client.get("/").context["latest_failures"]
    assert [e.device for e in latest if e.coze_logid == "LOG-D"] == [None]


def test_failed_creations_for_one_device_last_week_export_cleanly(
    administrator_client, log, device
):
    """Issue 4's acceptance: by filters alone, then to a spreadsheet."""
    query = f"device={device.pk}&action=group.create&outcome=failure&since={day(7)}"
    response = administrator_client.get(f"/audit/export.csv?{query}")
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets read Chinese correctly
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert sorted((r["coze_logid"], r["sent_name"]) for r in rows) == [
        ("LOG-A", "客厅"),
        ("LOG-B", "书房"),
    ]
    assert list(rows[0])[:4] == ["created_at", "actor_username", "action", "outcome"]


def test_pages_read_by_key_are_the_logs_order_ties_included(viewer_client, db):
    """The audit pages read their keys first (DeferredJoinPaginator): together they are the
    whole log, newest first, each row once, even where rows share a time."""
    same_time = NOW - timedelta(hours=1)
    AuditEntry.objects.bulk_create(
        AuditEntry(
            action="auth.login",
            outcome="success",
            coze_logid=f"L{n}",
            created_at=same_time if n % 3 else NOW - timedelta(minutes=n),
        )
        for n in range(120)
    )
    expected = list(AuditEntry.objects.values_list("pk", flat=True))  # and the sign-in
    pages = [viewer_client.get(f"/audit/?page={n}").context["page"] for n in (1, 2, 3)]
    assert [len(page) for page in pages] == [50, 50, len(expected) - 100]
    assert [e.pk for page in pages for e in page] == expected
    assert pages[2].paginator.num_pages == 3 and not pages[2].has_next()


def test_the_export_is_streamed_in_pieces_that_join_up(administrator_client, log, monkeypatch):
    from groups.views import audit as views

    monkeypatch.setattr(views, "EXPORT_CHUNK", 2)
    response = administrator_client.get("/audit/export.csv?action=group.create")
    pieces = list(response.streaming_content)
    rows = list(csv.DictReader(io.StringIO(b"".join(pieces).decode("utf-8-sig"))))
    assert sorted(r["coze_logid"] for r in rows) == ["LOG-A", "LOG-B", "LOG-C", "LOG-D", "LOG-E"]
    assert len(pieces) == 3  # rows 1-2, 3-4, then the last one


def test_a_commands_rows_are_found_and_exported_by_the_command(administrator_client, coze_sim, db):
    from io import StringIO

    from django.core.management import call_command

    call_command("sync_coze_groups", stdout=StringIO())
    query = "?user=manage.py+sync_coze_groups"

    page = administrator_client.get("/audit/" + query)
    [row] = page.context["page"].object_list
    assert (row.action, row.via, row.actor_label) == ("group.sync", "command", row.user_agent)
    export = administrator_client.get("/audit/export.csv" + query)
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [(r["action"], r["user_agent"], r["via"]) for r in rows] == [
        ("group.sync", "manage.py sync_coze_groups", "command")
    ]
