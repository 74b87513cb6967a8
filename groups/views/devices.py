"""Device pages: the list (and its CSV export), one device, and its creation, edit and
deletion."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from vpadmin.lists import page_of, sort_by
from vpadmin.spreadsheets import csv_response

from .. import audit, devices_csv, services, wording
from ..filtersets import DeviceFilterSet
from ..forms import (
    DeviceForm,
)
from ..models import AuditEntry, Device, Voiceprint, VoiceprintGroup
from ..services import attempts
from ..services import identify as identification
from ..services import messages as says
from .common import ACTIVE_GROUP_COUNT, permission_required, tell

Action = AuditEntry.Action


@permission_required("groups.view_device")
def device_list(request):
    found = DeviceFilterSet(request.GET, Device.objects.annotate(group_count=ACTIVE_GROUP_COUNT))
    devices, sort = sort_by(
        request,
        found.qs,
        {
            "name": ["name"],
            "serial": ["serial"],
            "location": ["location"],
            "groups": ["group_count"],
        },
        default="name",
    )
    context = {
        "page": page_of(request, devices),
        "q": found.applied.get("q", ""),
        "sort": sort,
    }
    return render(request, "groups/device_list.html", context)


@permission_required("groups.view_device")
def device_export(request):
    """The devices the list shows (its filters), as the CSV an import reads: one row per
    device and active group, so an import of it changes nothing."""
    found = DeviceFilterSet(request.GET, Device.objects.all())
    active = VoiceprintGroup.objects.active().order_by("name", "pk").only("device", "name", "desc")
    devices = found.qs.order_by("serial", "pk").prefetch_related(
        Prefetch("voiceprint_groups", queryset=active, to_attr="active_groups")
    )
    rows = devices_csv.export_rows(devices.iterator(chunk_size=1000))
    return csv_response("vpadmin-devices.csv", devices_csv.COLUMNS, rows)


@permission_required("groups.view_device")
def device_detail(request, pk):
    device = get_object_or_404(Device.objects.select_related("account"), pk=pk)
    context = {
        "device": device,
        "groups": device.voiceprint_groups.select_related("creator"),
        "waiting": attempts.unresolved_creations()
        .filter(device=device)
        .select_related("device")[:20],
        "history": device.audit_entries.all()[:20],
        "tests": identification.latest_tests(device),
        # The people the device recognises: active voiceprints in its active groups.
        # Through the device's groups (a subquery), not the join: joined, SQLite read every
        # active voiceprint (sixty thousand at ten times the scale) to find the device's.
        "voiceprints": Voiceprint.objects.active()
        .filter(group__in=device.voiceprint_groups.active().values("pk"))
        .select_related("person", "group__device")
        .order_by("group__name", "name")[:100],
    }
    return render(request, "groups/device_detail.html", context)


def _save_device(request, form, action):
    """Save a valid form through the service; a serial taken or a device deleted since the
    form was checked becomes a form error. Returns the redirect, or None to show the form."""
    if form.is_valid():
        values = {name: form.cleaned_data[name] for name in services.devices.FIELDS}
        try:
            if form.instance.pk is None:
                device = services.create_device(request.actor, **values)
            else:
                device = services.update_device(request.actor, form.instance, **values)
        except services.SerialTaken as taken:
            form.add_error("serial", ValidationError(says.about(taken).text, code="unique"))
        except services.DeviceGone as gone:
            form.add_error(None, ValidationError(says.about(gone).text, code="deleted"))
        else:
            messages.success(request, _("Device “%(name)s” saved.") % {"name": device.name})
            return redirect(device)
    target = form.instance if form.instance.pk else None
    audit.refuse(request.actor, action, wording.form_facts(form), target=target)
    return None


@permission_required("groups.add_device")
def device_new(request):
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and (done := _save_device(request, form, Action.DEVICE_CREATE)):
        return done
    return render(request, "groups/device_form.html", {"form": form})


@permission_required("groups.change_device")
def device_edit(request, pk):
    device = get_object_or_404(Device, pk=pk)
    form = DeviceForm(request.POST or None, instance=device)
    if request.method == "POST" and (done := _save_device(request, form, Action.DEVICE_UPDATE)):
        return done
    return render(request, "groups/device_form.html", {"form": form, "device": device})


@permission_required("groups.delete_device")
def device_delete(request, pk):
    device = get_object_or_404(Device, pk=pk)
    if request.method != "POST":
        context = {
            "device": device,
            "active_groups": list(
                device.voiceprint_groups.active().values_list("name", flat=True)[:20]
            ),
            "waiting": list(attempts.unresolved_creations().filter(device=device)[:20]),
        }
        return render(request, "groups/device_confirm_delete.html", context)
    try:
        services.delete_device(request.actor, device)
    except services.DeviceBusy as busy:
        tell(request, says.about(busy))
        return redirect(device)
    messages.success(request, _("Device “%(name)s” deleted.") % {"name": device.name})
    return redirect("device_list")
