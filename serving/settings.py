"""How the server runs, read once from the environment: the tuning switch, the idle exit and the per-address limits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ServingSettings", "ServingSettingsError"]


class ServingSettingsError(ValueError):
    """An environment variable about serving holds a value the server cannot use."""


@dataclass(frozen=True)
class ServingSettings:
    """Everything ``serving.install`` can be told through environment variables."""

    host: str = "127.0.0.1"
    port: int = 8080
    tuning: bool = True
    """Install the tuning patches (SERVER_TUNING=on/off); off serves on stock NiceGUI, hardening included."""
    skip: tuple[str, ...] = ()
    """Patches left out by name (SERVER_TUNING_SKIP=a,b): to measure one against its absence, or to rule one out."""
    idle_exit_growth: float | None = None
    """Exit with no page open and memory this fraction over the start (IDLE_EXIT in %; off by default: None)."""
    idle_exit_pages: int = 20
    """...but only after at least this many pages were open at once (IDLE_EXIT_PAGES)."""
    idle_exit_interval: float = 5.0
    """Seconds between two looks at the pages and the memory."""
    page_burst: int = 120
    """Page loads one address may make at once (ADDRESS_PAGES_BURST; 0: no limit)..."""
    page_rate: float = 2.0
    """...and per second after that (ADDRESS_PAGES_PER_SECOND)."""
    socket_burst: int = 120
    """New sockets (connections and reconnections) one address may open at once (ADDRESS_SOCKETS_BURST; 0: none)..."""
    socket_rate: float = 2.0
    """...and per second after that (ADDRESS_SOCKETS_PER_SECOND)."""
    open_sockets: int = 200
    """Sockets one address may hold open at the same time (ADDRESS_OPEN_SOCKETS; 0: no limit)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, host: str = host, port: int = port) -> ServingSettings:
        """Read SERVER_TUNING(_SKIP), IDLE_EXIT(_PAGES) and the ADDRESS_* limits; unset ones keep their defaults."""
        env = os.environ if env is None else env
        tuning_text = env.get("SERVER_TUNING", "on").strip().lower()
        if tuning_text not in ("on", "off"):
            raise ServingSettingsError(f"SERVER_TUNING must be on or off, not {tuning_text!r}.")
        exit_text = env.get("IDLE_EXIT", "off").strip().lower()
        growth: float | None = None
        if exit_text != "off":
            try:
                growth = float(exit_text) / 100
            except ValueError:
                growth = -1.0
            if not 0 <= growth < 100:
                raise ServingSettingsError(f"IDLE_EXIT must be a percentage such as 10, or off, not {exit_text!r}.")
        pages_text = env.get("IDLE_EXIT_PAGES", str(cls.idle_exit_pages))
        if not pages_text.isdigit() or int(pages_text) < 1:
            raise ServingSettingsError(f"IDLE_EXIT_PAGES must be a whole number of at least 1, not {pages_text!r}.")
        skip = tuple(name.strip() for name in env.get("SERVER_TUNING_SKIP", "").split(",") if name.strip())
        return cls(
            host=host,
            port=port,
            tuning=tuning_text == "on",
            skip=skip,
            idle_exit_growth=growth,
            idle_exit_pages=int(pages_text),
            page_burst=_whole(env, "ADDRESS_PAGES_BURST", cls.page_burst),
            page_rate=_rate(env, "ADDRESS_PAGES_PER_SECOND", cls.page_rate),
            socket_burst=_whole(env, "ADDRESS_SOCKETS_BURST", cls.socket_burst),
            socket_rate=_rate(env, "ADDRESS_SOCKETS_PER_SECOND", cls.socket_rate),
            open_sockets=_whole(env, "ADDRESS_OPEN_SOCKETS", cls.open_sockets),
        )


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, str(default)).strip()
    if not text.isdigit():
        raise ServingSettingsError(f"{name} must be a whole number (0 for no limit), not {text!r}.")
    return int(text)


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, str(default)).strip()
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0 < rate < float("inf"):
        raise ServingSettingsError(f"{name} must be a number of requests per second above 0, such as 2, not {text!r}.")
    return rate
