"""The game's two sounds, written by Python's ``wave`` module: ``python -m ui.sounds`` makes the shipped files.

Short sine tones, 8 kHz mono 8-bit, a few kilobytes each; the same call always writes the same bytes,
so a test can check that the shipped files are what this module makes.
"""

from __future__ import annotations

import math
import sys
import wave
from pathlib import Path

__all__ = ["RATE", "SOUNDS", "SOUNDS_DIR", "tone", "write_sounds"]

SOUNDS_DIR = Path(__file__).resolve().parent / "static" / "sounds"
RATE = 8000

SOUNDS: dict[str, tuple[tuple[float, float], ...]] = {
    "move.wav": ((660.0, 0.09),),
    "end.wav": ((523.25, 0.12), (659.25, 0.12), (783.99, 0.24)),
}
"""Each file's notes: (frequency in Hz, seconds), played one after the other."""


def tone(frequency: float, seconds: float, volume: float = 0.5) -> bytes:
    """A sine tone as unsigned 8-bit samples, faded in and out over 10 ms so it does not click."""
    count = int(RATE * seconds)
    fade = int(RATE * 0.01)
    samples = bytearray()
    for index in range(count):
        envelope = min(1.0, index / fade, (count - 1 - index) / fade)
        value = volume * envelope * math.sin(2 * math.pi * frequency * index / RATE)
        samples.append(128 + round(127 * value))
    return bytes(samples)


def write_sounds(directory: Path = SOUNDS_DIR) -> list[Path]:
    """Write every sound into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, notes in SOUNDS.items():
        path = directory / name
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(1)
            out.setframerate(RATE)
            out.writeframes(b"".join(tone(frequency, seconds) for frequency, seconds in notes))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_sounds(Path(sys.argv[1]) if len(sys.argv) > 1 else SOUNDS_DIR):
        print(path, path.stat().st_size, "bytes")
