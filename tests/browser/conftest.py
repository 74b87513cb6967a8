"""Browser tests: the system Chromium, driven by Playwright, against a live server and the
Coze simulator. Without Chromium they are skipped, except under CI, where that is an error."""

import os
import shutil
from datetime import timedelta
from hashlib import sha1
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace

import pytest

# Playwright's sync API keeps an event loop running in the test's thread; the ORM calls the
# tests make around it are still plain synchronous ones. Set before Django touches the DB.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from groups.models import (  # noqa: E402
    AuditEntry,
    Consent,
    CozeAccount,
    Device,
    Job,
    Person,
    Voiceprint,
    VoiceprintGroup,
)

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parents[1] / "screenshots"
CHROMIUM = shutil.which("chromium")
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Chromium resolves no outside host: a page that loads anything from the internet fails.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TEAM_READERS = import_module("groups.migrations.0010_sign_in_and_accounts").TEAM_READERS
JOB_READERS = import_module("groups.migrations.0013_jobs").JOB_READERS
PEOPLE_ROLES = import_module("groups.migrations.0015_people_consent_voiceprints").ROLES
TESTING_ROLES = import_module("groups.migrations.0017_identify_withdraw_retention").ROLES
IMPORT_ROLES = import_module("groups.migrations.0022_imports").ROLES
ROLES = {  # as the migrations leave them
    role: names
    + (["auth.view_user"] if role in TEAM_READERS else [])
    + (["groups.view_job"] if role in JOB_READERS else [])
    + [f"groups.{codename}" for codename in PEOPLE_ROLES[role] + TESTING_ROLES[role]]
    + [f"groups.{codename}" for codename in IMPORT_ROLES.get(role, [])]
    for role, names in import_module("groups.migrations.0002_roles").ROLES.items()
}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.hookimpl(trylast=True)  # after pytest-django's and pytest's own reordering
def pytest_collection_modifyitems(config, items):
    """Run this folder's tests last; without Chromium, skip them, or stop the run under CI."""
    ours = [item for item in items if HERE in item.path.parents]
    # Last: once Playwright runs, Django's connections in this thread are other objects, and
    # the other threaded tests' serialized rollback would find nothing to restore.
    items[:] = [item for item in items if item not in ours] + ours
    if CHROMIUM or not ours:
        return
    if IN_CI:
        raise pytest.UsageError(
            "CI is set but Chromium is missing: the browser tests are required "
            "(apt-get install chromium fonts-wqy-microhei)."
        )
    skip = pytest.mark.skip(
        reason="Chromium not found (apt-get install chromium fonts-wqy-microhei to run them)"
    )
    for item in ours:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def device(pytestconfig):
    """pytest-playwright's emulated device (--device), which tests/conftest.py's `device`
    (a Device row) would otherwise shadow here."""
    return pytestconfig.getoption("--device")


@pytest.fixture(scope="session")
def base_url(live_server):
    """Pages are opened relative to the live server: page.goto("/devices/")."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": DESKTOP,
        "locale": "en-US",
        "timezone_id": "UTC",
    }


@pytest.fixture(autouse=True)
def _migrated_content(live_server, transactional_db):
    """What the migrations put in the database (content types, permissions, the roles),
    made again if a flush at the end of an earlier threaded test removed it. Serialized
    rollback cannot do it here: once Playwright runs an event loop in this thread, Django
    hands out other connection objects than the one that holds the serialized copy."""
    from django.contrib.auth.models import Group, Permission
    from django.core.management.sql import emit_post_migrate_signal

    if Group.objects.filter(name__in=ROLES).count() != len(ROLES):
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
        for role, names in ROLES.items():
            group, _created = Group.objects.get_or_create(name=role)
            codenames = [name.split(".") for name in names]
            group.permissions.set(
                Permission.objects.get(content_type__app_label=app, codename=codename)
                for app, codename in codenames
            )
        CozeAccount.objects.get_or_create(name="default")


@pytest.fixture(autouse=True)
def _nothing_from_the_internet(context, live_server):
    """Every request a page makes goes to vpadmin itself (fonts, scripts, styles included)."""
    outside = []

    def watch(request):
        if not request.url.startswith((live_server.url, "data:", "about:", "blob:")):
            outside.append(request.url)

    context.on("request", watch)
    yield
    assert not outside, f"pages requested outside addresses: {outside}"


def session_cookie(user, url):
    """A signed-in session for `user` as a browser cookie for `url`."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": url}


