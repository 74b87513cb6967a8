"""`python manage.py enforce_retention`: the retention sweep, here and now (the worker runs it
daily by itself): every voiceprint past its keeping date is deleted on Coze and marked
deleted with the logid; `--dry-run` lists them and changes nothing."""

import time

from django.core.management.base import BaseCommand

from groups.actors import Actor
from groups.models import Voiceprint
from groups.services import retention, retention_here


class Command(BaseCommand):
    help = (
        "Delete on Coze every voiceprint past its keeping date (its own or its consent's) "
        "and every one under a withdrawn consent, and try the deletions still waiting; "
        "recorded on /jobs/ and in the audit log. --dry-run lists them and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be deleted; change nothing"
        )

    def handle(self, *args, dry_run, **options):
        started = time.monotonic()
        if dry_run:
            self.survey(retention.sweep(Actor.for_command("enforce_retention"), dry_run=True))
            return
        found = retention_here(Actor.for_command("enforce_retention"))
        run = found.run
        self.stdout.write(
            f"Retention sweep of {found.today:%Y-%m-%d}: {len(found.expired)} past their "
            f"keeping date, {len(found.withdrawn)} under a withdrawn consent; deleted "
            f"{len(run.deleted)}, to try again later {len(run.waiting)}, waiting for a person "
            f"{len(run.needs_person)}; {time.monotonic() - started:.2f} s"
        )
        if run.waiting:
            self.stdout.write(
                "Coze could not delete some now: a worker (manage.py db_worker) tries again "
                "by itself; each person's page says when."
            )
        if run.needs_person:
            self.stdout.write(
                "Coze refused some deletions (e.g. only their maker may delete them): see "
                "each person's page."
            )

    def survey(self, found):
        for reason, voiceprints in (
            ("past its keeping date", found.expired),
            ("consent withdrawn", found.withdrawn),
        ):
            for voiceprint in voiceprints:
                self.stdout.write(f"would delete: {describe(voiceprint)}; {reason}")
        waiting = Voiceprint.objects.deletion_requested().count()
        self.stdout.write(
            f"Would delete {len(found.expired)} past their keeping date and "
            f"{len(found.withdrawn)} under a withdrawn consent; {waiting} requested "
            "deletions wait already. Nothing was changed."
        )


def describe(voiceprint):
    group = voiceprint.group
    device = group.device.name if group.device else "no device"
    person = voiceprint.person.name if voiceprint.person else "nobody"
    until = voiceprint.expires_on.isoformat() if voiceprint.expires_on else "—"
    return (
        f"“{voiceprint.name}” of {person} (Coze id {voiceprint.coze_id}) in “{group.name}” "
        f"on {device}, kept until {until}"
    )
