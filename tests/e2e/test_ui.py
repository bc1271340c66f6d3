"""The browser UI end to end: a real server, real SMTP, headless Chromium.

Waits are Playwright's own (or polls of the same kind for things outside the browser); nothing
asserts on how long something took.
"""

from __future__ import annotations

import json
import re
import sqlite3
import struct
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import UI, RemoteHost
from tests.helpers import RunningServer, create_inbox, make_message, send_mail

FRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"
FRAME_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
VERIFY_URL = "https://app.example/verify?t=abc"
UNSUBSCRIBE_URL = "https://app.example/unsubscribe?u=1"
UNREAD = re.compile(r"\bunread\b")


def png(width: int = 4, height: int = 4, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid PNG of one colour, built here so that the tests ship no binary files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def wait_until(page: Page, condition: Callable[[], Any], what: str, timeout: float = 20) -> None:
    """Poll something outside the browser, letting Playwright deliver its events meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(50)


def wait_for_frame_load(ui: UI) -> None:
    """Wait until the message frame's load event: every resource it was allowed has loaded."""
    handle = ui.page.locator("iframe.message-frame").element_handle()
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_load_state("load")


def verification_message(to: str, subject: str = "Confirm your account") -> EmailMessage:
    return make_message(
        to,
        subject=subject,
        sender="App Example <accounts@app.example>",
        text=(
            "Your verification code is 482913\n\n"
            f"Verify email: {VERIFY_URL}\n\nUnsubscribe: {UNSUBSCRIBE_URL}\n"
        ),
        html=(
            "<p>Welcome! Your verification code is <b>482913</b>.</p>"
            f'<p><a href="{VERIFY_URL}">Verify email</a></p>'
            f'<p><small>Too many emails? <a href="{UNSUBSCRIBE_URL}">Unsubscribe</a></small></p>'
        ),
    )


def parse_time(value: str | None) -> datetime:
    assert value, "no time"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def create_custom_inbox(ui: UI, local_part: str, lifetime: str | None = None) -> None:
    """Fill in and send the custom address form; the caller checks what came of it."""
    page = ui.page
    page.get_by_role("button", name="Custom address").click()
    dialog = page.locator("#custom-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Address").fill(local_part)
    if lifetime:
        dialog.get_by_label("Lifetime").select_option(label=lifetime)
    dialog.get_by_role("button", name="Create inbox").click()


@contextmanager
def database(server: RunningServer) -> Iterator[sqlite3.Connection]:
    """A second connection to the server's own SQLite file, to cause faults from outside."""
    path = server.data_dir / "tempmail.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None, timeout=10)) as connection:
        yield connection


def json_error(route: Route, status: int, code: str, message: str, **headers: str) -> None:
    route.fulfill(
        status=status,
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps({"error": code, "message": message}),
    )


def test_first_visit_gets_an_inbox_with_copy_and_countdown(ui: UI) -> None:
    address = ui.open_inbox()
    page = ui.page
    expect(page.locator("#address")).to_have_text(address)
    expect(page.locator("#empty-state")).to_contain_text("Waiting for mail")
    assert len(ui.stored_inbox_ids()) == 1

    countdown = page.locator("#countdown")
    expect(countdown).to_have_text(re.compile(r"^\d{1,2}:\d{2}:\d{2}$"))
    expect(countdown).not_to_have_text(countdown.inner_text())

    page.get_by_role("button", name=f"Copy {address}").click()
    expect(page.locator("#copy-label")).to_have_text("Copied!")
    assert page.evaluate("navigator.clipboard.readText()") == address
    expect(page.locator("#copy-label")).to_have_text("Copy")
    assert ui.foreign_requests() == []


def test_mail_arrives_live_and_opens_in_every_view(ui: UI, server: RunningServer) -> None:
    address = ui.open_inbox()
    page = ui.page
    page.evaluate("window.sameDocument = true")

    payload = bytes(range(256)) * 40
    msg = make_message(
        address,
        subject="Quarterly report",
        text="Plain words of the report.",
        html='<h1>Quarterly report</h1><p>Our logo: <img alt="logo" src="cid:logo@tempmail.test"></p>',
        attachments=[("report.bin", "application/octet-stream", payload)],
    )
    html_part = msg.get_body(preferencelist=("html",))
    assert html_part is not None
    html_part.add_related(png(), maintype="image", subtype="png", cid="<logo@tempmail.test>")
    send_mail(server, address, msg)

    expect(ui.message_item("Quarterly report")).to_be_visible()
    expect(page.locator("#empty-state")).to_be_hidden()
    assert page.evaluate("window.sameDocument") is True, "the page reloaded"
    expect(page.locator("#message-count")).to_have_text("(1)")

    ui.open_message("Quarterly report")
    headers = page.locator("#reader-headers")
    expect(headers).to_contain_text("Alice Example <alice@example.com>")
    expect(headers).to_contain_text(address)
    expect(headers).to_contain_text("Received")

    frame_element = page.locator("iframe.message-frame")
    assert frame_element.get_attribute("sandbox") == FRAME_SANDBOX
    assert FRAME_POLICY in (frame_element.get_attribute("srcdoc") or "")
    expect(ui.frame().locator("h1")).to_have_text("Quarterly report")
    logo = ui.frame().locator("img[alt=logo]")
    expect(logo).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    wait_for_frame_load(ui)
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 4

    page.get_by_role("tab", name="Plain text").click()
    expect(page.locator("#body-text")).to_have_text("Plain words of the report.")
    expect(page.locator("#panel-html")).to_be_hidden()

    page.get_by_role("tab", name="Raw source").click()
    raw = page.locator("#raw-source")
    expect(raw).to_contain_text("Subject: Quarterly report")
    expect(raw).to_contain_text("Content-ID: <logo@tempmail.test>")

    page.get_by_role("tab", name="HTML").click()
    expect(ui.frame().locator("h1")).to_be_visible()

    attachment = page.locator("#attachment-list li", has_text="report.bin")
    expect(attachment).to_contain_text("10 KB")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download report.bin").click()
    download = download_info.value
    assert download.suggested_filename == "report.bin"
    assert Path(download.path()).read_bytes() == payload

    token = ui.page.evaluate("JSON.parse(localStorage.getItem('tempmail.inboxes'))[0].token")
    assert not [url for url in ui.urls if token in url], "the token appeared in a URL"
    assert ui.foreign_requests() == []


def test_remote_images_load_only_when_asked_for_that_message(
    ui: UI, server: RunningServer, remote_host: RemoteHost
) -> None:
    address = ui.open_inbox()
    page = ui.page
    send_mail(
        server,
        address,
        make_message(
            address,
            subject="Newsletter",
            html=f'<p>News inside</p><img alt="banner" src="{remote_host.url}/banner.gif?n=1">',
        ),
    )
    send_mail(
        server,
        address,
        make_message(
            address,
            subject="Second newsletter",
            html=f'<p>More news</p><img alt="banner" src="{remote_host.url}/banner.gif?n=2">',
        ),
    )

    ui.open_message("Newsletter")
    expect(ui.frame().locator("p")).to_have_text("News inside")
    banner = page.locator("#remote-banner")
    expect(banner).to_contain_text("1 remote image was blocked")
    wait_for_frame_load(ui)
    assert remote_host.hits == []

    page.get_by_role("button", name="Load remote images").click()
    wait_until(page, lambda: remote_host.hits, "the remote image to be requested")
    expect(banner).to_contain_text("Remote images are shown for this message")
    image = ui.frame().locator("img[alt=banner]")
    expect(image).to_have_attribute("src", f"{remote_host.url}/banner.gif?n=1")
    wait_for_frame_load(ui)
    assert image.evaluate("img => img.naturalWidth") == 1
    assert remote_host.hits == ["/banner.gif?n=1"]

    ui.open_message("Second newsletter")
    expect(ui.frame().locator("p")).to_have_text("More news")
    expect(banner).to_contain_text("1 remote image was blocked")
    wait_for_frame_load(ui)
    ui.open_message("Newsletter")
    expect(banner).to_contain_text("1 remote image was blocked")
    wait_for_frame_load(ui)
    assert remote_host.hits == ["/banner.gif?n=1"]


def hostile_html(remote: str) -> str:
    return f"""
        <script>alert('script element')</script>
        <img src="x" onerror="alert('onerror')" alt="broken">
        <svg onload="alert('svg onload')"><circle r="5"></circle></svg>
        <a href="javascript:alert('javascript link')">Click me</a>
        <p style="background-image: url({remote}/css-inline.gif)">Styled paragraph</p>
        <style>body {{ background: url({remote}/css-sheet.gif) }}</style>
        <img src="{remote}/pixel.gif?id=42" width="1" height="1" alt="">
        <iframe src="{remote}/frame"></iframe>
        <object data="{remote}/object"></object>
        <link rel="stylesheet" href="{remote}/sheet.css">
        <meta http-equiv="refresh" content="0; url={remote}/refresh">
        <form action="{remote}/form"><input name="q" value="x"><button>Send</button></form>
        <div onmouseover="alert('hover')">Hover me</div>
        <p>Hostile content ends here</p>
    """


def assert_nothing_ran(ui: UI, remote_host: RemoteHost) -> None:
    wait_for_frame_load(ui)
    ui.frame().get_by_text("Hover me").hover()
    ui.frame().get_by_text("Click me").click()
    # One more round trip through the page, so that anything the clicks set off has happened.
    expect(ui.page.locator("#reader-subject")).to_be_visible()
    assert ui.dialogs == []
    assert remote_host.hits == []
    assert ui.foreign_requests() == []
    assert len(ui.context.pages) == 1, "a popup opened"


def test_hostile_mail_runs_no_script_and_calls_no_one(
    ui: UI, server: RunningServer, remote_host: RemoteHost
) -> None:
    address = ui.open_inbox()
    send_mail(
        server,
        address,
        make_message(address, subject="Totally harmless", html=hostile_html(remote_host.url)),
    )
    ui.open_message("Totally harmless")
    expect(ui.frame().get_by_text("Hostile content ends here")).to_be_visible()
    assert ui.page.locator("iframe.message-frame").get_attribute("sandbox") == FRAME_SANDBOX
    assert_nothing_ran(ui, remote_host)


def test_message_frame_contains_unsanitized_html_on_its_own(
    ui: UI, server: RunningServer, remote_host: RemoteHost
) -> None:
    """If the server's sanitizer ever let something through, the frame still runs and loads nothing."""
    address = ui.open_inbox()
    send_mail(server, address, make_message(address, subject="Raw hostility", html="<p>x</p>"))

    def unsanitized(route: Route) -> None:
        response = route.fetch()
        message = response.json()
        message["body_html"] = hostile_html(remote_host.url)
        route.fulfill(response=response, json=message)

    ui.page.route("**/api/v1/messages/*", unsanitized)
    ui.open_message("Raw hostility")
    expect(ui.frame().get_by_text("Hostile content ends here")).to_be_visible()
    assert_nothing_ran(ui, remote_host)


def test_deleting_a_message(ui: UI, server: RunningServer) -> None:
    address = ui.open_inbox()
    page = ui.page
    send_mail(server, address, make_message(address, subject="Keep me"))
    send_mail(server, address, make_message(address, subject="Delete me"))
    expect(page.locator(".message-item")).to_have_count(2)

    ui.open_message("Delete me")
    page.get_by_role("button", name="Delete message").click()
    expect(ui.message_item("Delete me")).to_have_count(0)
    expect(ui.message_item("Keep me")).to_be_visible()
    expect(page.locator("#reader")).to_be_hidden()

    page.reload()
    ui.wait_live()
    expect(ui.message_item("Keep me")).to_be_visible()
    expect(ui.message_item("Delete me")).to_have_count(0)


def test_inbox_survives_a_reload_and_a_later_visit(ui: UI, server: RunningServer) -> None:
    address = ui.open_inbox()
    send_mail(server, address, make_message(address, subject="Still here"))
    expect(ui.message_item("Still here")).to_be_visible()

    ui.page.reload()
    assert ui.wait_live() == address
    expect(ui.message_item("Still here")).to_be_visible()

    ui.page.close()
    ui.page = ui.context.new_page()
    assert ui.open_inbox() == address
    expect(ui.message_item("Still here")).to_be_visible()
    assert len(ui.stored_inbox_ids()) == 1


def test_an_expired_inbox_says_so(ui: UI, server: RunningServer) -> None:
    inbox = create_inbox(server, ttl_hours=0.0008)  # about three seconds
    ui.seed_inboxes([inbox], current=inbox["inbox_id"])
    ui.goto()
    page = ui.page
    expect(page.locator("#address")).to_have_text(inbox["address"])

    expect(page.locator("#expired-panel")).to_be_visible()
    expect(page.locator("#expired-title")).to_have_text("This inbox has expired")
    expect(page.locator("#expiry")).to_have_text("Expired")
    expect(page.locator("#connection")).to_be_hidden()
    expect(page.locator("#copy-address")).to_be_disabled()
    expect(page.locator("#panes")).to_be_hidden()
    assert ui.stored_inbox_ids() == []

    page.get_by_role("button", name="Create a new inbox").click()
    expect(page.locator("#expired-panel")).to_be_hidden()
    assert ui.wait_live() != inbox["address"]


def test_an_inbox_the_server_no_longer_knows(ui: UI) -> None:
    unknown = {
        "inbox_id": "00000000-0000-4000-8000-000000000000",
        "address": "nobody-here@localhost",
        "token": "not-a-real-token-but-long-enough-to-look-like-one",
        "expires_at": "2099-01-01T00:00:00Z",
    }
    ui.seed_inboxes([unknown])
    ui.goto()
    expect(ui.page.locator("#expired-title")).to_have_text("This inbox is no longer available")
    assert ui.stored_inbox_ids() == []


def test_switching_between_inboxes(ui: UI, server: RunningServer) -> None:
    first = ui.open_inbox()
    page = ui.page
    address = page.locator("#address")
    switcher = page.locator("#inbox-switcher")
    expect(switcher).to_be_hidden()

    page.get_by_role("button", name="New inbox").click()
    expect(address).not_to_have_text(first)
    second = ui.wait_live()
    expect(switcher).to_be_visible()
    expect(switcher.locator("option")).to_have_text([second, first])

    send_mail(server, first, make_message(first, subject="For the first inbox"))
    switcher.select_option(label=first)
    expect(address).to_have_text(first)
    expect(ui.message_item("For the first inbox")).to_be_visible()

    switcher.select_option(label=second)
    expect(address).to_have_text(second)
    ui.wait_live()
    expect(page.locator("#empty-state")).to_be_visible()
    expect(ui.message_item("For the first inbox")).to_have_count(0)

    page.reload()
    expect(address).to_have_text(second)


def test_deleting_an_inbox_asks_first(ui: UI, server: RunningServer) -> None:
    first = ui.open_inbox()
    page = ui.page
    address = page.locator("#address")
    page.get_by_role("button", name="New inbox").click()
    expect(address).not_to_have_text(first)
    second = ui.wait_live()
    second_inbox = page.evaluate(
        "JSON.parse(localStorage.getItem('tempmail.inboxes'))"
        f".find(inbox => inbox.address === {second!r})"
    )

    dialog = page.locator("#confirm-delete-inbox")
    page.get_by_role("button", name="Delete inbox").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(second)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(address).to_have_text(second)

    page.get_by_role("button", name="Delete inbox").click()
    dialog.get_by_role("button", name="Delete inbox").click()
    expect(address).to_have_text(first)
    ui.wait_live()
    expect(page.locator("#inbox-switcher")).to_be_hidden()
    with server.client(second_inbox["token"]) as client:
        assert client.get(f"/api/v1/inboxes/{second_inbox['inbox_id']}").status_code in (401, 404)

    page.get_by_role("button", name="Delete inbox").click()
    dialog.get_by_role("button", name="Delete inbox").click()
    expect(page.locator("#welcome")).to_be_visible()
    expect(page.locator("#welcome-text")).to_contain_text("deleted")
    assert ui.stored_inbox_ids() == []
    assert ui.dialogs == [], "the page used a browser dialog instead of its own"


def test_connection_loss_shows_and_recovers_by_itself(ui: UI, server: RunningServer) -> None:
    failing = {"on": True}

    def events(route: Route) -> None:
        if failing["on"]:
            json_error(route, 503, "unavailable", "Storage is unavailable.", **{"Retry-After": "1"})
        else:
            route.continue_()

    ui.page.route("**/api/v1/inboxes/*/events", events)
    ui.goto()
    connection = ui.page.locator("#connection")
    expect(connection).to_have_attribute("data-state", "lost")
    expect(connection).to_contain_text("Reconnecting")

    address = ui.page.locator("#address").inner_text()
    send_mail(server, address, make_message(address, subject="Sent while disconnected"))
    failing["on"] = False
    expect(connection).to_have_attribute("data-state", "live")
    expect(ui.message_item("Sent while disconnected")).to_be_visible()


def test_rate_limit_is_told_in_words(
    make_ui: Callable[..., UI],
    start_another_server: Callable[[Mapping[str, str]], RunningServer],
) -> None:
    limited = start_another_server({"TEMPMAIL_LIMITS_INBOX_CREATIONS_PER_HOUR": "1"})
    create_inbox(limited)  # The one inbox this address may create this hour.
    ui = make_ui(on=limited)
    ui.goto()
    notice = ui.page.locator("#notice")
    expect(notice).to_contain_text("Too many requests from this address")
    expect(notice).to_contain_text(re.compile(r"try again in \d+ (seconds|minutes)"))
    expect(ui.page.locator("#welcome")).to_be_visible()
    ui.page.get_by_role("button", name="Dismiss").click()
    expect(notice).to_be_hidden()


def test_busy_storage_is_told_in_words(ui: UI, server: RunningServer) -> None:
    """A real 503: another connection holds SQLite's write lock past the server's busy timeout."""
    address = ui.open_inbox()
    page = ui.page
    notice = page.locator("#notice")
    with database(server) as db:
        db.execute("BEGIN IMMEDIATE")
        page.get_by_role("button", name="New inbox").click()
        expect(notice).to_contain_text("Mail storage is temporarily unavailable")
        expect(notice).to_contain_text("could not create an inbox")
        expect(page.locator("#address")).to_have_text(address)
        expect(page.get_by_role("button", name="New inbox")).to_be_enabled()
        db.execute("ROLLBACK")

    page.get_by_role("button", name="Dismiss").click()
    page.get_by_role("button", name="New inbox").click()
    expect(page.locator("#address")).not_to_have_text(address)
    ui.wait_live()
    expect(notice).to_be_hidden()


def test_unreadable_message_is_told_in_words(ui: UI, server: RunningServer) -> None:
    """A real 500: one message's sealed content swapped for another's no longer authenticates."""
    address = ui.open_inbox()
    page = ui.page
    notice = page.locator("#notice")
    send_mail(server, address, make_message(address, subject="Intact"))
    send_mail(server, address, make_message(address, subject="Damaged"))
    expect(page.locator(".message-item")).to_have_count(2)
    intact = ui.message_item("Intact").get_attribute("data-message-id")
    damaged = ui.message_item("Damaged").get_attribute("data-message-id")
    with database(server) as db:
        db.execute(
            "UPDATE messages SET content = (SELECT content FROM messages WHERE id = ?) WHERE id = ?",
            (intact, damaged),
        )

    ui.message_item("Damaged").click()
    expect(notice).to_contain_text(
        "The server ran into a problem while trying to open this message"
    )
    expect(page.locator("#reader-loading")).to_contain_text("try again")
    expect(ui.message_item("Damaged")).to_have_class(UNREAD)

    page.get_by_role("button", name="Dismiss").click()
    ui.open_message("Intact")
    expect(page.locator("#reader-headers")).to_contain_text("alice@example.com")
    expect(notice).to_be_hidden()


def test_verification_code_and_link_up_front(ui: UI, server: RunningServer) -> None:
    address = ui.open_inbox()
    page = ui.page
    send_mail(server, address, verification_message(address))
    ui.open_message("Confirm your account")

    quick = page.locator("#quick")
    expect(quick).to_be_visible()
    expect(quick.locator(".code")).to_have_text(["482913"])
    copy = page.get_by_role("button", name="Copy code 482913")
    copy.click()
    expect(copy).to_have_text("Copied!")
    assert page.evaluate("navigator.clipboard.readText()") == "482913"

    link = page.get_by_role("link", name="Open verification link")
    expect(link).to_have_attribute("href", VERIFY_URL)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(page.locator("#verify-where")).to_have_text("Goes to app.example")
    expect(quick.locator("a")).to_have_count(1)
    expect(quick).not_to_contain_text("nsubscribe")
    expect(ui.frame().get_by_role("link", name="Unsubscribe")).to_be_visible()

    wait_for_frame_load(ui)
    assert [url for url in ui.urls if "app.example" in url] == []
    assert ui.foreign_requests() == []


def test_unread_until_opened_here_or_elsewhere(ui: UI, server: RunningServer) -> None:
    address = ui.open_inbox()
    page = ui.page
    send_mail(server, address, make_message(address, subject="Open me here"))
    send_mail(server, address, make_message(address, subject="Read through the API"))
    here, elsewhere = ui.message_item("Open me here"), ui.message_item("Read through the API")
    for item in (here, elsewhere):
        expect(item).to_have_class(UNREAD)
        expect(item).to_have_attribute("aria-label", re.compile(r"^Unread\. "))
    expect(page).to_have_title("(2) tempmail")

    ui.open_message("Open me here")
    expect(here).not_to_have_class(UNREAD)
    expect(here).to_have_attribute("aria-label", re.compile(r"^From "))
    expect(elsewhere).to_have_class(UNREAD)
    expect(page).to_have_title("(1) tempmail")

    # The server's `seen` decides, so a message read by another client counts as read here too.
    inbox = ui.current_inbox()
    with server.client(inbox["token"]) as client:
        message_id = elsewhere.get_attribute("data-message-id")
        assert client.get(f"/api/v1/messages/{message_id}").status_code == 200

    page.reload()
    ui.wait_live()
    expect(page.locator(".message-item")).to_have_count(2)
    expect(page.locator(".message-item.unread")).to_have_count(0)
    expect(page).to_have_title("tempmail")

    send_mail(server, address, make_message(address, subject="Live and unread"))
    expect(ui.message_item("Live and unread")).to_have_class(UNREAD)
    expect(page).to_have_title("(1) tempmail")


def test_custom_address_and_its_refusals(make_ui: Callable[..., UI]) -> None:
    ui = make_ui(width=360, height=740, color_scheme="dark")
    ui.open_inbox()
    page = ui.page
    dialog = page.locator("#custom-dialog")
    error = page.locator("#custom-error")

    create_custom_inbox(ui, "my-test-box", lifetime="1 hour")
    expect(dialog).to_be_hidden()
    expect(page.locator("#address")).to_have_text("my-test-box@localhost")
    assert ui.wait_live() == "my-test-box@localhost"
    lifetime = parse_time(ui.current_inbox()["expires_at"]) - datetime.now().astimezone()
    assert timedelta(minutes=55) < lifetime <= timedelta(hours=1), lifetime
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^(1:00:00|\d{2}:\d{2})$"))

    create_custom_inbox(ui, "my-test-box")
    expect(error).to_have_text(
        "That address cannot be used. The address my-test-box@localhost is not available."
    )
    expect(dialog).to_be_visible()
    local_part = dialog.get_by_label("Address")
    expect(local_part).to_be_focused()
    expect(local_part).to_have_attribute("aria-invalid", "true")

    local_part.fill("a b")
    page.keyboard.press("Enter")
    expect(error).to_contain_text("The part before the @ may use only a-z, 0-9")
    ui.assert_no_horizontal_scroll()
    ui.screenshot("custom-address-360-dark", full_page=False)

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#address")).to_have_text("my-test-box@localhost")
    assert len(ui.stored_inbox_ids()) == 2


def test_custom_address_on_a_second_domain(
    make_ui: Callable[..., UI],
    start_another_server: Callable[[Mapping[str, str]], RunningServer],
) -> None:
    two_domains = start_another_server({"TEMPMAIL_DOMAINS": "localhost,mail.test"})
    ui = make_ui(on=two_domains)
    ui.open_inbox()
    page = ui.page
    page.get_by_role("button", name="Custom address").click()
    dialog = page.locator("#custom-dialog")
    domain = dialog.get_by_label("Domain")
    expect(domain.locator("option")).to_have_text(["localhost", "mail.test"])
    expect(domain).to_have_value("localhost")
    dialog.get_by_label("Address").fill("Second.Domain")
    domain.select_option("mail.test")
    dialog.get_by_role("button", name="Create inbox").click()
    expect(page.locator("#address")).to_have_text("second.domain@mail.test")


def test_extending_an_inbox(
    make_ui: Callable[..., UI],
    server: RunningServer,
    start_another_server: Callable[[Mapping[str, str]], RunningServer],
) -> None:
    ui = make_ui()
    ui.open_inbox()
    page = ui.page
    countdown = page.locator("#countdown")
    inbox = ui.current_inbox()
    before = parse_time(countdown.get_attribute("datetime"))
    assert before == parse_time(inbox["expires_at"])
    other_tab = ui.context.new_page()
    other_tab.goto(ui.origin)
    expect(other_tab.locator("#countdown")).to_have_attribute("datetime", inbox["expires_at"])

    page.get_by_role("button", name="Extend 24 h").click()
    expect(countdown).not_to_have_attribute("datetime", inbox["expires_at"])
    after = parse_time(countdown.get_attribute("datetime"))
    assert abs(after - before - timedelta(hours=24)) < timedelta(minutes=1), after - before
    expect(countdown).to_have_text(re.compile(r"^1 d \d{1,2}:\d{2}:\d{2}$"))
    with server.client(inbox["token"]) as client:
        info = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}").json()
    assert parse_time(info["expires_at"]) == after
    assert parse_time(ui.current_inbox()["expires_at"]) == after
    other_countdown = other_tab.locator("#countdown")
    expect(other_countdown).not_to_have_attribute("datetime", inbox["expires_at"])
    assert parse_time(other_countdown.get_attribute("datetime")) == after

    # Where the server caps the lifetime, the countdown shows the cap and the page says so.
    capped = start_another_server({"TEMPMAIL_INBOX_MAX_TTL_HOURS": "30"})
    ui = make_ui(on=capped)
    ui.open_inbox()
    page = ui.page
    countdown = page.locator("#countdown")
    created = ui.current_inbox()
    extend = page.get_by_role("button", name="Extend 24 h")
    extend.click()
    expect(countdown).not_to_have_attribute("datetime", created["expires_at"])
    limit = parse_time(countdown.get_attribute("datetime"))
    gained = limit - parse_time(created["expires_at"])
    assert timedelta(hours=5, minutes=59) < gained <= timedelta(hours=6), gained
    extend.click()
    expect(page.locator("#notice")).to_contain_text("already lasts as long as the server allows")
    assert parse_time(countdown.get_attribute("datetime")) == limit


