"""`python manage.py prune_audit --older-than DAYS`: the one sanctioned way to remove old
audit rows. It keeps what the log still needs, and for 3 years whatever it says about
processing people's voices (PIPL art. 56), and leaves an `audit.prune` row behind."""

import argparse
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import CharField, Count, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils import timezone

from groups import audit
from groups.actors import Actor
from groups.immutability import removal_allowed
from groups.models import AuditEntry, Voiceprint, VoiceprintGroup
from groups.wording import fact

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
BATCH_SIZE = 500  # ids per DELETE: well under SQLite's limit on query parameters
# PIPL art. 56 asks that records of processing personal information be kept at least 3
# years: the rows about voiceprints (identification tests too), consents, withdrawals,
# people and retention sweeps, whatever --older-than says.
LAW_KEEPS_YEARS = 3
PROCESSING_RECORDS = [
    action
    for action in Action.values
    if action.split(".")[0] in ("voiceprint", "consent", "person", "retention")
]


def days(value):
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, at least 1: {value!r}")
    return number


def years_before(moment, years):
    """The same day and time `years` earlier (28 February for a 29th): at least 365 days
    a year, so a leap day never shortens what the law keeps."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def law_cutoff(now=None):
    return years_before(now or timezone.now(), LAW_KEEPS_YEARS)


def kept_by_law(since):
    """Rows about processing people's voices made since `since`: what PIPL art. 56 keeps.
    A group's deletion counts when the group held someone's voiceprint (Coze deleted it
    with the group: the row is its proof of deletion)."""
    groups_of_people = (
        Voiceprint.objects.filter(person__isnull=False)
        .annotate(key=Cast("group_id", CharField()))
        .values("key")
    )
    deletion_of_their_group = Q(
        action=Action.GROUP_DELETE,
        target_type=VoiceprintGroup._meta.model_name,
        target_id__in=groups_of_people,
    )
    about_voices = Q(action__in=PROCESSING_RECORDS) | deletion_of_their_group
    return about_voices & Q(created_at__gte=since)


def still_needed(cutoff, since=None):
    """Rows kept whatever else holds: pending or recent ones, creation rows of live groups,
    and what the law keeps (made since `since`, 3 years ago by default)."""
    live_groups = (
        VoiceprintGroup.objects.exclude(state=VoiceprintGroup.State.DELETED)
        .annotate(key=Cast("pk", CharField()))
        .values("key")
    )
    creation_of_live_group = Q(
        action=Action.GROUP_CREATE,
        outcome=Outcome.SUCCESS,
        target_type=VoiceprintGroup._meta.model_name,
        target_id__in=live_groups,
    )
    return (
        Q(outcome=Outcome.PENDING)
        | Q(created_at__gte=cutoff)
        | creation_of_live_group
        | kept_by_law(since or law_cutoff())
    )


def old_final_rows(cutoff):
    return AuditEntry.objects.exclude(outcome=Outcome.PENDING).filter(created_at__lt=cutoff)


def removable(cutoff, since=None):
    """Old final rows the log no longer needs; an attempt and its resolution go together.

    Sync never resolves a resolution, so pairs are the longest chains there are. The rule
    holds batch after batch: a row whose partner was already removed is removable too.
    """
    needed = still_needed(cutoff, since)
    kept = AuditEntry.objects.filter(needed)
    return (
        AuditEntry.objects.exclude(needed)
        .exclude(Exists(kept.filter(pk=OuterRef("resolves"))))
        .exclude(Exists(kept.filter(resolves=OuterRef("pk"))))
    )


def delete_in_batches(queryset):
    """Delete the rows of `queryset` a batch of ids at a time; returns how many went."""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    column = connection.ops.quote_name(AuditEntry._meta.pk.column)
    ids = queryset.order_by("pk").values_list("pk", flat=True)
    removed, last = 0, 0
    while batch := list(ids.filter(pk__gt=last)[:BATCH_SIZE]):
        placeholders = ", ".join(["%s"] * len(batch))
        with connection.cursor() as cursor:
            # The one DELETE of audit rows in vpadmin; the model layer refuses all others.
            cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({placeholders})", batch)  # noqa: S608
        removed += len(batch)
        last = batch[-1]
    return removed


def entries(count):
    return f"{count} audit {'entry' if count == 1 else 'entries'}"


def describe(counts):
    by_action = ", ".join(f"{row['action']} {row['n']}" for row in counts)
    return f" ({by_action})" if by_action else ""


def by_law(count):
    if not count:
        return ""
    return f", {count} of them kept {LAW_KEEPS_YEARS} years by law (PIPL art. 56)"


class Command(BaseCommand):
    help = (
        "Remove final audit rows older than DAYS days, except those the log still needs "
        "(creation rows of groups that still exist, attempts and their resolutions) and, "
        "for 3 years whatever DAYS says, rows about voiceprints, consents, withdrawals, "
        "people, identification tests and retention sweeps (PIPL art. 56); record an "
        "audit.prune row saying what was removed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=days, required=True, metavar="DAYS", dest="older_than"
        )
        parser.add_argument("--dry-run", action="store_true", help="print what would go")
        parser.add_argument("--actor", metavar="USERNAME", help="the Administrator pruning")

    def handle(self, *args, older_than, dry_run, actor, **options):
        started = time.monotonic()
        user = administrator(actor) if actor else None
        now = timezone.now()
        cutoff, since = now - timedelta(days=older_than), law_cutoff(now)
        when = cutoff.isoformat(timespec="seconds")
        if dry_run:
            count, kept, law, counts = self.survey(cutoff, since)
            self.stdout.write(
                f"Would remove {entries(count)} older than {when}{describe(counts)}; "
                f"would keep {entries(kept)} still needed{by_law(law)}. Nothing was changed."
            )
            return
        with removal_allowed(connection):
            _count, kept, law, counts = self.survey(cutoff, since)
            removed = delete_in_batches(removable(cutoff, since))
            detail = (
                f"removed {entries(removed)} older than {when}{describe(counts)}; "
                f"kept {entries(kept)} still needed{by_law(law)}"
            )
            facts = fact(
                "pruned",
                removed=removed,
                before=when,
                by_action={row["action"]: row["n"] for row in counts},
                kept=kept,
                kept_by_law=law,
            )
            actor = Actor.for_command("prune_audit", user)
            audit.record(actor, Action.AUDIT_PRUNE, Outcome.SUCCESS, facts=facts)
        self.stdout.write(f"Pruned the audit log: {detail}; {time.monotonic() - started:.2f} s")

    def survey(self, cutoff, since):
        """How many rows would go, how many old ones stay (and of those, how many the law
        keeps), and what would go by action."""
        rows = removable(cutoff, since)
        count = rows.count()
        old = old_final_rows(cutoff)
        kept = old.count() - count
        law = old.filter(kept_by_law(since)).count()
        counts = rows.order_by("action").values("action").annotate(n=Count("pk"))
        return count, kept, law, list(counts)


def administrator(username):
    """The active Administrator (or superuser) named `username`, or CommandError."""
    User = get_user_model()
    try:
        user = User._default_manager.get_by_natural_key(username)
    except User.DoesNotExist:
        raise CommandError(f"No user named {username!r}.") from None
    if not user.is_active:
        raise CommandError(f"{username!r} is not an active user.")
    if not (user.is_superuser or user.groups.filter(name="Administrator").exists()):
        raise CommandError(f"{username!r} is not an Administrator; only they may prune.")
    return user
