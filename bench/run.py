"""The benchmark of issues 6 and 13: vpadmin at the scale of a full Coze account, against Django
admin and against the framework's floor.

    python bench/run.py                                # DATABASE_URL's engine (default SQLite)
    python bench/run.py --databases sqlite,postgresql  # both, one after the other
    python bench/run.py --scale 10                     # ten times the account and the log

For each database it builds a separate database (a temporary SQLite file, or
`<name>_bench` on DATABASE_URL's PostgreSQL server, `vpadmin_bench` by default; never the
working or test database) with 1,000 devices, 1,000 groups, 5,000 people with consents,
the groups' voiceprints and 100,000 audit rows (N times the devices, groups, voiceprints
and audit rows with --scale N, spread over N Coze accounts), syncs each account of the
unchanged register (in process), serves it with gunicorn and measures over
HTTP: pages (server time and queries from bench/middleware.py's headers), Django admin's
change lists and a constant page (the floor) on the same worker, the full CSV export
(time and the worker's peak memory), group creation, enrollment (a 30 s M4A, a 4 MB
WAV) and identification tests (a 10 s clip, ten voiceprints) against the simulator, the
audio conversion alone, and a 30-second load test. It
prints a table, merges the figures into bench/results.json (other databases' figures
kept) and exits with status 1 if a target is missed.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `bench` and `vpadmin` importable

RESULTS = ROOT / "bench" / "results.json"
DATABASES = ("sqlite", "postgresql")
BENCH_DB_NAME = "vpadmin_bench"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_ACCOUNT = "default"  # vpadmin's name of COZE_API_TOKEN's account


def main():
    args = _arguments()
    if args.child:
        from bench import one_database  # the child process sets Django up

        one_database.run(args)
        return
    figures = each_in_a_child(__file__, args.databases, _passed_on(args))
    results = _merge(figures)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    from bench import report

    missed = report.show(results, list(figures))
    print(f"\nWritten to {RESULTS.relative_to(ROOT)}.")
    sys.exit(1 if missed else 0)


def each_in_a_child(script, databases, options, title=None):
    """Run `script` again for each database, one after the other, each in a process of
    its own (`--child <database> --out <file>` and `options`): {database: the JSON object
    the child wrote}. A child that fails stops the run (CalledProcessError)."""
    figures = {}
    for database in databases:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
            out_path = Path(out.name)
        command = [sys.executable, script, "--child", database, "--out", str(out_path)]
        print(f"== {database}" + (f": {title}" if title else ""), flush=True)
        try:
            subprocess.run([*command, *options], check=True)  # noqa: S603
            figures[database] = json.loads(out_path.read_text())
        finally:
            out_path.unlink()
    return figures


def database_arguments(description):
    """A parser with the arguments every benchmark takes: --databases, and the hidden
    --child and --out of its processes (parse with parse_databases())."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--databases",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=[_engine_of(os.environ.get("DATABASE_URL", ""))],
        help="comma-separated: sqlite, postgresql (default: the engine of DATABASE_URL)",
    )
    parser.add_argument("--child", choices=DATABASES, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser


def parse_databases(parser):
    """The arguments, the databases checked."""
    args = parser.parse_args()
    unknown = set(args.databases) - set(DATABASES)
    if unknown:
        parser.error(f"unknown database {', '.join(sorted(unknown))}: use sqlite, postgresql")
    return args


def _arguments():
    parser = database_arguments(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1,
        help="N times the devices, groups, voiceprints and audit rows (default 1: 1,000 "
        "groups, 100,000 audit rows; 10: 10,000 groups over 10 Coze accounts, 1,000,000 "
        "audit rows)",
    )
    parser.add_argument("--rounds", type=int, default=30, help="requests per page (>= 30)")
    parser.add_argument("--creations", type=int, default=30, help="groups created (>= 30)")
    parser.add_argument(
        "--identifications", type=int, default=30, help="identification tests (>= 30)"
    )
    parser.add_argument(
        "--enrollments", type=int, default=30, help="enrollments of each recording (>= 30)"
    )
    parser.add_argument("--load-seconds", type=float, default=30.0)
    parser.add_argument("--load-threads", type=int, default=8)
    parser.add_argument(
        "--explain", action="store_true", help="print every page's queries with their plans"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument(
        "--settings",
        default="bench.settings",
        help="settings module (default bench.settings); e.g. a copy that patches a view, "
        "to measure a fix before making it",
    )
    args = parse_databases(parser)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if min(args.rounds, args.creations, args.identifications, args.enrollments) < 30:
        parser.error(
            "--rounds, --creations, --identifications and --enrollments must be at least 30"
        )
    return args


def _passed_on(args):
    options = [
        "--scale", f"{args.scale:g}",
        "--rounds", str(args.rounds), "--creations", str(args.creations),
        "--identifications", str(args.identifications),
        "--enrollments", str(args.enrollments),
        "--load-seconds", str(args.load_seconds), "--load-threads", str(args.load_threads),
    ]  # fmt: skip
    options += ["--settings", args.settings]
    return options + ["--explain"] * args.explain + ["--keep"] * args.keep


def sizes(scale=1):
    """What build() makes at `scale`: {devices, groups, audit_rows, people, coze_accounts}.
    People stay 5,000 from scale 1 up (a bigger fleet, not a bigger household); below it,
    they shrink too, so a test can build a tiny account. The groups are spread over N Coze
    accounts (rounded; at least one), about 1,000 each."""
    if scale <= 0:
        raise ValueError("the scale is a positive number")
    return {
        "devices": max(1, round(1000 * scale)),
        "groups": max(2, round(1000 * scale)),
        "audit_rows": max(100, round(100_000 * scale)),
        "people": 5000 if scale >= 1 else max(20, round(5000 * scale)),
        "coze_accounts": max(1, round(scale)),
    }


def account_names(count):
    """The Coze accounts of a data set spread over `count`: the default, then b2, b3, ..."""
    return [DEFAULT_ACCOUNT] + [f"b{n}" for n in range(2, count + 1)]


def account_of(n, *, devices, accounts):
    """The index (in account_names()) of the account of the data set's n-th group: its
    device's (the n-th group's device is the (n % devices)-th, each device in one account),
    the same rule for the few groups with no device."""
    return (n % devices) % accounts


def groups_held(size):
    """{account name: active groups} of what build() makes at `size` (sizes()'s figures):
    the first group is the deleted one."""
    names = account_names(size["coze_accounts"])
    held = dict.fromkeys(names, 0)
    for n in range(1, size["groups"]):
        held[names[account_of(n, devices=size["devices"], accounts=len(names))]] += 1
    return held


def _engine_of(url):
    postgresql = url.startswith(("postgres://", "postgresql://", "pgsql://"))
    return "postgresql" if postgresql else "sqlite"


def bench_database_url(database):
    """The separate database the benchmark builds: never the working or the test one, nor
    another run's. SQLite: a temporary file of this process. PostgreSQL: on DATABASE_URL's
    server, named after its database with `_bench` added (`vpadmin_bench` when it names
    the server's `postgres`, or no PostgreSQL at all)."""
    if database == "sqlite":
        return f"sqlite:///{Path(tempfile.gettempdir()) / f'vpadmin-bench-{os.getpid()}.sqlite3'}"
    configured = os.environ.get("DATABASE_URL", "")
    server = urlsplit(configured if _engine_of(configured) == "postgresql" else DEFAULT_POSTGRES)
    name = server.path.strip("/")
    name = f"{name}_bench" if name not in ("", "postgres") else BENCH_DB_NAME
    return urlunsplit(server._replace(path="/" + name))


def _merge(figures):
    """bench/results.json with this run's databases replaced and the others kept."""
    try:
        results = json.loads(RESULTS.read_text())
    except (FileNotFoundError, ValueError):
        results = {}
    pages = [p for p in results.get("pages", []) if p.get("database") not in figures]
    api = [p for p in results.get("api", []) if p.get("database") not in figures]
    databases = {k: v for k, v in results.get("databases", {}).items() if k not in figures}
    for database, figure in figures.items():
        pages += figure["pages"]
        api += figure["api"]
        databases[database] = figure["summary"]
    order = {name: n for n, name in enumerate(DATABASES)}
    pages.sort(key=lambda p: order.get(p["database"], 9))
    api.sort(key=lambda p: order.get(p["database"], 9))
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pages": pages,
        "api": api,
        "databases": dict(sorted(databases.items(), key=lambda kv: order.get(kv[0], 9))),
    }


def new_secret_key():
    return "bench-" + secrets.token_urlsafe(40)


if __name__ == "__main__":
    main()
