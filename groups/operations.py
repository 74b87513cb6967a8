"""What users do to the register, each step audited: the Coze call sits between a
committed `pending` row and its final outcome."""

import logging

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import audit, coze
from .models import AuditEntry, CozeAccount, VoiceprintGroup

log = logging.getLogger("vpadmin.operations")
Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


class QuotaExceeded(Exception):
    def __init__(self, used, limit):
        super().__init__(f"quota full: {used} of {limit} groups")
        self.used, self.limit = used, limit


class AlreadySubmitted(Exception):
    """This form was submitted before; `entry` is the audit row of that attempt."""

    def __init__(self, entry):
        super().__init__(f"form already submitted (audit entry {entry.pk})")
        self.entry = entry


class NotRegistered(Exception):
    """Coze created the group but our database write failed; sync will register it."""

    def __init__(self, coze_id, logid):
        super().__init__(f"Coze group {coze_id} created but not registered")
        self.coze_id, self.logid = coze_id, logid


def quota_in_use():
    """Groups held, plus creations under way (each may take a slot), in one query."""
    pending = (
        AuditEntry.objects.filter(action=Action.GROUP_CREATE, outcome=Outcome.PENDING)
        .values("action")
        .annotate(n=Count("*"))
        .values("n")
    )
    held = VoiceprintGroup.objects.active()
    return held.aggregate(used=Count("pk") + Coalesce(Subquery(pending), 0))["used"]


def _reserve_slot(request, submission, fields):
    """Under the account lock: find an earlier submission, check the quota, and commit
    a `pending` row that holds the slot. Returns (pending row, earlier row, slots used)."""
    with transaction.atomic():
        CozeAccount.locked()
        earlier = AuditEntry.objects.filter(submission=submission).first()
        if earlier is not None:
            return None, earlier, None
        used = quota_in_use()
        if used >= settings.COZE_GROUP_QUOTA:
            return None, None, used
        pending = audit.record(
            request, Action.GROUP_CREATE, Outcome.PENDING, submission=submission, **fields
        )
        return pending, None, used


def create_group(request, *, name, desc, device, submission):
    """Create a group on Coze and register it against `device`.

    Raises QuotaExceeded, AlreadySubmitted, a coze.CozeError or NotRegistered; every
    attempt leaves an audit row with its final outcome (or `pending` if we crashed).
    """
    fields = {"device": device, "sent_name": name, "sent_desc": desc}
    entry, earlier, used = _reserve_slot(request, submission, fields)
    if earlier is not None:
        raise AlreadySubmitted(earlier)
    if entry is None:
        limit = settings.COZE_GROUP_QUOTA
        detail = f"quota full: {used} of {limit} groups"
        audit.record(request, Action.GROUP_CREATE, Outcome.REFUSED, detail=detail, **fields)
        raise QuotaExceeded(used, limit)

    answer = _call_coze(entry, coze.get_client().create_group, name, desc)
    coze_id = str(answer.data.get("id") or "")
    try:
        with transaction.atomic():
            group = VoiceprintGroup.objects.create(
                coze_id=coze_id,
                name=name,
                desc=desc,
                device=device,
                creator=request.user,
                logid=answer.logid,
            )
            audit.finish(entry, Outcome.SUCCESS, target=group, **audit.coze_fields(answer))
    except DatabaseError:
        # The pending row stays: reconciliation with Coze's list registers the group.
        log.exception(
            "Coze created group %s (logid %s) but it was not registered", coze_id, answer.logid
        )
        raise NotRegistered(coze_id, answer.logid) from None
    return group


def _call_coze(entry, call, *args, **kwargs):
    """Make one Coze call for a pending audit row; an error finishes the row and is raised."""
    try:
        return call(*args, **kwargs)
    except coze.CozeNoAnswer as error:
        audit.finish(entry, Outcome.UNKNOWN, detail=str(error), **audit.coze_fields(error))
        raise
    except coze.CozeError as error:
        audit.finish(entry, Outcome.FAILURE, detail=str(error), **audit.coze_fields(error))
        raise


def _describe(changes):
    return "; ".join(
        f"{field}: {old or '—'} → {new or '—'}" for field, (old, new) in changes.items()
    )


def update_group(request, group, *, name, desc, device):
    """Rename or re-describe a group on Coze and/or reassign it to a device (local only).

    The register changes only if Coze accepted the change. Returns the changed fields
    ({} when nothing changed); raises a coze.CozeError (audited) when Coze did not.
    """
    remote = {f: v for f, v in (("name", name), ("desc", desc)) if v != getattr(group, f)}
    changes = {f: (getattr(group, f), v) for f, v in remote.items()}
    if device != group.device:
        changes["device"] = (group.device and group.device.name, device and device.name)
    if not changes:
        return changes
    sent = {"sent_name": remote.get("name", ""), "sent_desc": remote.get("desc", "")}
    if remote:
        entry = audit.record(
            request, Action.GROUP_UPDATE, Outcome.PENDING, target=group, device=device, **sent
        )
        answer = _call_coze(entry, coze.get_client().update_group, group.coze_id, **remote)
    with transaction.atomic():
        for field, value in [*remote.items(), ("device", device)]:
            setattr(group, field, value)
        group.save(update_fields=["name", "desc", "device"])
        if remote:
            audit.finish(
                entry, Outcome.SUCCESS, detail=_describe(changes), **audit.coze_fields(answer)
            )
        else:
            audit.record(
                request,
                Action.GROUP_UPDATE,
                Outcome.SUCCESS,
                target=group,
                device=device,
                detail=_describe(changes),
            )
    return changes


def delete_group(request, group):
    """Delete a group on Coze; on success it is kept in the register as deleted."""
    entry = audit.record(
        request, Action.GROUP_DELETE, Outcome.PENDING, target=group, device=group.device
    )
    answer = _call_coze(entry, coze.get_client().delete_group, group.coze_id)
    with transaction.atomic():
        group.state, group.ended_at = VoiceprintGroup.State.DELETED, timezone.now()
        group.save(update_fields=["state", "ended_at"])
        audit.finish(entry, Outcome.SUCCESS, **audit.coze_fields(answer))
