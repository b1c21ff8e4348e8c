"""Three simulated browsers per match, opened on the app the way three people would: the load generators' backend.

Used by ``loadgen.py``, by the generator processes ``scale.py`` starts, and by ``abuse.py``.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from urllib.parse import urlparse

from harness import Match, gather_limited

from wireclient import Browser, PageError, Tally

__all__ = ["NiceGUIBackend", "match_address"]


class NiceGUIBackend:
    """Opens matches on a running NiceGUI app the way three people with three browsers would.

    Given several instances of the app (sharing one Redis), the browsers of match ``m`` are
    spread over them as a load balancer would: red on instance ``m % N``, yellow on
    ``(m + 1) % N``, the spectator on ``(m + 2) % N``, so every move crosses between instances.
    """

    name = "nicegui"

    def __init__(
        self,
        base_url: str | Sequence[str],
        *,
        deflate: bool = True,
        timeout: float = 60.0,
        sources: bool = True,
        public: bool = False,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("no base URL")
        self.base_urls = [url.rstrip("/") for url in urls]
        self.base_url = self.base_urls[0]
        self.deflate = deflate
        self.timeout = timeout
        self.sources = sources
        self.public = public
        # One TLS context for all (only http:// is used); httpx would build one per client otherwise.
        self.ssl_context = ssl.create_default_context()
        self.browsers: list[Browser] = []
        self._next_match = 0

    def browser(self, tally: Tally, instance: int = 0, source: str | None = None) -> Browser:
        """A new browser talking to instance ``instance`` (modulo the number of instances), from ``source``."""
        url = self.base_urls[instance % len(self.base_urls)]
        browser = Browser(url, tally, self.ssl_context, deflate=self.deflate, source=source)
        self.browsers.append(browser)
        return browser

    async def open_match(self, tally: Tally, number: int | None = None) -> Match:
        """Open match ``number`` (the next one if not given); its number picks the instances its browsers use."""
        if number is None:
            number = self._next_match
            self._next_match += 1
        source = match_address(number) if self.sources else None
        red, yellow, spectator = (self.browser(tally, number + seat, source) for seat in range(3))
        try:
            await red.open("/")
            # Listed on the home page: its lists change as the game starts and ends (an app without lists has no box).
            if self.public and red.find("Open to anyone") is not None:
                await red.check("Open to anyone")
            # Links are absolute URLs on the creator's instance: every browser opens the path on its own.
            join_path = urlparse(await red.invite(self.timeout)).path
            await red.open(join_path)
            watch_path = red.link("Watch link")
            if red.link("Join link") != join_path:
                raise PageError("the join link on the page is not the one the server navigated to")
            await yellow.open(join_path)
            await spectator.open(watch_path)
        except BaseException:
            for browser in (red, yellow, spectator):
                await browser.close()
            raise
        match = Match(red, yellow, spectator, tally, timeout=self.timeout)
        match.key = join_path.rsplit("/", 1)[-1]
        for browser in (red, yellow, spectator):
            browser.match = match
        return match

    async def aclose(self) -> None:
        await gather_limited([b.close for b in self.browsers], 64)


def match_address(number: int) -> str:
    """The loopback address match ``number``'s three browsers come from (unless ``--one-address``): 127.0.1.1, ...

    Linux routes all of 127.0.0.0/8 to the loopback device, so a server on 127.0.0.1 sees each
    match as a household of its own, as the per-address limits (serving/limits.py) expect of
    people; 127.0.0.x is left to other clients, such as bench/load/flood.py's flood from 127.0.0.1.
    """
    return f"127.0.{1 + number // 250}.{1 + number % 250}"
