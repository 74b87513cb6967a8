"""The quota page."""

from django.db.models import Count
from django.shortcuts import render

from .. import charts
from ..models import Device, VoiceprintGroup
from ..quota import usages
from .common import permission_required


@permission_required("groups.view_voiceprintgroup")
def quota(request):
    # The devices holding the most: counted by one pass over the active groups, joined to
    # their devices (a count per device would be ten thousand subqueries to sort).
    per_device = (
        Device.objects.filter(voiceprint_groups__state=VoiceprintGroup.State.ACTIVE)
        .annotate(group_count=Count("voiceprint_groups"))
        .order_by("-group_count", "name", "pk")
        .only("name")[:50]
    )
    found = usages()
    current = found.total if found.several else found.accounts[0]
    context = {
        "quota": current,
        "usages": found,
        "per_device": per_device,
        "unassigned": current.unassigned,
        "chart": charts.groups_created(days=90),
    }
    return render(request, "groups/quota.html", context)
