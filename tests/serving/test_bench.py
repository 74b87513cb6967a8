"""The benchmark's own parts, small: `make bench` runs for minutes, so what it builds and
sends is checked here, where a change that breaks it shows at once."""

from bench import audio as bench_audio
from groups import audio


def test_without_espeak_the_benchmark_speaks_with_sound_of_its_own(monkeypatch):
    monkeypatch.setattr(bench_audio.shutil, "which", lambda name: None)
    speech, source = bench_audio.spoken()
    assert source.startswith("synthetic")
    recording = audio.prepare(speech)  # checked as any upload: not silent, not clipped
    assert recording.speech_seconds >= audio.MIN_SPEECH_SECONDS


def test_the_recordings_enrolled_are_a_phones_30_s_and_a_4_mb_wav(monkeypatch):
    monkeypatch.setattr(bench_audio.shutil, "which", lambda name: None)
    m4a, wav = bench_audio.cases()
    assert audio.prepare(m4a.upload).source_format == "mp4/aac"
    assert round(audio.prepare(m4a.upload).duration) == 30 and m4a.limit_ms == 150
    assert 4_000_000 < len(wav.upload) <= audio.FILE_MAX
    assert wav.limit_ms == 150 * bench_audio.WAV_SECONDS / 30  # 150 ms per 30 s of audio


def test_the_data_set_keeps_cozes_rules_and_the_logs_order(db):
    from bench import dataset
    from groups.models import AuditEntry, Consent, Person, Voiceprint, VoiceprintGroup

    built = dataset.build(
        coze_user=("7484523878849822754", "bench"),
        devices=8,
        groups=30,
        audit_rows=900,
        people=60,
    )
    assert (built["people"], built["consents"]) == (Person.objects.count(), Consent.objects.count())
    assert built["voiceprints"] == Voiceprint.objects.count() > 0
    assert built["audit_rows"] == AuditEntry.objects.count()
    for group in VoiceprintGroup.objects.all():
        assert group.voiceprints.filter(state="active").count() <= 10
    for voiceprint in Voiceprint.objects.exclude(person=None):
        assert voiceprint.consent.person_id == voiceprint.person_id
        assert voiceprint.created_at >= voiceprint.group.created_at
    enrolled = AuditEntry.objects.filter(action="voiceprint.create", outcome="success")
    assert enrolled.count() == Voiceprint.objects.exclude(enrolled_by=None).count()
    # Ids follow time, as in a log that grew (a sync's conclusions about lost creations,
    # added last, aside).
    log = AuditEntry.objects.filter(resolves=None).order_by("id")
    times = list(log.values_list("created_at", flat=True))
    assert times == sorted(times)


def test_the_scale_sets_the_sizes_and_a_tiny_build_has_them(db):
    from bench import dataset
    from groups.models import AuditEntry, Device, Person, VoiceprintGroup

    assert dataset.sizes(10) == {
        "devices": 10_000,
        "groups": 10_000,
        "audit_rows": 1_000_000,
        "people": 5000,  # a bigger fleet, the same people
        "coze_accounts": 10,  # about 1,000 groups each
    }
    assert dataset.sizes(1) == {
        "devices": 1000,
        "groups": 1000,
        "audit_rows": 100_000,
        "people": 5000,
        "coze_accounts": 1,
    }
    size = dataset.sizes(0.012)
    built = dataset.build(coze_user=("7484523878849822754", "bench"), **size)
    assert (built["devices"], built["groups"]) == (12, 12)
    assert Device.objects.count() == 12 and VoiceprintGroup.objects.count() == 12
    assert Person.objects.count() == built["people"] == 60
    # The rows asked for, plus the conclusions about creations that got no answer.
    assert built["audit_rows"] == AuditEntry.objects.count() >= 1200
    assert AuditEntry.objects.filter(resolves=None).count() == 1200
    assert [a.pk for a in built["coze_accounts"]] == [1]


def test_a_sync_of_the_built_account_mirrored_on_coze_changes_nothing(db, coze_sim):
    """What the benchmark's sync measures: the list calls alone, no change."""
    from bench import dataset
    from groups.actors import Actor
    from groups.models import Voiceprint, VoiceprintGroup
    from groups.services import whoami
    from groups.services.sync import sync_groups

    dataset.build(
        coze_user=(coze_sim.user["user_id"], coze_sim.user["user_name"]), **dataset.sizes(0.012)
    )
    before = list(VoiceprintGroup.objects.order_by("pk").values())
    voiceprints = list(Voiceprint.objects.order_by("pk").values())
    assert dataset.mirror_on(coze_sim) == VoiceprintGroup.objects.active().count() == 11
    whoami.token_user()  # asked of Coze once per process (users/me), then kept
    first = len(coze_sim.requests)

    result = sync_groups(Actor.for_command("sync_coze_groups"))

    assert not result.changed and result.voiceprints.lists == 0
    assert [r["path"] for r in coze_sim.requests[first:]] == ["/v1/audio/voiceprint_groups"]
    assert list(VoiceprintGroup.objects.order_by("pk").values()) == before
    assert list(Voiceprint.objects.order_by("pk").values()) == voiceprints


def test_the_api_floor_answers_through_the_apis_own_token_check(db):
    """bench/urls.py's API floor: `{}` for a token, a 401 without one or with a bad one,
    and nothing else touched (its queries: the token's, the audit row of a refusal's)."""
    from django.test import RequestFactory

    from bench.api_floor import ApiFloor
    from groups.services import tokens
    from tests import factories

    floor = ApiFloor.as_view()
    ada = factories.person("ada", "Viewer")
    _, secret = tokens.create_token(factories.actor(ada), ada, name="bench", read_only=True)
    requests = RequestFactory()
    answer = floor(requests.get("/", HTTP_AUTHORIZATION=f"Bearer {secret}"))
    assert answer.status_code == 200 and answer.data == {}
    assert floor(requests.get("/")).status_code == 401
    refused = floor(requests.get("/", HTTP_AUTHORIZATION="Bearer vpa_madeUp"))
    assert refused.status_code == 401 and refused.data["code"] == "not_authenticated"


