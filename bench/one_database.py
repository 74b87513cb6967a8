"""One database's benchmark, in its own process (run.py starts one per database): build
the data set, serve it with gunicorn, measure, and write the figures as JSON.

Imports of models (vpadmin's, sessions', the test client) sit inside the functions: they
may run only after run() has set the environment and called django.setup()."""

import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Count, Q
from django.utils import timezone
from psycopg import sql

from bench import audio as bench_audio
from bench import identify, measure
from bench.run import account_names, bench_database_url, groups_held, new_secret_key, sizes
from bench.server import Gunicorn
from groups.coze.simulator import CozeSimulator

TOKEN = "pat_vpadmin_bench"  # the default account's; another's is pat_bench_<name>
PAGE_SIZE = 50  # vpadmin's lists, and the admin's in bench settings
FLOOR = "/bench/floor/"
API_FLOOR = "/bench/api-floor/"  # bench/urls.py: DRF's cheapest answer, with the token
EXPORT = "/audit/export.csv"
EXPORT_RUNS = 3
REUSE_CALLS = 200
SMALL_LOG = 100_000  # the log's length at scale 1: the dashboard is measured again at it
SEARCH = "客厅"  # a tenth of the groups' names
LIST_GROUPS = "/v1/audio/voiceprint_groups"  # Coze's list of an account's groups
CREATION_WARMUP = 3  # creations before those measured
STARTED = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def run(args):
    database, url = args.child, bench_database_url(args.child)
    _recreate(database, url)
    # Each account's quota just above its groups held: room for the creations measured
    # (and their warm-ups) at a nearly full quota (999 groups at scale 1), whichever
    # accounts they go to.
    room = CREATION_WARMUP + args.creations + 1
    quotas = {name: held + room for name, held in groups_held(sizes(args.scale)).items()}
    roomy = 100_000 * max(1, math.ceil(args.scale))  # the simulator's: never the limit
    served = {name: {"token": token_of(name), "quota": roomy} for name in quotas}
    sim = CozeSimulator(token=TOKEN, quota=roomy, accounts=served).start()
    workdir = Path(tempfile.mkdtemp(prefix="vpadmin-bench-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": args.settings,
            "DATABASE_URL": url,
            "SECRET_KEY": new_secret_key(),
            "DEBUG": "false",
            **accounts_environment(quotas, sim.url),
            # Every test is measured: no daily limit stops them (warm-ups included).
            "IDENTIFY_DAILY_LIMIT": str(args.identifications + 10),
            "BENCH_STATIC_ROOT": str(workdir / "static"),
        }
    )
    import django  # only now: settings read the environment above

    django.setup()
    # This process's own log lines (the simulator's, the Coze client's) would drown the table.
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("vpadmin").setLevel(logging.WARNING)
    try:
        figures = _measure_all(args, database, sim, workdir)
    except BaseException:
        log(f"failed; gunicorn's log is in {workdir}")
        raise
    finally:
        sim.stop()
        if not args.keep:
            _drop(database, url)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    Path(args.out).write_text(json.dumps(figures, ensure_ascii=False))


def token_of(name):
    """The fake token of a benchmark's account (the simulator's, never a real one)."""
    return TOKEN if name == account_names(1)[0] else f"pat_bench_{name}"


def accounts_environment(quotas, base):
    """The environment that configures vpadmin (this process and the server) for the
    accounts of `quotas` ({name: group quota}, the default first) on the simulator at
    `base`, as a deployment's would: COZE_API_TOKEN ... for the default, COZE_ACCOUNTS
    and COZE_<NAME>_API_TOKEN, _API_BASE, _GROUP_QUOTA for each other."""
    default, *others = quotas
    environ = {
        "COZE_API_TOKEN": token_of(default),
        "COZE_API_BASE": base,
        "COZE_GROUP_QUOTA": str(quotas[default]),
        "COZE_ACCOUNTS": ",".join(others),
    }
    for name in others:
        key = f"COZE_{name.upper()}_"
        environ |= {
            key + "API_TOKEN": token_of(name),
            key + "API_BASE": base,
            key + "GROUP_QUOTA": str(quotas[name]),
        }
    return environ


