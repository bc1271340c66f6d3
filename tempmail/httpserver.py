"""uvicorn's HTTP protocol with the limits a public listener needs (imported by the CLI only).

uvicorn closes idle keep-alive connections but waits for ever for a request that never
finishes: a client trickling header bytes holds its connection indefinitely (slowloris), and
there is no cap on how many connections one address may hold. Here every request has
`http.header_timeout_seconds` from its first byte to the end of its headers (and a new
connection as long to send that first byte), and `http.body_timeout_seconds` from there to the
end of its body; a header block over 64 KiB is refused. Connections are capped in all
(`http.max_connections`, 503) and per client address or IPv6 /64
(`http.max_connections_per_ip`, 429), except for `http.trusted_proxies`, which carry many
clients. Refusals are JSON like every other error, then the connection is closed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tempmail import wire
from tempmail.clients import peer_key
from tempmail.settings import HTTPSettings

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


def _refusal(status: int, code: str, text: str) -> bytes:
    body = msgspec.json.encode(wire.Error(code, text))
    retry = b"retry-after: 5\r\n" if status in (429, 503) else b""
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"cache-control: no-store\r\nx-content-type-options: nosniff\r\n",
            retry,
            b"connection: close\r\n\r\n",
            body,
        )
    )


class ConnectionCounts:
    """Open HTTP connections, in all and by client key; shared by one server's connections."""

    def __init__(self) -> None:
        self.total = 0
        self.by_client: Counter[str] = Counter()
        self.timed_out = 0
        self.refused = 0

    def add(self, client: str | None) -> None:
        self.total += 1
        if client is not None:
            self.by_client[client] += 1

    def remove(self, client: str | None) -> None:
        self.total -= 1
        if client is not None:
            self.by_client[client] -= 1
            if self.by_client[client] <= 0:
                del self.by_client[client]


def guarded_protocol(settings: HTTPSettings, counts: ConnectionCounts) -> type[HttpToolsProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` that enforces `settings`' limits."""
    trusted = tuple(ipaddress.ip_network(proxy, strict=False) for proxy in settings.trusted_proxies)

    def is_trusted(host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in trusted)

    class GuardedProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._client_key: str | None = None
            self._counted = False
            self._timer: asyncio.TimerHandle | None = None
            self._awaiting_headers = True
            self._headers_ended = False
            self._header_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            host = self.client[0] if self.client else None
            if host is not None and not is_trusted(host):
                self._client_key = peer_key(host)
            if counts.total >= settings.max_connections:
                self._refuse(503, "unavailable", "The server has too many connections; retry.")
                return
            if (
                self._client_key is not None
                and counts.by_client[self._client_key] >= settings.max_connections_per_ip
            ):
                self._refuse(429, "rate_limited", "Too many connections from your address.")
                return
            counts.add(self._client_key)
            self._counted = True
            self._arm(settings.header_timeout_seconds)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._counted:
                counts.remove(self._client_key)
                self._counted = False
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._headers_ended = False
            super().data_received(data)
            if not self._awaiting_headers or self._headers_ended or self.transport.is_closing():
                # Bytes that finished a header block (and any body or next request after it)
                # are not held against the headers.
                return
            if self._timer is None:
                # Any byte towards a request starts its clock, even the blank lines the
                # parser skips without beginning a message.
                self._arm(settings.header_timeout_seconds)
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse(431, "headers_too_large", "The request headers are too large.")

        def eof_received(self) -> bool | None:  # type: ignore[override]
            # A client may send its requests and half-close (shutdown(SHUT_WR)): answer what
            # it asked before closing, instead of writing to a transport closed under it. A
            # response already streaming (an event stream) ends at once, as before: its client
            # is gone, and its slot is freed.
            waiting = self.cycle is not None and not self.cycle.response_started
            return True if self.pipeline or waiting else None

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._awaiting_headers = True

        def on_headers_complete(self) -> None:
            self._awaiting_headers = False
            self._headers_ended = True
            self._header_bytes = 0
            self._arm(settings.body_timeout_seconds)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._disarm()
            self._awaiting_headers = True
            super().on_message_complete()

        def send_400_response(self, msg: str) -> None:
            # uvicorn's answer to bytes that are not HTTP, as JSON like every other error.
            self._refuse(400, "bad_request", "The request is not valid HTTP.")

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._timer = self.loop.call_later(seconds, self._timed_out)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _timed_out(self) -> None:
            self._timer = None
            counts.timed_out += 1
            cycle = self.cycle
            if self._awaiting_headers:
                idle = cycle is None or cycle.response_complete
            else:  # the body of the current request is late
                idle = cycle is not None and not cycle.response_started
            if idle:
                self._refuse(408, "request_timeout", "The request was not sent in time.")
            else:
                # A response is under way on this connection: a 408 now would corrupt it.
                self.transport.close()

        def _refuse(self, status: int, code: str, text: str) -> None:
            self._disarm()
            if status in (429, 503):
                counts.refused += 1
            if not self.transport.is_closing():
                self.transport.write(_refusal(status, code, text))
                self.transport.close()

    return GuardedProtocol
