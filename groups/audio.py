"""Enrollment audio: a recording as people have it (WAV, FLAC, MP3, M4A/AAC, OGG/Opus, WebM)
turned into what Coze accepts (WAV, 16 kHz, mono, 16-bit, at most 4 MB) and checked first.

Everything happens in memory: audio is biometric data and never touches the disk, the
database or a log. `prepare()` refuses with `AudioRejected`, checking in this order:

1. not_audio: an empty upload;
2. too_large_upload: more than UPLOAD_MAX bytes, refused before any decoding;
3. not_audio: nothing FFmpeg can read, or no audio stream in it;
4. too_long: more than MAX_DECODED_SECONDS decoded (decoding stops there);
5. silent: hardly any sound, or no speech in it (a steady hum or tone is no speech);
6. clipped: too many samples at or near full scale;
7. too_short: less than MIN_SPEECH_SECONDS of speech;
8. too_large: the converted WAV is over Coze's FILE_MAX.
"""

import hashlib
import io
import math
import wave
from dataclasses import dataclass, field

import av
import numpy as np
from django.views.decorators.debug import sensitive_variables

TARGET_RATE = 16000  # what Coze is sent: WAV, 16 kHz, mono, 16-bit
FILE_MAX = 4 * 1024 * 1024  # Coze's limit for the converted WAV
UPLOAD_MAX = 25 * 1024 * 1024  # the largest upload we read at all
MIN_SPEECH_SECONDS = 3
RECOMMENDED_SECONDS = (10, 30)
# Decoding stops past this: a small hostile file can hold hours of audio.
MAX_DECODED_SECONDS = 5 * 60

FULL_SCALE = 32768
FLOOR_DBFS = -96.0  # digital silence is told as this, not -inf (16 bits hold about 96 dB)
FRAME_SECONDS = 0.03  # speech is judged in 30 ms frames
NOISE_PERCENTILE = 10  # the quietest tenth of a recording's frames is its background
SPEECH_MARGIN_DB = 12  # speech is this much louder than the background...
SPEECH_FLOOR_DBFS = -50.0  # ...and never quieter than this
SILENT_RMS_DBFS = -60.0  # a whole recording this quiet has no usable voice
SPEECH_HEARD_SECONDS = 0.5  # less than a word of speech: none was heard
# AAC and MP3 smear a clipped waveform's flat tops into ripples: counted at 99 % of full scale,
# speech clipped 8 times over in a phone's M4A shows only 0.3 %. At 85 % (-1.4 dBFS) clipped
# speech stands out in every format, and clean speech peaking at 0 dBFS stays under 0.02 %.
CLIP_LEVEL = 32767 * 0.85
CLIPPED_SHARE_MAX = 0.01

# FFmpeg names demuxers by family; these are what people call the files.
FORMAT_NAMES = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "webm"}


class AudioRejected(Exception):
    """Audio that cannot be enrolled; `code` says why (one of: "not_audio",
    "too_large_upload", "too_long", "too_short", "silent", "clipped", "too_large"),
    `params` holds figures for the message."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Recording:
    """A recording ready for Coze, with what was measured on it."""

    # WAV 16 kHz mono 16-bit, what Coze is sent; left out of repr (debug pages, logs).
    wav: bytes = field(repr=False)
    sha256: str  # hex SHA-256 of the original upload bytes (what the person gave)
    duration: float  # seconds of the converted audio
    speech_seconds: float  # seconds judged to be speech (frames above a noise floor)
    source_format: str  # container/codec as read, e.g. "mp4/aac", "webm/opus"
    source_rate: int
    source_channels: int
    peak_dbfs: float
    rms_dbfs: float
    clipped_share: float  # share of samples at or near full scale
    warnings: tuple[str, ...]  # "short" (< 10 s of speech), "long" (> 30 s long)
    sample_rate: int = TARGET_RATE
    channels: int = 1


@dataclass(frozen=True)
class _Decoded:
    samples: np.ndarray  # int16, mono, TARGET_RATE
    source_format: str
    source_rate: int
    source_channels: int


@sensitive_variables()  # the audio: never on an error page
def prepare(data: bytes) -> Recording:
    """The upload `data` converted for Coze and measured; raises AudioRejected."""
    if not data:
        raise AudioRejected("not_audio")
    if len(data) > UPLOAD_MAX:
        raise AudioRejected(
            "too_large_upload", megabytes=_megabytes(len(data)), limit=_megabytes(UPLOAD_MAX)
        )
    decoded = _decode(data)
    samples = decoded.samples
    speech_seconds = _speech_seconds(samples)
    rms_dbfs = _dbfs(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    clipped_share = float(np.mean(np.abs(samples.astype(np.int32)) >= CLIP_LEVEL))
    _check(speech_seconds, rms_dbfs, clipped_share)
    wav = _wav(samples)
    if len(wav) > FILE_MAX:
        raise AudioRejected("too_large", megabytes=_megabytes(len(wav)), limit=_megabytes(FILE_MAX))
    duration = len(samples) / TARGET_RATE
    return Recording(
        wav=wav,
        sha256=hashlib.sha256(data).hexdigest(),
        duration=duration,
        speech_seconds=speech_seconds,
        source_format=decoded.source_format,
        source_rate=decoded.source_rate,
        source_channels=decoded.source_channels,
        peak_dbfs=_dbfs(np.max(np.abs(samples.astype(np.int32)))),
        rms_dbfs=rms_dbfs,
        clipped_share=clipped_share,
        warnings=_warnings(speech_seconds, duration),
    )


@sensitive_variables()  # the audio: never on an error page
def _decode(data):
    """The first audio stream of `data`, resampled to 16 kHz mono 16-bit."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioRejected("not_audio")
            stream = container.streams.audio[0]
            samples = _resampled(container, stream)
            source_format = f"{_format_name(container)}/{stream.codec_context.codec.canonical_name}"
            rate, channels = stream.codec_context.sample_rate, stream.codec_context.channels
    except av.FFmpegError as error:
        raise AudioRejected("not_audio") from error
    if not len(samples):
        raise AudioRejected("not_audio")
    return _Decoded(samples, source_format, rate, channels)


