"""Change notices between the nodes sharing one PostgreSQL database (LISTEN/NOTIFY).

Each committed change a node makes (a message stored, an inbox deleted, expired or extended)
is announced with `pg_notify` inside its transaction, so it goes out at COMMIT and only then.
Each node follows them on one connection of its own, never a pooled one (LISTEN belongs to its
connection). Notices carry ids, and for a stored message its summary row as stored: the time,
the size and the summary sealed to the inbox's key (the bytes of the `messages` row, which only
the inbox token opens), so a node whose client watches that inbox tells it at once, without a
read from the database (a summary over SUMMARY_CHARS is left out; the watcher reads the row).
The notification queue may be written to disk: nothing in a notice is plaintext mail. Nothing
sent while a node was disconnected is replayed, so after each reconnect the follower is told to
look again (`on_notice(None)`). A group commit sends one notice for as many of its messages as
fit in NOTICE_BYTES, a line each, not one notice per message.

The connection is probed every second. PostgreSQL delivers the notices committed before a query
ahead of its answer, so a probe answered at time T means every change committed before T has
been heard: `heard_within(s)` is what lets a node keep inboxes in memory (`sharedcache`).
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import logging
import time
from collections.abc import Callable
from typing import NamedTuple

import asyncpg

from tempmail.storage.base import MessageSummaryRow, NewMessage

log = logging.getLogger(__name__)

CHANNEL = "tempmail"
CONNECT_TIMEOUT_SECONDS = 5
# PostgreSQL takes payloads under 8000 bytes. A line is under 100 bytes (uuid ids, 12-hex node)
# plus, for a message, its sealed summary in base64 (typically 300-700 characters).
NOTICE_BYTES = 7900
SUMMARY_CHARS = 4096


class Notice(NamedTuple):
    """A change another node (or this one) committed: what, to which inbox, which message."""

    kind: str
    inbox_id: str
    message_id: str
    node: str
    row: MessageSummaryRow | None = None
    """A stored message's summary row as stored (None: not in the notice, read it)."""


def payload(kind: str, inbox_id: str, message_id: str, node: str) -> str:
    return f"{kind} {inbox_id} {message_id or '-'} {node}"


def message_payload(message: NewMessage, node: str) -> str:
    """The line announcing a stored message, with its summary row unless that is too long."""
    line = payload("message", message.inbox_id, message.id, node)
    sealed = binascii.b2a_base64(message.summary, newline=False).decode("ascii")
    if len(sealed) > SUMMARY_CHARS:
        return line
    return f"{line} {message.received_at} {message.size} {sealed}"


def notice_groups(lines: list[str]) -> list[int]:
    """The notice each line goes into: consecutive lines, each notice under NOTICE_BYTES with
    the newlines between its lines."""
    groups = []
    group = used = 0
    for line in lines:
        size = len(line.encode()) + 1
        if used and used + size > NOTICE_BYTES:
            group, used = group + 1, 0
        used += size
        groups.append(group)
    return groups


def parse_notice(payload: str) -> Notice | None:
    parts = payload.split(" ")
    if len(parts) == 4:
        kind, inbox_id, message_id, node = parts
        return Notice(kind, inbox_id, "" if message_id == "-" else message_id, node)
    if len(parts) == 7 and parts[0] == "message":
        _, inbox_id, message_id, node, received_at, size, sealed = parts
        try:
            row = MessageSummaryRow(
                message_id,
                int(received_at),
                int(size),
                binascii.a2b_base64(sealed, strict_mode=True),
            )
        except (ValueError, binascii.Error):
            row = None
        return Notice("message", inbox_id, message_id, node, row)
    return None


class Listening:
    """One dedicated connection that LISTENs for change notices, reconnecting when it drops."""

    RETRY_SECONDS = 0.5
    PROBE_EVERY_SECONDS = 1.0
    PROBE_TIMEOUT_SECONDS = 10.0

    def __init__(self, url: str, on_notice: Callable[[Notice | None], None]) -> None:
        self._url = url
        self._on_notice = on_notice
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.connected = asyncio.Event()
        self._probe_sent_at: float | None = None
        """When the last answered probe was sent (None: no answer on this connection yet)."""

    def heard_within(self, seconds: float) -> bool:
        """Connected, and every change committed until `seconds` ago has been heard."""
        sent = self._probe_sent_at
        return sent is not None and not self._lost.is_set() and time.monotonic() - sent < seconds

    async def start(self) -> None:
        """Follow from now on; waits (a little) for the first connection."""
        self._task = asyncio.create_task(self._run(), name="tempmail-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), CONNECT_TIMEOUT_SECONDS)

    def _received(self, connection: object, pid: int, channel: str, payload: object) -> None:
        for line in str(payload).split("\n"):
            notice = parse_notice(line)
            if notice is not None:
                self._on_notice(notice)

    def _dropped(self, connection: object) -> None:
        self._probe_sent_at = None
        self._lost.set()

    async def _run(self) -> None:
        warned = False
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(
                    self._url,
                    timeout=CONNECT_TIMEOUT_SECONDS,
                    server_settings={"application_name": "tempmail-listen"},
                )
                connection.add_termination_listener(self._dropped)
                self._lost.clear()
                listening_since = time.monotonic()
                await connection.add_listener(CHANNEL, self._received)
                if warned:
                    log.info("following changes from other nodes again")
                # Whatever was sent before this connection listened is not replayed.
                self._on_notice(None)
                self._probe_sent_at = listening_since
                warned = False
                self.connected.set()
                while not self._lost.is_set():
                    # A dead peer that never closed the socket shows up on the next query.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._lost.wait(), self.PROBE_EVERY_SECONDS)
                    if not self._lost.is_set():
                        sent = time.monotonic()
                        await connection.execute("SELECT 1", timeout=self.PROBE_TIMEOUT_SECONDS)
                        self._probe_sent_at = sent
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                if not warned:
                    log.warning(
                        "change notices from other nodes stopped (%s)", type(error).__name__
                    )
                    warned = True
            finally:
                self._probe_sent_at = None
                self.connected.clear()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(self.RETRY_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
