"""The team: people, their roles, passwords and sign-in locks (Administrators)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import F, Prefetch, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vpadmin.lists import page_of

from .. import audit, wording
from ..forms import (
    AccountChangeForm,
    AccountForm,
    ApiTokenForm,
    PasswordResetForm,
)
from ..models import AuditEntry, SignInLock
from ..services import accounts, throttling, tokens
from .common import permission_required

Action = AuditEntry.Action


LATEST_PER_PERSON = 3


@permission_required("auth.view_user")
def team(request):
    """People, their role, last login and latest actions; sign-in locks (everyone with a
    role reads it; Administrators change it)."""
    role_groups = Prefetch("groups", queryset=Group.objects.filter(name__in=accounts.ROLES))
    people = page_of(
        request,
        get_user_model().objects.prefetch_related(role_groups).order_by("-is_active", "username"),
    )
    latest = (
        AuditEntry.objects.filter(actor_id__in=[person.pk for person in people])
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("actor_id"),
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=LATEST_PER_PERSON)
    )
    by_person = {}
    for entry in latest:
        by_person.setdefault(entry.actor_id, []).append(entry)
    rows = [
        {"person": person, "roles": _roles(person), "latest": by_person.get(person.pk, [])}
        for person in people
    ]
    # The usernames typed and the addresses they came from: for Administrators only.
    may_unlock = request.user.has_perm("auth.change_user")
    context = {
        "page": people,
        "rows": rows,
        "may_unlock": may_unlock,
        "locks": list(throttling.current()) if may_unlock else [],
        "token_refusals": list(tokens.current_refusals()) if may_unlock else [],
        "settings_limit": settings.API_REFUSED_TOKEN_LIMIT,
        "settings_minutes": settings.API_REFUSED_TOKEN_MINUTES,
    }
    return render(request, "groups/team.html", context)


def _roles(person):
    role = accounts.role_of(person)
    if role == accounts.SUPERUSER:
        return [wording.ROLES["Administrator"], wording.ROLES[role]]
    return [wording.ROLES[role]] if role else []


@permission_required("auth.add_user")
def team_new(request):
    roles = accounts.role_choices(request.user)
    form = AccountForm(request.POST or None, roles=roles, initial={"role": "Viewer"})
    if request.method == "POST":
        if not form.is_valid():
            audit.refuse(
                request.actor,
                Action.ACCOUNT_CREATE,
                facts=wording.form_facts(form),
            )
        else:
            data = form.cleaned_data
            try:
                person = accounts.create_person(
                    request.actor,
                    username=data["username"],
                    role=data["role"],
                    password=data["password"],
                )
            except accounts.NotAllowed as refusal:
                return _refused(request, Action.ACCOUNT_CREATE, refusal, "team")
            messages.success(
                request, _("%(username)s can sign in now.") % {"username": person.username}
            )
            return redirect("team_member", pk=person.pk)
    return render(request, "groups/team_new.html", {"form": form})


@permission_required("auth.change_user")
def team_member(request, pk):
    """A person's role and whether they may sign in (POST), and their password (a form
    posting to team_password)."""
    person = get_object_or_404(get_user_model().objects.prefetch_related("groups"), pk=pk)
    roles = accounts.role_choices(request.user)
    initial = {"role": accounts.role_of(person), "is_active": person.is_active}
    form = AccountChangeForm(request.POST or None, roles=roles, initial=initial)
    if request.method == "POST":
        if not form.is_valid():
            audit.refuse(
                request.actor,
                Action.ACCOUNT_UPDATE,
                target=person,
                facts=wording.form_facts(form),
            )
        else:
            data = form.cleaned_data
            try:
                changes = accounts.change_person(
                    request.actor, person, role=data["role"], is_active=data["is_active"]
                )
            except accounts.NotAllowed as refusal:
                return _refused(request, Action.ACCOUNT_UPDATE, refusal, "team_member", person)
            if changes:
                messages.success(request, _("%(username)s saved.") % {"username": person.username})
            else:
                messages.info(request, _("Nothing to change."))
            return redirect("team_member", pk=person.pk)
    context = {
        "person": person,
        "form": form,
        "password_form": PasswordResetForm(person=person),
        "may_change": accounts.may_change(request.user, person),
        "is_self": person.pk == request.user.pk,
        "may_issue": request.user.has_perm("auth.change_user"),
        "tokens": person.api_tokens.all(),
        "token_form": ApiTokenForm(),
    }
    return render(request, "groups/team_member.html", context)


@require_POST
@permission_required("auth.change_user")
def team_password(request, pk):
    person = get_object_or_404(get_user_model(), pk=pk)
    form = PasswordResetForm(request.POST, person=person)
    if not form.is_valid():
        audit.refuse(
            request.actor,
            Action.ACCOUNT_PASSWORD,
            target=person,
            facts=wording.form_facts(form),
        )
        person_form = AccountChangeForm(
            roles=accounts.role_choices(request.user),
            initial={"role": accounts.role_of(person), "is_active": person.is_active},
        )
        context = {
            "person": person,
            "form": person_form,
            "password_form": form,
            "may_change": accounts.may_change(request.user, person),
            "is_self": person.pk == request.user.pk,
        }
        return render(request, "groups/team_member.html", context)
    try:
        accounts.reset_password(request.actor, person, form.cleaned_data["password"])
    except accounts.NotAllowed as refusal:
        return _refused(request, Action.ACCOUNT_PASSWORD, refusal, "team_member", person)
    messages.success(
        request,
        _("New password set for %(username)s: give it to them, and ask them to change it.")
        % {"username": person.username},
    )
    return redirect("team_member", pk=person.pk)


def _refused(request, action, refusal, where, person=None):
    """A change the account rules refuse: audited, told, and back where it came from."""
    accounts.refuse(request.actor, action, refusal, person)
    messages.error(request, wording.render(wording.fact(refusal.say)))
    return redirect(where, pk=person.pk) if person else redirect(where)


@require_POST
@permission_required("auth.change_user")
def unlock_sign_in(request, pk):
    """Lift a sign-in lock before its time (audited by the throttling)."""
    lock = get_object_or_404(SignInLock, pk=pk)
    if throttling.lift(request.actor, lock):
        messages.success(request, _("Lifted the lock on %(lock)s.") % {"lock": lock.description})
    else:
        messages.info(request, _("That lock had ended already."))
    return redirect("team")
