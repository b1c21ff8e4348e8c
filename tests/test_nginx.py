"""deploy/nginx.conf for real: Debian's nginx in front of two instances on one Redis, two players in Chromium."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis as redis_sync
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.fixtures import ROOT, AppServer, free_port, screenshot_path
from tests.redis_fixtures import RedisServer, start_instances

pytestmark = pytest.mark.browser

DEPLOY_CONF = ROOT / "deploy" / "nginx.conf"
ROUTE_COOKIE = "connect4_route"
LOG_LINE = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d{3}) .*route=(?P<route>\S+) upstream=(?P<upstream>\S+)')

MAIN_CONF = """\
{user}
worker_processes 1;
events {{
    worker_connections 256;
}}
http {{
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/connect4.conf;
}}
"""


def substitute(text: str, pattern: str, replacement: str, count: int = 1) -> str:
    """Replace what ``pattern`` matches, which must be exactly ``count`` places (else the deploy file changed)."""
    found = len(re.findall(pattern, text, flags=re.MULTILINE))
    assert found == count, f"deploy/nginx.conf: expected {count} match(es) of {pattern!r}, found {found}"
    return re.sub(pattern, lambda _: replacement, text, count=1, flags=re.MULTILINE)


def site_conf(apps: list[AppServer], port: int, access_log: Path) -> str:
    """deploy/nginx.conf with the test's instances, port and log instead of the example's."""
    text = DEPLOY_CONF.read_text()
    servers = "".join(f"    server 127.0.0.1:{app.port} max_fails=2 fail_timeout=10s;\n" for app in apps)
    example_server = r"    server 10\.0\.0\.\d+:8080 [^\n]*;\n"
    text = substitute(text, rf"^{example_server}(?:{example_server})*", servers)
    text = substitute(text, r"^    listen 80;$", f"    listen 127.0.0.1:{port};")
    return substitute(text, r"access_log /var/log/nginx/connect4\.access\.log", f"access_log {access_log}")


@dataclass
class Nginx:
    """nginx in the foreground, with every file it writes under ``directory``."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.directory / "access.log"

    def start(self, apps: list[AppServer], timeout: float = 10.0) -> Nginx:
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.directory / name).mkdir(exist_ok=True)
        (self.directory / "connect4.conf").write_text(site_conf(apps, self.port, self.access_log))
        # As root, nginx would run its workers as nobody, who cannot write into pytest's private tmp.
        user = "user root;" if os.geteuid() == 0 else ""
        (self.directory / "nginx.conf").write_text(MAIN_CONF.format(user=user, tmp=self.directory))
        globals_ = f"daemon off; pid {self.directory}/nginx.pid; error_log {self.directory}/error.log;"
        command = ["nginx", "-p", str(self.directory), "-c", str(self.directory / "nginx.conf"), "-g", globals_]
        with (self.directory / "stderr.log").open("ab") as stderr:
            self.process = subprocess.Popen(command, stdout=stderr, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"nginx did not listen within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        parts = [(self.directory / name) for name in ("stderr.log", "error.log")]
        return "\n".join(path.read_text(errors="replace") for path in parts if path.exists())

    def requests(self) -> list[dict[str, str]]:
        """The access log: request, status, route (the sticky key) and upstream of each line."""
        if not self.access_log.exists():
            return []
        lines = self.access_log.read_text().splitlines()
        return [match.groupdict() for line in lines if (match := LOG_LINE.search(line))]


@pytest.fixture
def nginx(two_apps: list[AppServer], tmp_path: Path) -> Iterator[Nginx]:
    """deploy/nginx.conf in front of two instances that share one Redis."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx not found: install it with `apt-get update && apt-get install -y nginx`.", pytrace=False)
    directory = tmp_path / "nginx"
    directory.mkdir()
    proxy = Nginx(directory, free_port()).start(two_apps)
    try:
        yield proxy
    finally:
        proxy.stop()


def route_of(context: BrowserContext) -> str:
    (route,) = [cookie["value"] for cookie in context.cookies() if cookie["name"] == ROUTE_COOKIE]
    return route


def upstream_of(proxy: Nginx, route: str, timeout: float = 5.0) -> str:
    """The instance that served ``route``'s requests so far (there must be exactly one)."""
    deadline = time.monotonic() + timeout
    while not (upstreams := {line["upstream"] for line in proxy.requests() if line["route"] == route}):
        if time.monotonic() > deadline:
            pytest.fail(f"no request with route {route} in the access log")
        time.sleep(0.02)
    assert len(upstreams) == 1, f"route {route} reached {upstreams}"
    return upstreams.pop()


def visit_home(chromium: Browser, proxy: Nginx) -> tuple[BrowserContext, Page, str]:
    """A new browser opens the home page through the proxy: its context, page and instance."""
    context = chromium.new_context(viewport={"width": 800, "height": 1000})
    page = context.new_page()
    response = page.goto(proxy.url)
    assert response is not None
    assert response.ok
    expect(page.get_by_role("button", name="Invite a friend")).to_be_visible()
    return context, page, upstream_of(proxy, route_of(context))


def test_two_players_on_different_instances_behind_nginx_finish_a_game(
    nginx: Nginx, two_apps: list[AppServer], chromium: Browser
) -> None:
    red_context, red, red_instance = visit_home(chromium, nginx)
    # Each new browser lands on an instance by the hash of a random key: with two instances, a
    # few tries give yellow the other one (20 same-instance tries in a row: one chance in a million).
    for _ in range(20):
        yellow_context, yellow, yellow_instance = visit_home(chromium, nginx)
        if yellow_instance != red_instance:
            break
        yellow_context.close()
    assert yellow_instance != red_instance, "every browser landed on the same instance"
    assert {red_instance, yellow_instance} == {f"127.0.0.1:{app.port}" for app in two_apps}

    red.get_by_role("button", name="Invite a friend").click()
    join_url = red.get_by_role("link", name="Join link").get_attribute("href")
    assert join_url is not None
    assert join_url.startswith(f"{nginx.url}/join/"), "links name the proxy, not the instance behind it"
    yellow.goto(join_url)
    expect(red.get_by_text("Your turn")).to_be_visible()
    expect(yellow.get_by_text("Waiting for red")).to_be_visible()

    heights: dict[int, int] = {}
    for index, column in enumerate(map(int, "4343434")):
        page, player = (red, "red") if index % 2 == 0 else (yellow, "yellow")
        expect(page.get_by_text("Your turn")).to_be_visible()
        page.get_by_role("button", name=f"Column {column}", exact=True).click()
        heights[column] = heights.get(column, 0) + 1
        for viewer in (red, yellow):
            label = f"Row {heights[column]}, column {column}: {player}"
            expect(viewer.get_by_label(label, exact=True)).to_have_count(1)
    for page, result in ((red, "You win!"), (yellow, "You lose.")):
        expect(page.get_by_text(result).first).to_be_visible()
    red.wait_for_timeout(600)  # let the winning animation finish before the picture
    yellow.screenshot(path=screenshot_path("nginx-yellow"))

    routes = {route_of(red_context): red_instance, route_of(yellow_context): yellow_instance}
    red_context.close()
    yellow_context.close()
    # A websocket is logged when it closes: every page's socket.io connection went through
    # nginx as a websocket (101) to the instance that served the page, never to the other one.
    deadline = time.monotonic() + 10
    while True:
        lines = nginx.requests()
        upgraded = {line["route"] for line in lines if line["status"] == "101" and "socket.io" in line["request"]}
        if set(routes) <= upgraded:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"no websocket in the access log for {set(routes) - upgraded}:\n{nginx.access_log.read_text()}")
        time.sleep(0.05)
    for route, instance in routes.items():
        mine = [line for line in lines if line["route"] == route]
        assert {line["upstream"] for line in mine} == {instance}
        assert mine[0]["request"].startswith("GET / "), "the first request (without the cookie) is in the count"
    for app in two_apps:
        # The full path the browser asked for, as uvicorn logs the websocket it accepted.
        assert re.search(r'"WebSocket /_nicegui_ws/socket.io/\?client_id=\S+" \[accepted\]', app.log()), app.url


