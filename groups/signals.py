"""Sign-ins and sign-outs in the audit log (failed ones: groups.throttling)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import m2m_changed
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


@receiver(m2m_changed, sender=get_user_model().groups.through)
def on_roles_changed(sender, instance, action, reverse, **kwargs):
    """Administrators manage people in the admin, so their role brings admin access."""
    if reverse or action not in ("post_add", "post_remove", "post_clear"):
        return
    is_staff = instance.is_superuser or instance.groups.filter(name="Administrator").exists()
    if instance.is_staff != is_staff:
        type(instance).objects.filter(pk=instance.pk).update(is_staff=is_staff)
        instance.is_staff = is_staff
