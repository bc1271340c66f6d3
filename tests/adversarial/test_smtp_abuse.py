"""Hostile SMTP clients: smuggling, injection, floods, bombs and hostile content."""

from __future__ import annotations

import re
import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import (
    SMTP_POLICY,
    RunningServer,
    create_inbox,
    make_message,
    send_raw,
    start_server,
)


class RawSMTP:
    """A byte-exact SMTP client, for what smtplib would refuse or repair."""

    def __init__(self, server: RunningServer) -> None:
        self.sock = socket.create_connection((server.smtp_host, server.smtp_port), timeout=30)
        self.buffer = b""
        self.greeting = self.reply()

    def reply(self) -> bytes:
        while True:
            match = re.search(rb"(^|\r\n)(\d{3}) [^\r\n]*\r\n", self.buffer)
            if match:
                end = match.end()
                line, self.buffer = self.buffer[:end], self.buffer[end:]
                return line.split(b"\r\n")[-2]
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; pending {self.buffer!r}")
            self.buffer += chunk

    def command(self, line: bytes) -> bytes:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def close(self) -> None:
        self.sock.close()


def _listing(server: RunningServer, inbox: dict[str, Any]) -> list[dict[str, Any]]:
    with server.client(inbox["token"]) as client:
        messages: list[dict[str, Any]] = client.get(
            f"/api/v1/inboxes/{inbox['inbox_id']}/messages"
        ).json()["messages"]
    return messages


@pytest.mark.parametrize(
    "fake_end",
    [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r\n.\n"],
    ids=["LF.LF", "LF.CRLF", "CR.CRLF", "CRLF.CR", "CRLF.LF"],
)
def test_smtp_smuggling_never_stores_two_messages(server: RunningServer, fake_end: bytes) -> None:
    inbox = create_inbox(server)
    address = inbox["address"].encode()
    client = RawSMTP(server)
    try:
        assert client.command(b"EHLO attacker.example").startswith(b"250")
        assert client.command(b"MAIL FROM:<a@example.com>").startswith(b"250")
        assert client.command(b"RCPT TO:<" + address + b">").startswith(b"250")
        assert client.command(b"DATA").startswith(b"354")
        smuggled = (
            b"From: a@example.com\r\nSubject: first\r\n\r\nhello"
            + fake_end
            + b"MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<"
            + address
            + b">\r\nDATA\r\n"
            b"From: ceo@bank.example\r\nSubject: smuggled\r\n\r\nwire money\r\n.\r\n"
        )
        client.sock.sendall(smuggled)
        replies = [client.reply()]
        client.sock.settimeout(1)
        try:
            while True:
                replies.append(client.reply())
        except (TimeoutError, ConnectionError):
            pass
    finally:
        client.close()
    messages = _listing(server, inbox)
    assert [m["subject"] for m in messages] == ["first"], replies
    assert all(m["subject"] != "smuggled" for m in messages)


def test_crlf_in_envelope_addresses_is_refused(server: RunningServer) -> None:
    inbox = create_inbox(server)
    client = RawSMTP(server)
    try:
        client.command(b"EHLO x")
        assert client.command(b"MAIL FROM:<a@example.com>").startswith(b"250")
        reply = client.command(
            b"RCPT TO:<" + inbox["address"].encode() + b"\rRCPT TO:<x@evil.example>>"
        )
        assert reply[:1] == b"5"
        assert client.command(b"NOOP").startswith(b"250")
    finally:
        client.close()
    assert _listing(server, inbox) == []


def test_bare_cr_in_headers_cannot_forge_a_sender(server: RunningServer) -> None:
    inbox = create_inbox(server)
    data = b"From: real@example.com\r\nSubject: hi\rFrom: ceo@bank.example\r\n\r\nbody\r\n"
    send_raw(server, inbox["address"], data)
    message = _listing(server, inbox)[0]
    assert message["from"] == "real@example.com"


def test_thousand_recipients_and_command_limit(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_SMTP_MAX_COMMANDS_PER_SESSION": "1000"})
    try:
        inbox = create_inbox(server)
        client = RawSMTP(server)
        try:
            client.command(b"EHLO x")
            client.command(b"MAIL FROM:<a@example.com>")
            assert client.command(b"RCPT TO:<" + inbox["address"].encode() + b">").startswith(
                b"250"
            )
            codes = {client.command(b"RCPT TO:<nobody%d@localhost>" % n)[:3] for n in range(999)}
            assert codes == {b"550"}
            # The 1001st RCPT in one session is one too many.
            assert client.command(b"RCPT TO:<again@localhost>").startswith(b"421 4.7.0")
        finally:
            client.close()
        with httpx.Client(base_url=server.http_url) as http:
            assert http.get("/health").status_code == 200
    finally:
        server.stop()


def test_connection_caps_idle_timeout_and_line_length(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        {
            "TEMPMAIL_SMTP_MAX_CONNECTIONS_PER_IP": "3",
            "TEMPMAIL_SMTP_MAX_CONNECTIONS": "5",
            "TEMPMAIL_SMTP_IDLE_TIMEOUT_SECONDS": "1",
        },
    )
    try:
        held = [RawSMTP(server) for _ in range(3)]
        assert all(client.greeting.startswith(b"220") for client in held)
        refused = RawSMTP(server)
        assert refused.greeting.startswith(b"421 4.7.0")
        refused.close()
        # The held sessions go quiet and are closed with a 421 of their own.
        for client in held:
            assert client.reply().startswith(b"421 4.4.2")
            client.close()
        fresh = RawSMTP(server)
        assert fresh.greeting.startswith(b"220")
        fresh.command(b"EHLO x")
        assert fresh.command(b"NOOP " + b"x" * 2000).startswith(b"500")
        fresh.close()
        assert server.runtime.listener is not None
        assert server.runtime.listener.counters.rejected["421"] >= 4
    finally:
        server.stop()


def test_oversize_line_in_data_is_refused(server: RunningServer) -> None:
    inbox = create_inbox(server)
    with smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=30) as client:
        client.ehlo("x")
        client.mail("a@example.com")
        client.rcpt(inbox["address"])
        code, text = client.data(b"Subject: long\r\n\r\n" + b"a" * 5000 + b"\r\n")
        assert (code, text[:5]) == (500, b"5.5.2")
    assert _listing(server, inbox) == []


def _health_during(server: RunningServer, work: Any) -> list[float]:
    """Run `work` in a thread while timing /health; returns the health latencies seen."""
    latencies: list[float] = []
    done = threading.Event()

    def run() -> None:
        try:
            work()
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    with httpx.Client(base_url=server.http_url, timeout=30) as client:
        while True:
            started = time.monotonic()
            assert client.get("/health").status_code == 200
            latencies.append(time.monotonic() - started)
            if done.is_set():
                break
            time.sleep(0.02)
    thread.join()
    return latencies


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(
            b"Subject: nested\r\nMIME-Version: 1.0\r\n"
            + b"".join(
                b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n)
                for n in range(2000)
            ),
            id="2000-nested",
        ),
        pytest.param(
            b'Subject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="p"\r\n\r\n'
            + b"--p\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 100_000
            + b"--p--\r\n",
            id="100k-parts",
        ),
        pytest.param(
            b"Subject: to\r\nTo: "
            + b",\r\n ".join(b"user%d@example.com" % n for n in range(20_000))
            + b"\r\n\r\nbody\r\n",
            id="20k-addresses",
        ),
        pytest.param(
            b"Subject: headers\r\n"
            + b"X-Filler: "
            + b"y" * 900
            + b"\r\n" * 1
            + (b"X-Many: z\r\n" * 50_000)
            + b"\r\nbody\r\n",
            id="50k-headers",
        ),
    ],
)
def test_parser_bombs_are_stored_raw_without_stalling(server: RunningServer, bomb: bytes) -> None:
    inbox = create_inbox(server)
    other = create_inbox(server)
    refused: list[dict[str, Any]] = []
    latencies = _health_during(
        server, lambda: refused.append(send_raw(server, inbox["address"], bomb))
    )
    assert refused == [{}]
    # Another SMTP session is served normally right after.
    send_raw(
        server,
        other["address"],
        make_message(other["address"], "normal").as_bytes(policy=SMTP_POLICY),
    )
    assert _listing(server, other)[0]["subject"] == "normal"
    message = _listing(server, inbox)[0]
    with server.client(inbox["token"]) as client:
        raw = client.get(f"/api/v1/messages/{message['id']}/raw").content
        assert raw == bomb
        assert client.get(f"/api/v1/messages/{message['id']}").status_code == 200
    # Loose on purpose (shared, noisy machines): /health never waited on the parser.
    assert max(latencies) < 2.0, latencies


XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<button formaction="javascript:alert(1)">x</button>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    '<div style="background-image: url(https://tracker.example/p.gif)">x</div>',
    '<div style="behavior: url(x.htc)">x</div>',
    '<style>@import "https://tracker.example/x.css";</style>',
    '<link rel="stylesheet" href="https://tracker.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<img src="https://tracker.example/pixel.gif" width="1" height="1">',
    '<img srcset="https://tracker.example/a.png 1x">',
    '<table background="https://tracker.example/bg.png"><tr><td>x</td></tr></table>',
    '<video poster="https://tracker.example/p.png"></video>',
    '<a href="/relative/path">rel</a>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    "<template><script>alert(1)</script></template>",
    "<x onclick=alert(1)>click</x>",
    '<p style="color:red" onmouseover="alert(1)">hover</p>',
]
FORBIDDEN = re.compile(
    r"<script|<svg|<math|<iframe|<object|<embed|<form|<button|<input|<style|<link|<meta|<base"
    r"|<video|<template|\son\w+\s*=|javascript:|vbscript:|data:text|url\(|expression\(|srcset"
    r"|background=|tracker\.example|evil\.example|href=\"/",
    re.IGNORECASE,
)


def test_xss_corpus_through_body_html(server: RunningServer) -> None:
    inbox = create_inbox(server)
    html = "\n".join(f"<div>{payload}</div>" for payload in XSS_CORPUS)
    send_raw(
        server,
        inbox["address"],
        make_message(inbox["address"], "xss", html=html).as_bytes(policy=SMTP_POLICY),
    )
    message = _listing(server, inbox)[0]
    with server.client(inbox["token"]) as client:
        body = client.get(f"/api/v1/messages/{message['id']}").json()["body_html"]
    found = FORBIDDEN.findall(body)
    assert found == [], body
    for payload in XSS_CORPUS:
        single = make_message(inbox["address"], "one", html=payload).as_bytes(policy=SMTP_POLICY)
        send_raw(server, inbox["address"], single)
    with server.client(inbox["token"]) as client:
        for item in _listing(server, inbox):
            body = client.get(f"/api/v1/messages/{item['id']}").json()["body_html"]
            assert FORBIDDEN.findall(body) == [], body
        # The same mail with remote images allowed still carries nothing active.
        allowed = client.get(
            f"/api/v1/messages/{message['id']}", params={"remote_images": "true"}
        ).json()
        active = [
            hit for hit in FORBIDDEN.findall(allowed["body_html"]) if "tracker" not in hit.lower()
        ]
        assert active == []


@pytest.fixture
def many_inboxes(server: RunningServer) -> Iterator[list[dict[str, Any]]]:
    yield [create_inbox(server) for _ in range(2)]


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (b'attachment; filename="../../../etc/passwd"', "passwd"),
        (b'attachment; filename="..\\\\..\\\\boot.ini"', "boot.ini"),
        (b"attachment; filename*=utf-8''%2E%2E%2F%2E%2E%2Fevil.sh", "evil.sh"),
        (b"attachment; filename*=utf-8''quote%22d%0D%0Aheader.txt", "quote_d_header.txt"),
        (b'attachment; filename*0="first"; filename*1="%2F..%2Fsecond.txt"', None),
        (b"attachment; filename*=utf-8''%E2%80%AEexe.txt", None),
        (b'attachment; filename="   "', "attachment-1.bin"),
    ],
)
def test_attachment_filename_tricks(
    server: RunningServer,
    many_inboxes: list[dict[str, Any]],
    disposition: bytes,
    expected: str | None,
) -> None:
    inbox = many_inboxes[0]
    data = (
        b"From: a@example.com\r\nSubject: file\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        b"--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: "
        + disposition
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--x--\r\n"
    )
    send_raw(server, inbox["address"], data)
    message = _listing(server, inbox)[0]
    with server.client(inbox["token"]) as client:
        attachment = client.get(f"/api/v1/messages/{message['id']}").json()["attachments"][0]
        name = attachment["filename"]
        if expected is not None:
            assert name == expected
        for bad in ("/", "\\", '"', "\r", "\n", "\x00"):
            assert bad not in name
        assert name not in ("", ".", "..")
        download = client.get(f"/api/v1/messages/{message['id']}/attachments/{attachment['id']}")
        assert download.content == b"hello"
        header = download.headers["content-disposition"]
        assert header.count('"') == 2 and "\r" not in header and "\n" not in header
