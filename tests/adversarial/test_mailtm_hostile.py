"""The mail.tm-compatible API under hostile use, against a real `tempmail serve` process:
a flood of logins cannot queue unbounded scrypt work, its event streams count against the same
caps as the native ones, and odd paging numbers are 400s."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.adversarial.test_crash import Process

PASSWORD = "correct horse battery"
FLOOD = 40


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Process]:
    server = Process(
        tmp_path,
        {
            "TEMPMAIL_MAILTM_ENABLED": "true",
            "TEMPMAIL_LIMITS_AUTH_FAILURES_PER_MINUTE": "100000",
            "TEMPMAIL_LIMITS_STREAMS_PER_INBOX": "3",
        },
    )
    try:
        yield server
    finally:
        server.stop()


def _request(path: str, body: bytes, port: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:])
    }
    return int(lines[0][9:12]), headers, body


def test_a_login_flood_gets_503_at_once_not_a_queue(served: Process) -> None:
    address = f"flooded@{served.create_inbox()['address'].split('@')[1]}"
    with httpx.Client(base_url=served.url + "/mailtm", timeout=60) as http:
        assert http.post("/accounts", json={"address": address, "password": PASSWORD}).is_success
    before = _memory_kb(served.popen.pid, "VmRSS")
    body = json.dumps({"address": address, "password": "wrong " * 100}).encode()
    sockets = [
        socket.create_connection(("127.0.0.1", served.http_port), timeout=120) for _ in range(FLOOD)
    ]
    try:
        # Every request is in the server's hands before the first derivation can finish.
        for sock in sockets:
            sock.sendall(_request("/mailtm/token", body, served.http_port))
        answers = [_answer(sock) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    statuses = [status for status, _, _ in answers]
    busy = [answer for answer in answers if answer[0] == 503]
    # Two derive and eight wait; the rest are turned away without any scrypt work.
    assert set(statuses) <= {401, 503}, statuses
    assert statuses.count(401) <= 10 + 4, statuses  # a few may finish before the last arrive
    assert len(busy) >= FLOOD - 14, statuses
    for _, headers, text in busy:
        assert headers["retry-after"] == "5"
        document = json.loads(text)
        assert document["detail"] == "Too many logins in progress; try again in a few seconds."
    # Each derivation holds 32 MiB: at most two at once, never one per request.
    growth_mb = (_memory_kb(served.popen.pid, "VmHWM") - before) / 1024
    assert growth_mb < 160, growth_mb
    with httpx.Client(base_url=served.url + "/mailtm", timeout=60) as http:
        assert http.post("/token", json={"address": address, "password": PASSWORD}).is_success


def test_mercure_streams_count_against_the_stream_caps(served: Process) -> None:
    address = f"streamer@{served.create_inbox()['address'].split('@')[1]}"
    with httpx.Client(base_url=served.url, timeout=60) as http:
        created = http.post(
            "/mailtm/accounts", json={"address": address, "password": PASSWORD}
        ).json()
        token = http.post("/mailtm/token", json={"address": address, "password": PASSWORD}).json()[
            "token"
        ]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/mailtm/.well-known/mercure?topic=/accounts/{created['id']}"
    with contextlib.ExitStack() as stack:
        http = stack.enter_context(httpx.Client(base_url=served.url, timeout=60))
        for _ in range(3):
            stream = stack.enter_context(http.stream("GET", url, headers=headers))
            assert stream.status_code == 200
            chunks = stream.iter_bytes()
            assert next(chunks).startswith(b": connected")
            # Dropping the iterator would close the connection: keep it until the stack ends.
            stack.callback(chunks.close)
        # Streamed, so that a stream wrongly accepted fails here instead of never ending.
        with http.stream("GET", url, headers=headers) as refused:
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "5"
        # Counted together with the native event stream of the same inbox.
        events = f"/api/v1/inboxes/{created['id']}/events"
        with http.stream("GET", events, headers=headers) as native:
            assert native.status_code == 429
    # Closed streams give their slots back.
    with (
        httpx.Client(base_url=served.url, timeout=60) as http,
        http.stream("GET", url, headers=headers) as stream,
    ):
        assert stream.status_code == 200


@pytest.mark.parametrize("page", ["²", "1e308", "-1", "0", "9" * 7, "", "0x10", "1.5", "inf"])
def test_odd_page_numbers_are_400(served: Process, page: str) -> None:
    address = f"pager@{served.create_inbox()['address'].split('@')[1]}"
    with httpx.Client(base_url=served.url + "/mailtm", timeout=60) as http:
        http.post("/accounts", json={"address": address, "password": PASSWORD})
        token = http.post("/token", json={"address": address, "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        for path in ("/messages", "/domains"):
            response = http.get(path, params={"page": page}, headers=headers)
            assert response.status_code == 400, (path, page, response.text)
