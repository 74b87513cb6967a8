"""Rows the tests build, in one place: people in roles (users who sign in), devices,
groups, audit rows, the actor a test acts as, and the register's people (enrollees: whose
voices are enrolled), their consents and voiceprints."""

import datetime
import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from groups.actors import Actor
from groups.models import AuditEntry, Consent, Device, Person, Voiceprint, VoiceprintGroup

_numbers = itertools.count(1)


def person(username, role=None):
    """Someone who signs in with the password `pw-<username>`, in `role` if given."""
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def actor(user=None, **fields):
    """Acting as `user` (or as nobody), as a command run by a test would."""
    return Actor(user=user, username=user.get_username() if user else "", **fields)


def device(name=None, serial=None, **fields):
    n = next(_numbers)
    return Device.objects.create(
        name=name or f"Device {n}", serial=serial or f"DEV-{n:05d}", **fields
    )


def group(device=None, name=None, coze_id=None, **fields):
    n = next(_numbers)
    return VoiceprintGroup.objects.create(
        coze_id=coze_id or str(7_500_000_000_000_000_000 + n),
        name=name or f"group {n}",
        device=device,
        **fields,
    )


def audit_row(action="group.create", outcome="success", **fields):
    return AuditEntry.objects.create(action=action, outcome=outcome, **fields)


def enrollee(name=None, reference="", **fields):
    """A person in the register (not a user: see person() for those)."""
    n = next(_numbers)
    return Person.objects.create(name=name or f"Person {n}", reference=reference, **fields)


def consent(enrollee, *, given_on=None, keep_until=None, **fields):
    """A consent the person gave themselves, given today and kept three years unless said."""
    given_on = given_on or timezone.localdate()
    values = {
        "given_by": Consent.GivenBy.PERSON,
        "method": Consent.Method.SIGNED_FORM,
        "purpose": "Recognising their voice on the team's devices.",
        "recorded_by_name": "olga",
        **fields,
    }
    return Consent.objects.create(
        person=enrollee,
        given_on=given_on,
        keep_until=keep_until or given_on + datetime.timedelta(days=1095),
        **values,
    )


def voiceprint(group, enrollee=None, name=None, **fields):
    n = next(_numbers)
    return Voiceprint.objects.create(
        coze_id=str(7_600_000_000_000_000_000 + n),
        group=group,
        name=name or f"voiceprint {n}",
        person=enrollee,
        **fields,
    )
