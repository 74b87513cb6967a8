"""Sync with Coze."""

from django.contrib import messages
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import services, wording
from ..services import messages as says
from .common import permission_required, tell


@require_POST
@permission_required("groups.sync_voiceprintgroup")
def group_sync(request):
    """Reconcile the register with Coze's list, then go back where the button was."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        target = resolve_url("group_list")
    try:
        result = services.sync_groups(request.actor)
    except services.SyncFailed as failed:
        tell(request, says.about(failed))
        return redirect(target)
    summary = _("Synced with Coze: %(summary)s.") % {"summary": wording.render(result.entry.facts)}
    (messages.success if result.changed else messages.info)(request, summary)
    return redirect(target)
