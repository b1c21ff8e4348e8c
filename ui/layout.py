"""The layout of a game page: the board, and a side panel for the players, the status and the game's controls.

On a phone the page is one column: what the panel marks :data:`ABOVE_BOARD` (players, status) stands
above the board, the rest below it. From 1024 pixels the board takes the left, as large as the
window's height allows, and the panel stands beside it (``ui/theme.py`` draws both). The panel is
one element whose children are the sections pages add, in order: later features (names, clocks,
a move list) add theirs the same way.
"""

from __future__ import annotations

from nicegui import ui

__all__ = ["ABOVE_BOARD", "SidePanel"]

ABOVE_BOARD = "c4-above"
"""The class of a side-panel section a phone shows above the board rather than below it."""


class SidePanel:
    """The side panel of a game page; ``with panel:`` adds sections to it, in the order they show.

    Built inside :func:`ui.theme.frame`, before the game's view; the view puts its board first.
    """

    def __init__(self) -> None:
        # The page's content element holds the grid, so the layout costs one element per page: this one.
        ui.context.client.content.classes(remove="max-w-3xl", add="max-w-screen-xl c4-game")
        self.root = ui.element("div").classes("c4-side").mark("side-panel")

    def __enter__(self) -> ui.element:
        return self.root.__enter__()

    def __exit__(self, *args: object) -> None:
        self.root.__exit__(*args)

    def put_board_first(self, board: ui.element) -> None:
        """Place ``board`` before the panel, so the keyboard and screen readers reach the board first."""
        slot = self.root.parent_slot
        if slot is not None and board.parent_slot is slot:
            board.move(target_index=slot.children.index(self.root))
