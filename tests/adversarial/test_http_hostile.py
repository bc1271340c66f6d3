"""Slow and greedy HTTP clients, hostile numbers, role names and file names, through the real
server: request timeouts, connection caps, caps on event streams and long polls."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import RunningServer, create_inbox, send_raw, start_server

ADMIN_KEY = "correct-horse-battery-staple"


def _address(server: RunningServer) -> tuple[str, int]:
    host, port = server.http_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _read_all(sock: socket.socket, timeout: float = 30) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


class HealthWatcher:
    """Polls /health from a second client and keeps the longest gap between answers."""

    def __init__(self, server: RunningServer) -> None:
        self.url = f"{server.http_url}/health"
        self.longest = 0.0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            last = time.monotonic()
            while not self._stop.is_set():
                if client.get(self.url).status_code != 200:
                    self.failures += 1
                now = time.monotonic()
                self.longest = max(self.longest, now - last)
                last = now
                time.sleep(0.02)

    def __enter__(self) -> HealthWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path / "data",
        {
            "TEMPMAIL_HTTP_HEADER_TIMEOUT_SECONDS": "1",
            "TEMPMAIL_HTTP_BODY_TIMEOUT_SECONDS": "1",
            "TEMPMAIL_HTTP_MAX_CONNECTIONS_PER_IP": "400",
        },
    )
    try:
        yield server
    finally:
        server.stop()


def test_slowloris_header_tricklers_are_cut_off_with_408(strict: RunningServer) -> None:
    """200 connections sending a header line every 0.3 s: each is answered 408 and closed."""
    sockets = [socket.create_connection(_address(strict), timeout=30) for _ in range(200)]
    with HealthWatcher(strict) as health:
        for sock in sockets:
            sock.sendall(b"GET /api/v1/domains HTTP/1.1\r\nHost: x\r\n")
        for _ in range(5):
            time.sleep(0.3)
            for sock in sockets:
                with contextlib.suppress(OSError):  # already cut off
                    sock.sendall(b"X-Slow: 1\r\n")
        answers = [_read_all(sock) for sock in sockets]
    for sock in sockets:
        sock.close()
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers)
    body = answers[0].split(b"\r\n\r\n", 1)[1]
    assert json.loads(body)["error"] == "request_timeout"
    # Service went on for others meanwhile (a generous margin on a shared machine).
    assert health.failures == 0 and health.longest < 3.0, health.longest
    counts = strict.http_connections()
    assert counts.timed_out >= 200
    deadline = time.monotonic() + 10
    while counts.total > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counts.total <= 1  # at most the watcher's keep-alive connection, if still open


@pytest.mark.parametrize(
    ("start", "trickle"),
    [(b"", b"\r\n"), (b"GET /", b"a"), (b"", b"")],
    ids=["blank-lines", "request-line-byte-by-byte", "silent"],
)
def test_every_slow_start_is_timed_out(strict: RunningServer, start: bytes, trickle: bytes) -> None:
    sock = socket.create_connection(_address(strict), timeout=30)
    try:
        sock.sendall(start)
        for _ in range(6):
            if trickle:
                try:
                    sock.sendall(trickle)
                except OSError:
                    break
            time.sleep(0.3)
        answer = _read_all(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_slow_request_body_is_cut_off_with_408(strict: RunningServer) -> None:
    sock = socket.create_connection(_address(strict), timeout=30)
    try:
        sock.sendall(
            b"POST /api/v1/inboxes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        for _ in range(6):
            time.sleep(0.3)
            try:
                sock.sendall(b" ")
            except OSError:
                break
        answer = _read_all(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_a_header_flood_is_refused_with_431(server: RunningServer) -> None:
    sock = socket.create_connection(_address(server), timeout=30)
    try:
        # 70 KB of header lines in one go, then nothing: the cap is 64 KB.
        padding = b"X-Padding: " + b"a" * 1000 + b"\r\n"
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + padding * 70)
        answer = _read_all(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_connection_caps_per_client_and_in_all(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        {"TEMPMAIL_HTTP_MAX_CONNECTIONS_PER_IP": "5", "TEMPMAIL_HTTP_MAX_CONNECTIONS": "8"},
    )
    try:
        address = _address(server)
        held = [socket.create_connection(address, timeout=30) for _ in range(5)]
        time.sleep(0.2)
        extra = socket.create_connection(address, timeout=30)
        answer = _read_all(extra)
        extra.close()
        assert answer.startswith(b"HTTP/1.1 429 "), answer[:200]
        assert b"retry-after: 5" in answer.lower()
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "rate_limited"
        # From another address (::1 is a client of its own) up to the cap in all.
        v6_server_reachable = socket.has_ipv6
        assert v6_server_reachable
        for sock in held:
            sock.close()
        time.sleep(0.2)
        assert server.http_connections().total == 0
        with httpx.Client(base_url=server.http_url) as client:
            assert client.get("/health").status_code == 200
    finally:
        server.stop()


def test_connection_cap_in_all_answers_503(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        {"TEMPMAIL_HTTP_MAX_CONNECTIONS_PER_IP": "50", "TEMPMAIL_HTTP_MAX_CONNECTIONS": "4"},
    )
    try:
        held = [socket.create_connection(_address(server), timeout=30) for _ in range(4)]
        time.sleep(0.2)
        extra = socket.create_connection(_address(server), timeout=30)
        answer = _read_all(extra)
        extra.close()
        assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
        for sock in held:
            sock.close()
    finally:
        server.stop()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path / "data",
        {
            "TEMPMAIL_HTTP_TRUSTED_PROXIES": "127.0.0.1",
            "TEMPMAIL_LIMITS_STREAMS_PER_INBOX": "3",
            "TEMPMAIL_LIMITS_STREAMS_PER_CLIENT": "5",
            "TEMPMAIL_API_KEY": ADMIN_KEY,
        },
    )
    try:
        yield server
    finally:
        server.stop()


def _open_stream(
    stack: ExitStack, server: RunningServer, inbox: dict[str, Any], client_ip: str
) -> httpx.Response:
    client = stack.enter_context(httpx.Client(base_url=server.http_url, timeout=30))
    response = stack.enter_context(
        client.stream(
            "GET",
            f"/api/v1/inboxes/{inbox['inbox_id']}/events",
            headers={"Authorization": f"Bearer {inbox['token']}", "X-Forwarded-For": client_ip},
        )
    )
    if response.status_code == 200:
        lines = response.iter_lines()
        assert next(lines) == ": connected"
        # Closing the line iterator would close the connection: keep it until the stack ends.
        stack.callback(lines.close)
    else:
        response.read()
    return response


def test_event_streams_are_capped_per_inbox_and_per_client_64(proxied: RunningServer) -> None:
    first, second, third = (create_inbox(proxied) for _ in range(3))
    with ExitStack() as stack:
        # Three streams on one inbox from addresses of one IPv6 /64: the inbox cap is 3.
        opened = [_open_stream(stack, proxied, first, f"2001:db8:5:6::{n}") for n in range(1, 4)]
        assert [response.status_code for response in opened] == [200, 200, 200]
        refused = _open_stream(stack, proxied, first, "198.51.100.7")
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_streams"
        assert refused.headers["retry-after"] == "5"
        # A long poll on the full inbox is refused the same way; one that need not wait is not.
        with httpx.Client(base_url=proxied.http_url, timeout=30) as client:
            headers = {
                "Authorization": f"Bearer {first['token']}",
                "X-Forwarded-For": "198.51.100.7",
            }
            path = f"/api/v1/inboxes/{first['inbox_id']}/messages"
            assert client.get(path, params={"wait": "30"}, headers=headers).status_code == 429
            assert client.get(path, headers=headers).status_code == 200
        # The same /64 reaches its cap of 5 across inboxes.
        more = [_open_stream(stack, proxied, second, f"2001:db8:5:6:ffff::{n}") for n in (1, 2)]
        assert [response.status_code for response in more] == [200, 200]
        over = _open_stream(stack, proxied, third, "2001:db8:5:6:abcd::1")
        assert over.status_code == 429
        assert "your address" in over.json()["message"].lower()
        # Another client is not affected by that /64's cap.
        assert _open_stream(stack, proxied, third, "2001:db8:7::1").status_code == 200
    # Closed streams give their slots back (as soon as the server has seen them close).
    deadline = time.monotonic() + 10
    while True:
        with ExitStack() as stack:
            again = [_open_stream(stack, proxied, first, f"2001:db8:5:6::{n}") for n in range(1, 4)]
            statuses = [response.status_code for response in again]
        if statuses == [200, 200, 200] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert statuses == [200, 200, 200]


def test_numbers_are_bounded_before_arithmetic(proxied: RunningServer) -> None:
    inbox = create_inbox(proxied)
    headers = {"Authorization": f"Bearer {inbox['token']}"}
    path = f"/api/v1/inboxes/{inbox['inbox_id']}"
    with httpx.Client(base_url=proxied.http_url, timeout=30) as client:
        for body in (b'{"ttl_hours": 1e308}', b'{"ttl_hours": 1e999}', b'{"ttl_hours": -1e308}'):
            for method, url in (("PATCH", path), ("POST", "/api/v1/inboxes")):
                response = client.request(method, url, content=body, headers=headers)
                assert response.status_code == 422, (method, body, response.text)
                assert "ttl_hours" in response.json()["message"]
        # Large but sane values are capped, as documented.
        capped = client.patch(path, json={"ttl_hours": 999_999}, headers=headers)
        assert capped.status_code == 200
        hostile = ["1e308", "-1e308", "nan", "inf", "-inf", "9" * 5000, "²", "0x10", "-0", " "]
        for value in hostile:
            response = client.get(f"{path}/messages", params={"since": value}, headers=headers)
            assert response.status_code in (200, 400), (value, response.text)
            # A wait of 1e308 s is capped at 60 like any long one; the others are refused.
            if value not in ("1e308", "-0"):
                response = client.get(f"{path}/messages", params={"wait": value}, headers=headers)
                assert response.status_code == 400, (value, response.text)
                assert "wait" in response.json()["message"]
            for name in ("limit", "offset"):
                response = client.get(
                    "/api/v1/admin/inboxes", params={name: value}, headers={"X-API-Key": ADMIN_KEY}
                )
                assert response.status_code == 400, (name, value, response.text)
    # httpx will not send these, so a raw socket does.
    for length in ("9" * 5000, "99999999999999999999", "²", "-1", "1e3"):
        sock = socket.create_connection(_address(proxied), timeout=30)
        try:
            sock.sendall(
                b"POST /api/v1/inboxes HTTP/1.1\r\nHost: x\r\nContent-Length: "
                + length.encode()
                + b"\r\n\r\n{}"
            )
            answer = _read_all(sock, timeout=10)
        except TimeoutError:
            answer = b"HTTP/1.1 408 (still waiting for the body it was promised)"
        finally:
            sock.close()
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, (length, answer[:200])


@pytest.mark.parametrize(
    "local_part",
    [
        "mailer_daemon", "mailer.daemon", "Mailer-Daemon", "no_reply", "no.reply", "noreply2",
        "do-not-reply", "post.master", "postmaster1", "hostmaster1", "ssladmin", "ssl_admin",
        "dmarc", "dmarc-reports", "marketing", "sales", "ftp", "news", "usenet", "uucp", "www1",
        "web_master", "abuse-2", "admin.1", "autodiscover", "info",
    ],
)  # fmt: skip
def test_role_names_are_reserved_in_every_spelling(server: RunningServer, local_part: str) -> None:
    with server.client() as client:
        response = client.post("/api/v1/inboxes", json={"local_part": local_part})
    assert response.status_code == 409, (local_part, response.text)
    assert "reserved" in response.json()["message"]


def test_ordinary_names_are_not_caught_by_role_folding(server: RunningServer) -> None:
    for local_part in ("alice", "sales-team-alice", "news4u-bob", "admin-carol", "info.dave"):
        with server.client() as client:
            response = client.post("/api/v1/inboxes", json={"local_part": local_part})
        assert response.status_code == 201, (local_part, response.text)


def test_bidi_and_invisible_characters_never_leave_in_file_names(server: RunningServer) -> None:
    inbox = create_inbox(server)
    # invoice<RLO>fdp.exe shows as "invoiceexe.pdf"; add a zero-width space and a BOM.
    encoded = "invoice%E2%80%AEfdp%E2%80%8B%EF%BB%BF.exe"
    data = (
        b"From: a@example.com\r\nSubject: file\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        b"--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
        b"filename*=utf-8''" + encoded.encode() + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"aGVsbG8=\r\n--x--\r\n"
    )
    send_raw(server, inbox["address"], data)
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        message_id = listing["messages"][0]["id"]
        detail = client.get(f"/api/v1/messages/{message_id}")
        attachment = detail.json()["attachments"][0]
        download = client.get(f"/api/v1/messages/{message_id}/attachments/{attachment['id']}")
    assert attachment["filename"] == "invoicefdp.exe"
    assert "\\u202e" not in detail.text.lower()
    disposition = download.headers["content-disposition"]
    assert disposition == "attachment; filename=\"invoicefdp.exe\"; filename*=UTF-8''invoicefdp.exe"


def test_pipelined_requests_and_half_close_are_all_answered(server: RunningServer) -> None:
    sock = socket.create_connection(_address(server), timeout=30)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 100)
        sock.shutdown(socket.SHUT_WR)
        answer = _read_all(sock)
    finally:
        sock.close()
    assert answer.count(b"HTTP/1.1 200 OK") == 100


def test_a_large_body_in_one_write_is_a_413_not_a_header_flood(server: RunningServer) -> None:
    body = b"{" + b" " * 70_000 + b"}"
    sock = socket.create_connection(_address(server), timeout=30)
    try:
        sock.sendall(
            b"POST /api/v1/inboxes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        answer = _read_all(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_one_endless_header_value_is_refused_with_431(server: RunningServer) -> None:
    sock = socket.create_connection(_address(server), timeout=30)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        with contextlib.suppress(OSError):
            for _ in range(1000):  # up to 64 MB, far past the cap; the server stops it early
                sock.sendall(b"a" * 65536)
        sock.settimeout(30)
        answer = sock.recv(200)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer
