"""The banner players see while the store is lost: shown when Redis goes away, gone when it is back."""

from __future__ import annotations

from nicegui import ElementFilter, ui
from nicegui.testing import User, user_simulation

from games.hub import GameHub
from games.redis_store import RedisStore
from tests.redis_fixtures import RedisServer, eventually
from ui.store_status import LOST_LABEL, LOST_TEXT, store_status_banner


def banners_of(user: User) -> list[ui.element]:
    """The banner elements of the page, shown or not (``user.find`` sees only what is shown)."""
    assert user.client is not None
    with user.client:
        return list(ElementFilter(marker="store-lost", local_scope=False))


def banner_of(user: User) -> ui.element:
    (banner,) = banners_of(user)
    return banner


async def test_the_banner_shows_only_while_redis_is_away(redis_server: RedisServer) -> None:
    hub = GameHub(RedisStore(redis_server.url, retry_interval=0.1))

    def page() -> None:
        store_status_banner(hub)
        ui.label("The board would be here.")

    async with user_simulation(page) as user:
        await hub.start()
        try:
            await user.open("/")
            assert banners_of(user) == []  # built only when needed: no element per page while the store is up
            await user.should_not_see(LOST_TEXT)

            redis_server.stop()
            await eventually(lambda: len(banners_of(user)) == 1, what="the banner to be built")
            banner = banner_of(user)
            assert banner.props["aria-label"] == LOST_LABEL
            assert banner.props["role"] == "alert"
            assert banner.visible
            await user.should_see(LOST_TEXT)
            # First in the page, above what was built after it.
            assert user.client is not None
            assert banner.parent_slot is not None
            assert banner.parent_slot.children.index(banner) == 0

            redis_server.start()
            await eventually(lambda: not banner.visible, what="the banner to hide")
            await user.should_not_see(LOST_TEXT)
        finally:
            await hub.close()


async def test_a_page_opened_while_redis_is_away_starts_with_the_banner(redis_server: RedisServer) -> None:
    hub = GameHub(RedisStore(redis_server.url, retry_interval=0.1))
    async with user_simulation(lambda: store_status_banner(hub)) as user:
        await hub.start()
        try:
            redis_server.stop()
            await eventually(lambda: not hub.store.available, what="the store to notice")
            await user.open("/")
            await user.should_see(LOST_TEXT)
            redis_server.start()
            await eventually(lambda: not banner_of(user).visible, what="the banner to hide")
        finally:
            await hub.close()
