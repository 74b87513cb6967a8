"""The benchmark's data: a full Coze account and a busy year of audit log.

At scale 1: 1,000 devices, 1,000 voiceprint groups (999 active, one deleted: the quota is
nearly full), 20 team accounts, 5,000 people with their consents and the groups'
voiceprints (bench/people.py), and 100,000 audit rows spread over the last 365 days with a
realistic mix of actions, outcomes, devices and Coze logids, the recording of those people,
consents and voiceprints among them. At scale N (`--scale N`, sizes()), N times the
devices, groups, voiceprints and audit rows, the same 5,000 people (fewer below scale 1,
for quick tests). The groups are spread over N Coze accounts (`coze_accounts`, the default
then b2, b3, ...: about 1,000 groups each), each group in its device's account.
Deterministic (a fixed seed).

Each group is as a sync left it (Coze's times, its voiceprints read): a sync of a
simulator that lists the same groups (mirror_on()) finds nothing changed.
"""

import functools
import random
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from bench import people as register_people
from bench.run import account_names, account_of, groups_held, sizes  # noqa: F401 (run.py's)
from groups.models import AuditEntry, CozeAccount, Device, VoiceprintGroup

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
BATCH = 2000
DAYS = 365
ADMIN_USERNAME = "bench-admin"

ROOMS = ["客厅", "卧室", "厨房", "书房", "Lobby", "Kiosk", "Car", "Office", "Hall", "Studio"]
SITES = ["Beijing", "Shanghai", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan", "Berlin", "Paris"]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/138.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
]
# (action, weight in %, outcome weights): a year of a busy team.
ACTIONS = [
    (Action.LOGIN, 18, {Outcome.SUCCESS: 1}),
    (Action.LOGOUT, 12, {Outcome.SUCCESS: 1}),
    (Action.LOGIN_FAILED, 3, {Outcome.REFUSED: 1}),
    (Action.PERMISSION_DENIED, 2, {Outcome.REFUSED: 1}),
    (
        Action.GROUP_CREATE,
        12,
        {Outcome.SUCCESS: 82, Outcome.FAILURE: 8, Outcome.REFUSED: 6, Outcome.UNKNOWN: 4},
    ),
    (Action.GROUP_UPDATE, 15, {Outcome.SUCCESS: 90, Outcome.FAILURE: 6, Outcome.REFUSED: 4}),
    (Action.GROUP_DELETE, 3, {Outcome.SUCCESS: 90, Outcome.FAILURE: 7, Outcome.UNKNOWN: 3}),
    (Action.GROUP_SYNC, 5, {Outcome.SUCCESS: 92, Outcome.FAILURE: 6, Outcome.UNKNOWN: 2}),
    (Action.DEVICE_CREATE, 5, {Outcome.SUCCESS: 95, Outcome.REFUSED: 5}),
    (Action.DEVICE_UPDATE, 20, {Outcome.SUCCESS: 96, Outcome.REFUSED: 4}),
    (Action.DEVICE_DELETE, 5, {Outcome.SUCCESS: 70, Outcome.REFUSED: 30}),
]
COZE_ACTIONS = {Action.GROUP_CREATE, Action.GROUP_UPDATE, Action.GROUP_DELETE, Action.GROUP_SYNC}
COZE_ERRORS = [
    (4009, "已达系统请求上限，请稍后重试", 200),
    (4118, "voiceprint group quota exceeded", 200),
    (4000, "invalid parameter", 200),
    (5000, "internal server error", 500),
]


def build(
    *,
    coze_user,
    devices=1000,
    groups=1000,
    audit_rows=100_000,
    accounts=20,
    people=5000,
    coze_accounts=1,
    seed=6,
):
    """Fill an empty, migrated database; returns what the measurements need to know.
    `coze_user` is (id, name) of the token's Coze user, who made vpadmin's voiceprints, or
    {account name: (id, name)} for each account's token. `accounts` are team members';
    `coze_accounts` how many Coze accounts the groups are spread over (account_names())."""
    rng = random.Random(seed)
    now = timezone.now()
    _bulk_loading()
    with transaction.atomic():
        users = _accounts(accounts)
        coze_rows = _coze_accounts(coze_accounts)
        device_rows = _devices(rng, devices, now, coze_rows)
        group_rows = _groups(rng, groups, device_rows, users, now, coze_rows)
    # Its own generator, so the devices and groups are the same as without people.
    enrolled = register_people.build(
        random.Random(seed + 1), people, group_rows, users, now, _users_of(coze_rows, coze_user)
    )
    created = _audit(rng, audit_rows, users, device_rows, group_rows, now, enrolled.audit_rows)
    return {
        "admin": users[0],
        "coze_accounts": coze_rows,
        "devices": len(device_rows),
        "groups": len(group_rows),
        "last_group": group_rows[-1].pk,  # groups made later have greater ids
        "people": enrolled.people,
        "consents": enrolled.consents,
        "voiceprints": enrolled.voiceprints,
        "audit_rows": created,
    }


