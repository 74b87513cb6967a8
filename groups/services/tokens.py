"""API tokens: issuing one (its secret is returned once, only its hash is kept), revoking
one, and refusing a request that carries an unusable one; each audited.

A request refused for its token (unknown, revoked, expired, or an owner who can no longer
sign in) is counted against its client address (an IPv6 one by its /64, as sign-ins are)
in windows of API_REFUSED_TOKEN_MINUTES from the first refusal. The first
API_REFUSED_TOKEN_LIMIT of a window are audit rows one by one; the next one is a row that
says the rest of the window is counted, not written; the rest are counted on the address's
TokenRefusals record, shown on /team/, and written as one row with their number once the
window has ended (at the next refusal from anywhere, or by a worker's periodic round). So
an anonymous client writes at most API_REFUSED_TOKEN_LIMIT + 2 rows a window, and every
refusal is still counted. Each is answered 401 all the same: the token is looked up every
time, so a good token from the same address (scripts behind one NAT) is never held back.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import audit
from ..actors import Actor
from ..models import ApiToken, AuditEntry, TokenRefusals
from ..models.tokens import USE_RECORDED_EVERY, digest, shown_prefix
from ..wording import fact
from .throttling import address_key

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
EXPIRY_DAYS = (30, 90, 365)  # what the pages offer; the command takes any number
# Why a request's token was refused, as the audit row's facts say it.
REFUSALS = {
    "revoked": "token_revoked_used",
    "expired": "token_expired",
    "inactive": "token_inactive",
    "read_only": "token_read_only",
}


def create_token(actor, user, *, name, read_only, expires_days=None):
    """Issue a token to `user`; returns (ApiToken, the token itself), which is shown once."""
    secret, prefix = ApiToken.new_secret()
    expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            read_only=read_only,
            key_hash=digest(secret),
            prefix=prefix,
            expires_at=expires_at,
            created_by_name=actor.username,
        )
        audit.record(
            actor,
            Action.TOKEN_CREATE,
            Outcome.SUCCESS,
            target=token,
            facts=fact(
                "token_created",
                name=name,
                prefix=prefix,
                username=user.get_username(),
                scope="read" if read_only else "write",
                days=expires_days or 0,
            ),
        )
    return token, secret


def revoke_token(actor, token):
    """Revoke a token (once: revoking a revoked token changes nothing); returns whether it
    was revoked now."""
    with transaction.atomic():
        done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if done:
            token.refresh_from_db(fields=["revoked_at"])
            audit.record(
                actor,
                Action.TOKEN_REVOKE,
                Outcome.SUCCESS,
                target=token,
                facts=fact(
                    "token_revoked",
                    name=token.name,
                    prefix=token.prefix,
                    username=token.user.get_username(),
                ),
            )
    return bool(done)


def find(secret):
    """The token `secret` names (usable or not), with its owner, or None."""
    return ApiToken.objects.select_related("user").filter(key_hash=digest(secret)).first()


def why_unusable(token):
    """Why `token` cannot be used now ("revoked", "expired", "inactive"), or None."""
    if token.is_revoked:
        return "revoked"
    if token.is_expired:
        return "expired"
    if not token.user.is_active:
        return "inactive"
    return None


def refuse_request(actor, secret, token, reason):
    """A request refused for its token (`reason`: unknown, revoked, expired or inactive):
    audited, or counted, as the module says."""
    now = timezone.now()
    end_past_refusal_windows(now)
    limit = settings.API_REFUSED_TOKEN_LIMIT
    address = audit.storable(address_key(actor.ip))[:64] if actor.ip else ""
    with transaction.atomic():
        window, _created = TokenRefusals.objects.select_for_update().get_or_create(
            address=address, defaults={"window_started_at": now, "last_refused_at": now}
        )
        if now >= window.window_ends_at:  # ended: written if it counted any, then anew
            if window.counted:
                _write_counted(window)
            window.window_started_at, window.refused, window.counted = now, 0, 0
        window.refused += 1
        window.last_refused_at = now
        if window.refused > limit + 1:
            window.counted += 1
        window.save()
    if window.refused <= limit:
        refuse(actor, secret, token, reason)
    elif window.refused == limit + 1:
        facts = fact(
            "token_refusals_held",
            address=address,
            limit=limit,
            minutes=settings.API_REFUSED_TOKEN_MINUTES,
            until=window.window_ends_at.isoformat(),
        )
        audit.refuse(actor, Action.TOKEN_REFUSED, facts=facts, target=token)


def end_past_refusal_windows(now=None):
    """Windows of refused tokens that have ended: those that counted refusals are written
    as their row; all are forgotten (each refusal is in the audit log, one way or other)."""
    now = now or timezone.now()
    started_before = now - timedelta(minutes=settings.API_REFUSED_TOKEN_MINUTES)
    for window in TokenRefusals.objects.filter(window_started_at__lte=started_before):
        with transaction.atomic():
            # Only the first of two requests ending the same window writes its row.
            ended = TokenRefusals.objects.filter(
                pk=window.pk, window_started_at=window.window_started_at, counted=window.counted
            ).delete()[0]
            if ended and window.counted:
                _write_counted(window)


def current_refusals(limit=50):
    """Addresses whose requests were refused for their token in a window not yet ended (or
    ended and not yet written), most recent first: what /team/ shows."""
    return TokenRefusals.objects.all()[:limit]


def _write_counted(window):
    facts = fact(
        "token_refusals_counted",
        address=window.address,
        count=window.counted,
        since=window.window_started_at.isoformat(),
        until=window.last_refused_at.isoformat(),
    )
    audit.refuse(Actor(via=AuditEntry.Via.API), Action.TOKEN_REFUSED, facts=facts)


def refuse(actor, secret, token, reason, **values):
    """Audit a request refused for its token (unknown, unusable or read-only)."""
    if token is None:
        facts = fact("token_unknown", prefix=shown_prefix(secret))
    else:
        facts = fact(
            REFUSALS[reason],
            name=token.name,
            prefix=token.prefix,
            username=token.user.get_username(),
            **values,
        )
    audit.refuse(actor, Action.TOKEN_REFUSED, facts=facts, target=token)


def record_use(token):
    """Note that `token` was used: one write a minute at most, not one per request."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < USE_RECORDED_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - USE_RECORDED_EVERY)
    ).update(last_used_at=now)
    token.last_used_at = now
