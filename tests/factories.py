"""Rows the tests build, in one place: people in roles, devices, groups, audit rows, the
actor a test acts as, and (made directly) enrollees, their consents and voiceprints."""

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from groups.actors import Actor
from groups.models import AuditEntry, Consent, Device, Person, Voiceprint, VoiceprintGroup
from groups.models.people import default_keep_until

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


# The register's people and voiceprints, made directly with the ORM (`person` above is
# someone who signs in; an enrollee is someone whose voice is enrolled).


def enrollee(name=None, **fields):
    """A person in the register whose voice may be enrolled, with no consent yet."""
    n = next(_numbers)
    return Person.objects.create(name=name or f"Enrollee {n}", **fields)


def consent_for(person, *, given_on=None, **fields):
    """`person`'s own signed consent, given today unless `given_on`, keeping voiceprints
    for VOICEPRINT_RETENTION_DAYS; `withdrawn_at` or an earlier `keep_until` ends it."""
    given_on = given_on or timezone.localdate()
    values = {
        "given_by": Consent.GivenBy.PERSON,
        "method": Consent.Method.SIGNED_FORM,
        "purpose": "To be recognised by the living room speaker.",
        "keep_until": default_keep_until(given_on),
        **fields,
    }
    return Consent.objects.create(person=person, given_on=given_on, **values)


def voiceprint(group, name=None, coze_id=None, **fields):
    """A voiceprint in the register, in `group`: nobody's unless `person` is given."""
    n = next(_numbers)
    return Voiceprint.objects.create(
        group=group,
        coze_id=coze_id or str(7_600_000_000_000_000_000 + n),
        name=name or f"voiceprint {n}",
        **fields,
    )
