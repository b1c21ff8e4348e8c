"""Keeps a hostile browser's malformed socket messages out of the error log: dropped with a warning."""

from __future__ import annotations

import logging
from typing import Any

from nicegui import core, ui
from nicegui.events import GenericEventArguments

__all__ = ["SafeKeyboard", "guard_socket_events"]

log = logging.getLogger(__name__)

_MAX_ARGS = 16
_MAX_ARG_LENGTH = 64 * 1024  # a real click or key sends a few hundred bytes at most


def _well_formed(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    args = message.get("args", [])
    return (
        isinstance(message.get("client_id"), str)
        and type(message.get("id")) is int
        and isinstance(message.get("listener_id"), str)
        and isinstance(args, list)
        and len(args) <= _MAX_ARGS
        and all(arg is None or (isinstance(arg, str) and len(arg) <= _MAX_ARG_LENGTH) for arg in args)
    )


def guard_socket_events() -> None:
    """Wrap NiceGUI's handler of element events so that only well-formed ones reach it.

    NiceGUI trusts the shape of what a page script sends; a forged message with a missing key,
    an unknown listener or arguments that are not JSON would end in a traceback in the log.
    The page of a real browser never sends one, so such a message is dropped with a warning.
    """
    handlers = core.sio.handlers.get("/", {})
    original = handlers.get("event")
    if original is None or getattr(original, "_guarded", False):
        return

    def guarded(sid: str, message: Any) -> Any:
        if not _well_formed(message):
            log.warning("dropped a malformed event from socket %s", sid)
            return None
        try:
            return original(sid, message)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("dropped an event from socket %s that did not fit its element: %r", sid, exc)
            return None

    guarded._guarded = True  # type: ignore[attr-defined]
    core.sio.on("event", guarded)


_KEY_FIELDS = {"action": str, "key": str, "code": str, "repeat": bool, "location": int}
_MODIFIERS = ("altKey", "ctrlKey", "metaKey", "shiftKey")


class SafeKeyboard(ui.keyboard):
    """NiceGUI's keyboard listener, which ignores key events that no browser would send."""

    def _handle_key(self, e: GenericEventArguments) -> None:
        args = e.args
        if not (
            isinstance(args, dict)
            and all(isinstance(args.get(name), kind) for name, kind in _KEY_FIELDS.items())
            and all(isinstance(args.get(name), bool) for name in _MODIFIERS)
        ):
            log.warning("dropped a malformed key event")
            return
        super()._handle_key(e)
