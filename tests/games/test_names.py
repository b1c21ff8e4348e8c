"""Display names: what is kept, and what is refused with the rule in the message."""

from __future__ import annotations

import pytest

from games.errors import GameError
from games.names import ALLOWED, MAX_LENGTH, InvalidNameError, parse_name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Ana", "Ana"),
        ("  Ben  ", "Ben"),
        ("Jean   Luc", "Jean Luc"),
        ("O'Neil-Smith Jr.", "O'Neil-Smith Jr."),
        ("Zoë", "Zoë"),
        ("Zoe\u0308", "Zoë"),  # a decomposed letter is kept composed
        ("Łukasz_99!", "Łukasz_99!"),
        ("小明", "小明"),
        ("x" * MAX_LENGTH, "x" * MAX_LENGTH),
    ],
)
def test_a_name_is_trimmed_and_kept(text: str, name: str) -> None:
    assert parse_name(text) == name


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "The name is empty."),
        ("   ", "The name is empty."),
        ("x" * (MAX_LENGTH + 1), f"The name is {MAX_LENGTH + 1} characters long."),
        ("x" * 1_000_000, "The name is 1000000 characters long."),
        ("<b>x</b>", "The name may not hold '<'."),
        ('Ana"', "The name may not hold '\"'."),
        ("a&lt;", "The name may not hold ';'."),
        ("Ana\tBen", "The name may not hold U+0009."),
        ("Ana\u202eneB", "The name may not hold U+202E."),
        ("²", "The name may not hold '²'."),
        ("🙂", "The name may not hold '🙂'."),
    ],
)
def test_anything_else_is_refused_saying_what_is_allowed(text: str, reason: str) -> None:
    with pytest.raises(InvalidNameError) as refused:
        parse_name(text)
    assert str(refused.value) == f"{reason} A name has {ALLOWED}."
    assert isinstance(refused.value, GameError)
    assert isinstance(refused.value, ValueError)


def test_what_is_allowed_reads_as_a_sentence() -> None:
    assert ALLOWED == "1 to 20 characters: letters, digits, spaces and . , ' - _ ! ? ( ) &"


def test_a_name_that_is_no_text_is_refused() -> None:
    with pytest.raises(InvalidNameError, match=r"^That is not a name\. "):
        parse_name(["Ana"])
