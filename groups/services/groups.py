"""Voiceprint groups: create, update and delete, each step audited; the Coze call sits
between a committed `pending` row and its final outcome."""

import logging

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, Subquery
from django.utils import timezone

from .. import audit, coze, quota
from ..coze.accounts import names as account_names
from ..coze.accounts import several
from ..models import AuditEntry, CozeAccount, Device, Voiceprint, VoiceprintGroup
from ..wording import fact
from . import attempts
from .errors import (
    AlreadySubmitted,
    AttemptUnresolved,
    DeviceGone,
    NameTaken,
    NotRegistered,
    OtherAccount,
    QuotaExceeded,
)

log = logging.getLogger("vpadmin.operations")
Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


class _DeviceTaken(Exception):
    """The device got its account from another creation while this one waited: try again."""


def _reserve_slot(actor, submission, fields, requested, usages=None):
    """Under the chosen account's lock: find an earlier submission, an unresolved attempt
    of the same name for the device, check the account's quota, give the device its
    account if it has none, and commit a `pending` row that holds the slot. Returns
    (pending row, earlier row, unresolved attempt or same-named group, refusal): a
    refusal is the QuotaExceeded to raise.

    The most free account is chosen before its lock is taken: found full under the lock
    (another creation took its last places meanwhile) while another has room, the choice
    is made again."""
    device = fields["device"]
    for again in range(3):
        if again:  # the device got its account meanwhile: as stored now
            device.account_id = (
                Device.objects.filter(pk=device.pk).values_list("account_id", flat=True).first()
            )
        # The caller's usages for the first choice (read before any lock, as here).
        account, reason = quota.account_to_lock(device, requested, None if again else usages)
        try:
            reserved = _reserve_in(actor, submission, fields, account, reason)
        except _DeviceTaken:
            continue
        full = reserved[3]
        retry = full is not None and reason == "most_free" and not full.accounts
        if not (retry and several() and again < 2):
            return reserved
    raise DeviceGone  # pragma: no cover - three other creations in between: give up


def _reserve_in(actor, submission, fields, account, reason):
    device = fields["device"]
    with transaction.atomic():
        account = CozeAccount.locked(account)
        # Read after the lock is held (a statement of its own, so that it sees every
        # creation committed before): what the rules below ask, in one query.
        found = _standing(account, device, submission, fields["sent_name"])
        if found["earlier"] is not None:
            return None, AuditEntry.objects.get(pk=found["earlier"]), None, None
        if not found["device_there"]:
            raise DeviceGone  # deleted since the form was checked (deletion takes this lock)
        if found["taken"] is not None:
            return None, None, VoiceprintGroup.objects.get(pk=found["taken"]), None
        if found["unresolved"] is not None:
            return None, None, AuditEntry.objects.get(pk=found["unresolved"]), None
        if found["used"] >= account.quota:
            return None, None, None, _refusal(account, found["used"], reason)
        if not device.account_id:
            claimed = Device.objects.filter(pk=device.pk, account__isnull=True)
            if not claimed.update(account=account):
                raise _DeviceTaken  # another creation gave the device its account meanwhile
            device.account = account
        elif device.account_id != account.pk:
            raise _DeviceTaken
        pending = audit.record(
            actor,
            Action.GROUP_CREATE,
            Outcome.PENDING,
            submission=submission,
            account=account,
            **fields,
        )
        return pending, None, None, None


def _standing(account, device, submission, name):
    """What a creation of `name` for `device` checks under `account`'s lock, read in one
    query (each was a query of its own: four round trips more for every creation): an
    earlier row of the same submission, whether the device is still there, an active group
    of that name for it, an unresolved attempt of that name for it (the newest of each),
    and the account's quota in use."""
    taken = VoiceprintGroup.objects.active().filter(device=device, name=name)
    unresolved = attempts.unresolved_creations().filter(device=device, sent_name=name)
    return (
        CozeAccount.objects.filter(pk=account.pk)
        .annotate(
            earlier=Subquery(AuditEntry.objects.filter(submission=submission).values("pk")[:1]),
            device_there=Exists(Device.objects.filter(pk=device.pk)),
            taken=Subquery(taken.values("pk")[:1]),
            unresolved=Subquery(unresolved.values("pk")[:1]),
            used=quota.used_expression(account),
        )
        .values("earlier", "device_there", "taken", "unresolved", "used")
        .get()
    )


