"""API tokens on the pages: each person issues and revokes their own on /me/;
Administrators (auth.change_user) issue them for others and revoke any on /team/<id>/. A
new token is shown once, in the answer to the form that made it, never stored."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import audit, wording
from ..forms import ApiTokenForm
from ..models import ApiToken, AuditEntry
from ..services import tokens
from .common import permission_required

Action = AuditEntry.Action


def tokens_of(user):
    return ApiToken.objects.filter(user=user)


def may_manage(request, token_owner):
    """One's own tokens, or anyone's for an Administrator."""
    return token_owner.pk == request.user.pk or request.user.has_perm("auth.change_user")


@require_POST
@never_cache
def my_token_new(request):
    return _issue(request, request.user, back="my_activity")


@require_POST
@never_cache
@permission_required("auth.change_user")
def team_token_new(request, pk):
    person = get_object_or_404(get_user_model(), pk=pk)
    return _issue(request, person, back="team_member")


def _issue(request, owner, *, back):
    form = ApiTokenForm(request.POST)
    if not form.is_valid() or not owner.is_active:
        audit.refuse(request.actor, Action.TOKEN_CREATE, wording.form_facts(form), target=owner)
        if not owner.is_active:
            messages.error(
                request,
                _("%(username)s cannot sign in: a token would not work.")
                % {"username": owner.get_username()},
            )
        else:
            messages.error(
                request,
                _("The token was not issued: %(problems)s")
                % {
                    "problems": wording.joined(
                        message for errors in form.errors.values() for message in errors
                    )
                },
            )
        return redirect(back, **({"pk": owner.pk} if back == "team_member" else {}))
    data = form.cleaned_data
    token, secret = tokens.create_token(
        request.actor,
        owner,
        name=data["name"],
        read_only=data["scope"] == "read",
        expires_days=data["expires_days"] or None,
    )
    context = {"token": token, "secret": secret, "owner": owner, "back": back}
    return render(request, "groups/token_issued.html", context, status=201)


@never_cache
def token_revoke(request, pk):
    """A confirmation page (GET), then the revocation (POST)."""
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if not may_manage(request, token.user):
        facts = wording.fact(
            "permission", permission="auth.change_user", method=request.method, path=request.path
        )
        audit.refuse(request.actor, Action.PERMISSION_DENIED, facts=facts)
        raise PermissionDenied
    own = token.user_id == request.user.pk
    if request.method != "POST":
        return render(request, "groups/token_revoke.html", {"token": token, "own": own})
    if tokens.revoke_token(request.actor, token):
        messages.success(request, _("The API token “%(name)s” is revoked.") % {"name": token.name})
    else:
        messages.info(request, _("This API token was already revoked."))
    return redirect("my_activity") if own else redirect("team_member", pk=token.user_id)
