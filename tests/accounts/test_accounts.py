"""Several Coze accounts: each group in one account, a device served from one, a new
device's group going to the chosen account or the one with the most free quota, quota and
sync per account (two simulator accounts: the default with quota 3, cn2 with quota 2)."""

import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import requests
from django.db import IntegrityError, connection, transaction

from groups.actors import Actor
from groups.models import AuditEntry, CozeAccount, Device, Job, Voiceprint, VoiceprintGroup
from groups.services import QuotaExceeded, create_group, start_syncs, sync_groups

from .. import factories

GROUPS = "/v1/audio/voiceprint_groups"


@pytest.fixture
def two(coze_accounts):
    """The default account (quota 3) and cn2 (quota 2), on vpadmin and the simulator."""
    return SimpleNamespace(**coze_accounts(default=3, cn2=2))


def post(client, device, name="hall", **fields):
    data = {"name": name, "device": device.pk, "submission": str(uuid.uuid4()), **fields}
    return client.post("/groups/new/", data)


def creations(two):
    """The create calls each account's token made on the simulator."""
    return {
        name: [r for r in account.requests if r["method"] == "POST" and r["path"] == GROUPS]
        for name, account in vars(two).items()
    }


def made_elsewhere(account, name):
    """A group created directly on Coze with the account's token (its console, a script)."""
    headers = {"Authorization": f"Bearer {account.token}"}
    answer = requests.post(account.url + GROUPS, json={"name": name}, headers=headers, timeout=2)
    return answer.json()["data"]["id"]


def account_of(group):
    return VoiceprintGroup.objects.get(pk=group.pk).account.name


def test_done_when_five_devices_fill_two_accounts_a_sixth_is_refused_and_syncs_register_elsewhere(
    two, operator_client, run_jobs, administrator_client
):
    devices = [factories.device(f"Speaker {n}", f"SPK-{n}") for n in range(6)]

    for device in devices[:5]:
        assert post(operator_client, device).status_code == 302

    served = {d.serial: Device.objects.get(pk=d.pk).account.name for d in devices[:5]}
    assert sorted(served.values()) == ["cn2", "cn2", "default", "default", "default"]
    for device in devices[:5]:
        group = VoiceprintGroup.objects.get(device=device)
        assert group.account.name == served[device.serial]
        assert group.coze_id in vars(two)[served[device.serial]].groups
        page = operator_client.get(f"/devices/{device.pk}/").content.decode()
        assert f">{served[device.serial]}<" in page  # the device page names its account
    assert {name: len(calls) for name, calls in creations(two).items()} == {"default": 3, "cn2": 2}

    refused = post(operator_client, devices[5], name="sixth")

    assert refused.status_code == 200
    text = refused.content.decode()
    assert "All Coze accounts are full: default 3 of 3, cn2 2 of 2." in text
    assert {name: len(calls) for name, calls in creations(two).items()} == {"default": 3, "cn2": 2}
    entry = AuditEntry.objects.filter(action="group.create").latest("pk")
    assert entry.outcome == "refused"
    assert entry.explanation == "All Coze accounts were full: default 3 of 3, cn2 2 of 2."
    assert Device.objects.get(pk=devices[5].pk).account is None

    # Groups made elsewhere: the simulator's quotas are full, so one is freed on each first.
    for name in ("default", "cn2"):
        account = vars(two)[name]
        account.quota += 1
    theirs = {
        name: made_elsewhere(vars(two)[name], f"{name} console") for name in ("default", "cn2")
    }

    administrator_client.post("/groups/sync/")
    assert run_jobs() == 2

    for name, coze_id in theirs.items():
        group = VoiceprintGroup.objects.get(coze_id=coze_id, account__name=name)
        assert (group.name, group.device) == (f"{name} console", None)
    jobs = Job.objects.filter(kind="sync")
    assert sorted(job.account.name for job in jobs) == ["cn2", "default"]
    assert {job.state for job in jobs} == {"succeeded"}


def test_a_new_devices_group_goes_to_the_account_with_the_most_free_quota(two, operator):
    VoiceprintGroup.objects.create(coze_id="1", name="old", account=CozeAccount.default())
    VoiceprintGroup.objects.create(coze_id="2", name="old 2", account=CozeAccount.default())
    device = factories.device("Kiosk", "K-1")

    group = create_group(
        factories.actor(operator), name="kiosk", desc="", device=device, submission=uuid.uuid4()
    )

    # default: 1 of 3 free; cn2: 2 of 2 free.
    assert (group.account.name, Device.objects.get(pk=device.pk).account.name) == ("cn2", "cn2")
    entry = AuditEntry.objects.get(action="group.create", outcome="success")
    assert entry.account.name == "cn2"