def test_behind_nginx_each_address_is_limited_on_each_instance_whatever_it_forges(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    small = {"ADDRESS_PAGES_BURST": "3", "ADDRESS_PAGES_PER_SECOND": "0.01"}
    apps = start_instances(redis_server, tmp_path, extra_env=small)
    directory = tmp_path / "nginx"
    directory.mkdir()
    proxy = Nginx(directory, free_port()).start(apps)
    try:
        # A script on 127.0.0.31, without cookies (so on either instance), naming a new address each time.
        jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        source = httpx.HTTPTransport(local_address="127.0.0.31")
        script = httpx.Client(base_url=proxy.url, transport=source, cookies=jar)
        statuses = [script.get("/local", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(30)]
        script.close()
        # The limits are per instance: 3 on each of the two, then 429 from both.
        assert statuses.count(200) == 6, statuses
        assert set(statuses) == {200, 429}
        assert statuses[-4:] == [429] * 4
        with httpx.Client(base_url=proxy.url, transport=httpx.HTTPTransport(local_address="127.0.0.32")) as other:
            assert other.get("/").status_code == 200
        # And the 24 page views stored no game in Redis, on either instance (the one key there is the
        # instances' own mark that the seats' index is built, written at startup).
        client = redis_sync.Redis.from_url(redis_server.url)
        try:
            assert client.keys("c4:*") == [b"c4:indexed:seats"], client.keys("*")
        finally:
            client.close()
    finally:
        proxy.stop()
        for app in apps:
            app.stop()
