"""API tokens: issuing one (its secret is returned once, only its hash is kept), revoking
one, and refusing a request that carries an unusable one; each audited."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import audit
from ..models import ApiToken, AuditEntry
from ..models.tokens import USE_RECORDED_EVERY, digest, shown_prefix
from ..wording import fact

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
