"""Audio the tests build, in memory with the standard library: tones as WAV or raw PCM."""

import io
import math
import struct
import wave


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
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(pcm(seconds, rate, channels, hz))
    return out.getvalue()
