"""A banner that tells the players while the game server's store cannot be reached.

Built only when the store is lost: every element a page holds costs the server memory per
browser for as long as the page is open, and the store is almost always there.
"""

from __future__ import annotations

import logging
import weakref

from nicegui import ui

from games.hub import GameHub
from games.store import Store
from ui.labels import named

__all__ = ["LOST_LABEL", "LOST_TEXT", "store_status_banner"]

log = logging.getLogger(__name__)

LOST_LABEL = "Connection to the game server lost"
LOST_TEXT = "Connection to the game server lost. Reconnecting…"


class _Spot:
    """Where a page shows the banner: a container and a position in it, and the banner once built."""

    def __init__(self, container: ui.element, index: int) -> None:
        self.container = container
        self.index = index
        self.banner: ui.element | None = None

    def show(self, lost: bool) -> None:
        if self.banner is None:
            if not lost:
                return
            with (
                self.container,
                named(ui.row(), LOST_LABEL)
                .classes("w-full items-center no-wrap gap-2 px-4 py-2 rounded bg-negative text-white")
                .props("role=alert")
                .mark("store-lost") as self.banner,
            ):
                ui.icon("cloud_off")
                ui.label(LOST_TEXT)
            self.banner.move(target_index=self.index)
        self.banner.set_visibility(lost)


# One status callback per store, shared by every page: Store has no way to remove a callback,
# so pages come and go from this set instead.
_spots: weakref.WeakKeyDictionary[Store, set[_Spot]] = weakref.WeakKeyDictionary()


def store_status_banner(hub: GameHub) -> None:
    """Reserve, here in the current page, the place of a banner shown while ``hub``'s store is unavailable."""
    store = hub.store
    slot = ui.context.slot
    spot = _Spot(slot.parent, len(slot.children))
    spot.show(not store.available)
    spots = _spots.get(store)
    if spots is None:
        spots = _spots[store] = set()
        store.on_status(lambda available: _show(spots, available))
    spots.add(spot)
    ui.context.client.on_delete(lambda: spots.discard(spot))


def _show(spots: set[_Spot], available: bool) -> None:
    # Called by the store, outside any page: a failing page must neither stop the others nor the store.
    for spot in list(spots):
        try:
            spot.show(not available)
        except Exception:
            log.exception("could not update a connection banner")