def test_plus_tag_shows_where_mail_was_delivered(ui: UI, server: RunningServer) -> None:
    ui.open_inbox()
    page = ui.page
    create_custom_inbox(ui, "name")
    expect(page.locator("#address")).to_have_text("name@localhost")
    ui.wait_live()
    send_mail(server, "name+shop@localhost", make_message("name@localhost", subject="Tagged"))
    send_mail(server, "name@localhost", make_message("name@localhost", subject="Untagged"))

    ui.open_message("Tagged")
    headers = page.locator("#reader-headers")
    expect(headers.locator("dt")).to_have_text(["From", "To", "Delivered to", "Received"])
    expect(headers.locator("dd").nth(2)).to_have_text("name+shop@localhost")
    expect(headers.locator(".address-tag")).to_have_text("+shop")
    expect(page.locator("#quick")).to_be_hidden()

    ui.screenshot("plus-tag-1280", full_page=False)

    ui.open_message("Untagged")
    expect(headers.locator("dt")).to_have_text(["From", "To", "Received"])


def test_keyboard_only(ui: UI, server: RunningServer) -> None:
    address = ui.open_inbox()
    page = ui.page
    send_mail(server, address, make_message(address, subject="First by keyboard"))
    send_mail(
        server, address, make_message(address, subject="Second by keyboard", html="<p>Hi</p>")
    )
    expect(page.locator(".message-item")).to_have_count(2)

    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    newest = ui.message_item("Second by keyboard")
    expect(newest).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(ui.message_item("First by keyboard")).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page.locator("#reader-subject")).to_have_text("Second by keyboard")
    expect(newest).to_have_attribute("aria-current", "true")

    html_tab = page.get_by_role("tab", name="HTML")
    html_tab.focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Plain text")).to_be_focused()
    expect(page.get_by_role("tab", name="Plain text")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="Raw source")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#raw-source")).to_contain_text("Subject: Second by keyboard")

    page.get_by_role("button", name=f"Copy {address}").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#copy-label")).to_have_text("Copied!")

    page.get_by_role("button", name="Delete inbox").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#confirm-delete-inbox")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#address")).to_have_text(address)