def test_the_form_says_which_account_and_why(two, operator_client):
    VoiceprintGroup.objects.create(coze_id="1", name="old", account=CozeAccount.default())
    VoiceprintGroup.objects.create(coze_id="2", name="old 2", account=CozeAccount.default())

    page = operator_client.get("/groups/new/").content.decode()

    assert "Coze account: cn2: 2 of 2 free — the most free." in page
    assert 'name="account"' in page


def test_the_form_says_plainly_when_every_account_is_full_and_offers_no_submit(
    two, operator_client
):
    default, cn2 = CozeAccount.default(), CozeAccount.named("cn2")
    for n in range(3):
        VoiceprintGroup.objects.create(coze_id=f"d{n}", name=f"d{n}", account=default)
    for n in range(2):
        VoiceprintGroup.objects.create(coze_id=f"c{n}", name=f"c{n}", account=cn2)

    page = operator_client.get("/groups/new/").content.decode()

    assert "All Coze accounts are full: default 3 of 3, cn2 2 of 2." in page
    assert "Coze will not accept another group" in page
    assert "the most free" not in page and "Coze account:" not in page
    assert '<button class="primary" disabled>Create on Coze</button>' in page
    # One slot freed: the form offers it, and its submit, again.
    VoiceprintGroup.objects.filter(coze_id="c1").update(state=VoiceprintGroup.State.DELETED)
    page = operator_client.get("/groups/new/").content.decode()
    assert "Coze account: cn2: 1 of 2 free — the most free." in page
    assert "All Coze accounts are full" not in page
    assert '<button class="primary">Create on Coze</button>' in page


def test_one_account_shows_no_account_choice(coze_sim, operator_client):
    page = operator_client.get("/groups/new/").content.decode()

    assert 'name="account"' not in page and "Coze account:" not in page


def test_the_operator_may_choose_the_account(two, operator_client):
    device = factories.device("Kiosk", "K-1")

    response = post(operator_client, device, account="cn2")

    group = VoiceprintGroup.objects.get()
    assert response.status_code == 302 and group.account.name == "cn2"
    assert group.coze_id in two.cn2.groups and not two.default.groups


def test_a_device_keeps_its_account(two, operator, operator_client):
    device = factories.device("Kiosk", "K-1")
    post(operator_client, device, name="first", account="cn2")

    # default has more free quota now (3 against 1), yet the device's account wins.
    second = create_group(
        factories.actor(operator), name="second", desc="", device=device, submission=uuid.uuid4()
    )
    other = post(operator_client, device, name="third", account="default")

    assert second.account.name == "cn2"
    assert other.status_code == 200
    assert "This device is served from account cn2" in other.content.decode()
    assert VoiceprintGroup.objects.filter(account__name="cn2").count() == 2
    assert not two.default.groups


def test_a_device_whose_account_is_full_is_refused_naming_its_account(two, operator):
    device = factories.device("Kiosk", "K-1")
    actor = factories.actor(operator)
    for n in range(2):
        create_group(
            actor, name=f"g{n}", desc="", device=device, submission=uuid.uuid4(), account="cn2"
        )

    with pytest.raises(QuotaExceeded) as full:
        create_group(actor, name="g3", desc="", device=device, submission=uuid.uuid4())

    assert (full.value.account, full.value.used, full.value.limit) == ("cn2", 2, 2)
    assert full.value.accounts == []  # the default account had room: not all are full
    entry = AuditEntry.objects.filter(outcome="refused").get()
    assert entry.explanation == "The Coze account cn2 was full: 2 of 2 groups in use."


def test_the_same_coze_id_may_be_in_two_accounts_once_each(two, db):
    default, cn2 = CozeAccount.default(), CozeAccount.named("cn2")
    VoiceprintGroup.objects.create(coze_id="42", name="here", account=default)
    VoiceprintGroup.objects.create(coze_id="42", name="there", account=cn2)

    with pytest.raises(IntegrityError), transaction.atomic():
        VoiceprintGroup.objects.create(coze_id="42", name="again", account=cn2)

    assert VoiceprintGroup.objects.filter(coze_id="42").count() == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite locks the whole database, not rows"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_creation_waits_only_for_its_own_accounts_lock(two, operator):
    device = factories.device("Kiosk", "K-1")
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold(name):
        try:
            with transaction.atomic():
                CozeAccount.locked(name)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    def create(name):
        try:
            create_group(
                factories.actor(operator),
                name=name,
                desc="",
                device=device,
                submission=uuid.uuid4(),
                account="cn2",
            )
            done.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold, args=("default",))
    holder.start()
    held.wait(5)
    creator = threading.Thread(target=create, args=("first",))
    creator.start()
    assert done.wait(10), "a cn2 creation waited for the default account's lock"
    release.set()
    holder.join()
    creator.join()

    # ...and one of the same account waits for it.
    held.clear(), release.clear(), done.clear()
    holder = threading.Thread(target=hold, args=("cn2",))
    holder.start()
    held.wait(5)
    creator = threading.Thread(target=create, args=("second",))
    creator.start()
    assert not done.wait(1), "a cn2 creation did not wait for cn2's lock"
    release.set()
    holder.join()
    creator.join()
    assert done.is_set()


