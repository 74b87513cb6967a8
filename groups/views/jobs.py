"""The job register: background work (syncs, deletions retried, the daily retention sweep,
imports of devices), its state, progress and results. Every role reads it."""

from django.conf import settings
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from vpadmin.lists import page_of

from ..models import DeviceImport, Job
from .common import permission_required

REFRESH_SECONDS = 2  # how often the page of a job under way shows its progress anew


@require_safe
@permission_required("groups.view_job")
def job_list(request):
    # A row's results are for its own page.
    jobs = Job.objects.select_related("account").defer("params", "results")
    return render(request, "groups/job_list.html", {"page": page_of(request, jobs)})


@require_safe
@permission_required("groups.view_job")
def job_detail(request, pk):
    job = get_object_or_404(Job.objects.select_related("account").defer("params"), pk=pk)
    context = {
        "job": job,
        # A run deferred to later (a retry, tomorrow's sweep) has nothing to show until then.
        "refresh": REFRESH_SECONDS if job.under_way and not job.deferred else None,
        "stale_seconds": round(settings.JOB_STALE_SECONDS),
    }
    if job.kind == Job.Kind.IMPORT:
        # An import's results are its rows, a page of them at a time.
        device_import = DeviceImport.objects.filter(job=job).first()
        rows = device_import.rows.select_related("group") if device_import else []
        context.update(device_import=device_import, page=page_of(request, rows))
    return render(request, "groups/job_detail.html", context)