def _refusal(account, used, reason):
    """The QuotaExceeded of a full account: with several accounts and no account imposed
    (the device's or the Operator's), every account's figures, since all are full."""
    if reason == "most_free" and several():
        found = quota.usages()
        if found.all_full:
            figures = [(usage.account, usage.used, usage.limit) for usage in found.accounts]
            return QuotaExceeded(used, account.quota, account=account.name, accounts=figures)
    # An account no longer configured (quota 0) is named, whatever the accounts.
    named = several() or account.name not in account_names()
    return QuotaExceeded(used, account.quota, account=account.name if named else "")


def create_group(actor, *, name, desc, device, submission, account=None, usages=None):
    """Create a group on Coze and register it against `device`, in the device's account;
    a device without one gets `account` (a name, the Operator's choice) or, by default,
    the account with the most free quota.

    Raises QuotaExceeded, AlreadySubmitted, NameTaken, AttemptUnresolved, a coze.CozeError or
    NotRegistered; every attempt leaves an audit row with its final outcome. When Coze
    does not answer, the group is looked up at once: found, it is registered and returned
    (with `found_after_no_answer` set); not found, the CozeNoAnswer is raised. `usages`:
    every account's, as the caller has just read them (a page that showed them), to choose
    the most free without reading them again.
    """
    fields = {"device": device, "sent_name": name, "sent_desc": desc}
    if account and account not in account_names():
        raise ValueError(f"no Coze account {account!r} is configured")  # the forms check it
    attempts.expire_pending()  # a crashed creation must not hold its quota slot for ever
    entry, earlier, unresolved, full = _reserve_slot(actor, submission, fields, account, usages)
    if earlier is not None:
        raise AlreadySubmitted(earlier)
    if isinstance(unresolved, VoiceprintGroup):
        facts = fact("name_taken", name=name)
        audit.refuse(actor, Action.GROUP_CREATE, facts=facts, **fields)
        raise NameTaken(unresolved)
    if unresolved is not None:
        facts = fact("attempt_unresolved", name=name, attempt=unresolved.pk)
        audit.refuse(actor, Action.GROUP_CREATE, facts=facts, **fields)
        raise AttemptUnresolved(unresolved)
    if entry is None:
        facts = fact("quota_full", used=full.used, limit=full.limit)
        if full.accounts:
            facts["accounts"] = [list(figures) for figures in full.accounts]
        elif full.account:
            facts["account"] = full.account
        account_row = CozeAccount.named(full.account) if full.account else None
        audit.refuse(actor, Action.GROUP_CREATE, facts=facts, account=account_row, **fields)
        raise full

    account = entry.account
    try:
        answer = _call_coze(actor, entry, lambda: coze.get_client(account).create_group(name, desc))
    except coze.CozeNoAnswer:
        found = attempts.check_creation(actor, entry)
        if found.created:
            found.group.found_after_no_answer = True
            return found.group
        raise
    coze_id = str(answer.data.get("id") or "")
    try:
        with transaction.atomic():
            group = VoiceprintGroup.objects.create(
                coze_id=coze_id,
                account=account,
                name=name,
                desc=desc,
                device=device,
                creator=actor.user,
                logid=answer.logid,
            )
            conclude(actor, entry, Outcome.SUCCESS, target=group, **audit.coze_fields(answer))
    except IntegrityError:
        # A sync registered it while Coze was answering (the call outlasted the time limit).
        registered = VoiceprintGroup.objects.filter(account=account, coze_id=coze_id).first()
        if registered is None:
            raise NotRegistered(coze_id, answer.logid) from None
        return registered
    except DatabaseError:
        # The pending row stays: reconciliation with Coze's list registers the group.
        log.exception(
            "Coze created group %s (logid %s) but it was not registered", coze_id, answer.logid
        )
        raise NotRegistered(coze_id, answer.logid) from None
    return group


def _call_coze(actor, entry, call, *args, **kwargs):
    """Make one Coze call for a pending audit row; an error finishes the row and is raised."""
    try:
        return call(*args, **kwargs)
    except coze.CozeError as error:
        outcome = Outcome.UNKNOWN if isinstance(error, coze.CozeNoAnswer) else Outcome.FAILURE
        conclude(actor, entry, outcome, facts=audit.error_facts(error), **audit.coze_fields(error))
        raise


