"""Sync with Coze: the button queues a job, which a worker runs."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import services
from ..services import messages as says
from .common import permission_required, tell


@require_POST
@permission_required("groups.sync_voiceprintgroup")
def group_sync(request):
    """Queue a reconciliation of the register with Coze and show its job's page at once;
    while one is queued or running, show that one instead of starting another."""
    try:
        job = services.start_sync(request.actor)
    except services.SyncUnderWay as under_way:
        tell(request, says.about(under_way))
        return redirect(under_way.job)
    messages.info(request, _("Sync with Coze started: this page shows how it goes."))
    return redirect(job)
