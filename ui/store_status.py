"""A banner that tells the players while the game server's store cannot be reached."""

from __future__ import annotations

import logging
import weakref

from nicegui import ui

from games.hub import GameHub
from games.store import Store

__all__ = ["LOST_LABEL", "LOST_TEXT", "store_status_banner"]

log = logging.getLogger(__name__)

LOST_LABEL = "Connection to the game server lost"
LOST_TEXT = "Connection to the game server lost. Reconnecting…"

# One status callback per store, shared by every banner on every page: Store has no way to
# remove a callback, so pages come and go from this set instead.
_banners: weakref.WeakKeyDictionary[Store, set[ui.element]] = weakref.WeakKeyDictionary()


def store_status_banner(hub: GameHub) -> None:
    """Add, in the current page, a banner shown only while ``hub``'s store is unavailable."""
    store = hub.store
    with (
        ui.row()
        .classes("w-full items-center no-wrap gap-2 px-4 py-2 rounded bg-negative text-white")
        .props(f'role="alert" aria-label="{LOST_LABEL}"')
        .mark("store-lost") as banner
    ):
        ui.icon("cloud_off")
        ui.label(LOST_TEXT)
    banner.set_visibility(not store.available)
    banners = _banners.get(store)
    if banners is None:
        banners = _banners[store] = set()
        store.on_status(lambda available: _show(banners, available))
    banners.add(banner)
    ui.context.client.on_delete(lambda: banners.discard(banner))


def _show(banners: set[ui.element], available: bool) -> None:
    # Called by the store, outside any page: a failing page must neither stop the others nor the store.
    for banner in list(banners):
        try:
            banner.set_visibility(not available)
        except Exception:
            log.exception("could not update a connection banner")
