"""The invitation on an online game's page: who to send which link, shown to the one who created the game."""

from __future__ import annotations

import html

from nicegui import ui

from games.hub import LiveGame
from ui.labels import named

__all__ = ["InviteCard", "copy", "is_creator"]


def is_creator(live: LiveGame, identity: str) -> bool:
    """Whether ``identity`` created this online game: red in the first round, and colours swap each rematch."""
    record = live.record
    return identity == (record.red if record.round % 2 == 1 else record.yellow)


class InviteCard:
    """The join and watch links, each a real link with a copy button, and who to send which.

    Until the second player joins, the creator reads how to invite them; from then on, only how
    to invite spectators (the join link no longer seats anyone). The sentences and the links
    are one element: every element costs memory in every player's page for as long as it is open.
    """

    def __init__(self, live: LiveGame, base: str) -> None:
        self.live = live
        self.join_url = f"{base}/join/{live.record.join_key}"
        self.watch_url = f"{base}/watch/{live.record.watch_key}"
        self._join_button: ui.button | None = None
        with ui.element("div").classes("w-full flex flex-wrap gap-1 items-center").mark("invite") as self.root:
            self.text = ui.html("", sanitize=False).classes("w-full").mark("invite-links")  # built from escaped parts
            if not live.record.started:
                self._join_button = self._copy_button(self.join_url, "join link")
            self._copy_button(self.watch_url, "watch link")
        self._shown: bool | None = None
        self.refresh()

    @staticmethod
    def _copy_button(url: str, name: str) -> ui.button:
        return named(
            ui.button(name.capitalize(), icon="content_copy", on_click=lambda: copy(url, name)), f"Copy {name}"
        ).props("flat dense no-caps")

    def refresh(self) -> None:
        """Show the invitation that fits the seats now (and send nothing when that has not changed)."""
        started = self.live.record.started
        if self._shown is started:
            return
        self._shown = started
        if started:
            if self._join_button is not None:
                self._join_button.delete()
                self._join_button = None
            self.root.classes(remove="c4-invite-card")
            self.text.set_content(
                '<div class="text-sm font-medium">Invite spectators</div>'
                '<div class="text-sm">Send the watch link to anyone who should watch.</div>'
                f"{_link_html(self.watch_url, 'Watch link')}"
            )
        else:
            self.root.classes(add="c4-invite-card")
            self.text.set_content(
                '<div class="text-sm">Send the join link to the friend you want to play: the first to open it plays'
                " yellow.</div>"
                f"{_link_html(self.join_url, 'Join link')}"
                '<div class="text-sm mt-2">Send the watch link to anyone who should only watch.</div>'
                f"{_link_html(self.watch_url, 'Watch link')}"
            )


def _link_html(url: str, label: str) -> str:
    # The base URL comes from the request's Host header: escaped, it can only ever be text.
    url = html.escape(url, quote=True)
    classes = "c4-link text-xs break-all block underline"
    return f'<a class="{classes}" target="_blank" aria-label="{label}" href="{url}">{url}</a>'


def copy(url: str, name: str) -> None:
    """Put ``url`` on the clipboard and say so."""
    ui.clipboard.write(url)
    ui.notify(f"Copied the {name}.")