@pytest.fixture
def sign_in(context, live_server):
    """Put a session for `user` into the browser (a real sign-in is the login test's job)."""

    def sign_in(user):
        context.add_cookies([session_cookie(user, live_server.url)])
        return user

    return sign_in


@pytest.fixture(scope="session")
def axe():
    return Axe()


@pytest.fixture
def assert_accessible(axe):
    """Run axe-core's WCAG 2 A and AA rules on the page as it is; no violation may remain."""

    def check(page):
        options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
        results = axe.run(page, options=options)
        assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"

    return check


@pytest.fixture
def screenshot():
    """Save the whole page at desktop and phone width: screenshots/{desktop,phone}-NAME.png.
    At either width the page itself must not scroll sideways (wide tables scroll inside)."""

    def save(page, name):
        SCREENSHOTS.mkdir(exist_ok=True)
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.screenshot(path=SCREENSHOTS / f"{label}-{name}.png", full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= size["width"], f"{name} is {width} px wide at {label} width"
        page.set_viewport_size(DESKTOP)

    return save


@pytest.fixture
def sample_register(make_user):
    """A register a team might have after two months: Chinese and English names, a few
    failures and refusals in the audit log, groups made elsewhere, one group gone."""
    with transaction.atomic():  # one commit, not sixty
        return _fill_register(make_user)


def _fill_register(make_user):
    now = timezone.now().replace(second=0, microsecond=0)

    def ago(days, hours=0, minutes=0):
        return now - timedelta(days=days, hours=hours, minutes=minutes)

    def logid(when, seed):  # Coze's shape: the time, then hex
        return f"{when:%Y%m%d%H%M%S}{sha1(seed.encode()).hexdigest()[:18].upper()}"

    ada = make_user("ada", "Administrator")
    olga = make_user("olga", "Operator")
    wang = make_user("wangwei", "Operator")
    wang.first_name = "王伟"
    wang.save()
    make_user("vera", "Viewer")
    devices = [
        Device.objects.create(name=name, serial=serial, location=location)
        for name, serial, location in [
            ("客厅音箱", "SPK-LR-0001", "北京 · 朝阳区 · 客厅"),
            ("Front desk kiosk", "KSK-0042", "Shanghai office, lobby"),
            ("车载语音助手", "CAR-7781-A", "京A·12345"),
            ("Meeting room B", "MTG-B-02", "Shenzhen office, 3F"),
            ("Warehouse scanner", "WH-SCN-9", ""),
        ]
    ]
    living_room, kiosk, car, meeting, _warehouse = devices
    groups = []
    for when, name, device, creator in [
        (ago(55, 4, 12), "家庭成员", living_room, olga),
        (ago(48, 1, 40), "Reception staff", kiosk, olga),
        (ago(40, 6, 5), "访客", living_room, wang),
        (ago(33, 2, 51), "Drivers", car, wang),
        (ago(21, 5, 17), "Board members", meeting, olga),
        (ago(12, 3, 33), "夜班保安", kiosk, wang),
        (ago(6, 7, 2), "Weekly standup", meeting, olga),
        (ago(2, 0, 48), "儿童", living_room, wang),
    ]:
        groups.append(
            VoiceprintGroup.objects.create(
                coze_id=f"74{len(groups) + 1:017d}",
                name=name,
                desc=f"{name} · {device.location}",
                device=device,
                creator=creator,
                created_at=when,
                logid=logid(when, name),
                feature_count=len(groups) + 2,
            )
        )
    remote = [
        VoiceprintGroup.objects.create(
            coze_id=f"75{n:017d}", name=f"remote group {n}", created_at=ago(1, 2, n)
        )
        for n in range(1, 3)
    ]
    # Enrolled by a colleague in Coze's console and imported by a sync: nobody's yet.
    for n, name in enumerate(["前台 张敏", "Night guard"], 1):
        Voiceprint.objects.create(
            coze_id=f"77{n:017d}",
            group=remote[0],
            name=name,
            coze_creator_id="7400000000000000042",
            coze_creator_name="zhang.min",
            remote_created_at=ago(3, n),
            created_at=ago(1, 2, n),
        )
    VoiceprintGroup.objects.create(
        coze_id="7600000000000000001",
        name="Old demo",
        state=VoiceprintGroup.State.GONE,
        created_at=ago(70),
        ended_at=ago(1, 2),
    )
    CozeAccount.objects.update_or_create(
        pk=1, defaults={"remote_total": 10, "synced_at": ago(1, 2)}
    )

    def entry(when, user, action, outcome, **fields):
        AuditEntry.objects.create(
            created_at=when,
            actor=user,
            action=action,
            outcome=outcome,
            ip_address="10.0.0.8",
            **{"actor_username": user.username if user else "", **fields},
        )

    Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
    for group in groups:
        entry(
            group.created_at,
            group.creator,
            Action.GROUP_CREATE,
            Outcome.SUCCESS,
            target_type="voiceprintgroup",
            target_id=str(group.pk),
            target_label=group.name,
            device=group.device,
            sent_name=group.name,
            coze_code=0,
            coze_logid=group.logid,
            http_status=200,
            duration_ms=180,
        )
    entry(
        ago(26, 3, 9),
        wang,
        Action.GROUP_CREATE,
        Outcome.FAILURE,
        device=car,
        sent_name="乘客",
        coze_code=4101,
        coze_msg="The token has no permission for createVoiceprintGroup.",
        coze_logid=logid(ago(26, 3, 9), "乘客"),
        http_status=200,
        duration_ms=95,
    )
    entry(
        ago(9, 8, 41),
        olga,
        Action.GROUP_CREATE,
        Outcome.UNKNOWN,
        device=kiosk,
        sent_name="Night cleaners",
        detail="Coze did not answer within 10 s (timeout).",
    )
    entry(
        ago(4, 1, 15),
        olga,
        Action.GROUP_CREATE,
        Outcome.REFUSED,
        sent_name="A name that is far too long for Coze",
        detail="name: Ensure this value has at most 20 characters (it has 36).",
    )
    entry(ago(3, 9, 2), None, Action.LOGIN_FAILED, Outcome.FAILURE, actor_username="admin")
    entry(
        ago(1, 2),
        ada,
        Action.GROUP_SYNC,
        Outcome.SUCCESS,
        detail="imported 2, updated 0, gone 1",
        http_status=200,
    )
    synced = Job.objects.create(
        kind=Job.Kind.SYNC,
        state=Job.State.SUCCEEDED,
        user=ada,
        username=ada.username,
        created_at=ago(1, 2),
        started_at=ago(1, 2),
        finished_at=ago(1, 2) + timedelta(seconds=3),
        attempts=1,
        done=2,
        total=2,
        results=[
            {
                "outcome": "success",
                "facts": {"say": "listed_page", "page": page, "groups": n},
                "logid": logid(ago(1, 2), f"page {page}"),
            }
            for page, n in [(1, 200), (2, 11)]
        ],
        summary={
            "say": "synced",
            "counts": {"imported": 2, "updated": 0, "gone": 1, "resolved": 0},
            "total": 211,
            "calls": 2,
        },
    )
    Job.objects.create(  # the scheduled sync, run by a command
        kind=Job.Kind.SYNC,
        state=Job.State.FAILED,
        via=AuditEntry.Via.COMMAND,
        program="manage.py sync_coze_groups",
        created_at=ago(0, 1),
        started_at=ago(0, 1),
        finished_at=ago(0, 1),
        attempts=1,
        results=[{"outcome": "failure", "facts": {"say": "sync_failed", "page": 1}}],
        summary={
            "say": "sync_job_failed",
            "failure": {"say": "sync_failed", "page": 1, "reason": "Internal Server Error"},
            "code": None,
            "http_status": 503,
            "logid": "",
        },
    )
    running = Job.objects.create(
        kind=Job.Kind.SYNC,
        state=Job.State.RUNNING,
        user=olga,
        username=olga.username,
        created_at=now,
        started_at=now,
        heartbeat_at=timezone.now() + timedelta(hours=1),  # alive for as long as the test
        worker="worker-2:4242",
        attempts=1,
        done=1,
        total=3,
        results=synced.results[:1],
    )
    people = _people(groups, ada, olga, ago)
    # Olga tested the living room's family group: the device's page lists the test.
    family = groups[0]
    entry(
        ago(0, 3, 12),
        olga,
        Action.VOICEPRINT_IDENTIFY,
        Outcome.SUCCESS,
        target_type="voiceprintgroup",
        target_id=str(family.pk),
        target_label=family.name,
        device=living_room,
        coze_code=0,
        coze_logid=logid(ago(0, 3, 12), "identify"),
        http_status=200,
        duration_ms=210,
        facts={
            "say": "identified",
            "clip_seconds": 6.2,
            "threshold": 40,
            "top": {
                "feature_id": f"760{family.pk:016d}",
                "name": people[0].name,
                "person": people[0].name,
                "person_id": people[0].pk,
                "score": 78.4,
                "recognised": True,
            },
            "scores": [
                {"feature_id": f"760{family.pk:016d}", "score": 78.4},
                {"feature_id": f"761{family.pk:016d}", "score": 22.7},
            ],
            "count": 2,
        },
    )
    return SimpleNamespace(
        admin=ada,
        operator=olga,
        devices=devices,
        groups=groups,
        job=synced,
        running=running,
        people=people,
    )


def _people(groups, ada, olga, ago):
    """People enrolled on the devices, with consents in force, withdrawn and expired."""
    today = timezone.localdate()
    family, reception = groups[0], groups[1]
    people = []
    for name, reference, consent, voiceprints in [
        (
            "王小明",
            "FAM-01",
            {"given_by": "guardian", "guardian_name": "李娜", "guardian_relation": "母亲"},
            [family],
        ),
        ("Chen Jing", "EMP-0042", {}, [reception, family]),
        ("张伟", "", {"withdrawn_at": ago(3)}, []),
        ("Former visitor", "V-17", {"expired": True}, []),
    ]:
        person = Person.objects.create(
            name=name, reference=reference, created_by=olga, created_at=ago(40)
        )
        given_on = today - timedelta(days=2000 if consent.pop("expired", False) else 30)
        Consent.objects.create(
            person=person,
            method="signed_form",
            purpose="Recognising your voice on our devices so that they can respond to you.",
            given_on=given_on,
            keep_until=given_on + timedelta(days=1095),
            recorded_by=olga,
            recorded_by_name=olga.username,
            recorded_at=ago(30),
            **{"given_by": "person", **consent},
        )
        for group in voiceprints:
            Voiceprint.objects.create(
                coze_id=f"76{len(people)}{group.pk:016d}",
                group=group,
                name=name[:20],
                person=person,
                enrolled_by=ada,
                enrolled_by_name=ada.username,
                created_at=ago(29),
                keep_until=given_on + timedelta(days=1095),
            )
        people.append(person)
    return people
