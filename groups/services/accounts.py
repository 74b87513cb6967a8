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

from .. import audit, wording
from ..models import AuditEntry

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
ROLES = ("Administrator", "Operator", "Viewer")  # the auth groups, highest first
SUPERUSER = "superuser"  # a role choice only superusers are offered: Administrator and more


class NotAllowed(Exception):
    """A change the rules above refuse; `say` names the rule (a key of wording.SENTENCES)."""

    def __init__(self, say):
        super().__init__(say)
        self.say = say


def role_choices(user):
    """The roles `user` may give."""
    choices = [(name, wording.ROLES[name]) for name in reversed(ROLES)]
    if user.is_superuser:
        choices.append((SUPERUSER, _("Superuser (Administrator with every right)")))
    return choices


def role_of(person):
    """The person's role: superuser, one of ROLES (the highest they hold), or ""."""
    if person.is_superuser:
        return SUPERUSER
    names = {group.name for group in person.groups.all()}
    return next((role for role in ROLES if role in names), "")


def create_person(actor, *, username, role, password):
    """Add a person with a role and a first password."""
    _may_give(actor.user, role)
    with transaction.atomic():
        person = get_user_model().objects.create_user(username=username, password=password)
        _set_role(person, role)
        audit.record(
            actor,
            Action.ACCOUNT_CREATE,
            Outcome.SUCCESS,
            target=person,
            facts=wording.fact("account_created", username=username, role=role),
        )
    return person


def may_change(user, person):
    """Whether `user` may change `person` at all (the page then offers no form)."""
    return user.is_superuser or not person.is_superuser


def change_person(actor, person, *, role, is_active):
    """Give `person` another role and/or (de)activate them; returns the number of changes."""
    user, old_role = actor.user, role_of(person)
    if role == SUPERUSER or person.is_superuser:
        _may_give(user, SUPERUSER)
    if person.pk == user.pk and (role != old_role or not is_active):
        raise NotAllowed("own_account")
    changes = 0
    with transaction.atomic():
        # One change of roles at a time, so two cannot each remove "another" Administrator.
        Group.objects.select_for_update().get(name="Administrator")
        if role != old_role:
            _set_role(person, role)
            _record(actor, person, "account_role", old_role=old_role, role=role)
            changes += 1
        if is_active != person.is_active:
            person.is_active = is_active
            person.save(update_fields=["is_active"])
            say = "account_reactivated" if is_active else "account_deactivated"
            _record(actor, person, say)
            changes += 1
        if changes and not active_administrators().exists():
            raise NotAllowed("last_administrator")  # rolls the change back
    return changes


def reset_password(actor, person, password):
    """An Administrator sets someone else's password (a superuser's: only a superuser). Their
    own is changed on /me/, where the current password is asked for and throttled."""
    if person.pk == actor.user.pk:
        raise NotAllowed("own_password")
    if person.is_superuser:
        _may_give(actor.user, SUPERUSER)
    person.set_password(password)
    person.save(update_fields=["password"])
    audit.record(
        actor,
        Action.ACCOUNT_PASSWORD,
        Outcome.SUCCESS,
        target=person,
        facts=wording.fact("password_reset", username=person.get_username()),
    )


def refuse(actor, action, refusal, person=None, **values):
    """The audit row of a change the rules refused."""
    audit.refuse(
        actor,
        action,
        target=person,
        facts=wording.fact(refusal.say, **values),
    )


def active_administrators():
    role = Q(is_superuser=True) | Q(groups__name="Administrator")
    return get_user_model().objects.filter(role, is_active=True)


def _may_give(user, role):
    if role == SUPERUSER and not user.is_superuser:
        raise NotAllowed("superusers_only")


def _set_role(person, role):
    person.is_superuser = role == SUPERUSER
    person.save(update_fields=["is_superuser"])
    name = "Administrator" if role == SUPERUSER else role
    others = person.groups.filter(name__in=ROLES).exclude(name=name)
    person.groups.remove(*others)
    person.groups.add(Group.objects.get(name=name))


def _record(actor, person, say, **values):
    audit.record(
        actor,
        Action.ACCOUNT_UPDATE,
        Outcome.SUCCESS,
        target=person,
        facts=wording.fact(say, username=person.get_username(), **values),
    )