def test_phone_shows_list_or_message(make_ui: Callable[..., UI], server: RunningServer) -> None:
    ui = make_ui(width=360, height=740)
    page = ui.page
    address = ui.open_inbox()
    send_mail(server, address, make_message(address, subject="Read on a phone"))
    ui.open_message("Read on a phone")
    expect(page.locator("#list-pane")).to_be_hidden()
    expect(page.get_by_role("button", name="← Messages")).to_be_focused()

    page.get_by_role("button", name="← Messages").click()
    expect(page.locator("#reader")).to_be_hidden()
    expect(ui.message_item("Read on a phone")).to_be_focused()

    page.keyboard.press("Enter")
    expect(page.locator("#list-pane")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(ui.message_item("Read on a phone")).to_be_visible()
    ui.assert_no_horizontal_scroll()


CONTRAST_CHECK = """
(selectors) => {
  const channel = (value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const rgb = (color) => color.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const color = getComputedStyle(node).backgroundColor;
      const parts = rgb(color);
      if (parts.length === 3 || parts[3] > 0.9) return parts.slice(0, 3);
    }
    return rgb(getComputedStyle(document.body).backgroundColor);
  };
  return selectors.flatMap((selector) => [...document.querySelectorAll(selector)].slice(0, 2).map((element) => {
    const fg = luminance(rgb(getComputedStyle(element).color));
    const bg = luminance(background(element));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    return [selector, Math.round(ratio * 100) / 100];
  }));
}
"""
CONTRAST_SELECTORS = [
    ".address",
    ".address-label",
    ".expiry",
    ".message-from",
    ".message-time",
    ".message-preview",
    ".button.primary",
    ".button.danger",
    ".tab",
    ".headers dt",
    "#remote-text",
    "#extend-inbox",
    ".quick-label",
    ".code",
    ".verify-link",
    ".verify-where",
]


@pytest.mark.parametrize(
    ("width", "scheme"), [(360, "light"), (1280, "light"), (360, "dark"), (1280, "dark")]
)
def test_layout_contrast_and_screenshots(
    make_ui: Callable[..., UI], server: RunningServer, width: int, scheme: str
) -> None:
    ui = make_ui(width=width, height=800, color_scheme=scheme)
    page = ui.page
    address = ui.open_inbox()
    send_mail(
        server,
        address,
        verification_message(address, subject="Your verification code is 482913"),
    )
    send_mail(
        server,
        address,
        make_message(
            address,
            subject="Weekly digest: everything that happened in the project while you were away",
            sender="Project Updates <updates-with-a-rather-long-local-part@newsletters.example.org>",
            text="Digest",
            html=(
                "<h1>Weekly digest</h1><p>Three things happened this week.</p>"
                '<table width="640"><tr><td>A table wider than a phone</td></tr></table>'
                f"<p>{'unbroken' * 30}</p>"
                '<p><img src="https://images.example/banner.png" alt="banner"></p>'
            ),
            attachments=[("digest-with-a-long-file-name.pdf", "application/pdf", b"%PDF-1.4\n")],
        ),
    )
    send_mail(server, address, make_message(address, subject="", text="No subject at all"))
    expect(page.locator(".message-item")).to_have_count(3)

    if scheme == "dark":
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(14, 17, 22)"
    ui.assert_no_horizontal_scroll()
    ui.screenshot(f"inbox-{width}-{scheme}")

    def check_and_capture(name: str) -> None:
        ui.assert_no_horizontal_scroll()
        low = [
            (selector, ratio)
            for selector, ratio in page.evaluate(CONTRAST_CHECK, CONTRAST_SELECTORS)
            if ratio < 4.5
        ]
        assert low == [], f"text below WCAG AA contrast: {low}"
        # Frames outside the viewport are not painted in screenshots; make the page fit.
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": width, "height": height})
        wait_for_frame_load(ui)
        ui.screenshot(name)
        page.set_viewport_size({"width": width, "height": 800})

    ui.open_message("Your verification code is 482913")
    expect(page.locator("#quick .code")).to_have_text(["482913"])
    check_and_capture(f"verification-{width}-{scheme}")
    if width < 960:
        page.get_by_role("button", name="← Messages").click()

    ui.open_message("Weekly digest: everything that happened in the project while you were away")
    expect(ui.frame().locator("h1")).to_have_text("Weekly digest")
    check_and_capture(f"message-{width}-{scheme}")
