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
