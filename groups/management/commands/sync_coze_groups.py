"""`python manage.py sync_coze_groups`: reconcile the register with Coze's list of groups,
here and now (cron's or a systemd timer's scheduled sync), recorded on /jobs/ like the
worker's: each Coze account in turn (one job each), or the one --account names."""

import time

from django.core.management.base import BaseCommand, CommandError

from groups.actors import Actor
from groups.coze.accounts import names
from groups.services import SyncFailed, sync_here


class Command(BaseCommand):
    help = (
        "Reconcile the register with Coze's list: import groups made elsewhere (unassigned), "
        "update known ones, mark missing ones gone and resolve creations that got no answer; "
        "then the same for the voiceprints of the groups that changed on Coze."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="print nothing on success")
        parser.add_argument(
            "--account", choices=names(), help="sync this Coze account only (default: each)"
        )

    def handle(self, *args, quiet, account=None, **options):
        accounts = [account] if account else names()
        failed = []
        for name in accounts:
            if len(accounts) > 1 and not quiet:
                self.stdout.write(f"Coze account {name}:")
            try:
                self.sync(name, quiet)
            except SyncFailed as failure:
                failed.append(f"{name}: {failure}" if len(accounts) > 1 else str(failure))
        if failed:
            # The other accounts' syncs stand: each is its own job.
            raise CommandError(f"Sync failed, nothing was changed. {'; '.join(failed)}")

    def sync(self, account, quiet):
        started = time.monotonic()
        result = sync_here(Actor.for_command("sync_coze_groups"), account)
        if quiet:
            return
        voiceprints = result.voiceprints
        self.stdout.write(
            f"imported {result.imported}, updated {result.updated}, gone {result.gone}, "
            f"resolved {result.resolved}; Coze reports {result.remote_total} groups; "
            f"{_calls(result.list_calls, 'list')}; voiceprints imported {voiceprints.imported}, "
            f"updated {voiceprints.updated}, gone {voiceprints.gone}; "
            f"{_calls(voiceprints.lists, 'voiceprint list')}; {time.monotonic() - started:.2f} s"
        )
        if voiceprints.unread:
            self.stdout.write(
                f"The voiceprints of {voiceprints.unread} group(s) could not be read: "
                "the next sync reads them again (see /jobs/ for why)."
            )
        if not result.changed:
            self.stdout.write("No changes.")


def _calls(n, what):
    return f"{n} {what} call{'s' if n != 1 else ''}"
