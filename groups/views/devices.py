"""Device pages: the list, one device, and its creation, edit and deletion."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from vpadmin.lists import page_of, query_without_page, sort_by, text_param

from .. import attempts, audit, operations, wording
from ..forms import (
    DeviceForm,
)
from ..models import AuditEntry, Device
from .common import ACTIVE_GROUP_COUNT, permission_required

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


@permission_required("groups.view_device")
def device_list(request):
    devices, sort = sort_by(
        request,
        Device.objects.annotate(group_count=ACTIVE_GROUP_COUNT),
        {
            "name": ["name"],
            "serial": ["serial"],
            "location": ["location"],
            "groups": ["group_count"],
        },
        default="name",
    )
    query = text_param(request.GET, "q")
    if query:
        devices = devices.filter(
            Q(name__icontains=query) | Q(serial__icontains=query) | Q(location__icontains=query)
        )
    context = {
        "page": page_of(request, devices),
        "q": query,
        "sort": sort,
        "query": query_without_page(request),
    }
    return render(request, "groups/device_list.html", context)


@permission_required("groups.view_device")
def device_detail(request, pk):
    device = get_object_or_404(Device, pk=pk)
    context = {
        "device": device,
        "groups": device.voiceprint_groups.select_related("creator"),
        "waiting": attempts.unresolved_creations()
        .filter(device=device)
        .select_related("device")[:20],
        "history": device.audit_entries.all()[:20],
    }
    return render(request, "groups/device_detail.html", context)


def _save_device(request, form, action):
    if form.is_valid() and _saved(form):
        device = form.instance
        audit.record(request.actor, action, Outcome.SUCCESS, target=device, device=device)
        messages.success(request, _("Device “%(name)s” saved.") % {"name": device.name})
        return redirect(device)
    audit.record(
        request.actor,
        action,
        Outcome.REFUSED,
        target=form.instance if form.instance.pk else None,
        facts=wording.form_facts(form),
    )
    return None


def _saved(form):
    """Save a valid device form; a serial taken (or the device deleted) by someone else
    since the form was checked becomes a form error, not a server error."""
    editing = form.instance.pk is not None
    try:
        with transaction.atomic():
            device = form.save(commit=False)
            device.save(force_update=editing)
    except IntegrityError:
        form.add_error(
            "serial",
            ValidationError(
                Device._meta.get_field("serial").error_messages["unique"], code="unique"
            ),
        )
        return False
    except DatabaseError:  # the forced update found no row: deleted meanwhile
        form.add_error(None, ValidationError(_("This device was deleted."), code="deleted"))
        return False
    return True


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
        operations.delete_device(request.actor, device)
    except operations.DeviceBusy as busy:
        if busy.groups:
            messages.error(
                request,
                _(
                    "“%(device)s” still serves active voiceprint groups: %(groups)s. Delete them "
                    "or assign them to another device first."
                )
                % {"device": device.name, "groups": wording.joined(busy.groups)},
            )
        else:
            messages.error(
                request,
                _(
                    "A voiceprint group is being created for “%(device)s” (%(groups)s) and "
                    "Coze's answer is not known yet. Check it on the device's page first."
                )
                % {"device": device.name, "groups": wording.joined(busy.attempts)},
            )
        return redirect(device)
    messages.success(request, _("Device “%(name)s” deleted.") % {"name": device.name})
    return redirect("device_list")
