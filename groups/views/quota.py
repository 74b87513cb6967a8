"""The quota page."""

from django.shortcuts import render

from .. import charts
from ..models import Device
from ..quota import usages
from .common import ACTIVE_GROUP_COUNT, permission_required


@permission_required("groups.view_voiceprintgroup")
def quota(request):
    per_device = (
        Device.objects.annotate(group_count=ACTIVE_GROUP_COUNT)
        .filter(group_count__gt=0)
        .order_by("-group_count", "name")[:50]
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
