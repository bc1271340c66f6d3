"""One POP3 connection's bytes: bounded line reads, writes that respect flow control, STLS.

A plain `asyncio.Protocol` rather than streams so that the buffer is ours: at STLS whatever a
client pipelined in plaintext after the command is thrown away before the handshake (the
STARTTLS command injection of CVE-2011-0411), and no line grows past `max_line` bytes.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import cast

# Read no more from the socket while this much is buffered and unread (pipelined commands).
BUFFER_LIMIT = 64 * 1024
WRITE_CHUNK = 64 * 1024
TLS_HANDSHAKE_SECONDS = 30.0


class LineTooLong(Exception):
    """A line did not end within the allowed length."""


class Connection(asyncio.Protocol):
    """Reads CRLF (or LF) terminated lines and writes replies for one session task."""

    def __init__(self, max_line: int, start: Callable[[Connection], None]) -> None:
        self._max_line = max_line
        self._start = start
        self._buffer = bytearray()
        self._eof = False
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self.transport: asyncio.Transport | None = None
        self.tls = False

    @property
    def peer(self) -> str:
        assert self.transport is not None
        peer = self.transport.get_extra_info("peername")
        return str(peer[0]) if peer else ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio's classes.
        self.transport = cast(asyncio.Transport, transport)
        self.tls = transport.get_extra_info("sslcontext") is not None
        self._start(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > BUFFER_LIMIT and self.transport is not None and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, error: Exception | None) -> None:
        self._eof = True
        self._writable.set()
        self._wake()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    @property
    def closed(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    async def readline(self) -> bytes | None:
        """The next line with its terminator; None once the client has gone.

        Raises LineTooLong when `max_line` bytes arrive without a line feed.
        """
        while True:
            end = self._buffer.find(b"\n", 0, self._max_line)
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                if self._paused and len(self._buffer) <= BUFFER_LIMIT // 2:
                    self._paused = False
                    if self.transport is not None:
                        self.transport.resume_reading()
                return line
            if len(self._buffer) >= self._max_line:
                raise LineTooLong
            if self._eof:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def write(self, data: bytes) -> None:
        """Write in pieces, each after the transport has room: a client that reads slowly
        makes the session wait rather than the transport buffer a second copy of a message."""
        view = memoryview(data)
        for start in range(0, len(view), WRITE_CHUNK):
            if self.closed:
                return
            assert self.transport is not None
            self.transport.write(view[start : start + WRITE_CHUNK])
            await self._writable.wait()

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Switch to TLS as the server; anything the client sent before is discarded."""
        assert self.transport is not None
        self._buffer.clear()
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(
            self.transport,
            self,
            context,
            server_side=True,
            ssl_handshake_timeout=TLS_HANDSHAKE_SECONDS,
        )
        # uvloop's transports do not derive from asyncio's classes.
        self.transport = cast(asyncio.Transport, transport)
        self.tls = True

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
