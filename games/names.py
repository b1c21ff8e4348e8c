"""Players' display names: what a name may hold, and the name shown for a seat without one."""

from __future__ import annotations

import unicodedata

from games.errors import GameError

__all__ = ["ALLOWED", "MAX_LENGTH", "PUNCTUATION", "InvalidNameError", "parse_name"]

MAX_LENGTH = 20
PUNCTUATION = ".,'-_!?()&"
"""The punctuation a name may hold besides letters, digits and spaces (nothing that means markup)."""
ALLOWED = f"1 to {MAX_LENGTH} characters: letters, digits, spaces and {' '.join(PUNCTUATION)}"
"""What a name may be, as the player reads it when one is refused."""


class InvalidNameError(GameError):
    """A display name that is empty, too long, or holds a character outside :data:`ALLOWED`."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason} A name has {ALLOWED}.")


def parse_name(text: object) -> str:
    """The display name ``text`` stands for: trimmed, inner runs of spaces made one, in NFC form.

    Raises :class:`InvalidNameError` saying what is allowed; letters of every alphabet are letters.
    """
    if not isinstance(text, str):
        raise InvalidNameError("That is not a name.")
    if len(text) > 8 * MAX_LENGTH:  # refused before any work on it, however long it is
        raise InvalidNameError(f"The name is {len(text)} characters long.")
    name = " ".join(unicodedata.normalize("NFC", text).split(" "))
    name = " ".join(part for part in name.split(" ") if part)
    if not name:
        raise InvalidNameError("The name is empty.")
    if len(name) > MAX_LENGTH:
        raise InvalidNameError(f"The name is {len(name)} characters long.")
    for char in name:
        if not (char.isalpha() or char in "0123456789 " or char in PUNCTUATION):
            shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
            raise InvalidNameError(f"The name may not hold {shown}.")
    return name
