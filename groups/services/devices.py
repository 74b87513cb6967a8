"""Devices: create, update and delete, each audited."""

from django.db import DatabaseError, IntegrityError, transaction

from .. import audit
from ..models import AuditEntry, CozeAccount, Device
from ..wording import fact
from . import attempts
from .errors import DeviceBusy, DeviceGone, SerialTaken

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
FIELDS = ("name", "serial", "location", "notes", "identify_threshold")


def create_device(actor, **values):
    """Register a device; raises SerialTaken if its serial is someone else's by now. A
    field not given takes the model's default."""
    device = Device(**{name: values[name] for name in FIELDS if name in values})
    _save(device, editing=False)
    audit.record(actor, Action.DEVICE_CREATE, Outcome.SUCCESS, target=device, device=device)
    return device


def update_device(actor, device, **values):
    """Change a device's details; raises SerialTaken, or DeviceGone if it was deleted.
    The audit row says what changed (of the notes, only that they did)."""
    before = Device.objects.filter(pk=device.pk).values(*FIELDS).first() or {}
    for name in FIELDS:
        if name in values:
            setattr(device, name, values[name])
    _save(device, editing=True)
    changed = [name for name in FIELDS if before.get(name) != getattr(device, name)]
    shown = [name for name in changed if name != "notes"]
    facts = fact(
        "changes",
        changes={name: [before[name], getattr(device, name)] for name in shown},
        changed=["notes"] if "notes" in changed else [],
        device_gone=False,
    )
    audit.record(
        actor,
        Action.DEVICE_UPDATE,
        Outcome.SUCCESS,
        target=device,
        device=device,
        facts=facts if changed else None,
    )
    return device


def _save(device, *, editing):
    """A serial taken (or the device deleted) by someone else since the values were
    checked is an error the caller can show, not a server error."""
    try:
        with transaction.atomic():
            # Editing saves the form's fields only: the device's account is the creations'.
            device.save(
                force_update=editing,
                **({"update_fields": [*FIELDS, "updated_at"]} if editing else {}),
            )
    except IntegrityError:
        raise SerialTaken from None
    except DatabaseError:  # the forced update found no row: deleted meanwhile
        raise DeviceGone from None


def delete_device(actor, device):
    """Delete a device that serves no active group and has no creation under way, checked
    under every account's lock (a creation takes the one of its account); the audit row
    keeps the device's id."""
    with transaction.atomic():
        CozeAccount.locked_all()
        active = list(device.voiceprint_groups.active().values_list("name", flat=True)[:20])
        waiting = list(
            attempts.unresolved_creations()
            .filter(device=device)
            .values_list("sent_name", flat=True)[:20]
        )
        if active or waiting:
            facts = (
                fact("device_serves_groups", groups=active)
                if active
                else fact("device_has_attempts", names=waiting)
            )
            outcome = Outcome.REFUSED
        else:
            facts = fact("device_deleted", name=device.name, serial=device.serial)
            outcome = Outcome.SUCCESS
        audit.record(
            actor, Action.DEVICE_DELETE, outcome, target=device, device=device, facts=facts
        )
        if outcome == Outcome.SUCCESS:
            device.delete()
    if active or waiting:
        raise DeviceBusy(device, active, waiting)