def test_a_sync_runs_per_account_and_registers_in_that_account(two, admin_actor):
    theirs = made_elsewhere(two.cn2, "shop")
    ours = made_elsewhere(two.default, "home")

    result = sync_groups(admin_actor, account="cn2")

    assert result.imported == 1
    assert list(VoiceprintGroup.objects.values_list("coze_id", "account__name")) == [
        (theirs, "cn2")
    ]
    assert result.entry.account.name == "cn2"
    assert [r for r in two.default.requests if r["method"] == "GET"] == []
    sync_groups(admin_actor)  # the default account's
    assert VoiceprintGroup.objects.get(coze_id=ours).account.name == "default"
    assert CozeAccount.named("cn2").remote_total == 1


def test_a_group_gone_from_one_account_is_not_marked_gone_by_the_others_sync(two, admin_actor):
    theirs = made_elsewhere(two.cn2, "shop")
    sync_groups(admin_actor, account="cn2")

    sync_groups(admin_actor)  # the default account lists nothing

    assert VoiceprintGroup.objects.get(coze_id=theirs).state == "active"


def test_sync_with_coze_starts_one_job_per_account(two, admin_actor, run_jobs):
    started = start_syncs(admin_actor)
    again = start_syncs(admin_actor, account="cn2")

    assert [(job.account.name, new) for job, new in started] == [("default", True), ("cn2", True)]
    assert [(job.pk, new) for job, new in again] == [(started[1][0].pk, False)]
    run_jobs()
    assert set(Job.objects.values_list("account__name", "state")) == {
        ("default", "succeeded"),
        ("cn2", "succeeded"),
    }
    syncs = AuditEntry.objects.filter(action="group.sync").values_list("account__name", flat=True)
    assert sorted(syncs) == ["cn2", "default"]


@pytest.fixture
def admin_actor(administrator):
    return Actor.for_command("sync_coze_groups", administrator)


def test_the_sync_command_syncs_each_account_or_the_one_named(two, db):
    from io import StringIO

    from django.core.management import call_command

    made_elsewhere(two.cn2, "shop")
    made_elsewhere(two.default, "home")

    out = StringIO()
    call_command("sync_coze_groups", "--account", "cn2", stdout=out)
    assert list(VoiceprintGroup.objects.values_list("account__name", flat=True)) == ["cn2"]

    call_command("sync_coze_groups", stdout=out)
    assert sorted(VoiceprintGroup.objects.values_list("account__name", flat=True)) == [
        "cn2",
        "default",
    ]
    assert "Coze account default:" in out.getvalue() and "Coze account cn2:" in out.getvalue()
    assert sorted(Job.objects.values_list("account__name", flat=True)) == ["cn2", "cn2", "default"]


def test_the_same_voiceprint_coze_id_may_be_in_two_accounts(two, db):
    here = factories.group(coze_id="42", account=CozeAccount.default())
    there = factories.group(coze_id="42", account=CozeAccount.named("cn2"))
    factories.voiceprint(here, coze_id="7")
    factories.voiceprint(there, coze_id="7")

    with pytest.raises(IntegrityError), transaction.atomic():
        factories.voiceprint(there, coze_id="7")

    assert Voiceprint.objects.filter(coze_id="7").count() == 2


def test_a_voiceprint_sync_imports_one_whose_id_another_account_holds(two, admin_actor):
    [group_id] = two.cn2.seed_groups(1, created_at=int(time.time()) - 3600)
    [coze_id] = two.cn2.seed_voiceprints(group_id, 1)
    two.cn2.edit_group(group_id, updated_at=int(time.time()) - 60)
    elsewhere = factories.group(account=CozeAccount.default())
    theirs = factories.voiceprint(elsewhere, coze_id=coze_id, name="the default's")

    result = sync_groups(admin_actor, account="cn2")

    assert result.voiceprints.imported == 1
    imported = Voiceprint.objects.get(coze_id=coze_id, group__account__name="cn2")
    assert imported.group.coze_id == group_id
    theirs.refresh_from_db()
    assert (theirs.group, theirs.name, theirs.state) == (elsewhere, "the default's", "active")
