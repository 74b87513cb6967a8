"""The benchmark of the identification console: what a test costs vpadmin itself.

A group on the simulator holds ten voiceprints, each of a voice of its own, registered
with their people; a 10 s clip (one of those voices saying something else, as the
browser's recorder sends it: a 16 kHz mono WAV) is tested `count` times through
POST /identify/. A test's own cost is its server time less the Coze call's (the audit
row's duration_ms): the checks, the conversion, the register's read, the audit rows and
the rendering of the ranking.

Imports of models sit inside the functions: bench/one_database.py calls them after
django.setup().
"""

import shutil

import numpy as np

from bench import measure
from groups import audio
from tests import audio as recordings  # PyAV and numpy only, no pytest

CLIP_SECONDS = 10
# espeak-ng's voices, each someone else (tests/coze/test_identify.py tells them apart).
VOICES = ["en+f3", "en+m3", "en+m7", "en-us", "en+f2", "en+f4", "en+m1", "en+m2", "en+m4", "en+f1"]
HEARD = "Please turn on the lights in the kitchen and play some quiet music while I cook."


def run(client, group, count, *, warmup=3):
    """Fill `group` (in the register and on the simulator) with ten voiceprints, then time
    `count` tests of a 10 s clip against it. Returns the figures."""
    from groups.models import AuditEntry

    source = _enroll_ten(group)
    clip = _clip()
    samples = []
    for n in range(warmup + count):
        form = {"group": str(group.pk), "top_k": ""}
        sample = client.post("/identify/", form, {"audio": ("recording.wav", clip)})
        if sample.status != 200:
            raise RuntimeError(f"identification {n} answered HTTP {sample.status}")
        if n >= warmup:
            samples.append(sample)
    coze_ms = dict(
        AuditEntry.objects.filter(
            request_id__in=[s.request_id for s in samples],
            action=AuditEntry.Action.VOICEPRINT_IDENTIFY,
            outcome=AuditEntry.Outcome.SUCCESS,
        ).values_list("request_id", "duration_ms")
    )
    if len(coze_ms) != len(samples):  # a page refused (limit, audio) would be no test
        raise RuntimeError(f"{len(samples)} tests but {len(coze_ms)} successful audit rows")
    overheads = [s.server_ms - coze_ms[s.request_id] for s in samples]
    queries = {s.queries for s in samples}
    if len(queries) != 1:
        raise RuntimeError(f"query count varied between tests: {queries}")
    return {
        "identifications": count,
        "identify_voiceprints": len(VOICES),
        "identify_overhead_10s_ms": round(measure.median(overheads), 2),
        "identify_overhead_10s_p95_ms": round(measure.p95(overheads), 2),
        "identify_server_10s_ms": round(measure.median([s.server_ms for s in samples]), 2),
        "identify_coze_10s_ms": measure.median(list(coze_ms.values())),
        "identify_queries_10s": queries.pop(),
        "identify_upload_10s_bytes": len(clip),
        "identify_speech": source,
    }


def _enroll_ten(group):
    """Ten voiceprints in `group`, made through the Coze client (so the simulator keeps
    each voice) and registered with a person each. Returns where the speech came from."""
    from groups import coze
    from groups.models import Person, Voiceprint

    client = coze.get_client(group.account)  # the group's own account
    for n, voice in enumerate(VOICES):
        made = client.create_voiceprint(group.coze_id, f"bench voice {n}", _spoken(voice))
        person = Person.objects.create(name=f"bench voice {n}")
        Voiceprint.objects.create(
            coze_id=made.data["id"], group=group, name=f"bench voice {n}", person=person
        )
    return "espeak-ng" if _has_espeak() else "synthetic (espeak-ng not installed)"


def _clip():
    """The first voice saying something else, 10 s long, as the browser's recorder sends
    it (16 kHz mono 16-bit WAV)."""
    heard = audio.prepare(_spoken(VOICES[0], HEARD)).wav
    return recordings.repeated(heard, CLIP_SECONDS)


def _spoken(voice, text=recordings.ENROLLMENT_TEXT):
    """`text` in espeak-ng's `voice`, or without espeak-ng voiced sound of a pitch of
    the voice's own (a steady voice the simulator can describe)."""
    if _has_espeak():
        return recordings.speech(text, voice)
    return _voiced(110 + 20 * VOICES.index(voice), seed=len(text))


def _has_espeak():
    return shutil.which("espeak-ng") is not None


def _voiced(pitch, *, seconds=12.0, rate=16000, seed=0):
    """Syllables of a voice at `pitch` Hz (with harmonics) between short pauses."""
    rng = np.random.default_rng(seed)
    parts = []
    while sum(len(part) for part in parts) < seconds * rate:
        t = np.arange(int(rate * rng.uniform(0.15, 0.35))) / rate
        phase = 2 * np.pi * pitch * (1 + 0.05 * np.sin(2 * np.pi * 3 * t)) * t
        envelope = np.sin(np.pi * t / t[-1]) ** 2
        parts.append(0.25 * envelope * sum(np.sin(k * phase) / k for k in range(1, 6)))
        parts.append(np.zeros(int(rate * rng.uniform(0.05, 0.2))))
    signal = np.concatenate(parts)[: int(seconds * rate)] + rng.normal(0, 5e-4, int(seconds * rate))
    return recordings.wav_of(np.round(signal * 32767).astype(np.int16), rate)
