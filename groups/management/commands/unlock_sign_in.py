"""`python manage.py unlock_sign_in NAME_OR_ADDRESS`: lift the sign-in locks on a username
(its browsers' included) or an address before their time, each with an `auth.unlocked` row.
Administrators do the same with the Unlock buttons on /team/."""

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from groups.actors import Actor
from groups.models import SignInLock
from groups.services import throttling


class Command(BaseCommand):
    help = "Lift the sign-in locks on a username or an IP address (audited)."

    def add_arguments(self, parser):
        parser.add_argument("key", help="a username, or an IP address")

    def handle(self, *args, key, **options):
        Kind = SignInLock.Kind
        locks = SignInLock.objects.filter(
            Q(kind__in=[Kind.USERNAME, Kind.ADDRESS], key=key) | Q(kind=Kind.DEVICE, username=key),
            locked_until__gt=timezone.now(),
        )
        actor = Actor.for_command("unlock_sign_in")
        lifted = [lock for lock in locks if throttling.lift(actor, lock)]
        for lock in lifted:
            self.stdout.write(f"Lifted the lock on {lock} ({lock.refused} tries refused).")
        if not lifted:
            self.stdout.write(f"No sign-in lock on {key}.")
