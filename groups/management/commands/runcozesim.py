"""`python manage.py runcozesim`: serve the bundled Coze simulator on loopback."""

import signal
from argparse import RawDescriptionHelpFormatter
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from groups.coze.simulator import DEFAULT, CozeSimulator

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765

HELP = """Serve Coze's calls for voiceprint groups, their voiceprints, speaker identification
and GET /v1/users/me on loopback, with Coze's wire format, limits and quota.
Identification compares voices: a clip scores highest (0-100) against the voiceprint
enrolled from the same voice; voiceprints seeded "made elsewhere" score low. The
simulator keeps a few dozen numbers per voiceprint, never its audio.
It accepts COZE_API_TOKEN (the development token when none is set), which belongs to a
fixed user, and one token for each account COZE_ACCOUNTS names (e.g. COZE_ACCOUNTS=cn2,intl
with COZE_CN2_API_TOKEN, or pat_vpadmin_simulator_cn2 when no COZE_API_TOKEN is set, and
COZE_CN2_GROUP_QUOTA): each account its own groups, voiceprints, quota, user and faults.
Faults are switched on from another shell through its control API (no token), e.g.
  curl -X POST localhost:8765/_sim/faults -d '{"kind": "delay", "seconds": 15}'
Kinds: code (code, msg, status), http (status), nonjson (status), raw (status, body,
content_type), delay (seconds), drop (perform); every fault also takes "method", "path"
(one exact path), "times" (null: until cleared) and "after" (let that many matching
requests through first).
Also: GET /_sim/state, DELETE /_sim/faults, POST /_sim/reset, POST /_sim/quota {"quota": N},
POST /_sim/seed {"count": N} (add "creator_id": "<user id>" for a colleague's groups,
which the token may list but not change), POST /_sim/seed_voiceprints {"group_id": "<id>",
"count": N} (with "creator_id" likewise). Any body may name an "account" ("cn2"; "*" for
every one, for faults, quota and reset); without one, a fault, quota or seed is the
default account's, and DELETE /_sim/faults and a reset act on every account."""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(
            prog_name, subcommand, formatter_class=RawDescriptionHelpFormatter, **kwargs
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport", nargs="?", help="[addr:]port; default: taken from COZE_API_BASE"
        )
        parser.add_argument(
            "--quota",
            type=int,
            default=settings.COZE_GROUP_QUOTA,
            help="groups the default account may hold (default: COZE_GROUP_QUOTA); the "
            "others' quotas are their COZE_<NAME>_GROUP_QUOTA",
        )
        parser.add_argument("--seed", type=int, default=0, help="groups 'created elsewhere'")
        parser.add_argument(
            "--state",
            help="JSON file keeping the groups across restarts (another account's beside "
            "it: sim.json, sim.cn2.json)",
        )

    def handle(self, *args, addrport, quota, seed, state, **options):
        host, port = parse_addrport(addrport) if addrport else default_address()
        sim = CozeSimulator(
            token=settings.COZE_API_TOKEN,
            quota=quota,
            state_file=state,
            accounts=served_accounts(state),
        )
        if seed:
            sim.seed_groups(seed)
        signal.signal(signal.SIGTERM, _stop)

        def announce(url):
            token = "development token" if settings.COZE_SIMULATED else "COZE_API_TOKEN"
            others = "".join(
                f"; account {account.name}: {len(account.groups)} groups, quota {account.quota}"
                for account in list(sim.accounts.values())[1:]
            )
            self.stdout.write(
                f"Coze simulator listening on {url} (accepts the configured {token}; "
                f"{len(sim.groups)} groups, quota {quota}{others}). Quit with CONTROL-C."
            )
            self.stdout.flush()  # a parent process may be waiting for this line on a pipe

        try:
            sim.serve_forever(host, port, on_ready=announce)
        except OSError as error:
            raise CommandError(f"Cannot listen on {host}:{port}: {error.strerror}") from None
        except KeyboardInterrupt:
            pass


def served_accounts(state):
    """The accounts besides the default one, as settings.COZE_ACCOUNTS lists them, each
    with its own state file beside `state` (when given)."""
    accounts = {}
    for name, account in settings.COZE_ACCOUNTS.items():
        if name != DEFAULT:
            path = state and Path(state).with_name(f"{Path(state).stem}.{name}{Path(state).suffix}")
            accounts[name] = {**account, "state_file": path}
    return accounts


def _stop(signum, frame):
    # `make run` stops us with SIGTERM: leave through the same path as Ctrl-C, once.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def parse_addrport(addrport):
    host, _, port = addrport.rpartition(":")
    if not port.isdigit():
        raise CommandError(f"{addrport!r} is not a port or addr:port.")
    return host or DEFAULT_HOST, int(port)


def default_address():
    """COZE_API_BASE's host and port when it points at this machine, else 127.0.0.1:8765."""
    url = urlsplit(settings.COZE_API_BASE)
    if url.scheme == "http" and (
        url.hostname == "localhost" or (url.hostname or "").startswith("127.")
    ):
        return url.hostname, url.port or 80
    return DEFAULT_HOST, DEFAULT_PORT
