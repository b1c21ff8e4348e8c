"""Fixtures shared by every test: NiceGUI's simulated users, and real servers and browsers."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["nicegui.testing.user_plugin", "tests.fixtures", "tests.redis_fixtures"]


@pytest.fixture(autouse=True)
def database_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every app a test starts in this process keeps its games in a fresh SQLite file, never in the repo."""
    path = tmp_path / "connect4.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    return path
