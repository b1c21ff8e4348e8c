"""Accessible names set item by item (ui/labels.py), and game pages that leave no cycles of functions."""

from __future__ import annotations

import gc
import types
from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User

from tests.ui.helpers import status
from tests.ui.test_online import invite
from ui.labels import named


async def test_named_gives_the_element_its_accessible_name(user: User) -> None:
    @ui.page("/test-named")
    def page() -> None:
        named(ui.button("Go"), "Start the game, with spaces and 'quotes'").mark("go")

    await user.open("/test-named")
    (button,) = user.find(marker="go").elements
    assert button.props["aria-label"] == "Start the game, with spaces and 'quotes'"


async def test_opening_a_game_page_leaves_no_cycles_of_functions(create_user: Callable[[], User]) -> None:
    # A quoted props value (aria-label="Column 1") is parsed with ast.literal_eval, whose nested
    # functions form a cycle on every call: about 200 objects per game page, 300,000 for 1500 pages.
    # The pages name their elements item by item instead; what is left is one call per page by
    # NiceGUI itself (its layout's view="hhh lpr fff"). (The simulated browser's own HTTP client
    # leaves a few objects of its own, so the check is on functions and cells.)
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    await yellow.open(join)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        await spectator.open(watch)
        gc.collect()
        closures = [o for o in gc.garbage if isinstance(o, types.FunctionType | types.CellType)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert status(spectator) == "Red's turn"
    functions = [o for o in closures if isinstance(o, types.FunctionType)]
    assert {f.__qualname__.split(".")[0] for f in functions} == {"literal_eval"}
    assert [f.__qualname__ for f in functions].count("literal_eval.<locals>._convert") == 1
