"""Every kind of page a real server sends carries the security headers: no framing, no referrer abroad, no sniffing."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures import AppServer
from wireclient import Browser, Tally

HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

# Each kind of page, by the request that gets it and the status it answers with.
PAGES = {
    "home": ("/", 200),
    "hot-seat game": ("/local", 200),
    "analysis": ("/analyze?pos=4453", 200),
    "online game": ("online", 200),
    "404": ("/no/such/page", 404),
    "unknown game": ("/join/nope", 404),
    "invalid position": ("/analyze?pos=9", 400),
    "static file": ("static", 200),
    "health check": ("/healthz", 200),
    "429": ("429", 429),
}


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, httpx.Response]]:
    """One answer of each kind from one server, fetched once for all the tests below."""
    tmp = tmp_path_factory.mktemp("headers")
    env = {
        "STORAGE_SECRET": "headers",
        "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
        "ADDRESS_PAGES_BURST": "30",
        "ADDRESS_PAGES_PER_SECOND": "0.1",
    }
    server = AppServer(env=env, log_path=tmp / "app.log").start()
    try:
        yield _fetch(server)
    finally:
        server.stop()


def _fetch(server: AppServer) -> dict[str, httpx.Response]:
    async def fetch() -> dict[str, httpx.Response]:
        red = Browser(server.url, Tally(), ssl.create_default_context(), deflate=False)
        await red.open("/")
        join = await red.invite()
        got: dict[str, httpx.Response] = {}
        async with httpx.AsyncClient(base_url=server.url) as http:
            for kind, (path, _) in PAGES.items():
                if path == "online":
                    got[kind] = await red.http.get(join)
                elif path == "static":
                    home = got["home"].text
                    script = home.split('src="', 1)[1].split('"', 1)[0]
                    got[kind] = await http.get(script)
                elif path == "429":
                    for _ in range(40):
                        if (answer := await http.get("/")).status_code == 429:
                            break
                    got[kind] = answer
                else:
                    got[kind] = await http.get(path)
        await red.close()
        return got

    return asyncio.run(fetch())


@pytest.mark.parametrize("kind", PAGES)
@pytest.mark.parametrize("header", [*HEADERS, "Content-Security-Policy"])
def test_every_kind_of_page_carries_each_security_header(
    answers: dict[str, httpx.Response], kind: str, header: str
) -> None:
    answer = answers[kind]
    assert answer.status_code == PAGES[kind][1], (kind, answer.status_code)
    if header == "Content-Security-Policy":
        policy = {part.split()[0]: part.split()[1:] for part in answer.headers[header].split("; ")}
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert "*" not in answer.headers[header]
    else:
        assert answer.headers[header] == HEADERS[header]
    assert answer.headers.get_list(header) == [answer.headers[header]]  # once, not twice
