"""The engine's one error tree: every refusal is a narrow class that is also a ``ValueError``.

Connect4Error
├── IllegalMoveError (ValueError): a move the rules refuse
│   ├── UnknownPlayerError
│   ├── NotYourTurnError
│   ├── InvalidColumnError
│   ├── ColumnFullError
│   └── GameOverError
├── NothingToUndoError (ValueError)
├── InvalidPositionError (ValueError): solver notation that is not a legal game ("4453")
│   ├── UnknownColumnError: a character that is not a column 1..7
│   ├── FullColumnError: a move into a column that already holds six stones
│   └── GameWonError: a move that connects four where the game must go on, or one after the end
└── NoMoveError (ValueError): a move or score asked for where the game is over

Every message is a sentence a player can read as it is, naming the input it refuses.
"""

from __future__ import annotations

__all__ = [
    "ColumnFullError",
    "Connect4Error",
    "FullColumnError",
    "GameOverError",
    "GameWonError",
    "IllegalMoveError",
    "InvalidColumnError",
    "InvalidPositionError",
    "NoMoveError",
    "NotYourTurnError",
    "NotationError",
    "NothingToUndoError",
    "UnknownColumnError",
    "UnknownPlayerError",
]


class Connect4Error(Exception):
    """Root of the engine's errors."""


class IllegalMoveError(Connect4Error, ValueError):
    """A move the rules refuse."""


class UnknownPlayerError(IllegalMoveError):
    """The mover is neither red nor yellow."""

    def __init__(self, player: object) -> None:
        super().__init__(f"There is no player {player!r}; the players are red and yellow.")


class NotYourTurnError(IllegalMoveError):
    """The player tried to move while it is the opponent's turn."""

    def __init__(self) -> None:
        super().__init__("It isn't your turn.")


class InvalidColumnError(IllegalMoveError):
    """The column is not an integer from 0 to 6."""

    def __init__(self, column: object) -> None:
        super().__init__(f"There is no column {column!r}; columns are numbered 0 to 6.")


class ColumnFullError(IllegalMoveError):
    """The column already holds six discs."""

    def __init__(self) -> None:
        super().__init__("This slot is full.")


class GameOverError(IllegalMoveError):
    """The game has been won or drawn."""

    def __init__(self) -> None:
        super().__init__("The game is over.")


class NothingToUndoError(Connect4Error, ValueError):
    """Undo was asked for on an empty board."""

    def __init__(self) -> None:
        super().__init__("There is no move to undo.")


class InvalidPositionError(Connect4Error, ValueError):
    """A position string in solver notation that is not a legal sequence of moves."""


#: The solver's name for the same error.
NotationError = InvalidPositionError


class UnknownColumnError(InvalidPositionError):
    """A character in the moves, or a column number, that is not one of the seven columns."""


class FullColumnError(InvalidPositionError):
    """A move into a column that already holds six stones."""


class GameWonError(InvalidPositionError):
    """A move that connects four where the game must go on, or a move played after the game was won."""


class NoMoveError(Connect4Error, ValueError):
    """A move or score asked for where the game is over: won already, or the board full."""
