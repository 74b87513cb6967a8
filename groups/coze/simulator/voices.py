"""What the simulator keeps of a voice, and how it compares two: a few dozen numbers
computed from an enrollment's audio (never the audio itself), and a score from 0 to 100.

A voice is described by its voiced frames only (vowels and voiced consonants, where the
vocal tract shapes the sound): the mean and the spread of 20 mel-cepstral coefficients
(the spectral envelope: formants, timbre; the first one, loudness, is left out, so a
quieter recording of the same voice is the same voice) and the median pitch. That is
how speaker recognition worked before neural embeddings (cepstral means, GMMs): good
enough to tell espeak-ng's voices apart across sentences and through a phone's AAC, and
cheap (about 15 ms of CPU for a 10 s clip). Coze's own model is not known; its scores are not
meant to be reproduced, only its behaviour: a clip scores highest against the voice it
came from.
"""

import functools
import hashlib
import io
import math
import wave

import numpy as np

FRAME_SECONDS, HOP_SECONDS = 0.032, 0.020
BANDS, LOW_HZ, HIGH_HZ = 32, 80.0, 7600.0  # mel bands over what 16 kHz audio holds
CEPSTRA = 20
PITCH_HZ = (60.0, 400.0)  # the range of speaking voices
# A frame is speech within 30 dB of the recording's loud frames (never under -55 dBFS),
# and voiced when its normalised autocorrelation peaks above 0.7 at a pitch period.
SPEECH_RANGE_DB, SPEECH_FLOOR_DBFS, VOICED_PEAK = 30.0, -55.0, 0.7
MIN_VOICED_FRAMES = 15  # 0.3 s of voice: less describes no one
DYNAMIC_RANGE = 1e-8  # a band is never counted quieter than 80 dB below its frame's loudest
# The stored vector: CEPSTRA means, CEPSTRA spreads, the median pitch in semitones re 100 Hz.
SIZE = 2 * CEPSTRA + 1
# How much each number weighs in the distance: higher cepstra (finer detail of the
# envelope) are smaller by nature, so they are lifted by sqrt(n); an octave of pitch
# (12 semitones) moves a voice 1.8, most of the way to a score of 50.
_LIFT = np.sqrt(np.arange(1, CEPSTRA + 1))
WEIGHTS = np.concatenate([_LIFT, _LIFT, [0.15]])
# The distance at which a clip scores 50. Measured on seven espeak-ng voices, four
# sentences each, as WAV and through a phone's M4A: a voice's own clips score 60 to 92,
# the nearest other voice at most 53, always at least 17 points less.
HALF_SCORE_DISTANCE = 3.0
# [inf] What Coze answers for a voiceprint it cannot compare is not known: a low score.
UNMATCHED_SCORES = (5.0, 20.0)


def voice_of(data: bytes, audio_format: dict) -> list[float] | None:
    """The voice in `data` (a WAV, or raw 16-bit PCM as `audio_format` says) as SIZE
    floats; None when it holds too little voice to describe (silence, noise, a click)."""
    samples, rate = _samples(data, audio_format)
    frames = _frames(samples, rate)
    if frames is None:
        return None
    window, window_correlation, mel_filters, nfft = _analysis(rate, frames.shape[1])
    spectra = np.fft.rfft(frames * window, nfft)
    power = spectra.real**2 + spectra.imag**2
    periods = _pitch_periods(power, window_correlation, nfft, rate)
    voiced = periods > 0
    if np.count_nonzero(voiced) < MIN_VOICED_FRAMES:
        return None
    bands = power[voiced] @ mel_filters
    floor = bands.max(axis=1, keepdims=True) * DYNAMIC_RANGE + 1e-20
    cepstra = np.log(bands + floor).astype(np.float64) @ _dct(BANDS, CEPSTRA).T
    semitones = 12 * np.log2(rate / periods[voiced] / 100)
    vector = np.concatenate([cepstra.mean(axis=0), cepstra.std(axis=0), [np.median(semitones)]])
    return [round(float(value), 5) for value in vector]


def score(voice: list[float], clip: list[float]) -> float:
    """How close a clip's voice is to an enrolled one, from 0 to 100 (100: the same)."""
    distance = float(np.linalg.norm((np.asarray(voice) - np.asarray(clip)) * WEIGHTS))
    return 100.0 / (1.0 + (distance / HALF_SCORE_DISTANCE) ** 2)


def comparable(voice) -> bool:
    """Whether a stored voice can be compared (a voiceprint made elsewhere has none, and
    one kept by an older simulator may have another size)."""
    return isinstance(voice, list) and len(voice) == SIZE


