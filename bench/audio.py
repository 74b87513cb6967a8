"""The benchmark of enrollment audio: how long groups.audio.prepare() takes to convert and
check what people upload. `make bench` (bench/one_database.py) measures the same two
recordings with these functions, and sends them in enrollments; alone:

    python bench/audio.py            # 20 runs of each case
    python bench/audio.py --runs 50

Two cases: 30 s of speech as a phone's M4A (AAC, 44.1 kHz stereo), and a WAV of about 4 MB
(16 kHz mono, about 130 s: the most Coze takes). The speech is espeak-ng's; without
espeak-ng, speech-like sound made here (voiced syllables and pauses), which FFmpeg decodes
and resamples at the same cost. It prints the median of the runs under the names
below; bench/results.json is bench/run.py's, so nothing is written there.
"""

import argparse
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `groups` and `tests` importable

from groups import audio  # noqa: E402
from tests import audio as recordings  # noqa: E402  (PyAV and numpy only, no pytest)

# Coze's limit of 4 MB holds 131 s of 16 kHz 16-bit mono; 130 s leaves room for the header.
WAV_SECONDS = 130
# The target: converting and checking 30 s of audio takes less than this.
MS_PER_30_SECONDS = 150.0


@dataclass(frozen=True)
class Case:
    name: str  # the figure's name in bench/results.json
    filename: str  # as uploaded
    upload: bytes
    seconds: float  # of audio in it

    @property
    def limit_ms(self):
        """The target for this much audio: 150 ms per 30 s, never less than 150 ms."""
        return MS_PER_30_SECONDS * max(1.0, self.seconds / 30)


def cases():
    """The two uploads measured: a phone's 30 s M4A and a WAV of about 4 MB."""
    speech, _source = spoken()
    m4a = recordings.phone_m4a(recordings.repeated(speech, 30))
    at_16k = audio.prepare(speech).wav  # the same speech, already as Coze takes it
    wav = recordings.repeated(at_16k, WAV_SECONDS)
    assert len(wav) <= audio.FILE_MAX
    return [
        Case("enroll_convert_m4a_30s_ms", "voice.m4a", m4a, 30.0),
        Case("enroll_convert_wav_4mb_ms", "voice.wav", wav, float(WAV_SECONDS)),
    ]


def spoken():
    """About 15 s of speech as a 16-bit mono WAV, and where it came from: espeak-ng, or
    speech-like sound made here when espeak-ng is not installed."""
    if shutil.which("espeak-ng"):
        return recordings.speech(), "espeak-ng"
    return speech_like(), "synthetic (espeak-ng not installed)"


def speech_like(seconds=15.0, rate=22050, seed=13):
    """Voiced syllables (a gliding pitch with harmonics, 150-350 ms) between short pauses
    with a faint background noise: what groups.audio counts as speech, not a steady tone."""
    rng = np.random.default_rng(seed)
    parts = []
    while sum(len(p) for p in parts) < seconds * rate:
        length = int(rate * rng.uniform(0.15, 0.35))
        t = np.arange(length) / rate
        pitch = rng.uniform(110, 230) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
        phase = 2 * np.pi * np.cumsum(pitch) / rate
        voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
        envelope = np.sin(np.pi * np.arange(length) / length) ** 2
        parts.append(0.25 * voiced * envelope)
        parts.append(np.zeros(int(rate * rng.uniform(0.05, 0.25))))
    signal = np.concatenate(parts)[: int(seconds * rate)]
    signal += rng.normal(0, 0.0005, len(signal))  # a quiet room, not digital silence
    return recordings.wav_of(np.round(signal * 32767).astype(np.int16), rate)


def timed(upload, runs, *, warmup=1):
    """Milliseconds of groups.audio.prepare(upload), `runs` times after `warmup` (FFmpeg's
    codecs and numpy's first calls)."""
    for _ in range(warmup):
        audio.prepare(upload)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        audio.prepare(upload)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"speech: {spoken()[1]}")
    for case in cases():
        times = timed(case.upload, args.runs)
        print(
            f"{case.name} = {statistics.median(times):.1f}  "
            f"(min {min(times):.1f}, max {max(times):.1f} ms; {args.runs} runs, "
            f"{len(case.upload) / 1e6:.2f} MB upload; target < {case.limit_ms:.0f} ms)"
        )


if __name__ == "__main__":
    main()
