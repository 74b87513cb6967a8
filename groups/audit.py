"""Writing the audit log: one row per attempt, written before any Coze call."""

import ipaddress

from django.conf import settings

from .models import AuditEntry

Outcome = AuditEntry.Outcome


def client_ip(request):
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies (a load
    balancer), the address the outermost trusted proxy saw in X-Forwarded-For."""
    if request is None:
        return None
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        # Each proxy appends the address it saw; the last `proxies` entries are ours to trust.
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= proxies and _is_ip(chain[-proxies]):
            return chain[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


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


def record(request, action, outcome, *, target=None, user=None, **fields):
    """Write one audit row for `request`; `user` overrides the request's user."""
    user = user if user is not None else getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    username = fields.pop("actor_username", "")
    # Everything below passes _storable: the user agent (a header) and the username typed
    # at sign-in come from the client and may hold anything.
    fields = _storable(
        {
            "actor_username": user.get_username() if user else username,
            "request_id": getattr(request, "request_id", ""),
            "ip_address": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300] if request else "",
            **_target_fields(target),
            **fields,
        }
    )
    return AuditEntry.objects.create(action=action, outcome=outcome, actor=user, **fields)


def finish(entry, outcome, *, target=None, **fields):
    """Give a pending row its final outcome; a final row is never changed."""
    fields = _storable({"outcome": outcome, **_target_fields(target), **fields})
    if AuditEntry.objects.finish_pending(entry.pk, **fields) != 1:
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
