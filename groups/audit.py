"""Writing the audit log: one row per attempt, written before any Coze call."""

import logging

from django.db import DatabaseError, transaction

from . import coze
from .actors import Actor
from .models import AuditEntry
from .wording import fact

log = logging.getLogger("vpadmin.audit")

Outcome = AuditEntry.Outcome


def _storable(fields):
    """Values as PostgreSQL will store them: NUL characters (refused there, in text and in
    JSON alike) become U+FFFD."""
    return {name: storable(value) for name, value in fields.items()}


def storable(value):
    """`value` (text, or JSON of text) as any database stores it: NUL characters, which
    PostgreSQL refuses, become U+FFFD. Whatever a client sent (headers, form fields) passes
    here before it is written."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value


def _target_fields(target):
    if target is None:
        return {}
    return {
        "target_type": target._meta.model_name,
        "target_id": str(target.pk or ""),
        "target_label": str(target)[:200],
    }


def record(actor, action, outcome, *, target=None, **fields):
    """Write one audit row for what `actor` (groups.actors.Actor) did."""
    if not isinstance(actor, Actor):
        raise TypeError(f"an audit row needs an Actor, not {actor!r}")
    # Everything below passes _storable: the user agent (a header) and the username typed
    # at sign-in come from the client and may hold anything.
    fields = _storable(
        {
            "actor_username": actor.username,
            "request_id": actor.request_id,
            "ip_address": actor.ip,
            "user_agent": actor.user_agent[:300],
            "via": actor.via,
            **_target_fields(target),
            **fields,
        }
    )
    return AuditEntry.objects.create(action=action, outcome=outcome, actor=actor.user, **fields)


def refuse(actor, action, facts, *, target=None, **fields):
    """The row of something refused before any Coze call (a form's errors, a rule, a
    permission): the one place such rows are written."""
    return record(actor, action, Outcome.REFUSED, target=target, facts=facts, **fields)


def finish(entry, outcome, *, target=None, **fields):
    """Give a pending row its final outcome; a final row is never changed (ValueError).

    If the row's fields cannot be stored, the outcome is stored without them; if even
    that fails, the error is logged and the row stays pending until attempts.
    expire_pending() concludes it: a failed audit write never stops the caller."""
    fields = _storable({"outcome": outcome, **_target_fields(target), **fields})
    try:
        done = _finish_pending(entry, fields)
    except DatabaseError:
        log.exception("audit row %s: its outcome's details could not be stored", entry.pk)
        fields = {"outcome": outcome, "facts": fact("audit_write_failed")}
        try:
            done = _finish_pending(entry, fields)
        except DatabaseError:
            log.exception("audit row %s stays pending: its outcome could not be stored", entry.pk)
            return entry
    if done != 1:
        raise ValueError(f"audit entry {entry.pk} is already final")
    for name, value in fields.items():
        setattr(entry, name, value)
    return entry


def _finish_pending(entry, fields):
    with transaction.atomic():  # a savepoint inside a caller's transaction
        return AuditEntry.objects.finish_pending(entry.pk, **fields)


def coze_fields(answer):
    """The audit fields of a Coze answer or error (CozeResponse or CozeError)."""
    return {
        "coze_code": getattr(answer, "code", 0),
        "coze_msg": getattr(answer, "coze_msg", "")[:2000],
        "coze_logid": answer.logid[:64],
        "http_status": answer.http_status,
        "duration_ms": answer.duration_ms,
    }


def error_facts(error):
    """The facts of a Coze call that did not succeed: what kind, and why."""
    if isinstance(error, coze.CozeNoAnswer):
        say = "coze_no_answer"
    elif isinstance(error, coze.CozeRefused):
        say = "coze_refused"
    else:
        say = "coze_failed"
    seconds = error.values.get("seconds")
    return fact(say, reason=error.reason or error.msg, **({"seconds": seconds} if seconds else {}))
