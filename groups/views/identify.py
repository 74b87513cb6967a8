"""The speaker identification console: test a clip against a device's group of voiceprints
and see every voiceprint's score against the device's threshold. Nothing of it is kept
but the audit row."""

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import audit, coze, services, wording
from ..forms import IdentifyForm
from ..models import AuditEntry, Device, VoiceprintGroup
from ..services import identify as identification
from ..services import messages as says
from .common import audio_dropped, permission_required, tell

Action = AuditEntry.Action


@permission_required("groups.identify_voiceprint")
def identify(request):
    if request.method != "POST":
        initial, note = _preselected(request.GET)
        return _page(request, IdentifyForm(initial=initial), note=note)

    form = IdentifyForm(request.POST, request.FILES, dropped=audio_dropped(request))
    if not form.is_valid():
        group = form.cleaned_data.get("group")
        audit.refuse(
            request.actor,
            Action.VOICEPRINT_IDENTIFY,
            facts=wording.form_facts(form),
            target=group,
            device=group.device if group else None,
        )
        return _page(request, form)
    data = form.cleaned_data
    try:
        result = identification.identify(
            request.actor, data["group"], data["audio"], top_k=data["top_k"]
        )
    except services.IdentifyLimitReached:
        return _page(request, form)  # the page says the limit is reached, and why
    except (services.GroupNotActive, coze.CozeError) as error:
        tell(request, says.about(error, "identify"))
        return _page(request, form)
    return _page(request, form, result=result)


def _page(request, form, *, result=None, note=""):
    limit = settings.IDENTIFY_DAILY_LIMIT
    left = result.left if result else identification.tests_left(request.user)
    context = {
        "form": form,
        "result": result,
        "summary": says.identify_summary(result) if result else "",
        "note": note,
        "limit": limit,
        "left": left,
    }
    return render(request, "voiceprints/identify.html", context)


def _preselected(query):
    """The form's group from `?group=<id>`, or `?device=<id>` (its one active group), and
    a note when the device's group cannot be chosen for the person."""
    groups = VoiceprintGroup.objects.active()
    group_id, device_id = query.get("group", ""), query.get("device", "")
    if group_id.isdigit():
        return {"group": groups.filter(pk=group_id).values_list("pk", flat=True).first()}, ""
    if not device_id.isdigit():
        return {}, ""
    device = Device.objects.filter(pk=device_id).only("name").first()
    if device is None:
        return {}, _("That device does not exist.")
    # A device has a group or a few: their ids, to choose one or count them, in one query.
    ids = list(groups.filter(device=device).values_list("pk", flat=True))
    if len(ids) == 1:
        return {"group": ids[0]}, ""
    if not ids:
        note = _("“%(device)s” has no active voiceprint group: there is nothing to test on it.")
        return {}, note % {"device": device.name}
    count = len(ids)
    note = ngettext(
        "“%(device)s” has %(n)s active voiceprint group: choose the one to test.",
        "“%(device)s” has %(n)s active voiceprint groups: choose the one to test.",
        count,
    )
    return {}, note % {"device": device.name, "n": wording.shown(count)}
