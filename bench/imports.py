"""The benchmark of an import of devices: what a row costs vpadmin itself.

    python bench/imports.py                                  # DATABASE_URL's engine (SQLite)
    python bench/imports.py --databases sqlite,postgresql --rows 1000

For each database, in a process of its own, on a database of its own (a temporary SQLite
file, or `<name>_bench_import` on DATABASE_URL's PostgreSQL server): migrate, dry-run a CSV
of `--rows` devices each with a group, confirm it, and run its job here as a worker does
(`groups.services.jobs.run`, the task's body), against the simulator on loopback. It
reports rows per second, the run's queries per row, and its own cost per row: the run's
wall time less the time spent in Coze calls (timed around every call of the Coze
transport, which the simulator's work is inside). It merges the figures into
bench/results.json under "imports" (other figures kept) and exits with status 1 if the
import's own cost is 20 ms a row or more.
"""

import csv
import io
import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    RESULTS,
    bench_database_url,
    database_arguments,
    each_in_a_child,
    new_secret_key,
    parse_databases,
)

TOKEN = "pat_vpadmin_bench"
TARGET_MS = 20.0  # the import's own cost a row (issue 15)
BASELINE = 100  # devices and groups made by the services alone, for comparison


def main():
    args = _arguments()
    if args.child:
        figures = _child(args.child, args.rows)
        Path(args.out).write_text(json.dumps(figures))
        return
    title = f"an import of {args.rows:,} devices with groups"
    figures = each_in_a_child(__file__, args.databases, ["--rows", str(args.rows)], title)
    _merge(figures)
    missed = _show(figures)
    print(f'\nWritten to {RESULTS.relative_to(ROOT)} (under "imports").')
    sys.exit(1 if missed else 0)


def _arguments():
    parser = database_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000, help="devices in the file")
    return parse_databases(parser)


def _database_url(database):
    url = bench_database_url(database)
    if database == "sqlite":
        return url.replace(".sqlite3", "-import.sqlite3")
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + "_import"))


def _child(database, rows):
    from groups.coze.simulator import CozeSimulator

    url = _database_url(database)
    _recreate(database, url)
    quota = rows + BASELINE + 10
    sim = CozeSimulator(token=TOKEN, quota=quota).start()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "vpadmin.settings",
            "DATABASE_URL": url,
            "SECRET_KEY": new_secret_key(),
            "DEBUG": "false",
            "COZE_API_TOKEN": TOKEN,
            "COZE_API_BASE": sim.url,
            "COZE_GROUP_QUOTA": str(quota),
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    try:
        return _measure(database, sim, rows)
    finally:
        sim.stop()
        _drop(database, url)


def _measure(database, sim, rows):
    from django.core.management import call_command
    from django.db import connection

    from groups.actors import Actor
    from groups.coze.transport import Transport
    from groups.models import Job
    from groups.services import imports, jobs
    from tests import factories

    call_command("migrate", verbosity=0)
    operator = factories.person("olga", "Operator")
    actor = Actor(user=operator, username="olga", request_id="bench")
    load_before = [round(n, 2) for n in os.getloadavg()]

    started = time.perf_counter()
    device_import = imports.dry_run(actor, "fleet.csv", _fleet_csv(rows))
    dry_run_seconds = time.perf_counter() - started
    if not device_import.can_run:
        raise RuntimeError(f"the dry run found problems: {device_import.plan}")
    job = imports.start_import(actor, device_import)

    coze_seconds, calls = _timed_coze_calls(Transport)
    with _counted(connection) as captured:
        started = time.perf_counter()
        state = jobs.run(str(job.pk))  # what the worker's task does
        wall = time.perf_counter() - started
    job = Job.objects.get(pk=job.pk)
    if state != Job.State.SUCCEEDED or len(sim.groups) != rows:
        raise RuntimeError(f"the import ended {state} with {len(sim.groups)} groups on Coze")
    coze, coze_calls = coze_seconds[0], calls[0]  # the import's (before the services alone)
    own = wall - coze
    services_ms, services_queries = _services_alone(actor, coze_seconds, min(BASELINE, rows))
    return {
        "database": database,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_average": {"before": load_before, "after": [round(n, 2) for n in os.getloadavg()]},
        "rows": rows,
        "import_dry_run_seconds": round(dry_run_seconds, 3),
        "import_run_seconds": round(wall, 3),
        "import_rows_per_second": round(rows / wall, 1),
        "import_coze_seconds": round(coze, 3),
        "import_coze_calls": coze_calls,
        "import_overhead_per_row_ms": round(1000 * own / rows, 2),
        "import_queries": captured[0],
        "import_queries_per_row": round(captured[0] / rows, 2),
        # The same work through the services alone (no import): what any row must cost.
        "import_services_alone_per_row_ms": services_ms,
        "import_services_alone_queries_per_row": services_queries,
    }


