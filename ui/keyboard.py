"""NiceGUI's keyboard listener for the board, refusing key events no browser would send."""

from __future__ import annotations

import logging

from nicegui import ui
from nicegui.events import GenericEventArguments

__all__ = ["SafeKeyboard"]

log = logging.getLogger(__name__)

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