def _bulk_loading():
    """SQLite, this connection only: a page cache that holds the log's indexes (a million
    rows' request ids land all over theirs) and no wait for the disk at each batch's commit
    (a benchmark's data set, built again if lost). The server's connections keep the
    defaults."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:  # a test's: as is
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -131072")  # 128 MB
            cursor.execute("PRAGMA synchronous = OFF")


def _accounts(count):
    """A superuser Administrator (the benchmark signs in as this one: the admin, measured
    beside vpadmin's pages, is for superusers only), then Operators and Viewers."""
    roles = {name: Group.objects.get(name=name) for name in ("Administrator", "Operator", "Viewer")}
    User = get_user_model()
    users = []
    for n in range(count):
        username = ADMIN_USERNAME if n == 0 else f"person{n:02d}"
        user = User(
            username=username, email=f"{username}@example.com", is_staff=n == 0, is_superuser=n == 0
        )
        user.set_unusable_password()  # nobody signs in with a password: a session is made
        user.save()
        role = "Administrator" if n < 3 else "Operator" if n < 12 else "Viewer"
        user.groups.add(roles[role])
        users.append(user)
    return users


def _coze_accounts(count):
    """The rows of the Coze accounts the groups are spread over, in account_names()'s order."""
    return [CozeAccount.named(name) for name in account_names(count)]


def _users_of(coze_rows, coze_user):
    """{account id: (Coze user id, name)} of each account's token."""
    if isinstance(coze_user, dict):
        return {row.pk: coze_user[row.name] for row in coze_rows}
    return {row.pk: coze_user for row in coze_rows}


def _devices(rng, count, now, coze_rows):
    """The devices, the d-th in the account of its groups (account_of()); after the groups
    are made, those that hold none are in no account (_groups())."""
    rows = [
        Device(
            name=f"{ROOMS[n % len(ROOMS)]} {n + 1:04d}",
            serial=f"VP-{n + 1:06d}-{rng.getrandbits(24):06X}",
            location=f"{rng.choice(SITES)}, floor {rng.randint(1, 30)}",
            notes="" if n % 3 else "Installed by the field team.",
            account=coze_rows[n % len(coze_rows)],
        )
        for n in range(count)
    ]
    Device.objects.bulk_create(rows, batch_size=BATCH)
    return list(Device.objects.order_by("id"))


def _groups(rng, count, devices, users, now, coze_rows):
    creators = users[:12]  # Administrators and Operators
    coze_id = 7_400_000_000_000_000_000
    rows = []
    for n in range(count):
        account = coze_rows[account_of(n, devices=len(devices), accounts=len(coze_rows))]
        coze_id += rng.randint(1, 1 << 20)
        created = now - timedelta(seconds=rng.randint(0, DAYS * 86400))
        device = None if rng.random() < 0.05 else devices[n % len(devices)]
        feature_count = rng.randint(0, 12)
        # Coze's times are whole seconds; its voiceprints last read by a sync since.
        on_coze = created.replace(microsecond=0)
        rows.append(
            VoiceprintGroup(
                coze_id=str(coze_id),
                account=account,
                name=f"{ROOMS[n % len(ROOMS)]}声纹 {n + 1}"[:20],
                desc="" if n % 4 else "Family members of this home.",
                device=device,
                creator=rng.choice(creators),
                created_at=created,
                logid=_logid(rng, created),
                # One deleted: 999 active groups, the quota of 1,000 nearly full.
                state=VoiceprintGroup.State.DELETED if n == 0 else VoiceprintGroup.State.ACTIVE,
                ended_at=now if n == 0 else None,
                feature_count=feature_count,
                remote_created_at=on_coze,
                remote_updated_at=on_coze,
                voiceprints_read_at=now,
                voiceprints_read_count=feature_count,
                voiceprints_read_updated_at=on_coze,
            )
        )
    VoiceprintGroup.objects.bulk_create(rows, batch_size=BATCH)
    # A device is in an account once it holds a group (its first group's).
    Device.objects.filter(voiceprint_groups=None).update(account=None)
    return list(VoiceprintGroup.objects.order_by("id"))


def mirror_on(sim, groups=None):
    """Make the simulator list `groups` (default: every active group of the register) as
    the register holds them, each in its own account (served by the simulator under the
    same name), so that a sync of each account finds them unchanged; groups it already
    holds (made on it by the benchmark) are left as they are. Returns how many were added."""
    from groups.coze.simulator.state import DEFAULT_ICON_URL, user_info

    groups = VoiceprintGroup.objects.active() if groups is None else groups
    items = {}  # account name -> {coze id: item}
    for group in groups.select_related("account").only(
        "coze_id",
        "name",
        "desc",
        "feature_count",
        "remote_created_at",
        "remote_updated_at",
        "account__name",
    ):
        created = group.remote_created_at or group.created_at
        updated = group.remote_updated_at or created
        account = sim.account(group.account.name)
        items.setdefault(account.name, {})[group.coze_id] = {
            "id": group.coze_id,
            "name": group.name,
            "desc": group.desc,
            "icon_url": DEFAULT_ICON_URL,
            "feature_count": group.feature_count,
            "created_at": int(created.timestamp()),
            "updated_at": int(updated.timestamp()),
            "user_info": user_info(account.user),
        }
    added = 0
    with sim._lock:
        for name, listed in items.items():
            held = sim.account(name).groups
            fresh = {k: v for k, v in listed.items() if k not in held}
            held.update(fresh)
            added += len(fresh)
    return added


def _logid(rng, when):
    return when.strftime("%Y%m%d%H%M%S") + f"{rng.getrandbits(64):016X}"


def _audit(rng, count, users, devices, groups, now, recorded):
    """The creation row of every group, the rows `recorded` (people, consents, voiceprints)
    and random rows, `count` in all, inserted oldest first as a real log grows (ids follow
    time, so do the table's pages)."""
    actions = [action for action, _, _ in ACTIONS]
    weights = [weight for _, weight, _ in ACTIONS]
    outcomes = {action: outcome for action, _, outcome in ACTIONS}
    # A few people do most of the work.
    user_weights = [max(1, 40 - 2 * n) for n in range(len(users))]
    # (when, a function of the generator making the row, or None for a random row)
    moments = [
        (group.created_at, functools.partial(_group_creation, group=group, users=users))
        for group in groups
    ]
    moments += [(entry.created_at, functools.partial(_as_is, entry)) for entry in recorded]
    moments += [
        (now - timedelta(seconds=rng.randint(60, DAYS * 86400)), None)
        for _ in range(count - len(moments))
    ]
    moments.sort(key=lambda moment: moment[0])
    for first in range(0, len(moments), BATCH):
        rows = []
        for created, make in moments[first : first + BATCH]:
            if make is not None:
                rows.append(make(rng))
                continue
            action = rng.choices(actions, weights)[0]
            outcome = rng.choices(*zip(*outcomes[action].items(), strict=True))[0]
            user = rng.choices(users, user_weights)[0]
            rows.append(_entry(rng, action, outcome, user, created, devices, groups))
        insert(AuditEntry, rows)
    return len(moments) + _resolutions()


def insert(model, rows):
    """Insert unsaved `rows` of `model` in one transaction, fast: a million audit rows
    through bulk_create() spend most of their time compiling SQL (SQLite takes some 40 rows a
    statement). Here the columns are prepared once per value as Django would save them,
    then sent with one COPY (PostgreSQL: its audit log's statement triggers fire once) or
    one executemany() of a single INSERT (SQLite). Inserting is no change: the audit log's
    guards, which refuse UPDATE and DELETE, let it through as they let bulk_create()."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    values = (
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] for row in rows
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            # Names quoted from the model, values as parameters.
            statement = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(statement, list(values))


def _resolutions():
    """A year's creations that got no answer were all resolved by a sync since (found not
    on Coze): left open, each would hold a slot of the quota."""
    lost = AuditEntry.objects.filter(action=Action.GROUP_CREATE, outcome=Outcome.UNKNOWN)
    rows = [
        AuditEntry(
            action=Action.GROUP_CREATE,
            outcome=Outcome.FAILURE,
            created_at=entry.created_at + timedelta(minutes=6),
            device_id=entry.device_id,
            sent_name=entry.sent_name,
            sent_desc=entry.sent_desc,
            resolves_id=entry.pk,
            account_id=entry.account_id,
            via=AuditEntry.Via.COMMAND,
            user_agent="manage.py sync_coze_groups",
            facts={"say": "not_on_coze", "how": "sync"},
        )
        for entry in lost.only(
            "pk", "created_at", "device_id", "sent_name", "sent_desc", "account_id"
        )
    ]
    with transaction.atomic():
        AuditEntry.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def _as_is(entry, rng):
    return entry


def _group_creation(rng, group, users):
    creator = next(user for user in users if user.pk == group.creator_id)
    return AuditEntry(
        created_at=group.created_at,
        actor=creator,
        actor_username=creator.username,
        action=Action.GROUP_CREATE,
        outcome=Outcome.SUCCESS,
        request_id=uuid.UUID(int=rng.getrandbits(128)).hex,
        target_type="voiceprintgroup",
        target_id=str(group.pk),
        target_label=group.name,
        device_id=group.device_id,
        account_id=group.account_id,
        sent_name=group.name,
        sent_desc=group.desc,
        coze_code=0,
        coze_logid=group.logid,
        http_status=200,
        duration_ms=int(rng.lognormvariate(4.8, 0.5)),
        ip_address=_address(rng),
        user_agent=rng.choice(AGENTS),
    )


def _entry(rng, action, outcome, user, created, devices, groups):
    fields = {
        "created_at": created,
        "actor": user,
        "actor_username": user.username,
        "action": action,
        "outcome": outcome,
        "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "ip_address": _address(rng),
        "user_agent": rng.choice(AGENTS),
    }
    if action.startswith("group."):
        group = rng.choice(groups)
        fields["account_id"] = group.account_id  # the call went to the group's account
        if action != Action.GROUP_SYNC:
            fields.update(
                target_type="voiceprintgroup",
                target_id=str(group.pk),
                target_label=group.name,
                device_id=group.device_id,
            )
        if action in (Action.GROUP_CREATE, Action.GROUP_UPDATE):
            fields.update(sent_name=group.name, sent_desc=group.desc)
    elif action.startswith("device."):
        device = rng.choice(devices)
        fields.update(
            target_type="device",
            target_id=str(device.pk),
            target_label=str(device),
            device_id=device.pk,
        )
    elif action == Action.PERMISSION_DENIED:
        fields["detail"] = "groups.delete_voiceprintgroup for POST /groups/12/delete/"
    elif action == Action.LOGIN_FAILED:
        fields.update(actor=None, detail=user.username)
    if action in COZE_ACTIONS and outcome != Outcome.REFUSED:
        fields.update(_coze_answer(rng, outcome, created))
    elif outcome == Outcome.REFUSED and action in COZE_ACTIONS:
        fields["detail"] = "name: Ensure this value has at most 20 characters (it has 23)."
    return AuditEntry(**fields)


def _coze_answer(rng, outcome, created):
    duration = int(rng.lognormvariate(4.8, 0.5))
    if outcome == Outcome.SUCCESS:
        return {
            "coze_code": 0,
            "coze_logid": _logid(rng, created),
            "http_status": 200,
            "duration_ms": duration,
        }
    if outcome == Outcome.UNKNOWN:
        return {
            "coze_msg": "no answer within 10 s",
            "duration_ms": 10_000,
            "detail": "Coze did not answer, so the change may or may not have been made",
        }
    code, msg, status = rng.choice(COZE_ERRORS)
    return {
        "coze_code": code,
        "coze_msg": msg,
        "coze_logid": _logid(rng, created),
        "http_status": status,
        "duration_ms": duration,
    }


def _address(rng):
    return f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