def _services_alone(actor, coze_seconds, count):
    """A device and its group made `count` times by create_device and create_group called
    directly: their own cost a row (less Coze's time) and queries, the import's floor."""
    import uuid

    from django.db import connection

    from groups.services import create_device, create_group

    coze_before = coze_seconds[0]
    with _counted(connection) as captured:
        started = time.perf_counter()
        for n in range(count):
            device = create_device(actor, serial=f"BASE-{n:04d}", name=f"Base {n}", location="")
            create_group(actor, name=f"base {n}", desc="", device=device, submission=uuid.uuid4())
        wall = time.perf_counter() - started
    own = wall - (coze_seconds[0] - coze_before)
    return round(1000 * own / count, 2), round(captured[0] / count, 2)


@contextmanager
def _counted(connection):
    """The queries made on `connection` meanwhile, counted (any number of them)."""
    count = [0]

    def counter(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        yield count


def _timed_coze_calls(transport):
    """Time every Coze call from here on (the simulator's work is inside each)."""
    seconds, calls = [0.0], [0]
    call = transport.call

    def timed(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return call(self, *args, **kwargs)
        finally:
            seconds[0] += time.perf_counter() - started
            calls[0] += 1

    transport.call = timed
    return seconds, calls


def _fleet_csv(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["serial", "name", "location", "notes", "group_name", "group_desc"])
    for n in range(1, rows + 1):
        writer.writerow(
            [f"KIOSK-{n:05d}", f"Kiosk {n}", f"Hall {n % 12}", "", f"kiosk {n}", f"Hall {n % 12}"]
        )
    return buffer.getvalue().encode()


def _recreate(database, url):
    from bench.one_database import _recreate

    _recreate(database, url)


def _drop(database, url):
    from bench.one_database import _drop

    _drop(database, url)


def _merge(figures):
    try:
        results = json.loads(RESULTS.read_text())
    except (FileNotFoundError, ValueError):
        results = {}
    results.setdefault("imports", {}).update(figures)
    results["imports_generated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def _show(figures):
    missed = False
    print(
        f"\n{'database':<11} {'rows':>6} {'rows/s':>7} {'run s':>7} {'Coze s':>7} "
        f"{'own ms/row':>10} {'queries/row':>11} {'dry run s':>9} {'services alone':>15}"
    )
    for database, f in figures.items():
        mark = "" if f["import_overhead_per_row_ms"] < TARGET_MS else "  MISSED (< 20 ms)"
        missed = missed or bool(mark)
        print(
            f"{database:<11} {f['rows']:>6,} {f['import_rows_per_second']:>7} "
            f"{f['import_run_seconds']:>7} {f['import_coze_seconds']:>7} "
            f"{f['import_overhead_per_row_ms']:>10} {f['import_queries_per_row']:>11} "
            f"{f['import_dry_run_seconds']:>9} "
            f"{f['import_services_alone_per_row_ms']:>7} ms, "
            f"{f['import_services_alone_queries_per_row']:>2} q"
            f"{mark}"
        )
    return missed


if __name__ == "__main__":
    main()