def unmatched_score(feature_id: str, clip: bytes) -> float:
    """A low score, the same for the same voiceprint and clip, for what cannot be
    compared: a voiceprint without a stored voice, or a clip without voice."""
    digest = hashlib.sha256(feature_id.encode() + b":" + hashlib.sha256(clip).digest()).digest()
    low, high = UNMATCHED_SCORES
    return low + (high - low) * int.from_bytes(digest[:8], "big") / 2**64


def _samples(data, audio_format):
    """Mono samples in [-1, 1) and their rate, from a WAV or 16-bit PCM."""
    if audio_format["format"] == "pcm":
        raw, rate, channels, width = data, audio_format["sample_rate"], 1, 2
    else:
        with wave.open(io.BytesIO(data)) as file:
            rate, channels, width = file.getframerate(), file.getnchannels(), file.getsampwidth()
            raw = file.readframes(file.getnframes())
    raw = raw[: len(raw) // (width * channels) * width * channels]
    if width == 1:  # WAV's 8-bit samples are unsigned
        values = np.frombuffer(raw, np.uint8).astype(np.float64) - 128
    elif width == 3:
        padded = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        padded = np.concatenate([np.zeros((len(padded), 1), np.uint8), padded], axis=1)
        values = padded.copy().view("<i4").reshape(-1).astype(np.float64)
    else:
        values = np.frombuffer(raw, f"<i{width}").astype(np.float64)
    mono = values.reshape(-1, channels).mean(axis=1) / 2 ** (8 * width - 1)
    # Single precision is plenty for a few dozen rounded numbers, and twice as fast.
    return (mono - (mono.mean() if len(mono) else 0)).astype(np.float32), rate


def _frames(samples, rate):
    """The recording's speech frames (32 ms every 20 ms), or None when there are none."""
    size, hop = round(FRAME_SECONDS * rate), round(HOP_SECONDS * rate)
    if len(samples) < size + hop * MIN_VOICED_FRAMES:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(samples, size)[::hop]
    levels = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)  # digital silence: -120 dB
    loud = np.percentile(levels, 95)
    speech = frames[levels > max(loud - SPEECH_RANGE_DB, SPEECH_FLOOR_DBFS)]
    return speech if len(speech) else None


def _pitch_periods(power, window_correlation, nfft, rate):
    """Each frame's pitch period in samples, 0 where it is not voiced: the highest peak of
    its autocorrelation (corrected for the window's, as Boersma's method does)."""
    shortest, longest = int(rate / PITCH_HZ[1]), len(window_correlation) - 1
    correlation = np.fft.irfft(power, nfft)[:, : longest + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = correlation / correlation[:, :1] / window_correlation
    candidates = np.nan_to_num(normalised[:, shortest:], nan=0.0)
    lags = candidates.argmax(axis=1)
    peaks = candidates[np.arange(len(candidates)), lags]
    return np.where(peaks > VOICED_PEAK, lags + shortest, 0)


@functools.lru_cache(maxsize=8)
def _analysis(rate, size):
    """What analysing frames of `size` samples at `rate` needs, computed once: the window,
    its autocorrelation (normalised) up to the longest pitch period, BANDS triangular
    filters evenly spaced on the mel scale (a bins-by-bands matrix), and the FFT's size
    (room for the autocorrelation without wrapping)."""
    nfft = 1 << (2 * size - 1).bit_length()
    window = np.hanning(size).astype(np.float32)
    longest = min(int(rate / PITCH_HZ[0]), size // 2)
    correlation = np.fft.irfft(np.abs(np.fft.rfft(window, nfft)) ** 2, nfft)[: longest + 1]
    mels = np.linspace(_mel(LOW_HZ), _mel(HIGH_HZ), BANDS + 2)
    edges = 700 * (10 ** (mels / 2595) - 1)
    hertz = np.arange(nfft // 2 + 1) * rate / nfft
    low, middle, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising, falling = (hertz - low) / (middle - low), (high - hertz) / (high - middle)
    filters = np.maximum(0, np.minimum(rising, falling)).T.astype(np.float32)
    return window, correlation / correlation[0], filters, nfft


def _mel(hertz):
    return 2595 * math.log10(1 + hertz / 700)


def _dct(bands, count):
    """The DCT-II rows 1..count (row 0, the overall loudness, is left out), scaled so that
    a coefficient does not depend on the number of bands."""
    n = np.arange(bands)
    rows = np.arange(1, count + 1)[:, None]
    return np.cos(np.pi / bands * (n + 0.5) * rows) * 2 / bands
