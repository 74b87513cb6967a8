"""Sync with Coze: the button queues a job, which a worker runs."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .. import services, wording
from ..services import messages as says
from .common import permission_required, tell


@require_POST
@permission_required("groups.sync_voiceprintgroup")
def group_sync(request):
    """Queue a reconciliation of the register with Coze, one job per Coze account, and
    show its job's page at once (several: the jobs page); an account whose sync is queued
    or running keeps that one instead of starting another."""
    jobs = services.start_syncs(request.actor)
    if len(jobs) > 1:
        started = sum(new for _job, new in jobs)
        if started:
            text = ngettext(
                "Sync with Coze started for %(n)s account: this page shows how it goes.",
                "Sync with Coze started for %(n)s accounts: this page shows how they go.",
                started,
            ) % {"n": started}
            messages.info(request, text)
        if started < len(jobs):
            messages.info(
                request,
                _("A sync of %(accounts)s was already under way, so no other was started.")
                % {"accounts": wording.joined(job.account.name for job, new in jobs if not new)},
            )
        return redirect("job_list")
    job, started = jobs[0]
    if not started:
        tell(request, says.about(services.SyncUnderWay(job)))
        return redirect(job)
    messages.info(request, _("Sync with Coze started: this page shows how it goes."))
    return redirect(job)
