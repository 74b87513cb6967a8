"""The audit log: the filtered list and its CSV export."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from vpadmin.lists import DeferredJoinPaginator, page_of
from vpadmin.spreadsheets import csv_response

from .. import wording
from ..filtersets import AuditEntryFilterSet
from ..models import AuditEntry, Device
from .common import permission_required

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


@permission_required("groups.view_auditentry")
def audit_list(request):
    # Prefetched, not joined: filtered by device, Django joins with INNER JOIN (a device
    # id implies a device), and the rows of a deleted device would vanish.
    found = AuditEntryFilterSet(request.GET, AuditEntry.objects.prefetch_related("device"))
    context = {
        "page": page_of(request, found.qs, DeferredJoinPaginator),
        "filters": request.GET,
        "filtered": bool(found.applied),
        "actions": Action.choices,
        "outcomes": Outcome.choices,
        **_chosen_device(found.applied.get("device")),
    }
    return render(request, "groups/audit_list.html", context)


def _chosen_device(pk):
    """The device the log is filtered to by id, if any (the link on a device's page), shown
    by name with a way back to every device, instead of a list of every device."""
    if pk is None:
        return {}
    name = Device.objects.filter(pk=pk).values_list("name", flat=True).first()
    if name is None:
        # A deleted device is named by its deletion row, which keeps its id and label.
        label = (
            AuditEntry.objects.filter(
                action=Action.DEVICE_DELETE, outcome=Outcome.SUCCESS, device_id=pk
            )
            .values_list("target_label", flat=True)
            .first()
        )
        name = (
            _("%(label)s (deleted)") % {"label": label}
            if label
            else _("deleted device #%(id)s") % {"id": pk}
        )
    return {"device": {"pk": pk, "name": name}}


AUDIT_CSV_COLUMNS = [
    "created_at",
    "actor_username",
    "action",
    "outcome",
    "request_id",
    "target_type",
    "target_id",
    "target_label",
    "device_id",
    "sent_name",
    "sent_desc",
    "coze_code",
    "coze_msg",
    "coze_logid",
    "http_status",
    "duration_ms",
    "ip_address",
    "user_agent",
    "via",
    "detail",
]


EXPORT_CHUNK = 2000  # rows read from the database, and written to the client, at a time


@permission_required("groups.export_auditentry")
def audit_export(request):
    """The filtered audit log as CSV, streamed (UTF-8 with a BOM for Excel)."""
    # `detail` is written in the reader's language from the row's facts (older rows keep
    # the sentence they were written with).
    found = AuditEntryFilterSet(request.GET, AuditEntry.objects.all())
    rows = found.qs.values_list(*AUDIT_CSV_COLUMNS, "facts")
    at_detail = AUDIT_CSV_COLUMNS.index("detail")

    def cells():
        for row in rows.iterator(chunk_size=EXPORT_CHUNK):
            *row, facts = row
            if facts:
                row[at_detail] = wording.render_safely(facts)
            yield row

    return csv_response("vpadmin-audit.csv", AUDIT_CSV_COLUMNS, cells(), EXPORT_CHUNK)
