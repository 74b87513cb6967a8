"""The audit log: the filtered list and its CSV export."""

import json

from django.db.models import Case, ExpressionWrapper, F, Func, TextField, Value, When
from django.db.models.functions import Concat, Left
from django.db.models.lookups import In
from django.shortcuts import render
from django.utils.translation import gettext as _

from vpadmin.lists import DeferredJoinPaginator, page_of
from vpadmin.spreadsheets import FORMULA_STARTS, csv_response, inert

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
    "detail",  # last: the export puts the facts' sentence there
]


EXPORT_CHUNK = 2000  # rows read from the database, and written to the client, at a time

# Columns whose text comes from people, their clients or Coze, any of which may start a
# cell with "=" (a spreadsheet would run it as a formula). The others are vpadmin's own
# choices, numbers, addresses and times.
FREE_TEXT = {
    "actor_username", "request_id", "target_id", "target_label", "sent_name", "sent_desc",
    "coze_msg", "coze_logid", "user_agent", "detail",
}  # fmt: skip


@permission_required("groups.export_auditentry")
def audit_export(request):
    """The filtered audit log as CSV, streamed (UTF-8 with a BOM for Excel).

    A million rows must stream in seconds, so the database hands over each cell as the
    file shows it (free text made inert, times as text, codes as stored) and Python only
    writes the rows and words the ones with facts: `detail` is written in the reader's
    language from the row's facts (older rows keep the sentence they were written with)."""
    found = AuditEntryFilterSet(request.GET, AuditEntry.objects.all())
    rows = found.qs.values_list(*_export_cells(), _as_text("facts"))
    kept = slice(0, -1)
    written = slice(0, -2)

    def cells():
        for row in rows.iterator(chunk_size=EXPORT_CHUNK):
            facts = row[-1] and json.loads(row[-1])
            if facts:
                yield (*row[written], inert(wording.render_safely(facts)))
            else:
                yield row[kept]

    return csv_response(
        "vpadmin-audit.csv", AUDIT_CSV_COLUMNS, cells(), EXPORT_CHUNK, made_inert=True
    )


def _export_cells():
    """What the database reads for each column of the export: the text of the file's cell
    (no conversion to Python values and back for each of a million rows)."""
    cells = []
    for name in AUDIT_CSV_COLUMNS:
        if name in FREE_TEXT:
            cells.append(_inert(name))
        elif name == "created_at":
            cells.append(UTCText(name))
        elif name == "coze_code":
            cells.append(_as_text(name))  # as stored: no int() and back a row
        else:
            cells.append(name)
    return cells


class UTCText(Func):
    """The time as str() writes an aware UTC datetime (microseconds only when there are
    any), made by the database rather than a datetime made of every row and written back.
    SQLite holds it as Django wrote it: str() of the naive UTC time."""

    output_field = TextField()

    def as_sqlite(self, compiler, connection):
        return self.as_sql(compiler, connection, template="%(expressions)s || '+00:00'")

    def as_postgresql(self, compiler, connection):
        utc = "(%(expressions)s AT TIME ZONE 'UTC')"
        template = (
            f"to_char({utc}, 'YYYY-MM-DD HH24:MI:SS') || CASE"
            " WHEN mod(date_part('microseconds', %(expressions)s)::int, 1000000) = 0 THEN ''"
            f" ELSE to_char({utc}, '.US') END || '+00:00'"
        )
        return self.as_sql(compiler, connection, template=template)


def _as_text(name):
    return ExpressionWrapper(F(name), output_field=TextField())


def _inert(name):
    """The column's text, with an apostrophe first where a spreadsheet would see a formula
    (`vpadmin.spreadsheets.inert`, in SQL)."""
    return Case(
        When(In(Left(name, 1), FORMULA_STARTS), then=Concat(Value("'"), name)),
        default=name,
        output_field=TextField(),
    )
