"""Every HTTP stage an attacker feeds costs the server CPU linear in what it is fed.

A real `tempmail serve` process (native API and the mail.tm prefix) gets hostile inputs of
growing size in every place a request carries them: JSON bodies of each POST/PATCH route, query
strings (the wait filters `from`/`subject`/`since`, paging), path segments, headers and bearer
tokens. The server's own CPU time (from /proc, so the client's work is not counted) per request
is compared across sizes: ten times the input must cost well under thirty times the work (a
quadratic stage costs a hundred times). Inputs past a cap must be refused with its status, and
those refusals stay as cheap as the small requests. Bounds are ratios, never wall-clock limits.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.adversarial.test_crash import Process

# Per 10x input, the server's CPU per request may grow at most this much (quadratic: ~100x).
RATIO = 30
REQUESTS = 25
HEADER_CAP = 64 * 1024
BODY_CAP = 16 * 1024
TICK = 1 / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK


class Target:
    """The server, one native inbox with a message and one mail.tm account."""

    def __init__(self, server: Process) -> None:
        self.server = server
        self.inbox = server.create_inbox()
        self.base = server.url
        with httpx.Client(base_url=server.url, timeout=60) as http:
            address = f"costly@{self.inbox['address'].split('@')[1]}"
            created = http.post(
                "/mailtm/accounts", json={"address": address, "password": "correct horse"}
            )
            assert created.status_code == 201, created.text
            self.account_id = created.json()["id"]
            token = http.post(
                "/mailtm/token", json={"address": address, "password": "correct horse"}
            )
            self.mailtm_token = token.json()["token"]

    @property
    def native(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.inbox['token']}"}

    @property
    def mailtm(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.mailtm_token}"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server = Process(
        tmp_path_factory.mktemp("http-cost"),
        {"TEMPMAIL_MAILTM_ENABLED": "true", "TEMPMAIL_LIMITS_AUTH_FAILURES_PER_MINUTE": "100000"},
    )
    try:
        yield Target(server)
    finally:
        server.stop()


def _filler(size: int, unit: str = "a") -> str:
    return (unit * (size // len(unit) + 1))[:size]


# A request: method, path (with query), headers, body. Each shape makes one of a given size.
Request = tuple[str, str, dict[str, str], bytes | None]
Shape = Callable[[Target, int], Request]


def _json_string(size: int) -> bytes:
    # Escapes make the decoder work per character; non-ASCII makes it re-encode.
    unit = '\\u00e9\\n\\"x'
    return b'"' + (unit * (size // len(unit))).encode() + b'"'


SHAPES: dict[str, Shape] = {
    "create: long local part": lambda t, n: (
        "POST",
        "/api/v1/inboxes",
        {},
        b'{"local_part": ' + _json_string(n) + b"}",
    ),
    "create: deep nesting": lambda t, n: (
        "POST",
        "/api/v1/inboxes",
        {},
        b'{"local_part": ' + b"[" * (n // 2) + b"]" * (n // 2) + b"}",
    ),
    "create: many unknown keys": lambda t, n: (
        "POST",
        "/api/v1/inboxes",
        {},
        b"{" + b",".join(b'"k%d": 1' % i for i in range(n // 10)) + b"}",
    ),
    "patch: ttl with many digits": lambda t, n: (
        "PATCH",
        f"/api/v1/inboxes/{t.inbox['inbox_id']}",
        t.native,
        b'{"ttl_hours": 1' + b"0" * n + b"}",
    ),
    "mail.tm accounts: long address": lambda t, n: (
        "POST",
        "/mailtm/accounts",
        {},
        b'{"address": ' + _json_string(n) + b', "password": "correct horse"}',
    ),
    "mail.tm token: long password": lambda t, n: (
        "POST",
        "/mailtm/token",
        {},
        b'{"address": "a@localhost", "password": ' + _json_string(n) + b"}",
    ),
    "mail.tm patch message: junk": lambda t, n: (
        "PATCH",
        "/mailtm/messages/nothing-here",
        t.mailtm,
        b'{"seen": true, "x": ' + _json_string(n) + b"}",
    ),
    "wait filters from/subject": lambda t, n: (
        "GET",
        f"/api/v1/inboxes/{t.inbox['inbox_id']}/messages?wait=0&from={_filler(n // 2)}"
        f"&subject={_filler(n // 2)}",
        t.native,
        None,
    ),
    "since as digits": lambda t, n: (
        "GET",
        f"/api/v1/inboxes/{t.inbox['inbox_id']}/messages?since={_filler(n, '9')}",
        t.native,
        None,
    ),
    "since as an ISO time": lambda t, n: (
        "GET",
        f"/api/v1/inboxes/{t.inbox['inbox_id']}/messages?since=2026-01-01T00:00:00"
        + _filler(n, "0"),
        t.native,
        None,
    ),
    "many query parameters": lambda t, n: (
        "GET",
        f"/api/v1/inboxes/{t.inbox['inbox_id']}/messages?" + _filler(n, "a=1&"),
        t.native,
        None,
    ),
    "mail.tm paging": lambda t, n: (
        "GET",
        "/mailtm/messages?page=" + _filler(n, "9"),
        t.mailtm,
        None,
    ),
    "mail.tm mercure topics": lambda t, n: (
        "GET",
        "/mailtm/.well-known/mercure?" + _filler(n, "topic=/x&"),
        t.mailtm,
        None,
    ),
    "path segment": lambda t, n: ("GET", "/api/v1/messages/" + _filler(n), t.native, None),
    "mail.tm path segment": lambda t, n: ("GET", "/mailtm/messages/" + _filler(n), t.mailtm, None),
    "bearer token": lambda t, n: (
        "GET",
        "/api/v1/inbox",
        {"Authorization": "Bearer " + _filler(n)},
        None,
    ),
    "mail.tm bearer token": lambda t, n: (
        "GET",
        "/mailtm/me",
        {"Authorization": "Bearer " + _filler(n)},
        None,
    ),
    "many headers": lambda t, n: (
        "GET",
        "/api/v1/inbox",
        {**{f"x-h{i}": "v" for i in range(n // 12)}, **t.native},
        None,
    ),
    "forwarded chains": lambda t, n: (
        "GET",
        "/api/v1/domains",
        {"X-Forwarded-For": _filler(n, "10.0.0.1, "), "Forwarded": _filler(n, "for=1.2.3.4;")},
        None,
    ),
}

# Sizes up to each cap are answered; past it they are refused with the cap's status.
BODY_SIZES = (1_500, 15_000, 150_000, 1_500_000)
HEAD_SIZES = (600, 6_000, 60_000, 600_000)


def _send(base: str, request: Request) -> int:
    """Send one request on a raw socket; the status (or 0 if the server cut it off)."""
    method, path, headers, body = request
    host, port = base.removeprefix("http://").rsplit(":", 1)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        with contextlib.suppress(OSError):  # refused part-way: the status line came first
            sock.sendall(data)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
                if b"\r\n" in reply:
                    break
        except OSError:
            pass
    if not reply.startswith(b"HTTP/1.1 "):
        return 0
    return int(reply[9:12])


def _per_request(target: Target, shape: Shape, size: int) -> tuple[float, set[int]]:
    request = shape(target, size)
    pid = target.server.popen.pid
    statuses: set[int] = set()
    started = _cpu_seconds(pid)
    for _ in range(REQUESTS):
        statuses.add(_send(target.base, request))
    return max(_cpu_seconds(pid) - started, TICK) / REQUESTS, statuses


@pytest.mark.parametrize("name", list(SHAPES))
def test_each_http_stage_costs_linear_cpu(target: Target, name: str) -> None:
    shape = SHAPES[name]
    has_body = shape(target, 10)[3] is not None
    sizes = BODY_SIZES if has_body else HEAD_SIZES
    cap = BODY_CAP if has_body else HEADER_CAP
    costs: dict[int, float] = {}
    for size in sizes:
        costs[size], statuses = _per_request(target, shape, size)
        if size > cap:
            assert statuses <= {413 if has_body else 431, 0}, (name, size, statuses)
            assert statuses != {0}, (name, size, "every request was cut off unanswered")
        else:
            # Answered, and as a client error at worst: never a 500, never cut off.
            assert all(200 <= status < 500 for status in statuses), (name, size, statuses)
    print(f"{name}: server CPU ms per request {_ms(costs)}", file=sys.stderr)
    for small, large in itertools.pairwise(sizes):
        assert costs[large] / costs[small] < RATIO * (large / small) / 10, (name, _ms(costs))
    # The server still answers the ordinary request afterwards.
    with target.server.client(target.inbox["token"]) as client:
        assert client.get("/api/v1/inbox").status_code == 200


def _ms(costs: dict[int, float]) -> dict[int, float]:
    return {size: round(cost * 1000, 2) for size, cost in costs.items()}
