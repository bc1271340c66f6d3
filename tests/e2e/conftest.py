"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, a real server.

Playwright's sync API keeps an asyncio loop running on the main thread for as long as it is
started, so the server (whose start-up uses asyncio.run) is started on a helper thread here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    FrameLocator,
    Locator,
    Page,
    Request,
    expect,
    sync_playwright,
)

from tests.helpers import RunningServer, start_server

CHROMIUM = Path("/usr/bin/chromium")
# Without these, Chromium on a machine with no outside network stalls on background requests.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Generous: CI machines are noisy. These are upper bounds for waits, not expected durations.
TIMEOUT_MS = 20_000
LOCAL_SCHEMES = ("data:", "blob:", "about:")


def start_server_off_thread(
    data_dir: Path, environ: Mapping[str, str] | None = None
) -> RunningServer:
    """tests.helpers.start_server, run where no asyncio loop is running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(start_server, data_dir, environ).result()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """Overrides tests/conftest.py's `server` for the reason in this module's docstring."""
    running = start_server_off_thread(tmp_path / "data")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def start_another_server(tmp_path: Path) -> Iterator[Callable[[Mapping[str, str]], RunningServer]]:
    """Start extra servers with their own settings; they stop after the test's browsers close."""
    started: list[RunningServer] = []

    def start(environ: Mapping[str, str]) -> RunningServer:
        running = start_server_off_thread(tmp_path / f"data-{len(started) + 1}", environ)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
            "(apt-get install chromium); `playwright install` cannot download browsers here.",
            pytrace=False,
        )
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class UI:
    """One browser context on the tempmail page, and a record of everything it did."""

    server: RunningServer
    context: BrowserContext
    page: Page
    requests: list[Request] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return self.server.http_url

    def watch(self, page: Page) -> None:
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                self.console_errors.append(message.text) if message.type == "error" else None
            ),
        )

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    @property
    def urls(self) -> list[str]:
        return [request.url for request in self.requests]

    def foreign_requests(self) -> list[str]:
        """Requests from any page or frame that went anywhere but the tempmail server.

        Chromium reports some fetches (CSS background images) to Playwright before the
        Content-Security-Policy cancels them; those never leave the browser and are not counted.
        """
        escaped = []
        for request in self.requests:
            if request.url.startswith(LOCAL_SCHEMES) or _same_origin(request.url, self.origin):
                continue
            request.response()  # Waits until the request has finished or failed.
            if request.failure != "csp":
                escaped.append(f"{request.url} ({request.failure or 'sent'})")
        return escaped

    def goto(self, path: str = "/") -> None:
        self.page.goto(self.origin + path)

    def open_inbox(self) -> str:
        """Load the page and return the address it shows once its live stream is connected."""
        self.goto()
        return self.wait_live()

    def wait_live(self) -> str:
        try:
            expect(self.page.locator("#connection")).to_have_attribute("data-state", "live")
        except AssertionError as error:
            # The usual reason is on the console (a blocked script, say), not in the DOM.
            raise AssertionError(f"{error}\nconsole errors: {self.console_errors}") from None
        address = self.page.locator("#address").inner_text()
        assert address.endswith("@" + self.server.domain), address
        return address

    def message_item(self, subject: str) -> Locator:
        subject_line = self.page.locator(".message-subject").get_by_text(subject, exact=True)
        return self.page.locator(".message-item", has=subject_line)

    def open_message(self, subject: str) -> None:
        self.message_item(subject).click()
        expect(self.page.locator("#reader-subject")).to_have_text(subject)

    def frame(self) -> FrameLocator:
        return self.page.frame_locator("iframe.message-frame")

    def seed_inboxes(self, inboxes: list[dict[str, Any]], current: str | None = None) -> None:
        """Store inboxes in this origin's localStorage as the page does, before it first runs."""
        # Any same-origin document will do; this one has no script of ours to create an inbox.
        self.goto("/openapi.json")
        records = [{**inbox, "created": index} for index, inbox in enumerate(inboxes)]
        self.page.evaluate(
            "([records, current]) => {"
            "  localStorage.setItem('tempmail.inboxes', JSON.stringify(records));"
            "  if (current) localStorage.setItem('tempmail.current', current);"
            "}",
            [records, current],
        )

    def stored_inbox_ids(self) -> list[str]:
        ids: list[str] = self.page.evaluate(
            "JSON.parse(localStorage.getItem('tempmail.inboxes') || '[]').map(i => i.inbox_id)"
        )
        return ids

    def current_inbox(self) -> dict[str, Any]:
        """The stored record (inbox_id, address, token, expires_at) of the inbox on show."""
        record: dict[str, Any] = self.page.evaluate(
            "JSON.parse(localStorage.getItem('tempmail.inboxes') || '[]')"
            ".find(inbox => inbox.inbox_id === localStorage.getItem('tempmail.current'))"
        )
        assert record, "no inbox on show"
        return record

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def assert_no_horizontal_scroll(self) -> None:
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def _same_origin(url: str, origin: str) -> bool:
    parts, expected = urlsplit(url), urlsplit(origin)
    return (parts.scheme, parts.netloc) == (expected.scheme, expected.netloc)


@pytest.fixture
def make_ui(
    browser: Browser,
    server: RunningServer,
    start_another_server: Callable[[Mapping[str, str]], RunningServer],
) -> Iterator[Callable[..., UI]]:
    """Open a fresh browser context (its own storage) on a server; several per test if needed.

    Depends on `start_another_server` so that its servers outlive the browsers using them.
    """
    contexts: list[UI] = []

    def make(
        width: int = 1280,
        height: int = 900,
        color_scheme: str = "light",
        on: RunningServer | None = None,
    ) -> UI:
        target = on or server
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,  # type: ignore[arg-type]
            accept_downloads=True,
            reduced_motion="reduce",
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=target.http_url)
        ui = UI(server=target, context=context, page=context.new_page())
        context.on("request", lambda request: ui.requests.append(request))
        context.on("page", ui.watch)
        ui.watch(ui.page)
        contexts.append(ui)
        return ui

    yield make
    for ui in contexts:
        ui.context.close()
    for ui in contexts:
        assert not ui.page_errors, f"uncaught errors in the page: {ui.page_errors}"


@pytest.fixture
def ui(make_ui: Callable[..., UI]) -> UI:
    """A desktop-sized browser on a fresh origin storage."""
    return make_ui()


@dataclass
class RemoteHost:
    """A second HTTP server on loopback standing in for a sender's image host."""

    url: str
    hits: list[str]


class _RecordingHandler(BaseHTTPRequestHandler):
    hits: list[str]
    lock: threading.Lock
    # A valid 1x1 transparent GIF.
    PIXEL = bytes.fromhex(
        "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
    )

    def do_GET(self) -> None:
        with self.lock:
            self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.send_header("Content-Length", str(len(self.PIXEL)))
        self.end_headers()
        self.wfile.write(self.PIXEL)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def remote_host() -> Iterator[RemoteHost]:
    hits: list[str] = []
    handler = type("Handler", (_RecordingHandler,), {"hits": hits, "lock": threading.Lock()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="remote-host", daemon=True)
    thread.start()
    try:
        yield RemoteHost(url=f"http://127.0.0.1:{httpd.server_address[1]}", hits=hits)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
