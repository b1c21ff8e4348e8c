"""The server process under load: collector settings, and memory handed back once browsers leave."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import engineio.async_drivers.asgi as engineio_asgi
import pytest
from nicegui import Client
from nicegui.element import Element
from nicegui.testing import User
from starlette.types import Message, Scope

from serving import runtime
from serving.lifecycle import rss_bytes
from serving.runtime import (
    GC_THRESHOLDS,
    TAB_STORAGE_SECONDS,
    MemoryReturner,
    forget_tabs,
    handle_socket_events_in_order,
    release_memory,
    tune_gc,
)
from ui.game_view import GameView


def rss_kib() -> int:
    return rss_bytes() // 1024


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_tune_gc_keeps_the_collector_on_with_rarer_passes_and_startup_frozen() -> None:
    tune_gc()
    assert gc.isenabled()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 10_000  # the modules and the app, out of every full pass


def test_release_memory_hands_freed_heap_pages_back_to_the_system() -> None:
    # 1 KiB blocks come from the C heap (Python's own allocator takes 512 bytes at most), and free()
    # keeps them in the process: 200,000 of them are about 200 MiB that stay until trimmed.
    blocks = [bytes(1000) + i.to_bytes(4, "little") for i in range(200_000)]
    keep = blocks[-1]  # the last block sits on top of the heap: sbrk alone could never shrink it
    grown = rss_kib()
    del blocks
    kept = rss_kib()
    assert kept > grown - 100_000, (grown, kept)  # freed, but not returned
    assert release_memory()
    assert rss_kib() < kept - 150_000, (kept, rss_kib())
    assert keep[-4:] == (199_999).to_bytes(4, "little")


async def test_memory_is_released_once_most_pages_left_and_not_while_many_remain(
    create_user: Callable[[], User],
) -> None:
    users = [create_user() for _ in range(8)]
    for user in users:
        await user.open("/")
    returner = MemoryReturner(minimum=2)
    assert not returner.check()
    peak = returner.peak
    assert peak >= 8

    def leave(some: list[User]) -> None:
        for user in some:
            assert user.client is not None
            user.client.delete()

    leave(users[:4])
    assert not returner.check()  # half of the pages remain: a full collection would stall them all
    leave(users[4:])
    assert len(Client.instances) <= peak / 4, "pages of other tests are still open"
    assert returner.check()
    assert returner.releases == 1
    assert returner.peak == len(Client.instances)
    assert not returner.check()  # and not again until another crowd comes and goes


async def test_forget_tabs_lets_nicegui_drop_an_idle_tab_storage_within_minutes() -> None:
    from nicegui import app
    from nicegui.app.app import prune_tab_storage
    from nicegui.observables import ObservableDict

    age = app.storage.max_tab_storage_age
    tabs = app.storage._tabs
    try:
        forget_tabs()
        assert app.storage.max_tab_storage_age == TAB_STORAGE_SECONDS
        idle, recent = ObservableDict(), ObservableDict()
        idle.last_modified -= TAB_STORAGE_SECONDS + 1  # a tab that left two minutes ago
        tabs["idle-tab"], tabs["recent-tab"] = idle, recent
        await prune_tab_storage()  # NiceGUI's own pass, which runs every 10 s
        assert "idle-tab" not in tabs  # with NiceGUI's default it would stay for 30 days
        assert "recent-tab" in tabs
    finally:
        tabs.pop("idle-tab", None)
        tabs.pop("recent-tab", None)
        app.storage.max_tab_storage_age = age


async def test_a_connected_page_lets_go_of_its_finished_http_exchange(user: User) -> None:
    await user.open("/")
    assert user.client is not None
    request = user.client.request
    assert not {"fastapi_astack", "fastapi_inner_astack", "fastapi_function_astack"} & request.scope.keys()
    assert await request.is_disconnected()  # the receive channel of the exchange is gone
    # What pages read later is still there.
    assert request.session["id"]
    assert request.url.path == "/"
    assert request.headers
    await user.should_see("Connect Four")


async def test_a_sockets_events_are_handled_in_order_on_its_reader_without_a_task_each(user: User) -> None:
    from nicegui import core

    await user.open("/")  # main.py has set the app up
    assert core.sio.async_handlers is False
    handle_socket_events_in_order()
    assert core.sio.async_handlers is False


async def test_a_deleted_page_takes_its_empty_tab_storage_with_it(create_user: Callable[[], User]) -> None:
    from nicegui import app

    tabs = app.storage._tabs
    gone, used, shared = create_user(), create_user(), create_user()
    for user in (gone, used, shared):
        await user.open("/")
    clients = [user.client for user in (gone, used, shared)]
    assert all(client is not None and client.tab_id in tabs for client in clients)
    gone_page, used_page, shared_page = (client for client in clients if client is not None)
    gone_tab, used_tab = gone_page.tab_id, used_page.tab_id
    assert gone_tab
    assert used_tab
    tabs[used_tab]["kept"] = True  # something a page put there stays for NiceGUI's own pruning
    gone_page.delete()
    used_page.delete()
    assert gone_tab not in tabs
    assert tabs[used_tab] == {"kept": True}
    # Another page of the same tab (a reload) still uses its storage: it stays.
    shared_tab = shared_page.tab_id
    assert shared_tab
    await shared.open("/")
    assert shared_page.id in Client.instances
    shared_page.delete()
    assert shared_tab in tabs
    tabs.pop(used_tab, None)


async def open_game_pages(create_user: Callable[[], User]) -> list[Client]:
    """Red's, yellow's and a spectator's pages of one online game."""
    from tests.ui.test_online import invite

    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    await yellow.open(join)
    await spectator.open(watch)
    pages = [user.client for user in (red, yellow, spectator)]
    assert all(page is not None and page.elements for page in pages)
    return [page for page in pages if page is not None]


