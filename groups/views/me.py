"""The signed-in person's own page: their activity, their API tokens and their password."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vpadmin.lists import DeferredJoinPaginator, page_of

from .. import audit, wording
from ..forms import (
    ApiTokenForm,
    MyPasswordForm,
)
from ..models import ApiToken, AuditEntry
from ..services import throttling

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


def my_activity(request, password_form=None, status=200):
    """Every signed-in person sees what they did, whatever their role, and changes their
    password here."""
    entries = AuditEntry.objects.filter(actor_id=request.user.pk).prefetch_related("device")
    context = {
        "page": page_of(request, entries, DeferredJoinPaginator),
        "password_form": password_form or MyPasswordForm(request.user),
        "tokens": ApiToken.objects.filter(user=request.user),
        "token_form": ApiTokenForm(),
    }
    return render(request, "groups/my_activity.html", context, status=status)


@require_POST
def my_password(request):
    """Change my own password: the current one is a password guess like any sign-in, so
    it is throttled the same way."""
    user = request.user
    try:
        attempt = throttling.check(
            request.actor, user.get_username(), request.COOKIES.get(throttling.DEVICE_COOKIE)
        )
    except throttling.SignInLocked as locked:
        messages.error(request, wording.locked_message(locked.minutes))
        return my_activity(request, MyPasswordForm(user), status=429)
    form = MyPasswordForm(user, request.POST)
    if not form.is_valid():
        if form.has_error("old_password", "password_incorrect"):
            locked = throttling.failed(
                request.actor, attempt, action=Action.ACCOUNT_PASSWORD, say="wrong_current_password"
            )
            if locked:
                messages.error(request, wording.locked_message(locked.minutes))
                return my_activity(request, MyPasswordForm(user), status=429)
        else:
            audit.refuse(
                request.actor,
                Action.ACCOUNT_PASSWORD,
                target=user,
                facts=wording.form_facts(form),
            )
        return my_activity(request, form)
    form.save()
    update_session_auth_hash(request, user)  # this session stays signed in; others end
    audit.record(
        request.actor,
        Action.ACCOUNT_PASSWORD,
        Outcome.SUCCESS,
        target=user,
        facts=wording.fact("password_changed", username=user.get_username()),
    )
    messages.success(request, _("Your password is changed."))
    return redirect("my_activity")
