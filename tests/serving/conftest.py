"""The tests of serving/ run the app with its tuning on, whatever SERVER_TUNING says around them."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def tuning_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the ``user`` fixture runs main.py (autouse fixtures come first)."""
    monkeypatch.setenv("SERVER_TUNING", "on")
