"""Sign-ins and sign-outs in the audit log (failed ones: groups.services.throttling)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import audit
from .actors import Actor
from .models import AuditEntry

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    audit.record(Actor.from_request(request).as_user(user), Action.LOGIN, Outcome.SUCCESS)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(Actor.from_request(request).as_user(user), Action.LOGOUT, Outcome.SUCCESS)
