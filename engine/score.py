"""What a solver score means for the player to move: "win in 5", "draw" or "loss in 8".

The solver's integer follows Pons' convention (0 a draw; a win is 22 minus the stones the winner
has played when the game ends; a loss is its negative). :class:`Score` joins it with the number of
stones on the board the score is for, which is all it takes to count the moves left.

>>> str(Score(18, 0)), str(Score(0, 10)), str(Score(-18, 1))
('win in 4', 'draw', 'loss in 3')
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.bitboard import BOARD_SIZE

__all__ = ["Score"]

# A score is 22 minus a stone count: the largest a player can have is half the board, 21.
_BASE = BOARD_SIZE // 2 + 1


@dataclass(frozen=True)
class Score:
    """A solver score for the side to move in a position of ``stones`` stones.

    Moves are counted the way a player counts them: a win in 3 means the side to move drops its
    third stone from now and connects four; a loss in 3 means the opponent connects four with its
    third stone from now, however well the side to move defends.
    """

    value: int
    """The solver's score: positive wins, negative loses, 0 draws."""
    stones: int
    """Stones on the board in the position the score is for (its side to move)."""

    def __post_init__(self) -> None:
        if not 0 <= self.stones <= BOARD_SIZE:
            raise ValueError(f"A position holds 0 to {BOARD_SIZE} stones, not {self.stones}.")
        if self.value and self.moves_left < 1:
            raise ValueError(f"The score {self.value} cannot happen with {self.stones} stones on the board.")

    @property
    def is_win(self) -> bool:
        """The side to move wins, whatever the opponent does."""
        return self.value > 0

    @property
    def is_draw(self) -> bool:
        """With best play on both sides, the board fills up without four in a row."""
        return self.value == 0

    @property
    def is_loss(self) -> bool:
        """The opponent wins, whatever the side to move does."""
        return self.value < 0

    @property
    def moves_left(self) -> int:
        """Moves of the winner until its four, the winning one included (0 for a draw)."""
        if self.value > 0:
            # The side to move has played stones // 2 stones (red moves after an even count).
            return _BASE - self.value - self.stones // 2
        if self.value < 0:
            return _BASE + self.value - (self.stones - self.stones // 2)
        return 0

    @property
    def result(self) -> str:
        """``"win"``, ``"draw"`` or ``"loss"``: a word for styles and labels."""
        return "win" if self.value > 0 else "loss" if self.value < 0 else "draw"

    def __str__(self) -> str:
        if self.value == 0:
            return "draw"
        return f"{self.result} in {self.moves_left}"