def conclude(actor, entry, outcome, *, target=None, **fields):
    """Finish an attempt's pending row. If the time limit (or a sync) has finished it
    meanwhile as `unknown`, because this call outlasted it, record the outcome as its
    resolution instead, unless something else already resolved it."""
    try:
        audit.finish(entry, outcome, target=target, **fields)
    except ValueError:
        if entry.resolution_or_none(fresh=True) is None:
            audit.record(
                actor,
                entry.action,
                outcome,
                target=target,
                device_id=entry.device_id,
                sent_name=entry.sent_name,
                sent_desc=entry.sent_desc,
                resolves=entry,
                account_id=entry.account_id,
                **fields,
            )


def update_group(actor, group, *, name, desc, device):
    """Rename or re-describe a group on Coze and/or reassign it to a device (local only).

    The register changes only if Coze accepted the change. Returns the changed fields
    ({} when nothing changed); raises a coze.CozeError (audited) when Coze did not. A
    device deleted while Coze was changing the group is not assigned: the group keeps
    Coze's new name and desc on the device it had, and `changes["device_gone"]` says so;
    likewise a device given another account meanwhile (`changes["device_other_account"]`:
    that account's name).
    Without an answer, Coze's list is read at once: showing the change, it is applied.
    """
    remote = {f: v for f, v in (("name", name), ("desc", desc)) if v != getattr(group, f)}
    changes = {f: (getattr(group, f), v) for f, v in remote.items()}
    if device != group.device:
        changes["device"] = (group.device and group.device.name, device and device.name)
    if not changes:
        return changes
    account = group.account
    if (
        "device" in changes
        and device is not None
        and _account_of(device)
        not in (
            None,
            group.account_id,
        )
    ):
        facts = fact("other_account", device=device.name, account=account.name)
        audit.refuse(
            actor, Action.GROUP_UPDATE, facts, target=group, device=device, account=account
        )
        raise OtherAccount(device, account)
    sent = {"sent_name": remote.get("name", ""), "sent_desc": remote.get("desc", "")}
    if remote:
        entry = audit.record(
            actor,
            Action.GROUP_UPDATE,
            Outcome.PENDING,
            target=group,
            device=device,
            account=account,
            **sent,
        )
        try:
            # The client is had inside the call: an account no longer configured fails
            # there, before anything is sent, and finishes the pending row.
            answer = _call_coze(
                actor, entry, lambda: coze.get_client(account).update_group(group.coze_id, **remote)
            )
        except coze.CozeRefused as error:
            # "Not found" is also Coze's word for "not this account's": the list decides.
            if error.not_found and _still_on_coze(group) is False:
                _mark_gone(group)
            raise
        except coze.CozeNoAnswer:
            # Found out at once where Coze's list already shows the change.
            shown = _on_coze(group)
            if not shown or any(shown.get(f) != v for f, v in remote.items()):
                raise
            entry, answer = None, None
    with transaction.atomic():
        # The account lock orders this after (or before) a device deletion, which takes it
        # too: the device is either still there, or gone and not assigned.
        CozeAccount.locked(account)
        if device is not None and not Device.objects.filter(pk=device.pk).exists():
            device = group.device if group.device_id and not _device_gone(group) else None
            changes["device_gone"] = True
            changes.pop("device", None)
        elif device is not None and not device.account_id:
            # A device's first group gives it its account. A creation (under its own
            # account's lock) may have given it another since the check above: then the
            # group, which stays in its account, is not moved there.
            claimed = Device.objects.filter(pk=device.pk, account__isnull=True).update(
                account=account
            )
            other = None if claimed else _account_of(device)
            if other not in (None, account.pk):
                device = group.device
                changes["device_other_account"] = CozeAccount.objects.get(pk=other).name
                changes.pop("device", None)
        for field, value in [*remote.items(), ("device", device)]:
            setattr(group, field, value)
        group.save(update_fields=["name", "desc", "device"])
        facts = _change_facts(changes)
        if remote and entry is None:  # the change was seen on Coze's list
            audit.record(
                actor,
                Action.GROUP_UPDATE,
                Outcome.SUCCESS,
                target=group,
                device=device,
                account=account,
                resolves=_unresolved_update(group),
                facts=facts,
            )
        elif remote:
            conclude(actor, entry, Outcome.SUCCESS, facts=facts, **audit.coze_fields(answer))
        else:
            refused = changes.get("device_gone") or changes.get("device_other_account")
            outcome = Outcome.FAILURE if refused else Outcome.SUCCESS
            audit.record(
                actor,
                Action.GROUP_UPDATE,
                outcome,
                target=group,
                device=device,
                account=account,
                facts=facts,
            )
    return changes