@sensitive_variables()  # the audio: never on an error page
def _resampled(container, stream):
    """The stream's samples at 16 kHz mono s16, stopping past MAX_DECODED_SECONDS."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=TARGET_RATE)
    limit = MAX_DECODED_SECONDS * TARGET_RATE
    parts, count = [], 0
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            parts.append(out.to_ndarray().reshape(-1))
            count += out.samples
        if count > limit:
            raise AudioRejected("too_long", minutes=MAX_DECODED_SECONDS // 60)
    # The resampler holds back its last few milliseconds until flushed.
    parts += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(parts) if parts else np.zeros(0, np.int16)


def _format_name(container):
    name = container.format.name
    return FORMAT_NAMES.get(name, name.split(",")[0])


def _speech_seconds(samples):
    """Seconds in 30 ms frames louder than the background by a margin (and than an absolute
    floor): no model, so what it counts can be explained to anyone."""
    levels = _frame_levels(samples)
    if not len(levels):
        return 0.0
    background = np.percentile(levels, NOISE_PERCENTILE)
    threshold = max(background + SPEECH_MARGIN_DB, SPEECH_FLOOR_DBFS)
    return round(float(np.count_nonzero(levels > threshold) * FRAME_SECONDS), 2)


def _frame_levels(samples):
    size = round(FRAME_SECONDS * TARGET_RATE)
    count = len(samples) // size
    frames = samples[: count * size].reshape(count, size).astype(np.float64)
    return _dbfs(np.sqrt(np.mean(np.square(frames), axis=1)))


def _dbfs(amplitude):
    """Decibels below full scale, FLOOR_DBFS for digital silence (a float or an array)."""
    ratio = np.asarray(amplitude, np.float64) / FULL_SCALE
    with np.errstate(divide="ignore"):  # log10(0) is -inf, then the floor
        level = np.maximum(20 * np.log10(ratio), FLOOR_DBFS)
    return float(level) if level.ndim == 0 else level


def _check(speech_seconds, rms_dbfs, clipped_share):
    # Clipping first: a recording loud enough to be mostly at full scale has no quieter
    # background for speech to stand out from, and is not silent.
    if clipped_share > CLIPPED_SHARE_MAX:
        raise AudioRejected("clipped", percent=round(100 * clipped_share, 1))
    if speech_seconds < SPEECH_HEARD_SECONDS or rms_dbfs < SILENT_RMS_DBFS:
        raise AudioRejected("silent", rms_dbfs=round(rms_dbfs, 1))
    if speech_seconds < MIN_SPEECH_SECONDS:
        # Rounded down: 2.97 s is not told as the 3 s that would have been enough.
        seconds = math.floor(speech_seconds * 10) / 10
        raise AudioRejected("too_short", seconds=seconds, minimum=MIN_SPEECH_SECONDS)


def _warnings(speech_seconds, duration):
    """Coze's console recommends 10 to 30 s: too little speech, or a longer recording."""
    low, high = RECOMMENDED_SECONDS
    return ("short",) * (speech_seconds < low) + ("long",) * (duration > high)


@sensitive_variables()  # the audio: never on an error page
def _wav(samples):
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(TARGET_RATE)
        file.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def _megabytes(size):
    """MB to one decimal, rounded up: a size just over a limit never reads as the limit."""
    return math.ceil(size / (1024 * 1024) * 10) / 10
