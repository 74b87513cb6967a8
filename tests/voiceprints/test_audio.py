"""Enrollment audio (groups.audio): recordings as phones, browsers and people's files have
them become the WAV Coze accepts, measured, and refused with a plain reason when they
cannot be enrolled; all in memory."""

import contextlib
import hashlib
import io
import logging
import os
import random
import sys
import tempfile
import wave
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings

from groups.audio import FILE_MAX, UPLOAD_MAX, AudioRejected, prepare
from groups.services import messages
from tests import audio

# Encoders as FFmpeg names them, and what groups.audio reports reading.
FORMATS = {
    "m4a": ("mp4", "aac", 44100, 2, "mp4/aac"),
    "webm": ("webm", "libopus", 48000, 1, "webm/opus"),
    "ogg": ("ogg", "libopus", 48000, 1, "ogg/opus"),
    "mp3": ("mp3", "libmp3lame", 44100, 2, "mp3/mp3"),
    "flac": ("flac", "flac", 44100, 2, "flac/flac"),
    "wav44": ("wav", "pcm_s16le", 44100, 2, "wav/pcm_s16le"),
    "wav48": ("wav", "pcm_s16le", 48000, 2, "wav/pcm_s16le"),
}


@pytest.fixture(scope="module")
def enrollment():
    """About 15 s of espeak-ng speech (22.05 kHz mono WAV): an enrollment as advised."""
    return audio.speech()


@pytest.fixture(scope="module")
def encoded(enrollment):
    """The enrollment in each of FORMATS, encoded once for the module."""
    cache = {}

    def get(name):
        if name not in cache:
            container, codec, rate, channels, _ = FORMATS[name]
            cache[name] = audio.encode(enrollment, container, codec, rate, channels)
        return cache[name]

    return get


def seconds_of(wav_bytes):
    with wave.open(io.BytesIO(wav_bytes)) as file:
        return file.getnframes() / file.getframerate()


def refusal(data):
    with pytest.raises(AudioRejected) as caught:
        prepare(data)
    return caught.value


def assert_coze_wav(recording, seconds):
    """The converted WAV is what Coze accepts, and as long as the source (within 50 ms)."""
    with wave.open(io.BytesIO(recording.wav)) as file:
        assert (file.getframerate(), file.getnchannels(), file.getsampwidth()) == (16000, 1, 2)
        assert file.getnframes() / 16000 == pytest.approx(seconds, abs=0.05)
    assert (recording.sample_rate, recording.channels) == (16000, 1)
    assert recording.duration == pytest.approx(seconds, abs=0.05)
    assert len(recording.wav) <= FILE_MAX


# What is read


def test_a_phones_stereo_m4a_becomes_16k_mono_wav(enrollment, encoded):
    recording = prepare(encoded("m4a"))

    assert_coze_wav(recording, seconds_of(enrollment))
    assert (recording.source_format, recording.source_rate, recording.source_channels) == (
        "mp4/aac",
        44100,
        2,
    )


def test_chromiums_webm_opus_is_read(enrollment, encoded):
    recording = prepare(encoded("webm"))

    assert_coze_wav(recording, seconds_of(enrollment))
    assert (recording.source_format, recording.source_rate, recording.source_channels) == (
        "webm/opus",
        48000,
        1,
    )


@pytest.mark.parametrize("name", ["ogg", "mp3", "flac", "wav44", "wav48"])
def test_ogg_mp3_flac_and_wav_at_any_rate_are_read(enrollment, encoded, name):
    *_, rate, channels, source_format = FORMATS[name]

    recording = prepare(encoded(name))

    assert_coze_wav(recording, seconds_of(enrollment))
    assert (recording.source_format, recording.source_rate, recording.source_channels) == (
        source_format,
        rate,
        channels,
    )


def test_espeaks_wav_as_it_is_is_read(enrollment):
    recording = prepare(enrollment)

    assert_coze_wav(recording, seconds_of(enrollment))
    assert (recording.source_format, recording.source_rate, recording.source_channels) == (
        "wav/pcm_s16le",
        22050,
        1,
    )


def test_an_advised_enrollment_passes_with_its_figures_and_no_warning(encoded):
    recording = prepare(encoded("m4a"))

    assert 10 <= recording.speech_seconds <= recording.duration <= 30
    assert recording.warnings == ()
    assert -3 < recording.peak_dbfs < 0
    assert -30 < recording.rms_dbfs < -15
    assert recording.clipped_share < 0.001


@pytest.mark.parametrize("voice", ["en+m3", "en-us", "cmn"])
def test_other_voices_pass_too(voice):
    recording = prepare(audio.speech(voice=voice))

    assert recording.speech_seconds >= 10 and recording.warnings == ()


