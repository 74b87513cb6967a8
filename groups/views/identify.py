"""The speaker identification console: test a clip against a device's group of voiceprints
and see every voiceprint's score against the device's threshold. Nothing of it is kept
but the audit row."""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Case, F, Q, When
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import audit, coze, services, wording
from ..filtersets import ID_PATTERN
from ..forms import IdentifyForm, tested_group_choices
from ..models import AuditEntry, Device, VoiceprintGroup
from ..services import identify as identification
from ..services import messages as says
from .common import audio_dropped, permission_required, tell

Action = AuditEntry.Action


# The groups a search offers at most: a register holds thousands, a select a handful.
OFFERED = 20


@permission_required("groups.identify_voiceprint")
def identify(request):
    if request.method != "POST":
        found = _found(request.GET)
        form = IdentifyForm(initial={"group": found.chosen}, offered=found.groups)
        return _page(request, form, found)

    # The page's address keeps its search (the form posts to it), so the same groups are
    # offered again, with the one sent.
    found = _found(request.GET, sent=request.POST.get("group", ""))
    form = IdentifyForm(
        request.POST, request.FILES, dropped=audio_dropped(request), offered=found.groups
    )
    if not form.is_valid():
        group = form.cleaned_data.get("group")
        audit.refuse(
            request.actor,
            Action.VOICEPRINT_IDENTIFY,
            facts=wording.form_facts(form),
            target=group,
            device=group.device if group else None,
        )
        return _page(request, form, found)
    data = form.cleaned_data
    try:
        result = identification.identify(
            request.actor, data["group"], data["audio"], top_k=data["top_k"]
        )
    except services.IdentifyLimitReached:
        return _page(request, form, found)  # the page says the limit is reached, and why
    except (services.GroupNotActive, coze.CozeError) as error:
        tell(request, says.about(error, "identify"))
        return _page(request, form, found)
    return _page(request, form, found, result=result)


def _page(request, form, found, *, result=None):
    limit = settings.IDENTIFY_DAILY_LIMIT
    left = result.left if result else identification.tests_left(request.user)
    context = {
        "form": form,
        "result": result,
        "summary": says.identify_summary(result) if result else "",
        "found": found,
        "limit": limit,
        "left": left,
    }
    return render(request, "voiceprints/identify.html", context)


@dataclass
class Found:
    """The groups the form offers ((id, label) pairs), the one chosen for the person, what
    was searched for and what it found, and a warning (a device with no group, or several)."""

    groups: list = field(default_factory=list)
    chosen: int | None = None
    q: str = ""
    matched: str = ""
    note: str = ""


def _found(query, sent=""):
    """The groups to offer: those of `?device=<id>` (its one active group chosen), the one
    of `?group=<id>` (chosen), or the first OFFERED whose name, device's name or serial
    holds `?q=`; and the group `sent` with the form. At most two queries."""
    q = query.get("q", "").replace("\x00", "").strip()[:100]
    group_id, device_id = _id(query.get("group")), _id(query.get("device"))
    sent = _id(sent)
    wanted = [Q(pk=sent)] if sent else []
    device = None
    if q:
        wanted += [Q(name__icontains=q), Q(device__name__icontains=q)]
        wanted += [Q(device__serial__icontains=q)]
    elif group_id:
        wanted += [Q(pk=group_id)]
    elif device_id:
        device = Device.objects.filter(pk=device_id).only("name").first()
        if device is None:
            return Found(note=_("That device does not exist."))
        wanted += [Q(device=device)]
    if not wanted:
        return Found()
    first = [Case(When(pk=sent, then=0), default=1)] if sent else []
    order = [*first, F("device__name").asc(nulls_last=True), "name", "id"]
    offered = VoiceprintGroup.objects.active().filter(reduce(or_, wanted)).order_by(*order)
    groups = list(tested_group_choices(offered[: OFFERED + 1]))
    found = Found(groups=groups[:OFFERED], q=q)
    if sent:  # the form as sent says which group; the notes were for choosing one
        return found
    if q:
        found.matched = _searched(q, len(groups))
        found.chosen = groups[0][0] if len(groups) == 1 else None
    elif device is not None:
        found.chosen, found.note = _of_device(device, [pk for pk, _label in groups])
    elif groups:
        found.chosen = groups[0][0]
    return found


def _id(value):
    """A primary key from the query string, or None."""
    return int(value) if value and ID_PATTERN.fullmatch(value) else None


def _searched(q, count):
    if not count:
        return _("No active group matches “%(q)s”.") % {"q": q}
    if count == 1:
        return _("One active group matches “%(q)s”: it is chosen below.") % {"q": q}
    if count > OFFERED:
        note = _(
            "More than %(n)s active groups match “%(q)s”: the first %(n)s are offered below; "
            "search for more of the name to narrow them."
        )
        return note % {"q": q, "n": OFFERED}
    note = _("%(n)s active groups match “%(q)s”: choose the one to test below.")
    return note % {"q": q, "n": wording.shown(count)}


def _of_device(device, ids):
    """The device's one active group (chosen), or a note: it has none, or several."""
    if len(ids) == 1:
        return ids[0], ""
    if not ids:
        note = _("“%(device)s” has no active voiceprint group: there is nothing to test on it.")
        return None, note % {"device": device.name}
    count = len(ids)
    note = ngettext(
        "“%(device)s” has %(n)s active voiceprint group: choose the one to test.",
        "“%(device)s” has %(n)s active voiceprint groups: choose the one to test.",
        count,
    )
    return None, note % {"device": device.name, "n": wording.shown(count)}
