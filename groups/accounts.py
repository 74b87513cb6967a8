"""People's accounts and roles: every change is made here, checked and audited.

Rules: only a superuser creates or changes a superuser; nobody changes their own role or
deactivates themselves; no change leaves vpadmin without an active Administrator (a
superuser counts as one).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import audit, wording
from .models import AuditEntry

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
ROLES = ("Administrator", "Operator", "Viewer")  # the auth groups, highest first
SUPERUSER = "superuser"  # a role choice only superusers are offered: Administrator and more


class NotAllowed(Exception):
    """A change the rules above refuse; `say` names the rule (a key of wording.SENTENCES)."""

    def __init__(self, say):
        super().__init__(say)
        self.say = say


def role_choices(actor):
    """The roles `actor` may give."""
    choices = [(name, wording.ROLES[name]) for name in reversed(ROLES)]
    if actor.is_superuser:
        choices.append((SUPERUSER, _("Superuser (Administrator with every right)")))
    return choices


def role_of(person):
    """The person's role: superuser, one of ROLES (the highest they hold), or ""."""
    if person.is_superuser:
        return SUPERUSER
    names = {group.name for group in person.groups.all()}
    return next((role for role in ROLES if role in names), "")


def create_person(request, *, username, role, password):
    """Add a person with a role and a first password."""
    _may_give(request.user, role)
    with transaction.atomic():
        person = get_user_model().objects.create_user(username=username, password=password)
        _set_role(person, role)
        audit.record(
            request,
            Action.ACCOUNT_CREATE,
            Outcome.SUCCESS,
            target=person,
            facts=wording.fact("account_created", username=username, role=role),
        )
    return person


def may_change(actor, person):
    """Whether `actor` may change `person` at all (the page then offers no form)."""
    return actor.is_superuser or not person.is_superuser


def change_person(request, person, *, role, is_active):
    """Give `person` another role and/or (de)activate them; returns the number of changes."""
    actor, old_role = request.user, role_of(person)
    if role == SUPERUSER or person.is_superuser:
        _may_give(actor, SUPERUSER)
    if person.pk == actor.pk and (role != old_role or not is_active):
        raise NotAllowed("own_account")
    changes = 0
    with transaction.atomic():
        # One change of roles at a time, so two cannot each remove "another" Administrator.
        Group.objects.select_for_update().get(name="Administrator")
        if role != old_role:
            _set_role(person, role)
            _record(request, person, "account_role", old_role=old_role, role=role)
            changes += 1
        if is_active != person.is_active:
            person.is_active = is_active
            person.save(update_fields=["is_active"])
            say = "account_reactivated" if is_active else "account_deactivated"
            _record(request, person, say)
            changes += 1
        if changes and not active_administrators().exists():
            raise NotAllowed("last_administrator")  # rolls the change back
    return changes


def reset_password(request, person, password):
    """An Administrator sets someone else's password (a superuser's: only a superuser). Their
    own is changed on /me/, where the current password is asked for and throttled."""
    if person.pk == request.user.pk:
        raise NotAllowed("own_password")
    if person.is_superuser:
        _may_give(request.user, SUPERUSER)
    person.set_password(password)
    person.save(update_fields=["password"])
    audit.record(
        request,
        Action.ACCOUNT_PASSWORD,
        Outcome.SUCCESS,
        target=person,
        facts=wording.fact("password_reset", username=person.get_username()),
    )


def refuse(request, action, refusal, person=None, **values):
    """The audit row of a change the rules refused."""
    audit.record(
        request,
        action,
        Outcome.REFUSED,
        target=person,
        facts=wording.fact(refusal.say, **values),
    )


def active_administrators():
    role = Q(is_superuser=True) | Q(groups__name="Administrator")
    return get_user_model().objects.filter(role, is_active=True)


def _may_give(actor, role):
    if role == SUPERUSER and not actor.is_superuser:
        raise NotAllowed("superusers_only")


def _set_role(person, role):
    person.is_superuser = role == SUPERUSER
    person.save(update_fields=["is_superuser"])
    name = "Administrator" if role == SUPERUSER else role
    others = person.groups.filter(name__in=ROLES).exclude(name=name)
    person.groups.remove(*others)
    person.groups.add(Group.objects.get(name=name))


def _record(request, person, say, **values):
    audit.record(
        request,
        Action.ACCOUNT_UPDATE,
        Outcome.SUCCESS,
        target=person,
        facts=wording.fact(say, username=person.get_username(), **values),
    )
