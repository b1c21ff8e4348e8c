"""serving.install: the tuning on by default and logged as a table, stock NiceGUI with SERVER_TUNING=off."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import websockets

from serving import PATCHES
from serving.runtime import HEARTBEAT
from tests.fixtures import AppServer


async def handshake(server: AppServer) -> dict[str, int]:
    """What the Engine.IO handshake tells every page (the page's socket.io client goes by it)."""
    url = server.url.replace("http://", "ws://") + "/_nicegui_ws/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url) as ws:
        opened = str(await asyncio.wait_for(ws.recv(), 10))
    assert opened.startswith("0"), opened
    parsed: dict[str, int] = json.loads(opened[1:])
    return parsed


async def test_the_server_pings_each_page_every_20_s_and_waits_10_s_for_the_pong(app_server: AppServer) -> None:
    opened = await handshake(app_server)
    assert (opened["pingInterval"], opened["pingTimeout"]) == (20_000, 10_000)
    assert HEARTBEAT == (20.0, 10.0)


def test_the_server_logs_the_table_of_patches_at_startup(app_server: AppServer) -> None:
    log = app_server.log()
    assert "server tuning on:" in log
    for patch in PATCHES:
        assert f"  {patch.name} " in log
    assert "NOT installed" not in log


async def test_tuning_off_serves_on_stock_nicegui_and_keeps_the_hardening(tmp_path: Path) -> None:
    server = AppServer(
        env={"STORAGE_SECRET": "s", "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "SERVER_TUNING": "off"},
        log_path=tmp_path / "app.log",
    ).start()
    try:
        opened = await handshake(server)
    finally:
        assert server.stop() == 0
    # NiceGUI's own heartbeat: 0.8 and 0.4 of the reconnect timeout (10 s).
    assert (opened["pingInterval"], opened["pingTimeout"]) == (8_000, 4_000)
    log = server.log()
    assert "server tuning off:" in log
    assert log.count("NOT installed (SERVER_TUNING=off)") == len(PATCHES)
    assert "Traceback" not in log


def test_the_game_imports_nothing_from_serving() -> None:
    """ui/, games/ and engine/ run on stock NiceGUI: only main.py enters the layer."""
    root = Path(__file__).resolve().parents[2]
    importing = []
    for package in ("ui", "games", "engine"):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                if any(name == "serving" or name.startswith("serving.") for name in names):
                    importing.append(str(path.relative_to(root)))
    assert importing == []
    main = (root / "main.py").read_text(encoding="utf-8")
    assert main.count("serving.install(") == 1
