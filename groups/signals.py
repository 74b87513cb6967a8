"""Sign-in events in the audit log."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit
from .models import AuditEntry

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    audit.record(request, Action.LOGIN, Outcome.SUCCESS, user=user)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(request, Action.LOGOUT, Outcome.SUCCESS, user=user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    # credentials has the password masked by Django; only the username is kept.
    username = str(credentials.get("username", ""))[:150]
    audit.record(
        request, Action.LOGIN_FAILED, Outcome.REFUSED, actor_username=username, detail=username
    )