def _measure_all(args, database, sim, workdir):
    from bench import dataset

    log(f"{database}: migrating {os.environ['DATABASE_URL']}")
    call_command("migrate", verbosity=0)
    size = dataset.sizes(args.scale)
    log(
        f"scale {args.scale:g}: building {size['devices']:,} devices, {size['groups']:,} groups, "
        f"{size['people']:,} people, their voiceprints, {size['audit_rows']:,} audit rows"
    )
    started = time.monotonic()
    users = {name: (a.user["user_id"], a.user["user_name"]) for name, a in sim.accounts.items()}
    built = dataset.build(coze_user=users, **size)
    build_seconds = time.monotonic() - started
    log(f"built in {build_seconds:.0f} s")
    _settle(database)
    # Before anything is made on the simulator: each account holds its groups built.
    log(f"a sync of each of the {len(built['coze_accounts'])} unchanged accounts, in process")
    sync = _sync(sim)
    made_after = built["last_group"]  # the groups the benchmark makes have later ids
    call_command("collectstatic", interactive=False, verbosity=0)
    session_key = _session_for(built["admin"])
    token = _token_for(built["admin"])
    facts = _facts()
    pages = _pages(facts)
    api_pages = _api_pages(facts)
    env = {k: os.environ[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SECRET_KEY")}
    log_path = workdir / "gunicorn.log"

    recordings = bench_audio.cases()  # a phone's 30 s M4A and a 4 MB WAV
    load_before = [round(n, 2) for n in os.getloadavg()]
    log("one gunicorn worker: pages, admin, floor, export, creations, enrollments")
    with Gunicorn(env, workers=1, log_path=log_path) as server:
        client = measure.SignedInClient(server.url, session_key)
        paths = [path for _, path, admin in pages for path in (path, admin) if path]
        paths += [FLOOR, *(path for _, path, _ in api_pages), API_FLOOR]
        routed = measure.RoutedClient(client, token, ["/api/", API_FLOOR])
        samples = measure.pages(routed, paths, rounds=args.rounds, log=log)
        pids = {s.pid for group in samples.values() for s in group}
        if len(pids) != 1:
            raise RuntimeError(f"answers came from several processes: {pids}")
        (pid,) = pids
        log("export of every audit row (3 times; once above 200,000 rows)")
        export = _export(client, pid, facts["audit_rows"])
        log(f"{args.creations} group creations, each account's quota nearly full")
        creation = _creations(client, args.creations, made_after)
        log(f"{args.identifications} identification tests of a 10 s clip, ten voiceprints")
        identification = _identifications(client, made_after, args.identifications)
        log(f"{args.enrollments} enrollments of each recording")
        enrollment = _enrollments(client, sim, made_after, recordings, args.enrollments)

    log(f"conversion of each recording, {args.enrollments} times")
    conversion = _conversions(recordings, args.enrollments)

    log(f"Coze client: {REUSE_CALLS} calls on one session, {REUSE_CALLS} on new sessions")
    reuse = _connection_reuse(sim)
    workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
    log(f"load: {workers} workers, {args.load_threads} clients, {args.load_seconds:g} s")
    with Gunicorn(env, workers=workers, log_path=log_path) as server:
        load = measure.load(
            server.url,
            session_key,
            ["/", "/groups/"],
            threads=args.load_threads,
            seconds=args.load_seconds,
        )
    load["workers"], load["threads"] = workers, args.load_threads
    log("queries of each page, in process")
    inspected = _inspect(pages, session_key, explain=args.explain)
    inspected |= _inspect(api_pages, None, explain=args.explain, token=token)
    dashboard = {}
    if facts["audit_rows"] > SMALL_LOG:
        log(f"the log pruned to its latest {SMALL_LOG:,} rows; the dashboard again")
        dashboard = _dashboard_after_prune(database, env, log_path, session_key, args.rounds)
        dashboard["dashboard_full_log_ms"] = round(
            measure.median([s.server_ms for s in samples["/"]]), 2
        )
        dashboard["dashboard_full_log_rows"] = facts["audit_rows"]

    floor = [s.server_ms for s in samples[FLOOR]]
    api_floor = [s.server_ms for s in samples[API_FLOOR]]
    summary = {
        "database": database,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "scale": args.scale,
        "build_seconds": round(build_seconds, 1),
        "data": {
            k: v for k, v in built.items() if k not in ("admin", "coze_accounts", "last_group")
        },
        "coze_accounts": len(built["coze_accounts"]),
        "rounds": args.rounds,
        "settings": args.settings,
        # The machine's 1, 5 and 15 minute load averages, before and after measuring.
        "load_average": {"before": load_before, "after": [round(n, 2) for n in os.getloadavg()]},
        "floor_median_ms": round(measure.median(floor), 2),
        "floor_p95_ms": round(measure.p95(floor), 2),
        "floor_queries": samples[FLOOR][0].queries,
        "api_floor_median_ms": round(measure.median(api_floor), 2),
        "api_floor_p95_ms": round(measure.p95(api_floor), 2),
        "api_floor_queries": _constant_queries(samples[API_FLOOR]),
        **export,
        **creation,
        **identification,
        **enrollment,
        **conversion,
        **reuse,
        **sync,
        **dashboard,
        "requests_per_second": load["requests_per_second"],
        "errors": load["errors"],
        "load": load,
    }
    return {
        "pages": [
            _page_figures(database, page, samples, floor, inspected[page[1]]) for page in pages
        ],
        "api": [
            _api_figures(database, page, samples, api_floor, inspected[page[1]])
            for page in api_pages
        ],
        "summary": summary,
    }


# The database


def _recreate(database, url):
    """An empty database at `url`; the audit log's triggers forbid emptying one in place."""
    if database == "sqlite":
        path = Path(urlsplit(url).path)
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    _maintenance(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", "CREATE DATABASE {}")


def _drop(database, url):
    connections.close_all()
    if database == "sqlite":
        Path(urlsplit(url).path).unlink(missing_ok=True)
    else:
        _maintenance(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)")


def _maintenance(url, *statements):
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres", query=""))  # no Django options
    with psycopg.connect(server, autocommit=True) as connection:
        for statement in statements:
            connection.execute(sql.SQL(statement).format(sql.Identifier(name)))


def _settle(database):
    """PostgreSQL: what autovacuum does soon after a bulk load (statistics, visibility map).
    SQLite: nothing; vpadmin never runs ANALYZE there."""
    if database == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _session_for(user):
    """A signed-in session for `user`, made in the database (no sign-in form, no lockout)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # the model backend
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _token_for(user):
    """A read-write API token of `user`'s, as a script holds one. Its use is noted at most
    once a minute (one UPDATE): noted ahead here, so that every request of a list makes the
    same queries and the count is the steady one."""
    from groups.actors import Actor
    from groups.models import ApiToken
    from groups.services import tokens

    actor = Actor(user=user, username=user.get_username())
    token, secret = tokens.create_token(actor, user, name="bench", read_only=False)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() + timedelta(days=1))
    return secret


def _facts():
    """Which device, page and date the measured URLs name."""
    from groups.models import AuditEntry

    busiest = (
        AuditEntry.objects.exclude(device_id=None)
        .values("device_id")
        .annotate(n=Count("id"))
        .order_by("-n", "device_id")
        .first()
    )
    rows = AuditEntry.objects.count()
    return {
        **_register_facts(),
        "device": busiest["device_id"],
        "audit_rows": rows,
        "last_page": math.ceil(rows / PAGE_SIZE),
        "since": (timezone.localdate() - timedelta(days=90)).isoformat(),
    }


def _register_facts():
    """A group holding ten voiceprints, all with people; one of its voiceprints; and the
    person with the most voiceprints (and consents)."""
    from groups.models import FEATURES_MAX, Person, Voiceprint, VoiceprintGroup

    active = Q(voiceprints__state=Voiceprint.State.ACTIVE)
    full = (
        VoiceprintGroup.objects.active()
        .annotate(
            held=Count("voiceprints", filter=active),
            vouched=Count("voiceprints", filter=active & Q(voiceprints__person__isnull=False)),
        )
        .filter(held=FEATURES_MAX, vouched=FEATURES_MAX)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    voiceprint = Voiceprint.objects.filter(group=full).order_by("id").values_list("id", flat=True)
    counted = {"n": Count("voiceprints", distinct=True), "c": Count("consents", distinct=True)}
    person = (
        Person.objects.annotate(**counted)
        .order_by("-n", "-c", "id")
        .values_list("id", flat=True)
        .first()
    )
    return {"full_group": full, "voiceprint": voiceprint.first(), "person": person}


def _pages(facts):
    """(name, vpadmin's path, Django admin's path for the same rows or None)."""
    device, last, since, q = facts["device"], facts["last_page"], facts["since"], quote(SEARCH)
    full, voiceprint, person = facts["full_group"], facts["voiceprint"], facts["person"]
    admin = "/admin/groups/"
    return [
        ("dashboard", "/", None),
        ("devices", "/devices/", f"{admin}device/"),
        # No admin change list shows what a device's page does (its groups and its history).
        ("device page", f"/devices/{device}/", None),
        ("groups", "/groups/", f"{admin}voiceprintgroup/"),
        ("groups, searched", f"/groups/?q={q}", f"{admin}voiceprintgroup/?q={q}"),
        ("audit, first page", "/audit/", f"{admin}auditentry/"),
        ("audit, last page", f"/audit/?page={last}", f"{admin}auditentry/?p={last}"),
        (
            "audit, filtered",
            f"/audit/?device={device}&outcome=failure&since={since}",
            f"{admin}auditentry/?device__id__exact={device}&outcome__exact=failure"
            f"&created_at__gte={since}",
        ),
        ("quota", "/quota/", None),
        # The test console lists every active group (a thousand) to choose from.
        ("identify", "/identify/", None),
        # A group's page lists its voiceprints: the admin's list of the same ten.
        ("group page", f"/groups/{full}/", f"{admin}voiceprint/?group__id__exact={full}"),
        # One voiceprint, its person, consent and history: no change list shows that.
        ("voiceprint page", f"/voiceprints/{voiceprint}/", None),
        ("people", "/people/", f"{admin}person/"),
        # A person's consents, voiceprints and history: no change list shows that.
        ("person page", f"/people/{person}/", None),
    ]


def _api_pages(facts):
    """(name, the API's list, the page of the same rows): the first 50 rows of each, and
    the audit log's last 50."""
    last_offset = (facts["last_page"] - 1) * PAGE_SIZE
    return [
        ("API devices", "/api/devices/", "/devices/"),
        ("API groups", "/api/groups/", "/groups/"),
        ("API audit", "/api/audit/", "/audit/"),
        (
            "API audit, last page",
            f"/api/audit/?offset={last_offset}",
            f"/audit/?page={facts['last_page']}",
        ),
    ]


# Figures


def _api_figures(database, page, samples, api_floor, inspected):
    """An API list beside the API's floor (its target: 2 × that + 20 ms, as a page's is
    against the pages' floor) and beside the page that shows the same rows."""
    name, path, html = page
    figures = _figures(database, name, path, samples, api_floor, inspected)
    html_median = measure.median([s.server_ms for s in samples[html]])
    figures |= {
        "html_page": html,
        "html_median_ms": round(html_median, 2),
        "html_queries": _constant_queries(samples[html]),
        "ratio_to_html": round(figures["median"] / html_median, 2),
    }
    return _floor_target(figures)


def _page_figures(database, page, samples, floor, inspected):
    """A page beside the floor and beside Django admin's list of the same rows, if any."""
    name, path, admin = page
    figures = _figures(database, name, path, samples, floor, inspected)
    figures |= dict.fromkeys(("admin_median_ms", "admin_p95_ms", "admin_queries", "ratio_to_admin"))
    figures["admin_page"] = admin
    if admin:
        admin_times = [s.server_ms for s in samples[admin]]
        figures.update(
            admin_median_ms=round(measure.median(admin_times), 2),
            admin_p95_ms=round(measure.p95(admin_times), 2),
            admin_queries=_constant_queries(samples[admin]),
            ratio_to_admin=round(figures["median"] / measure.median(admin_times), 2),
        )
    figures["meets_admin_target"] = admin is None or figures["ratio_to_admin"] < 1
    return _floor_target(figures)


def _figures(database, name, path, samples, floor, inspected):
    """What a page and an API list have in common: time, queries, against their floor
    (its limit: 2 × the floor's median + 20 ms). `median` (unrounded) is dropped by
    _floor_target()."""
    times = [s.server_ms for s in samples[path]]
    median, floor_median = measure.median(times), measure.median(floor)
    return {
        "page": path,
        "name": name,
        "database": database,
        "median": median,
        "median_ms": round(median, 2),
        "p95_ms": round(measure.p95(times), 2),
        "queries": _constant_queries(samples[path]),
        "floor_median_ms": round(floor_median, 2),
        "limit_ms": round(2 * floor_median + 20, 2),
        "ratio_to_floor": round(median / floor_median, 2),
        "audit_count_queries": inspected["audit_counts"],
    }


def _floor_target(figures):
    del figures["median"]
    figures["meets_floor_target"] = figures["median_ms"] <= figures["limit_ms"]
    return figures


def _constant_queries(samples):
    counts = {s.queries for s in samples}
    if len(counts) != 1:
        raise RuntimeError(f"query count varied between requests of one page: {counts}")
    return counts.pop()


def _sync(sim):
    """A sync of each account, Coze listing it as the register holds it, as the app runs
    them (a job per account, each running sync_groups() for its account): per account its
    calls (counted at the simulator: list calls, any other) and its own work, the time of
    sync_groups() less its list calls' (their `duration_ms`, in the sync's audit row). A
    first sync of each, unmeasured, asks Coze whose its token is (users/me, once a
    process) and settles whatever the simulator holds that the register does not."""
    from bench import dataset
    from groups.actors import Actor
    from groups.models import CozeAccount
    from groups.services.listing import PAGE_SIZE as LIST_PAGE
    from groups.services.sync import sync_groups

    dataset.mirror_on(sim)
    actor = Actor.for_command("sync_coze_groups")
    figures = []
    for account in CozeAccount.objects.configured():
        served = sim.account(account.name)
        sync_groups(actor, account=account)
        first = len(served.requests)
        started = time.perf_counter()
        result = sync_groups(actor, account=account)
        seconds = time.perf_counter() - started
        calls = served.requests[first:]
        coze_seconds = result.entry.duration_ms / 1000
        listed = [c for c in calls if c["method"] == "GET" and c["path"] == LIST_GROUPS]
        figures.append(
            {
                "account": account.name,
                "groups": result.remote_total,
                "calls": len(calls),
                "list_calls": len(listed),
                "pages": max(1, math.ceil(result.remote_total / LIST_PAGE)),
                "voiceprint_calls": result.voiceprints.lists,
                "changed": result.changed,
                "seconds": round(seconds, 3),
                "coze_seconds": round(coze_seconds, 3),
                "local_seconds": round(seconds - coze_seconds, 3),
            }
        )
        log(
            f"  {account.name}: {result.remote_total:,} groups, {len(calls)} calls "
            f"({len(listed)} list calls), own work {seconds - coze_seconds:.2f} s"
        )
    return {"sync_accounts": figures}


def _dashboard_after_prune(database, env, log_path, session_key, rounds):
    """The dashboard, and the floor beside it, once the log is pruned to its latest
    SMALL_LOG rows (as prune_audit would, past its guard): the same last days, the same
    failures and latest rows, a tenth of the log. Whatever grows with the log's length
    shows as the difference from the page's time on the whole log."""
    from groups.immutability import removal_allowed
    from groups.models import AuditEntry

    cutoff = AuditEntry.objects.order_by("-created_at", "-id").values_list("created_at", flat=True)[
        SMALL_LOG - 1
    ]
    with removal_allowed(connection), connection.cursor() as cursor:
        cursor.execute("DELETE FROM groups_auditentry WHERE created_at < %s", [cutoff])
        removed = cursor.rowcount
    _settle(database)
    rows = AuditEntry.objects.count()
    log(f"  {removed:,} rows removed, {rows:,} left")
    with Gunicorn(env, workers=1, log_path=log_path) as server:
        client = measure.SignedInClient(server.url, session_key)
        samples = measure.pages(client, ["/", FLOOR], rounds=rounds, log=log)
    return {
        "dashboard_small_log_rows": rows,
        "dashboard_small_log_ms": round(measure.median([s.server_ms for s in samples["/"]]), 2),
        "dashboard_small_log_floor_ms": round(
            measure.median([s.server_ms for s in samples[FLOOR]]), 2
        ),
    }


def _export(client, pid, rows):
    times = EXPORT_RUNS if rows <= 2 * SMALL_LOG else 1  # a million rows: once
    runs = [measure.export(client, EXPORT, expected_rows=rows, pid=pid) for _ in range(times)]
    return {
        "export_rows": rows,
        "export_seconds": round(measure.median([r[0] for r in runs]), 2),
        "export_seconds_max": round(max(r[0] for r in runs), 2),
        "export_peak_mb": round(max(r[1] for r in runs), 1),
        "export_growth_mb": round(max(r[2] for r in runs), 1),
    }


def _creations(client, count, made_after):
    """A group for each of new devices (in no account yet, so each creation reads every
    account's quota and picks the most free, as for a new device in the fleet): the
    request's own cost, its server time less the Coze call's."""
    from django.db.models import Count

    from groups.models import Device, VoiceprintGroup

    held = VoiceprintGroup.objects.active().count()
    new = [
        Device(serial=f"BENCH-NEW-{n:04d}", name=f"New device {n}", location="Bench")
        for n in range(count + CREATION_WARMUP)
    ]
    devices = [device.pk for device in Device.objects.bulk_create(new)]
    if None in devices:  # a database that gives no ids back
        devices = list(
            Device.objects.filter(serial__startswith="BENCH-NEW-").values_list("id", flat=True)
        )
    samples = measure.creations(client, devices, count, warmup=CREATION_WARMUP)
    coze_ms = _coze_ms(samples, "GROUP_CREATE")
    overheads = [s.server_ms - coze_ms[s.request_id] for s in samples]
    made = (
        VoiceprintGroup.objects.filter(pk__gt=made_after)
        .values_list("account__name")
        .annotate(n=Count("pk"))
        .order_by("account__name")
    )
    return {
        "creations": count,
        "groups_before_creations": held,
        "create_accounts": dict(made),  # where the creations (and warm-ups) went
        "create_overhead_ms": round(measure.median(overheads), 2),
        "create_overhead_p95_ms": round(measure.p95(overheads), 2),
        "create_server_median_ms": round(measure.median([s.server_ms for s in samples]), 2),
        "create_coze_median_ms": measure.median(list(coze_ms.values())),
        "create_queries": _constant_queries(samples),
    }


def _identifications(client, made_after, count):
    """Tests in one of the groups just created (ids above `made_after`: empty, on the
    simulator) (bench/identify.py)."""
    from groups.models import VoiceprintGroup

    group = VoiceprintGroup.objects.active().filter(pk__gt=made_after).latest("id")
    return identify.run(client, group, count)


def _enrollments(client, sim, made_after, recordings, count):
    """Enrollments of one person (with a consent in force) in a group just created (ids
    above `made_after`), for each recording; a request's own cost is its server time less
    the Coze call's (the audit row's duration_ms). Each place is freed after its request,
    outside the time."""
    from groups.models import Consent, Voiceprint, VoiceprintGroup

    made = VoiceprintGroup.objects.active().filter(pk__gt=made_after)
    group = made.filter(voiceprints=None).latest("id")  # not the identification's, full
    served = sim.account(group.account.name)
    person = Consent.objects.in_force().order_by("person_id").values_list("person", flat=True)[0]

    def free_place(voiceprint_id):
        voiceprint = Voiceprint.objects.get(pk=voiceprint_id)
        served.delete_voiceprint(voiceprint.coze_id)
        voiceprint.state, voiceprint.ended_at = Voiceprint.State.DELETED, timezone.now()
        voiceprint.save(update_fields=["state", "ended_at"])

    figures = {"enrollments": count}
    for case in recordings:
        name = case.name.removeprefix("enroll_convert_").removesuffix("_ms")  # e.g. m4a_30s
        upload = (case.filename, case.upload)
        samples = measure.enrollments(
            client, group.pk, person, upload, count, free_place=free_place
        )
        coze_ms = _coze_ms(samples, "VOICEPRINT_CREATE")
        overheads = [s.server_ms - coze_ms[s.request_id] for s in samples]
        figures |= {
            f"enroll_overhead_{name}_ms": round(measure.median(overheads), 2),
            f"enroll_overhead_{name}_p95_ms": round(measure.p95(overheads), 2),
            f"enroll_server_{name}_ms": round(measure.median([s.server_ms for s in samples]), 2),
            f"enroll_coze_{name}_ms": measure.median(list(coze_ms.values())),
            f"enroll_queries_{name}": _constant_queries(samples),
            f"enroll_upload_{name}_bytes": len(case.upload),
        }
    return figures


def _coze_ms(samples, action):
    """{request id: duration_ms of its successful Coze call} from the audit log."""
    from groups.models import AuditEntry

    coze_ms = dict(
        AuditEntry.objects.filter(
            request_id__in=[s.request_id for s in samples],
            action=getattr(AuditEntry.Action, action),
            outcome=AuditEntry.Outcome.SUCCESS,
        ).values_list("request_id", "duration_ms")
    )
    if len(coze_ms) != len(samples):
        raise RuntimeError(f"{len(samples)} requests but {len(coze_ms)} successful audit rows")
    return coze_ms


def _conversions(recordings, runs):
    """groups.audio.prepare() alone on each recording (bench/audio.py), in this process."""
    figures = {"enroll_speech": bench_audio.spoken()[1]}
    for case in recordings:
        times = bench_audio.timed(case.upload, runs)
        figures |= {
            case.name: round(measure.median(times), 2),
            case.name.removesuffix("_ms") + "_p95_ms": round(measure.p95(times), 2),
            case.name.removesuffix("_ms") + "_limit_ms": round(case.limit_ms, 1),
        }
    return figures


def _connection_reuse(sim):
    """The service module's client (one keep-alive session) against a new session a call."""
    from groups.coze import CozeClient

    def timed(make_client):
        first = len(sim.requests)
        started = time.perf_counter()
        shared = None
        for n in range(REUSE_CALLS):
            client = make_client(shared)
            client.create_group(f"reuse {n}")
            shared = client
        per_call = (time.perf_counter() - started) * 1000 / REUSE_CALLS
        connections = {r["connection"] for r in sim.requests[first:]}
        return round(per_call, 3), len(connections)

    def new_client():
        return CozeClient(sim.url, TOKEN, 10.0)

    kept_ms, kept_connections = timed(lambda shared: shared or new_client())
    fresh_ms, fresh_connections = timed(lambda shared: new_client())
    return {
        "coze_calls": REUSE_CALLS,
        "coze_keepalive_ms_per_call": kept_ms,
        "coze_keepalive_connections": kept_connections,
        "coze_new_session_ms_per_call": fresh_ms,
        "coze_new_session_connections": fresh_connections,
    }


# Queries, seen from inside


def _counts_the_log(statement):
    """Whether a statement counts rows of the audit log itself; a subquery that counts a
    few of its rows for another table's figure (the quota's pending creations) does not."""
    outer, depth, at = [], 0, 0
    while at < len(statement):
        if statement.startswith("(SELECT", at):
            depth = 1
            at += 1
            while depth and at < len(statement):
                depth += {"(": 1, ")": -1}.get(statement[at], 0)
                at += 1
            outer.append("()")
            continue
        outer.append(statement[at])
        at += 1
    text = "".join(outer)
    return "COUNT(" in text.upper() and 'FROM "groups_auditentry"' in text


def _inspect(pages, session_key, *, explain, token=None):
    """Each vpadmin page's statements, in process (signed in, or with the API `token`):
    how many count audit rows; with `explain`, every statement with its time and plan
    (EXPLAIN ANALYZE on PostgreSQL)."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    if token:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    else:
        client.cookies["sessionid"] = session_key
    inspected = {}
    for name, path, _ in pages:
        with CaptureQueriesContext(connection) as captured:
            status = client.get(path).status_code
        if status != 200:
            raise RuntimeError(f"GET {path} answered HTTP {status} in process")
        statements = [q["sql"] for q in captured.captured_queries]
        counts = [s for s in statements if _counts_the_log(s)]
        inspected[path] = {"audit_counts": len(counts)}
        if explain:
            print(f"\n### {name}: {path} ({len(statements)} statements)")
            for query in captured.captured_queries:
                _print_plan(connection, query)
    return inspected


def _print_plan(connection, query):
    sql = query["sql"]
    print(f"\n-- {float(query['time']) * 1000:.2f} ms: {sql[:600]}")
    if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
        return
    prefix = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        for row in cursor.fetchall():
            print("   ", " | ".join(str(column) for column in row))
