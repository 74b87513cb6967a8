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
    }
    assert dataset.sizes(1) == {
        "devices": 1000,
        "groups": 1000,
        "audit_rows": 100_000,
        "people": 5000,
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
