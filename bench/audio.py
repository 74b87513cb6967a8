"""The benchmark of enrollment audio: how long groups.audio.prepare() takes to convert and
check what people upload.

    python bench/audio.py            # 20 runs of each case (needs espeak-ng)
    python bench/audio.py --runs 50

Two cases: 30 s of speech as a phone's M4A (AAC, 44.1 kHz stereo), and a WAV of about 4 MB
(16 kHz mono, about 130 s: the most Coze takes). It prints the median of the runs under the
names below; bench/results.json is bench/run.py's, which keeps only its own figures, so
nothing is written there.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `groups` and `tests` importable

from groups import audio  # noqa: E402
from tests import audio as recordings  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    for name, upload in _cases():
        times = _timed(upload, args.runs)
        print(
            f"{name} = {statistics.median(times):.1f}  "
            f"(min {min(times):.1f}, max {max(times):.1f} ms; {args.runs} runs, "
            f"{len(upload) / 1e6:.2f} MB upload)"
        )


def _cases():
    speech = recordings.speech()
    m4a = recordings.phone_m4a(recordings.repeated(speech, 30))
    at_16k = audio.prepare(speech).wav  # the same speech, already as Coze takes it
    wav = recordings.repeated(at_16k, 130)
    assert len(wav) <= audio.FILE_MAX
    return [("enroll_convert_m4a_30s_ms", m4a), ("enroll_convert_wav_4mb_ms", wav)]


def _timed(upload, runs):
    audio.prepare(upload)  # warm up: FFmpeg's codecs and numpy's first calls
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        audio.prepare(upload)
        times.append((time.perf_counter() - start) * 1000)
    return times


if __name__ == "__main__":
    main()
