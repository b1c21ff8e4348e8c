"""The shipped sounds: small WAV files that ui/sounds.py writes, served by the app."""

from __future__ import annotations

import wave
from pathlib import Path

from nicegui.testing import User

from ui.sounds import SOUNDS, SOUNDS_DIR, write_sounds


def test_the_shipped_sounds_are_what_the_module_writes(tmp_path: Path) -> None:
    for path in write_sounds(tmp_path):
        shipped = SOUNDS_DIR / path.name
        assert shipped.read_bytes() == path.read_bytes(), f"run `python -m ui.sounds` to rewrite {shipped}"
        with wave.open(str(shipped), "rb") as sound:
            assert (sound.getnchannels(), sound.getsampwidth(), sound.getframerate()) == (1, 1, 8000)
            assert 0.05 < sound.getnframes() / sound.getframerate() < 1.0
        assert shipped.stat().st_size < 8 * 1024
    assert sorted(p.name for p in SOUNDS_DIR.iterdir()) == sorted(SOUNDS)


async def test_the_app_serves_the_sounds(user: User) -> None:
    for name in SOUNDS:
        response = await user.http_client.get(f"/sounds/{name}")
        assert response.status_code == 200, name
        assert response.content == (SOUNDS_DIR / name).read_bytes()
        assert response.headers["content-type"] in ("audio/wav", "audio/x-wav")