def garbage_after(action: Callable[[], None]) -> int:
    """What the cyclic collector finds after ``action`` that it did not before."""
    gc.collect()
    gc.disable()
    try:
        action()
        return gc.collect()
    finally:
        gc.enable()


async def test_a_deleted_page_leaves_its_elements_to_reference_counting(
    create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every element's props, classes and style keep their own _update as change handler: three
    # cycles per element. 1440 pages deleted at once left 0.93 million objects for one full
    # collection, which stopped every game for 1.2 s (bench/results/SUMMARY.md).
    _, yellow, spectator = await open_game_pages(create_user)
    assert garbage_after(spectator.delete) == 0
    monkeypatch.setattr(Element, "_handle_delete", runtime._UPSTREAM_HANDLE_DELETE)
    assert garbage_after(yellow.delete) > 0  # upstream: the cycles wait for the collector


def websocket_scope() -> Scope:
    return {"type": "websocket", "path": "/_nicegui_ws/socket.io/", "query_string": b"EIO=4", "headers": []}


class Connection:
    """What the ASGI server's ``receive`` would be bound to: a whole connection, in uvicorn."""

    async def receive(self) -> Message:
        return {"type": "websocket.connect"}

    async def send(self, message: Message) -> None:
        raise AssertionError(f"nothing is sent while translating a request: {message}")


async def test_a_websocket_request_does_not_tie_its_connection_into_a_cycle() -> None:
    # python-engineio builds a class per request whose methods refer to the ASGI receive: a cycle
    # that kept each departed page's connection (uvicorn's protocol, buffers, queues) for the collector.
    translate = engineio_asgi._async["translate_request"]
    assert translate is runtime._translate_request  # main.py installed it
    for translate_request, freed_at_once in ((translate, True), (runtime._UPSTREAM_TRANSLATE_REQUEST, False)):
        connection = Connection()
        gone = weakref.ref(connection)
        gc.collect()
        gc.disable()
        try:
            environ = await translate_request(websocket_scope(), connection.receive, connection.send)
            assert environ["asgi.receive"] == connection.receive
            assert await environ["wsgi.input"].read() in (b"", None)  # a websocket has no body
            del environ, connection
            assert (gone() is None) is freed_at_once
        finally:
            gc.enable()
        gc.collect()
        assert gone() is None


async def test_an_http_request_still_reads_its_body() -> None:
    chunks: list[Message] = [
        {"type": "http.request", "body": b'40{"a":', "more_body": True},
        {"type": "http.request", "body": b"1}"},
    ]

    async def receive() -> Message:
        return chunks.pop(0)

    async def send(message: Message) -> None:
        raise AssertionError(message)

    scope = {"type": "http", "method": "POST", "path": "/_nicegui_ws/socket.io/", "query_string": b"", "headers": []}
    environ = await engineio_asgi._async["translate_request"](scope, receive, send)
    assert await environ["wsgi.input"].read() == b'40{"a":1}'


def test_the_replaced_disconnect_handler_is_a_copy_of_the_installed_nicegui() -> None:
    # The copy is only installed over the source it was copied from (tests/serving/test_patches.py checks it).
    assert Client.handle_disconnect is runtime._handle_disconnect


async def test_a_page_whose_socket_went_is_deleted_and_its_tab_closed_unless_another_page_uses_it(
    create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nicegui import app

    closed: list[str | None] = []

    async def close_tab(tab_id: str | None) -> None:
        closed.append(tab_id)

    monkeypatch.setattr(app.storage, "close_tab", close_tab)
    alone, reloaded = create_user(), create_user()
    await alone.open("/")
    await reloaded.open("/")
    first = reloaded.client
    await reloaded.open("/")  # a reload: a second page of the same tab
    pages = [alone.client, first]
    assert all(page is not None for page in pages)
    for page in pages:
        assert page is not None
        monkeypatch.setattr(page.page, "resolve_reconnect_timeout", lambda: 0.0)
        tab_id = page.tab_id
        (socket_id,) = list(page._socket_to_document_id)
        page.handle_disconnect(socket_id)
        for _ in range(50):
            if page.id not in Client.instances:
                break
            await asyncio.sleep(0.01)
        assert page.id not in Client.instances
        assert page.is_deleted
        await asyncio.sleep(0.01)
        if page is first:
            assert tab_id not in closed  # the reloaded page still uses the tab
        else:
            assert closed == [tab_id]


async def test_an_empty_user_storage_goes_once_its_browser_has_no_page_open(
    create_user: Callable[[], User], tmp_path: Path
) -> None:
    from nicegui import app
    from nicegui.persistence import FilePersistentDict

    users = app.storage._users
    gone, staying, keeper = create_user(), create_user(), create_user()
    sessions = []
    for user in (gone, staying, keeper):
        await user.open("/")
        assert user.client is not None
        sessions.append(runtime._session_of(user.client))
    gone_session, staying_session, keeper_session = known = [session for session in sessions if session]
    assert len(set(known)) == 3
    assert all(isinstance(users.get(session), FilePersistentDict) for session in known)
    users[keeper_session]["kept"] = True  # what an app put there stays, as NiceGUI keeps it
    # A browser whose first request is still running has no page yet: its storage stays too.
    users["arriving"] = FilePersistentDict(tmp_path / "storage-user-arriving.json")
    app.storage._active_request_sessions["arriving"] += 1
    try:
        for user in (gone, keeper):
            assert user.client is not None
            user.client.delete()
        MemoryReturner().check()  # every 10 s in the app (main.py)
        assert gone_session not in users
        assert {staying_session, keeper_session, "arriving"} <= users.keys()
        assert users[keeper_session] == {"kept": True}
        # The browser comes back with its cookie: NiceGUI makes its storage again.
        await gone.open("/")
        assert gone.client is not None
        assert runtime._session_of(gone.client) == gone_session
        assert gone_session in users
    finally:
        app.storage._active_request_sessions.pop("arriving", None)
        users.pop("arriving", None)
        users[keeper_session].clear()


async def test_a_deleted_game_page_is_freed_without_the_cyclic_collector(create_user: Callable[[], User]) -> None:
    # The view and its board refer to each other (the board calls view.play, the page's callbacks
    # read the view): once NiceGUI deletes the page, those links are dropped, so the page goes
    # when its client does instead of waiting for a full collection (1.2 s with 1440 pages at once).
    from tests.ui.test_online import invite

    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    await yellow.open(join)
    await spectator.open(watch)
    client = spectator.client
    assert client is not None
    (view,) = [o for o in gc.get_objects() if isinstance(o, GameView) and o.board.root.client is client]
    gone = weakref.ref(view)
    del view
    gc.collect()
    gc.disable()
    try:
        client.delete()
        # What NiceGUI's client still holds: the page's handlers; a deleted client is dropped with them.
        for handlers in (client.connect_handlers, client.disconnect_handlers, client.delete_handlers):
            handlers.clear()
        assert gone() is None
    finally:
        gc.enable()