# A tiny register of 40 groups over 2 Coze accounts, as scale 2 spreads 2,000.
SPREAD = {"devices": 20, "groups": 40, "audit_rows": 600, "people": 40, "coze_accounts": 2}


def test_the_accounts_of_a_scale_are_configured_as_a_deployment_would(settings):
    """At scale N: N accounts (the default, b2, ...), each configured for the server from
    the environment with a fake token, the simulator's address and a quota."""
    from bench import dataset
    from bench.one_database import accounts_environment
    from vpadmin.coze_accounts import read_coze_accounts

    assert dataset.account_names(dataset.sizes(10)["coze_accounts"]) == [
        "default",
        *(f"b{n}" for n in range(2, 11)),
    ]
    held = dataset.groups_held(dataset.sizes(10))
    assert held == {"default": 999, **{f"b{n}": 1000 for n in range(2, 11)}}
    environ = accounts_environment({name: count + 5 for name, count in held.items()}, "http://s")
    accounts = read_coze_accounts(
        environ,
        token=environ["COZE_API_TOKEN"],
        base=environ["COZE_API_BASE"],
        quota=int(environ["COZE_GROUP_QUOTA"]),
        simulated=False,
    )
    assert list(accounts) == list(held)
    assert accounts["b10"] == {"token": "pat_bench_b10", "base": "http://s", "quota": 1005}
    assert accounts["default"]["quota"] == 1004


def test_a_scale_2_build_spreads_the_register_over_2_accounts(db, coze_accounts):
    """Each group in its device's account, each account's quota above its groups held, and
    the audit rows of groups in the group's account; no creation left pending a slot."""
    from bench import dataset
    from groups import quota
    from groups.models import AuditEntry, Device, VoiceprintGroup

    held = dataset.groups_held(SPREAD)
    served = coze_accounts(**{name: count + 3 for name, count in held.items()})
    users = {name: (a.user["user_id"], a.user["user_name"]) for name, a in served.items()}
    built = dataset.build(coze_user=users, **SPREAD)

    assert [a.name for a in built["coze_accounts"]] == ["default", "b2"] == list(held)
    gauges = quota.usages()
    assert {u.account: u.held for u in gauges.accounts} == held == {"default": 19, "b2": 20}
    assert all(u.pending == 0 and u.free == 3 for u in gauges.accounts)
    for group in VoiceprintGroup.objects.exclude(device=None).select_related("device"):
        assert group.device.account_id == group.account_id
    assert not Device.objects.filter(voiceprint_groups=None).exclude(account=None).exists()
    assert not Device.objects.exclude(voiceprint_groups=None).filter(account=None).exists()
    creations = AuditEntry.objects.filter(action="group.create", outcome="success")
    for entry in creations.exclude(target_id=""):
        assert VoiceprintGroup.objects.get(pk=entry.target_id).account_id == entry.account_id
    assert not AuditEntry.objects.filter(action__startswith="group.", account=None).exists()
    for name, account in served.items():  # each voiceprint made by its account's token
        voiceprints = VoiceprintGroup.objects.filter(account__name=name).values_list(
            "voiceprints__coze_creator_id", flat=True
        )
        assert account.user["user_id"] in set(voiceprints)


def test_the_sync_measurement_counts_each_accounts_list_calls(
    db, coze_sim, coze_accounts, monkeypatch
):
    """Each account synced on its own, as a job would: its list calls (a page each) counted
    at the simulator, nothing else called, nothing changed."""
    from bench import dataset, one_database
    from groups.services import listing, sync

    served = coze_accounts(**{name: 100 for name in dataset.groups_held(SPREAD)})
    users = {name: (a.user["user_id"], a.user["user_name"]) for name, a in served.items()}
    dataset.build(coze_user=users, **SPREAD)
    for module in (listing, sync):  # pages of 8 groups: 3 for 19 or 20
        monkeypatch.setattr(module, "PAGE_SIZE", 8)
    served["b2"].seed_groups(1)  # made on Coze's console: settled by the first sync

    figures = one_database._sync(coze_sim)["sync_accounts"]

    assert [(f["account"], f["groups"], f["list_calls"], f["pages"]) for f in figures] == [
        ("default", 19, 3, 3),
        ("b2", 21, 3, 3),
    ]
    for f in figures:
        assert f["calls"] == f["list_calls"] and not f["changed"]
        assert f["voiceprint_calls"] == 0
        assert f["seconds"] >= f["local_seconds"] >= 0
    assert len(served["b2"].groups) == 21 and len(served["default"].groups) == 19


def test_the_report_misses_an_accounts_sync_that_calls_more_or_costs_too_much(capsys):
    from bench import report

    ok = {"account": "default", "groups": 999, "calls": 5, "list_calls": 5, "pages": 5}
    ok |= {"changed": False, "seconds": 1.2, "coze_seconds": 0.4, "local_seconds": 0.8}
    slow = ok | {"account": "b2", "groups": 1000, "local_seconds": 2.0}
    more = ok | {"account": "b3", "calls": 6}  # a call besides its list calls
    assert report._sync("sqlite", {"sync_accounts": [ok]}) == []
    missed = report._sync("sqlite", {"sync_accounts": [ok, slow, more]})
    assert [m.split(":")[0] for m in missed] == [
        "sqlite sync of account b2",
        "sqlite sync of account b3",
    ]
    assert "b3" in capsys.readouterr().out
