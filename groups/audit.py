"""Writing the audit log: one row per attempt, written before any Coze call."""

from .models import AuditEntry

Outcome = AuditEntry.Outcome


def client_ip(request):
    return request.META.get("REMOTE_ADDR") or None if request else None


def _storable(fields):
    """Text as PostgreSQL will store it: NUL characters (refused there) become U+FFFD."""
    return {
        name: value.replace("\x00", "\ufffd") if isinstance(value, str) else value
        for name, value in fields.items()
    }


def _target_fields(target):
    if target is None:
        return {}
    return {
        "target_type": target._meta.model_name,
        "target_id": str(target.pk or ""),
        "target_label": str(target)[:200],
    }


def record(request, action, outcome, *, target=None, user=None, **fields):
    """Write one audit row for `request`; `user` overrides the request's user."""
    user = user if user is not None else getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    fields = _storable(fields)
    username = fields.pop("actor_username", "")
    return AuditEntry.objects.create(
        action=action,
        outcome=outcome,
        actor=user,
        actor_username=user.get_username() if user else username,
        request_id=getattr(request, "request_id", ""),
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300] if request else "",
        **_target_fields(target),
        **fields,
    )


def finish(entry, outcome, *, target=None, **fields):
    """Give a pending row its final outcome; a final row is never changed."""
    fields = _storable({"outcome": outcome, **_target_fields(target), **fields})
    updated = AuditEntry.objects.filter(pk=entry.pk, outcome=Outcome.PENDING).update(**fields)
    if updated != 1:
        raise ValueError(f"audit entry {entry.pk} is already final")
    for name, value in fields.items():
        setattr(entry, name, value)
    return entry


def coze_fields(answer):
    """The audit fields of a Coze answer or error (CozeResponse or CozeError)."""
    return {
        "coze_code": getattr(answer, "code", 0),
        "coze_msg": getattr(answer, "msg", "")[:2000],
        "coze_logid": answer.logid[:64],
        "http_status": answer.http_status,
        "duration_ms": answer.duration_ms,
    }
