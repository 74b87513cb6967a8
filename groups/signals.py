"""Sign-in events in the audit log, and the page a locked-out sign-in gets (django-axes)."""

import math

from axes.helpers import get_cool_off

# Imported first so that axes' own sign-in receivers, connected by this import, run before
# ours: by the time on_login_failed runs, axes has marked a locked-out request.
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.shortcuts import render

from . import audit
from .forms import SignInForm
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
    if getattr(request, "axes_locked_out", False):
        return  # on_locked_out has written this attempt's one row
    # credentials has the password masked by Django; only the username is kept.
    username = str(credentials.get("username", ""))[:150]
    audit.record(
        request, Action.LOGIN_FAILED, Outcome.REFUSED, actor_username=username, detail=username
    )


@receiver(user_locked_out)
def on_locked_out(sender, request, username, **kwargs):
    """A sign-in stopped by the lockout: the one that reached the limit, or any try after."""
    username = str(username or "")[:150]
    failures = getattr(request, "axes_failures_since_start", None)  # None if not counted
    after = f" after {failures} failed sign-ins" if failures else " after repeated failed sign-ins"
    audit.record(
        request,
        Action.LOGIN_FAILED,
        Outcome.REFUSED,
        actor_username=username,
        detail=f"{username}: locked out{after} for this username or from this address",
    )


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page again, with HTTP 429 and how long to wait (axes' lockout callable)."""
    context = getattr(original_response, "context_data", None) or {"form": SignInForm(request)}
    minutes = max(1, math.ceil(get_cool_off(request).total_seconds() / 60))
    return render(
        request, "registration/login.html", {**context, "lockout_minutes": minutes}, status=429
    )


@receiver(m2m_changed, sender=get_user_model().groups.through)
def on_roles_changed(sender, instance, action, reverse, **kwargs):
    """Administrators manage people in the admin, so their role brings admin access."""
    if reverse or action not in ("post_add", "post_remove", "post_clear"):
        return
    is_staff = instance.is_superuser or instance.groups.filter(name="Administrator").exists()
    if instance.is_staff != is_staff:
        type(instance).objects.filter(pk=instance.pk).update(is_staff=is_staff)
        instance.is_staff = is_staff
