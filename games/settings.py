"""The app's configuration, read once from the environment."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Settings", "SettingsError"]

log = logging.getLogger(__name__)


class SettingsError(ValueError):
    """An environment variable holds a value the app cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything ``python main.py`` can be told through environment variables."""

    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    storage_secret: str = ""
    storage_secret_is_random: bool = False
    game_ttl: float = 7 * 24 * 3600
    """Seconds after its last change that a game is deleted (GAME_TTL)."""
    database_url: str = "sqlite:///connect4.db"
    """Where games are kept when REDIS_URL is not set: sqlite:///relative.db, sqlite:////absolute.db or memory://."""
    redis_url: str = ""
    """With a Redis URL, games live in Redis and several instances share them."""
    computer_workers: int = 1
    """Worker processes for the computer opponent and analysis (COMPUTER_WORKERS)."""
    claim_after: float = 60.0
    """Seconds a player may be away during their own turn before the opponent may claim the win (CLAIM_AFTER)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read HOST, PORT, LOG_LEVEL and STORAGE_SECRET; unset ones keep their defaults."""
        env = os.environ if env is None else env
        port_text = env.get("PORT", str(cls.port))
        try:
            port = int(port_text)
        except ValueError:
            raise SettingsError(f"PORT must be a number from 1 to 65535, not {port_text!r}.") from None
        if not 0 <= port <= 65535:
            raise SettingsError(f"PORT must be a number from 1 to 65535, not {port_text!r}.")
        level = env.get("LOG_LEVEL", cls.log_level).upper()
        if level not in logging.getLevelNamesMapping():
            raise SettingsError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, not {level!r}.")
        ttl_text = env.get("GAME_TTL", str(cls.game_ttl))
        try:
            game_ttl = float(ttl_text)
        except ValueError:
            raise SettingsError(f"GAME_TTL must be a number of seconds, not {ttl_text!r}.") from None
        if not game_ttl > 0:
            raise SettingsError(f"GAME_TTL must be a number of seconds, not {ttl_text!r}.")
        secret = env.get("STORAGE_SECRET", "")
        database_url = env.get("DATABASE_URL", "") or cls.database_url
        if not (database_url.startswith("sqlite:///") or database_url == "memory://"):
            raise SettingsError(
                f"DATABASE_URL must look like sqlite:///connect4.db or memory://, not {database_url!r}."
            )
        redis_url = env.get("REDIS_URL", "")
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"REDIS_URL must look like redis://host:6379/0, not {redis_url!r}.")
        workers_text = env.get("COMPUTER_WORKERS", str(cls.computer_workers))
        if not workers_text.isdigit() or not 1 <= int(workers_text) <= 64:
            raise SettingsError(f"COMPUTER_WORKERS must be a whole number from 1 to 64, not {workers_text!r}.")
        claim_text = env.get("CLAIM_AFTER", str(cls.claim_after))
        try:
            claim_after = float(claim_text)
        except ValueError:
            raise SettingsError(f"CLAIM_AFTER must be a number of seconds, not {claim_text!r}.") from None
        if not 0 < claim_after < 1e9:
            raise SettingsError(f"CLAIM_AFTER must be a number of seconds, not {claim_text!r}.")
        return cls(
            host=env.get("HOST", cls.host),
            port=port,
            log_level=level,
            storage_secret=secret or secrets.token_urlsafe(32),
            storage_secret_is_random=not secret,
            game_ttl=game_ttl,
            database_url=database_url,
            redis_url=redis_url,
            computer_workers=int(workers_text),
            claim_after=claim_after,
        )
