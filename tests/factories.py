"""Rows the tests build, in one place: people in roles, devices, groups, audit rows, and
the actor a test acts as."""

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from groups.actors import Actor
from groups.models import AuditEntry, Device, VoiceprintGroup

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
