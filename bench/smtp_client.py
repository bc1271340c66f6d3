"""A minimal asyncio SMTP client: one session, many transactions, no pipelining.

Written for the load generator rather than taken from `smtplib` (blocking) so that hundreds of
sessions can share one event loop, and so latency is measured exactly from MAIL to the reply
that ends DATA.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

CRLF = b"\r\n"


class Refused(Exception):
    """The server greeted with something other than 220 (for example 421, too many sessions)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Reply:
    code: int
    text: str


@dataclass(frozen=True)
class Delivery:
    """The outcome of one MAIL/RCPT/DATA transaction."""

    code: str
    """The reply that decided it: the final DATA reply, or the refusal that ended it early."""
    seconds: float
    """From sending MAIL to receiving `code`."""
    accepted: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    """Codes of every refused command, including single refused recipients."""

    @property
    def ok(self) -> bool:
        return self.code == "250"


class SMTPClient:
    """One SMTP session over an asyncio stream; every reply is awaited within `reply_seconds`."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply_seconds: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._reply_seconds = reply_seconds

    @classmethod
    async def connect(cls, host: str, port: int, reply_seconds: float) -> SMTPClient:
        """Open a session and read the greeting; raises Refused unless it is 220."""
        async with asyncio.timeout(reply_seconds):
            reader, writer = await asyncio.open_connection(host, port)
        client = cls(reader, writer, reply_seconds)
        try:
            greeting = await client.reply()
        except BaseException:
            client.close()
            raise
        if greeting.code != 220:
            client.close()
            raise Refused(str(greeting.code))
        return client

    async def reply(self) -> Reply:
        """Read one (possibly multi-line) reply."""
        lines = []
        async with asyncio.timeout(self._reply_seconds):
            while True:
                line = await self._reader.readline()
                if not line.endswith(b"\n"):
                    raise ConnectionError("connection closed by the server")
                lines.append(line.decode("ascii", "replace").rstrip("\r\n"))
                if line[3:4] != b"-":
                    break
        code = lines[-1][:3]
        return Reply(int(code) if code.isdigit() else 0, "\n".join(lines))

    async def command(self, line: str) -> Reply:
        self._writer.write(line.encode() + CRLF)
        await self._writer.drain()
        return await self.reply()

    async def ehlo(self, name: str = "bench.invalid") -> Reply:
        return await self.command(f"EHLO {name}")

    async def send(self, sender: str, recipients: Sequence[str], payload: bytes) -> Delivery:
        """One transaction; `payload` must already be dot-stuffed and end with CRLF."""
        started = time.perf_counter()
        refusals: list[str] = []
        reply = await self.command(f"MAIL FROM:<{sender}>")
        if reply.code != 250:
            refusals.append(str(reply.code))
            return Delivery(str(reply.code), time.perf_counter() - started, [], refusals)
        accepted = []
        for recipient in recipients:
            reply = await self.command(f"RCPT TO:<{recipient}>")
            if reply.code in (250, 251):
                accepted.append(recipient)
            else:
                refusals.append(str(reply.code))
        if not accepted:
            await self.command("RSET")
            return Delivery(refusals[0], time.perf_counter() - started, [], refusals)
        reply = await self.command("DATA")
        if reply.code != 354:
            refusals.append(str(reply.code))
            await self.command("RSET")
            return Delivery(str(reply.code), time.perf_counter() - started, [], refusals)
        self._writer.write(payload + b"." + CRLF)
        await self._writer.drain()
        reply = await self.reply()
        elapsed = time.perf_counter() - started
        if reply.code != 250:
            refusals.append(str(reply.code))
            return Delivery(str(reply.code), elapsed, [], refusals)
        return Delivery("250", elapsed, accepted, refusals)

    async def noop(self) -> Reply:
        return await self.command("NOOP")

    async def quit(self) -> None:
        with contextlib.suppress(OSError, ConnectionError, TimeoutError):
            await self.command("QUIT")

    def close(self) -> None:
        self._writer.close()
