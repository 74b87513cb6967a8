"""Imports of devices: upload a CSV, see its dry run, confirm it to run as a job, and take
its results as CSV. Operators and Administrators start them (and resume them); an import's
page and results are its job's, which every role reads."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from vpadmin.lists import page_of
from vpadmin.spreadsheets import csv_response

from .. import devices_csv
from ..forms import ImportUploadForm
from ..models import DeviceImport, ImportRow
from ..services import imports
from ..wording import render_safely
from .common import permission_required

PERMISSION = imports.START_PERMISSION  # "start imports" (DESIGN.md's roles)


@permission_required(PERMISSION)
def import_new(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and _too_large_to_hold(request):
        limit = settings.IMPORT_MAX_BYTES // 1000
        form.is_valid()  # "required", said better:
        form.errors["file"] = form.error_class(
            [render_safely({"say": "import_too_large", "limit": limit})]
        )
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > settings.IMPORT_MAX_BYTES:
                limit = settings.IMPORT_MAX_BYTES // 1000
                raise devices_csv.UnreadableFile("import_too_large", limit=limit)
            device_import = imports.dry_run(request.actor, upload.name, upload.read())
        except devices_csv.UnreadableFile as unreadable:
            form.add_error("file", render_safely(unreadable.facts))
        else:
            return redirect(device_import)
    context = {"form": form, "columns": devices_csv.COLUMNS}
    return render(request, "groups/import_form.html", context)


def _too_large_to_hold(request):
    """An upload beyond what Django keeps in memory (FILE_UPLOAD_MAX_MEMORY_SIZE) arrives
    without its file: say it is too large rather than missing."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    too_large = length.isdigit() and int(length) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    return too_large and "file" not in request.FILES


@require_safe
@permission_required("groups.view_job")  # as its job's page: every role reads it
def import_detail(request, pk):
    device_import = get_object_or_404(DeviceImport.objects.select_related("job"), pk=pk)
    rows = device_import.rows.all()
    only_problems = bool(device_import.errors) and request.GET.get("rows") != "all"
    if only_problems:
        rows = rows.exclude(problems=[])
    context = {
        "import": device_import,
        "page": page_of(request, rows),
        "only_problems": only_problems,
        "plan": device_import.plan,
    }
    return render(request, "groups/import_detail.html", context)


@require_POST
@permission_required(PERMISSION)
def import_run(request, pk):
    device_import = get_object_or_404(DeviceImport, pk=pk)
    try:
        job = imports.start_import(request.actor, device_import)
    except imports.ImportNotReady:
        messages.error(request, _("This import cannot run: see what its dry run found."))
        return redirect(device_import)
    return redirect(job)


@require_safe
@permission_required("groups.view_job")
def import_results(request, pk):
    """Every row of an import with what its run did, as CSV in the reader's language."""
    device_import = get_object_or_404(DeviceImport, pk=pk)
    header = [
        _("Row"),
        _("Serial"),
        _("Name"),
        _("Group name"),
        _("Outcome"),
        _("Device"),
        _("Coze id"),
        _("What happened"),
        _("Coze logid"),
    ]
    rows = device_import.rows.select_related("group").only(
        "device_import",
        "line",
        "serial",
        "name",
        "group_name",
        "outcome",
        "device_done",
        "facts",
        "logid",
        "group",
        "group__coze_id",
    )

    def cells():
        for row in rows.iterator(chunk_size=2000):
            yield [
                row.line,
                row.serial,
                row.name,
                row.group_name,
                row.outcome_label if row.outcome else _("not run"),
                str(ImportRow.DevicePlan(row.device_done).label) if row.device_done else "",
                row.group.coze_id if row.group else "",
                row.result_text,
                row.logid,
            ]

    return csv_response(f"import-{device_import.pk}-results.csv", header, cells())