def test_the_hash_is_of_the_upload(encoded):
    upload = encoded("m4a")

    recording = prepare(upload)

    assert recording.sha256 == hashlib.sha256(upload).hexdigest()
    assert recording.sha256 != hashlib.sha256(recording.wav).hexdigest()
    assert prepare(encoded("webm")).sha256 != recording.sha256  # same speech, another file


def test_a_little_clipping_passes(enrollment):
    """One and a half times too loud: a few peaks cut, no refusal."""
    loud = audio.louder(enrollment, 1.5)

    for upload in (loud, audio.phone_m4a(loud)):
        assert 0 < prepare(upload).clipped_share < 0.01


def test_a_damaged_file_is_read_or_refused_but_never_crashes(encoded):
    rng = random.Random(7)
    for name in ("m4a", "webm", "mp3", "flac"):
        original = encoded(name)
        for _ in range(8):
            damaged = bytearray(original)
            for _ in range(rng.randint(1, 40)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            with contextlib.suppress(AudioRejected):
                prepare(bytes(damaged))


# Warnings: enrolled, with advice


def test_warnings_outside_ten_to_thirty_seconds():
    two_sentences = ". ".join(audio.ENROLLMENT_TEXT.split(". ")[:2]) + "."
    short = prepare(audio.speech(two_sentences))
    long = prepare(audio.repeated(audio.speech(), 45))

    assert short.warnings == ("short",) and 3 <= short.speech_seconds < 10
    assert long.warnings == ("long",) and long.duration == pytest.approx(45, abs=0.05)


def test_two_minutes_still_fit_in_cozes_4_mb():
    recording = prepare(audio.repeated(audio.speech(), 125))

    assert_coze_wav(recording, 125)
    assert recording.warnings == ("long",)


# Refusals, in the order they are checked


def test_an_empty_upload_is_not_audio():
    assert refusal(b"").code == "not_audio"


def test_an_upload_over_25_mb_is_refused_before_decoding():
    with mock.patch("groups.audio.av.open", side_effect=AssertionError("decoded")):
        refused = refusal(bytes(UPLOAD_MAX + 1))

    assert (refused.code, refused.params) == (
        "too_large_upload",
        {"megabytes": 25.1, "limit": 25.0},
    )


def test_random_bytes_are_not_audio():
    assert refusal(audio.random_bytes()).code == "not_audio"


def test_a_text_file_is_not_audio():
    assert refusal(audio.text_file()).code == "not_audio"


def test_a_truncated_m4a_is_not_audio(encoded):
    assert refusal(audio.truncated(encoded("m4a"))).code == "not_audio"


def test_a_video_without_sound_is_not_audio():
    assert refusal(audio.video_without_sound()).code == "not_audio"


def test_a_small_file_holding_hours_stops_after_five_minutes():
    six_minutes_silent = audio.encode(audio.silence(360, rate=8000), "flac", "flac", 8000, 1)
    assert len(six_minutes_silent) < 100_000

    refused = refusal(six_minutes_silent)

    assert (refused.code, refused.params) == ("too_long", {"minutes": 5})


def test_silence_is_refused_as_silent():
    assert refusal(audio.silence()).code == "silent"


def test_a_60_dbfs_hum_is_refused_as_silent():
    assert refusal(audio.hum(dbfs=-60)).code == "silent"


def test_a_steady_tone_holds_no_speech():
    """Loud but never changing: no speech, so "silent"."""
    assert refusal(audio.wav(15)).code == "silent"


def test_a_recording_mostly_at_full_scale_is_clipped_not_silent(enrollment):
    """So loud that there is no quieter background for speech to stand out from: what
    the person must hear is that it is too loud."""
    assert refusal(audio.square(off=0)).code == "clipped"
    assert refusal(audio.louder(enrollment, 200)).code == "clipped"


def test_a_recording_keeps_its_audio_out_of_its_repr(enrollment):
    recording = prepare(enrollment)
    assert "RIFF" not in repr(recording) and recording.wav.startswith(b"RIFF")


@pytest.mark.parametrize(
    "make",
    [
        lambda speech: audio.louder(speech, 8),
        lambda speech: audio.phone_m4a(audio.louder(speech, 4)),
        lambda speech: audio.chromium_webm(audio.louder(speech, 4)),
        lambda speech: audio.square(),
    ],
    ids=["speech-8x-wav", "speech-4x-m4a", "speech-4x-webm", "square-bursts"],
)
def test_clipping_is_refused(enrollment, make):
    refused = refusal(make(enrollment))

    assert refused.code == "clipped" and refused.params["percent"] > 1


def test_two_seconds_of_speech_is_too_short():
    clip = audio.speech(audio.SHORT_TEXT)
    assert 1.5 < seconds_of(clip) < 2.5

    refused = refusal(clip)

    assert refused.code == "too_short"
    assert 0.5 <= refused.params["seconds"] < 3 and refused.params["minimum"] == 3


def test_more_than_4_mb_for_coze_is_too_large():
    refused = refusal(audio.repeated(audio.speech(), 140))

    assert (refused.code, refused.params) == ("too_large", {"megabytes": 4.3, "limit": 4.0})


def test_the_first_failed_check_is_the_one_told(enrollment):
    short_and_clipped = audio.louder(audio.speech(audio.SHORT_TEXT), 8)
    silent_and_too_large = audio.silence(140)

    assert refusal(short_and_clipped).code == "clipped"
    assert refusal(silent_and_too_large).code == "silent"


# Nothing kept


@pytest.fixture
def files_written():
    """Files opened for writing while the test runs (every `open` passes the audit hook:
    Python's, os.open, tempfile's)."""
    written = []
    _watchers.append(written)
    yield written
    _watchers.remove(written)


_watchers = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event, args):
    if event == "open" and _watchers:
        path, mode, flags = args
        if (mode and set(mode) & set("wax+")) or (flags or 0) & _WRITE_FLAGS:
            for written in _watchers:
                written.append(path)


