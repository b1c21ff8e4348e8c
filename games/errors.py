"""Why the game layer refuses a request; each message is a sentence a player can read as it is.

GameError (ValueError)
├── GameNotFoundError
├── SpectatorError
├── NotStartedError
├── NotAllowedError
├── ConflictError
└── StoreUnavailableError

The engine's own refusals (:class:`engine.connect4.IllegalMoveError`) pass through unchanged.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "GameError",
    "GameNotFoundError",
    "NotAllowedError",
    "NotStartedError",
    "SpectatorError",
    "StoreUnavailableError",
]


class GameError(ValueError):
    """Root of the game layer's refusals."""


class GameNotFoundError(GameError):
    """No game has this key or id (it never existed, or was cleaned up)."""

    def __init__(self) -> None:
        super().__init__("Game not found.")


class SpectatorError(GameError):
    """A browser without a seat tried to act as a player."""

    def __init__(self) -> None:
        super().__init__("Spectators cannot play.")


class NotStartedError(GameError):
    """A move before the second player has joined."""

    def __init__(self) -> None:
        super().__init__("Waiting for an opponent to join.")


class OutOfTimeError(GameError):
    """A move after the mover's clock ran out (the game is lost on time)."""

    def __init__(self) -> None:
        super().__init__("Your time is up: the game is lost on time.")


class NotAllowedError(GameError):
    """An action this kind of game or this moment does not allow (the message says which)."""


class ConflictError(GameError):
    """Another server stored a change to this game first; the caller's view has been brought up to date."""

    def __init__(self) -> None:
        super().__init__("The game changed before your move arrived; the board now shows the current position.")


class StoreUnavailableError(GameError):
    """The store could not be reached."""

    def __init__(self) -> None:
        super().__init__("The connection to the game server was lost. Trying again…")