def _account_of(device):
    """The device's account id as stored now (None: it has none yet)."""
    return Device.objects.filter(pk=device.pk).values_list("account_id", flat=True).first()


def _device_gone(group):
    return not Device.objects.filter(pk=group.device_id).exists()


def _change_facts(changes):
    notes = ("device_gone", "device_other_account")
    shown = {field: list(values) for field, values in changes.items() if field not in notes}
    facts = fact("changes", changes=shown, device_gone=bool(changes.get("device_gone")))
    if changes.get("device_other_account"):
        facts["device_other_account"] = changes["device_other_account"]
    return facts


def _mark_gone(group):
    """Coze no longer has the group: it stops counting and cannot be changed."""
    now = timezone.now()
    VoiceprintGroup.objects.filter(pk=group.pk, state=VoiceprintGroup.State.ACTIVE).update(
        state=VoiceprintGroup.State.GONE, ended_at=now
    )
    # Coze's voiceprints live in their group: gone with it.
    group.voiceprints.filter(state=Voiceprint.State.ACTIVE).update(
        state=Voiceprint.State.GONE, ended_at=now
    )
    group.state, group.ended_at = VoiceprintGroup.State.GONE, now


def delete_group(actor, group):
    """Delete a group on Coze; on success it is kept in the register as deleted.

    "Not found" from Coze is the success a delete waits for (a retry after a lost answer
    finds the group already deleted), once a lookup confirms that Coze has no such group.
    Without an answer, the group is looked up at once: gone means deleted. Raises a
    coze.CozeError when the group is (or may still be) on Coze.
    """
    entry = audit.record(
        actor,
        Action.GROUP_DELETE,
        Outcome.PENDING,
        target=group,
        device=group.device,
        account=group.account,
    )
    try:
        answer = coze.get_client(group.account).delete_group(group.coze_id)
    except coze.CozeError as error:
        if error.not_found and _still_on_coze(group) is False:
            facts = fact("already_deleted")
            _finish_deletion(group, entry, actor=actor, facts=facts, **audit.coze_fields(error))
            return
        outcome = Outcome.UNKNOWN if isinstance(error, coze.CozeNoAnswer) else Outcome.FAILURE
        conclude(actor, entry, outcome, facts=audit.error_facts(error), **audit.coze_fields(error))
        if isinstance(error, coze.CozeNoAnswer) and _still_on_coze(group) is False:
            _finish_deletion(group, None, resolves=entry, actor=actor)
            return
        raise
    _finish_deletion(group, entry, actor=actor, **audit.coze_fields(answer))


def _on_coze(group):
    """The group as Coze's list shows it (a dict), {} when Coze has no such group, or
    None when Coze cannot tell now (one list call, by id)."""
    try:
        client = coze.get_client(group.account)
        answer = client.list_groups(page_num=1, page_size=1, group_id=group.coze_id)
    except coze.CozeError:
        return None
    items = answer.data.get("items") or []
    for item in items:
        if isinstance(item, dict) and str(item.get("id")) == group.coze_id:
            return item
    return {}


def _still_on_coze(group):
    """Whether Coze's list still has the group: True, False, or None when it cannot tell."""
    shown = _on_coze(group)
    return None if shown is None else bool(shown)


def _unresolved_update(group):
    return (
        AuditEntry.objects.filter(
            action=Action.GROUP_UPDATE,
            target_type="voiceprintgroup",
            target_id=str(group.pk),
            outcome=Outcome.UNKNOWN,
            resolution__isnull=True,
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def _finish_deletion(group, entry, *, actor, resolves=None, facts=None, **fields):
    with transaction.atomic():
        group.state, group.ended_at = VoiceprintGroup.State.DELETED, timezone.now()
        group.save(update_fields=["state", "ended_at"])
        # Coze deletes a group's voiceprints with it.
        group.voiceprints.filter(state=Voiceprint.State.ACTIVE).update(
            state=Voiceprint.State.DELETED, ended_at=group.ended_at
        )
        if entry is not None:
            conclude(actor, entry, Outcome.SUCCESS, facts=facts, **fields)
        else:
            audit.record(
                actor,
                Action.GROUP_DELETE,
                Outcome.SUCCESS,
                target=group,
                device=group.device,
                account=group.account,
                resolves=resolves if resolves.resolution_or_none(fresh=True) is None else None,
                facts=fact("already_deleted"),
            )