sys.addaudithook(_audit)  # hooks cannot be removed: it looks only while a test watches


def test_nothing_is_written_to_disk(encoded, files_written, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    tempfile.TemporaryFile().close()
    assert files_written, "the watch sees a temporary file"
    files_written.clear()

    for upload in (encoded("m4a"), encoded("webm"), audio.random_bytes(), audio.silence()):
        with contextlib.suppress(AudioRejected):
            prepare(upload)

    assert files_written == [] and list(tmp_path.iterdir()) == []


def test_nothing_is_logged(encoded, caplog):
    with caplog.at_level(logging.DEBUG):
        prepare(encoded("webm"))
        with pytest.raises(AudioRejected):
            prepare(audio.truncated(encoded("m4a")))

    assert caplog.records == []


def test_uploads_stay_in_memory_up_to_the_largest_audio_read():
    assert settings.FILE_UPLOAD_HANDLERS == [
        "django.core.files.uploadhandler.MemoryFileUploadHandler"
    ]
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE == UPLOAD_MAX


# What a person is told


@pytest.mark.parametrize(
    ("code", "params", "text"),
    [
        (
            "not_audio",
            {},
            "This file is not audio we can read. Upload a recording such as WAV, MP3, M4A, "
            "OGG or WebM.",
        ),
        (
            "too_large_upload",
            {"megabytes": 31.2, "limit": 25.0},
            "The file is larger than 25 MB, the most that can be read. Upload a shorter "
            "recording: 10 to 30 seconds of speech work best.",
        ),
        (
            "too_large_upload",
            {},
            "The file is larger than 25 MB, the most that can be read. Upload a shorter "
            "recording: 10 to 30 seconds of speech work best.",
        ),
        (
            "too_long",
            {"minutes": 5},
            "The recording is longer than 5 minutes. Upload a shorter one: 10 to 30 seconds "
            "of speech work best.",
        ),
        (
            "silent",
            {"rms_dbfs": -96.0},
            "The recording is silent, or holds no speech. Check the microphone and record again.",
        ),
        (
            "clipped",
            {"percent": 4.0},
            "The recording is too loud: 4 % of it is clipped. Record again a little further "
            "from the microphone.",
        ),
        (
            "too_short",
            {"seconds": 1.8, "minimum": 3},
            "Only 1.8 seconds of speech were found; at least 3 seconds are needed, 10 to 30 "
            "seconds work best.",
        ),
        (
            "too_short",
            {"seconds": 1.0, "minimum": 3},
            "Only 1 second of speech was found; at least 3 seconds are needed, 10 to 30 "
            "seconds work best.",
        ),
        (
            "too_large",
            {"megabytes": 4.3, "limit": 4.0},
            "Converted for Coze, the recording is 4.3 MB, more than the 4 MB Coze accepts. "
            "Upload a shorter one: 10 to 30 seconds of speech work best.",
        ),
    ],
)
def test_each_refusal_is_told_plainly(code, params, text):
    assert messages.audio_refused(AudioRejected(code, **params)) == text


def test_warnings_are_told_plainly():
    short = SimpleNamespace(speech_seconds=6.97, duration=8.2)
    long = SimpleNamespace(speech_seconds=38.0, duration=45.4)

    assert messages.audio_warning("short", short) == (
        "Only 6.9 seconds of speech were found; Coze recommends 10 to 30 seconds, so the "
        "voiceprint may recognise this person less reliably."
    )
    assert messages.audio_warning("long", long) == (
        "The recording is 45 seconds long; Coze recommends 10 to 30 seconds."
    )
