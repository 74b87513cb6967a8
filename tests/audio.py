"""Audio the tests build, in memory: tones as WAV or raw PCM (standard library), speech from
espeak-ng, and the same recordings encoded as phones and browsers send them (PyAV).

Without espeak-ng a test that asks for speech is skipped, or fails under CI (`CI` set),
where the audio tests are required."""

import fractions
import functools
import io
import math
import os
import random
import shutil
import struct
import subprocess
import wave

import av
import numpy as np

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
# About 15 s spoken, 12 s of it speech by groups.audio's measure: an enrollment as advised.
ENROLLMENT_TEXT = (
    "Hello, this is my voice for the living room speaker. I read this short text aloud so "
    "that the speaker learns how I sound, in a quiet room, close to the microphone, speaking "
    "as I do every day. In the morning I ask for the news and the weather, and at night I "
    "ask for quiet music."
)
SHORT_TEXT = "Good morning, it is me."  # about 2 s


def pcm(seconds=1.0, rate=16000, channels=1, hz=220):
    """A sine of `hz` (a whole number, so each second repeats the first) as raw
    little-endian 16-bit PCM, at half of full scale."""
    second = b"".join(
        struct.pack("<h", round(16000 * math.sin(2 * math.pi * hz * n / rate))) * channels
        for n in range(rate)
    )
    size = round(seconds * rate) * 2 * channels
    return (second * math.ceil(seconds))[:size]


def wav(seconds=1.0, rate=16000, channels=1, hz=220):
    """The same sine in a WAV file (16-bit), as `wave` writes it."""
    return wav_of(pcm(seconds, rate, channels, hz), rate, channels)


def wav_of(frames, rate, channels=1):
    """16-bit PCM (bytes, or a numpy array of int16) in a WAV file."""
    if not isinstance(frames, bytes):
        frames = frames.astype("<i2").tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(frames)
    return out.getvalue()


def samples(wav_bytes):
    """A 16-bit WAV's samples (numpy int16, channels interleaved) and its rate."""
    with wave.open(io.BytesIO(wav_bytes)) as file:
        assert file.getsampwidth() == 2, "16-bit WAV only"
        frames = file.readframes(file.getnframes())
        return np.frombuffer(frames, "<i2"), file.getframerate()


def need_espeak():
    """Skip the test without espeak-ng, or fail it under CI."""
    if shutil.which("espeak-ng"):
        return
    import pytest  # here: the benchmark builds its recordings with this module, without pytest

    if IN_CI:
        pytest.fail(
            "CI is set but espeak-ng is missing: the audio tests are required "
            "(apt-get install espeak-ng).",
            pytrace=False,
        )
    pytest.skip("espeak-ng not found (apt-get install espeak-ng to run the audio tests)")


@functools.cache
def speech(text=ENROLLMENT_TEXT, voice="en+f3", rate=None):
    """`text` spoken by espeak-ng's `voice` (words per minute `rate`) as a WAV file:
    22.05 kHz, mono, 16-bit."""
    need_espeak()
    command = ["espeak-ng", "-v", voice, "--stdout"] + (["-s", str(rate)] if rate else [])
    spoken = subprocess.run(command + [text], capture_output=True, check=True).stdout
    # Writing to a pipe, espeak-ng cannot go back to fill in the sizes: write them properly.
    with wave.open(io.BytesIO(spoken)) as file:
        return wav_of(file.readframes(file.getnframes()), file.getframerate())


def encode(wav_bytes, container, codec, rate, channels):
    """A 16-bit mono WAV encoded with PyAV, in memory: `container` as FFmpeg names its
    muxers ("mp4", "webm", "ogg", "mp3", "flac", "wav"), `codec` its encoder."""
    mono, source_rate = samples(wav_bytes)
    # Two equal channels built here: FFmpeg's own upmix would lower the level by 3 dB.
    frames = np.repeat(mono, channels).reshape(1, -1)
    layout = {1: "mono", 2: "stereo"}[channels]
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout=layout)
        step = 1024  # samples a frame, as a recorder hands them over
        for start in range(0, len(mono), step):
            chunk = frames[:, start * channels : (start + step) * channels]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), "s16", layout)
            frame.sample_rate = source_rate
            # Timestamps of our own: without them the encoder's last packets come out with
            # none but the very last, which the muxer refuses for some lengths of audio.
            frame.pts, frame.time_base = start, fractions.Fraction(1, source_rate)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return out.getvalue()


def phone_m4a(wav_bytes):
    """As a phone's recorder saves it: AAC in MP4 (.m4a), 44.1 kHz stereo."""
    return encode(wav_bytes, "mp4", "aac", 44100, 2)


def chromium_webm(wav_bytes):
    """As Chromium's MediaRecorder sends it: Opus in WebM, 48 kHz mono."""
    return encode(wav_bytes, "webm", "libopus", 48000, 1)


def silence(seconds=15.0, rate=16000):
    return wav_of(bytes(round(seconds * rate) * 2), rate)


def hum(seconds=15.0, dbfs=-60.0, hz=50, rate=16000):
    """Mains hum: a sine of `hz` peaking at `dbfs` below full scale."""
    amplitude = 32767 * 10 ** (dbfs / 20)
    n = np.arange(round(seconds * rate))
    return wav_of(np.round(amplitude * np.sin(2 * np.pi * hz * n / rate)).astype(np.int16), rate)


def louder(wav_bytes, gain):
    """The recording `gain` times louder, hard-clipped at full scale as a recorder clips."""
    mono, rate = samples(wav_bytes)
    return wav_of(np.clip(mono.astype(np.float64) * gain, -32768, 32767).astype(np.int16), rate)


def square(seconds=15.0, hz=220, rate=16000, on=0.3, off=0.2):
    """A full-scale square wave in bursts (`on` s sounding, `off` s quiet), louder than
    any clean recording; with `off=0`, one steady tone."""
    n = np.arange(round(seconds * rate))
    wave_ = np.where(np.sin(2 * np.pi * hz * n / rate) >= 0, 32767, -32767)
    sounding = (n / rate) % (on + off) < on
    return wav_of((wave_ * sounding).astype(np.int16), rate)


def repeated(wav_bytes, seconds):
    """The recording played again and again, `seconds` long."""
    mono, rate = samples(wav_bytes)
    size = round(seconds * rate)
    return wav_of(np.resize(mono, size), rate)


def random_bytes(size=64 * 1024, seed=1):
    return random.Random(seed).randbytes(size)


def text_file():
    return ("A note, not a recording: bring the speaker to the living room.\n" * 50).encode()


def truncated(data, keep=0.5):
    """The first `keep` share of a file, as an upload cut off half way."""
    return data[: round(len(data) * keep)]


def video_without_sound(seconds=2, rate=10):
    """A small MP4 holding only a picture track (grey frames): a container, but no audio."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as output:
        stream = output.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        grey = np.full((48, 64, 3), 128, np.uint8)
        for _ in range(seconds * rate):
            output.mux(stream.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")))
        output.mux(stream.encode(None))
    return out.getvalue()
