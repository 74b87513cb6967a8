"""Sign-in throttling that an attacker cannot turn against the account's owner (OWASP's
device cookies).

A browser that has signed in as a person keeps a signed cookie naming that person; its
failed sign-ins as that person count against the cookie alone. Every other try is from an
unknown browser and counts against the username (from anywhere) and against the address.
LOGIN_FAILURE_LIMIT failures within LOGIN_LOCKOUT_MINUTES lock the key for
LOGIN_LOCKOUT_MINUTES: a locked username or address refuses unknown browsers, unchecked,
while the owner's own browser still signs in; a locked cookie makes its browser an unknown
one. Nothing but time or an unlock ends a lock: a success elsewhere does not.

The audit log gets a row per failed try up to the lock, one `auth.locked` row per lock and
one `auth.unlocked` row when it ends, with the number of tries refused meanwhile (counted
on the lock's record, not written one by one: an anonymous client cannot grow the log).

Every place that checks a password calls `check` first, then `failed` when it was wrong;
a sign-in that succeeds gives the browser its device cookie (`known_browser_cookie`).
"""

import ipaddress
import math
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import audit, wording
from ..actors import Actor
from ..models import AuditEntry, SignInLock

Action, Outcome, Kind = AuditEntry.Action, AuditEntry.Outcome, SignInLock.Kind

DEVICE_COOKIE = "vpadmin_device"
DEVICE_SALT = "groups.throttling.device"
DEVICE_MAX_AGE = timedelta(days=365)


class SignInLocked(Exception):
    """The try is refused unchecked: a key it counts against is locked until `until`."""

    def __init__(self, until):
        super().__init__(f"sign-in locked until {until.isoformat()}")
        self.until = until

    @property
    def minutes(self):
        """Whole minutes left (at least 1), as the page tells them."""
        seconds = (self.until - timezone.now()).total_seconds()
        return max(1, math.ceil(seconds / 60))


@dataclass
class Attempt:
    """One try at a password: whose, and the keys it counts against."""

    username: str
    keys: list  # [(kind, key)]

    @property
    def known_browser(self):
        return self.keys[0][0] == Kind.DEVICE

    def matching(self):
        condition = Q(pk__in=[])
        for kind, key in self.keys:
            condition |= Q(kind=kind, key=key)
        return SignInLock.objects.filter(condition)


def lockout():
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def check(actor, username, device_cookie=None):
    """The attempt for `username` by `actor` (with the browser's device cookie, if it sent
    one); raises SignInLocked, counting the try on the lock, when it may not be checked."""
    end_expired_locks()
    attempt = _attempt(actor, username, device_cookie)
    now = timezone.now()
    locks = list(attempt.matching().filter(locked_until__gt=now))
    if locks:
        SignInLock.objects.filter(pk__in=[lock.pk for lock in locks]).update(
            refused=F("refused") + 1
        )
        raise SignInLocked(max(lock.locked_until for lock in locks))
    return attempt


def failed(actor, attempt, action=Action.LOGIN_FAILED, say="sign_in_failed"):
    """A wrong password (or no such person): audited as `action` and counted on each of the
    attempt's keys. Returns SignInLocked when this failure locked one of them, else None."""
    actor = actor.typed(attempt.username) if actor.user is None else actor
    audit.refuse(
        actor,
        action,
        facts=wording.fact(say, username=attempt.username, known_browser=attempt.known_browser),
    )
    locked = [lock for kind, key in attempt.keys if (lock := _count(kind, key, attempt.username))]
    for lock in locked:
        audit.refuse(
            actor,
            Action.LOCKED,
            target=lock,
            facts=_lock_facts("locked", lock, failures=lock.failures),
        )
    return SignInLocked(max(lock.locked_until for lock in locked)) if locked else None


def known_browser_cookie(user, device_cookie=None):
    """The person signed in: the device cookie's value that makes this browser one they are
    known on (the same id as before if it had one for them, so its record stays)."""
    username = user.get_username()
    device = _device_id(device_cookie, username) or uuid.uuid4().hex
    return signing.dumps({"u": username, "d": device}, salt=DEVICE_SALT)


def lift(actor, lock):
    """An Administrator (or a command) ends a lock early, audited; False if it had ended
    already."""
    return _end(lock, actor=actor, say="lock_lifted")


def end_expired_locks():
    """Locks whose time ran out are ended, each with its `auth.unlocked` row."""
    for lock in SignInLock.objects.filter(locked_until__lte=timezone.now()):
        # Nobody ended it: the row names the person whose tries were held back.
        _end(lock, actor=Actor(username=lock.username), say="lock_expired")


def current(limit=50):
    """Keys locked now or counting failures now, locked first: what /team/ shows."""
    now = timezone.now()
    return SignInLock.objects.filter(
        Q(locked_until__gt=now) | Q(failures__gt=0, window_started_at__gt=now - lockout())
    )[:limit]


def _attempt(actor, username, device_cookie):
    # The name as the sign-in form will look it up (trimmed, NFKC), so that " ada" or a
    # full-width "ａｄａ" count against ada; its key also ignores case.
    username = audit.storable(unicodedata.normalize("NFKC", str(username)).strip())[:150]
    device = _device_id(device_cookie, username)
    if (
        device
        and not SignInLock.objects.filter(
            kind=Kind.DEVICE, key=device, locked_until__gt=timezone.now()
        ).exists()
    ):
        return Attempt(username, [(Kind.DEVICE, device)])
    # An unknown browser, or a known one that is locked: it is treated as unknown.
    keys = [(Kind.USERNAME, username.casefold()[:150])]
    if address := actor.ip:
        keys.append((Kind.ADDRESS, audit.storable(address_key(address))))
    return Attempt(username, keys)


def address_key(address):
    """An IPv4 address as it is; an IPv6 one as its /64, which one host can fill at will."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _device_id(value, username):
    """The id in a device cookie's `value` if it is valid and names `username`."""
    if not value:
        return None
    try:
        data = signing.loads(value, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != username:
        return None
    device = data.get("d")
    return device if isinstance(device, str) and len(device) == 32 else None


def _count(kind, key, username):
    """Count one failure on the key's record; returns the record if this locked it."""
    now = timezone.now()
    with transaction.atomic():
        lock, _created = SignInLock.objects.select_for_update().get_or_create(kind=kind, key=key)
        if lock.window_started_at is None or now - lock.window_started_at >= lockout():
            lock.failures, lock.window_started_at = 0, now
        lock.failures += 1
        lock.username = username
        newly_locked = lock.failures >= settings.LOGIN_FAILURE_LIMIT and not lock.is_locked(now)
        if newly_locked:
            lock.locked_at, lock.locked_until, lock.refused = now, now + lockout(), 0
        lock.save()
    return lock if newly_locked else None


def _end(lock, *, actor, say):
    with transaction.atomic():
        # Only the first of two requests ending the same lock writes its row.
        ended = SignInLock.objects.filter(
            pk=lock.pk, locked_until=lock.locked_until, locked_until__isnull=False
        ).update(locked_until=None, failures=0, window_started_at=None)
        if ended:
            audit.record(
                actor,
                Action.UNLOCKED,
                Outcome.SUCCESS,
                target=lock,
                facts=_lock_facts(say, lock, refused=lock.refused),
            )
    return bool(ended)


def _lock_facts(say, lock, **values):
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    return wording.fact(say, kind=lock.kind, key=lock.shown_key, minutes=minutes, **values)
