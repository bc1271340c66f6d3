"""A lean keep-alive HTTP/1.1 GET client for the API load (loopback only).

httpx spends about 1.4 ms of CPU per request. On this 2-core machine the API load's client
shares the cores with the server and the SMTP load generator, so at a few hundred requests a
second httpx took CPU from the server and added its own delays to the latencies it reported.
This client writes one request line and its headers, and parses the answer with httptools
(the parser uvicorn uses), at a small fraction of that cost. It still checks the status and
reads the whole body of every answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

import httptools

READ_CHUNK = 256 * 1024


class HttpError(Exception):
    """The connection failed or the answer was not HTTP."""


class _Answer:
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        # Asked here: once the answer is complete the parser is ready for the next one and
        # no longer knows; asked afterwards it always says no, and every request would
        # open a new connection.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True


class Connection:
    """One connection; `get` sends a request and returns (status, body) once it is all read."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the bench only talks to the loopback interface")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._host_header = parts.netloc.encode()
        self._timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.opened = 0
        """Connections opened so far: one, unless the server closed one or a request failed."""

    async def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(self._get(path, headers or {}), self._timeout)
        except (TimeoutError, OSError, httptools.HttpParserError) as error:
            await self.close()
            raise HttpError(type(error).__name__) from error

    async def _get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            self.opened += 1
        assert self._reader is not None
        lines = [b"GET " + path.encode() + b" HTTP/1.1", b"Host: " + self._host_header]
        lines += [f"{name}: {value}".encode() for name, value in headers.items()]
        self._writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        answer = _Answer()
        while not answer.complete:
            data = await self._reader.read(READ_CHUNK)
            if not data:
                raise OSError("connection closed mid-answer")
            answer.parser.feed_data(data)
        if not answer.keep_alive:
            await self.close()
        return answer.parser.get_status_code(), b"".join(answer.body)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
