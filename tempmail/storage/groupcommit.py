"""Group commit: deliveries and read marks queued while a commit runs go into the next one.

Both backends write the same way: one task at a time commits everything queued since the
last commit in one transaction (one fsync, or one durable PostgreSQL COMMIT, for all of
them), and each delivering caller returns only after the transaction holding its messages
has committed. First-read results and seen marks ride along with the next commit and nobody
waits for them: they are derived data (the next read makes them again) and a seen flag, so a
reader is never held up behind deliveries. Until written, `noted` returns them, and a backend's
reads include them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple

from tempmail.storage.base import NewMessage

log = logging.getLogger(__name__)

# Deliveries per group commit at most (also bounds the inbox ids in one statement).
GROUP_LIMIT = 256


class Note(NamedTuple):
    """A message's sealed first-read result and/or that it was read, not yet written."""

    reading: bytes | None
    seen: bool


Notes = dict[tuple[str, str], Note]
"""Notes by (inbox id, message id)."""


class Delivery:
    """One caller's part of a group commit."""

    __slots__ = ("future", "max_messages", "messages", "now")

    def __init__(
        self,
        messages: Sequence[NewMessage],
        max_messages: int,
        now: int,
        future: asyncio.Future[list[str]],
    ) -> None:
        self.messages = messages
        self.max_messages = max_messages
        self.now = now
        self.future = future


CommitGroup = Callable[[list[Delivery], Notes], Awaitable[list[list[str]]]]
"""Writes a batch and notes in one transaction; returns, per delivery, the inboxes served."""


class GroupCommit:
    """The queue in front of a backend's `CommitGroup`, and the one task that drains it."""

    def __init__(self, commit: CommitGroup) -> None:
        self._commit = commit
        self._queued: list[Delivery] = []
        self._committer: asyncio.Task[None] | None = None
        self._notes: Notes = {}
        self._writing_notes: Notes = {}

    async def deliver(
        self, messages: Sequence[NewMessage], max_messages: int, now: int
    ) -> list[str]:
        """Queue a delivery; returns the inboxes that got their copy, once committed."""
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._queued.append(Delivery(messages, max_messages, now, future))
        self._start()
        # Awaited directly, not through asyncio.shield (one turn of the event loop fewer before
        # the 250; each turn of a busy node runs every ready callback). A caller cancelled
        # meanwhile cancels only its own future: the batch still commits its message, and the
        # committer skips futures that are done.
        return await future

    def note(self, inbox_id: str, message_id: str, reading: bytes | None, seen: bool) -> None:
        """Keep a first-read result and/or seen mark for the next commit."""
        key = (inbox_id, message_id)
        earlier = self._notes.get(key) or self._writing_notes.get(key)
        if earlier is not None:
            reading, seen = reading or earlier.reading, seen or earlier.seen
        self._notes[key] = Note(reading, seen)
        self._start()

    def noted(self, inbox_id: str, message_id: str) -> Note | None:
        """What is kept for a message and not yet written, if anything."""
        key = (inbox_id, message_id)
        return self._notes.get(key) or self._writing_notes.get(key)

    @property
    def has_notes(self) -> bool:
        return bool(self._notes or self._writing_notes)

    async def drain(self) -> None:
        """Wait for the commit under way (at close); its failures were given to its callers."""
        if self._committer is not None:
            with contextlib.suppress(Exception):
                await self._committer

    def _start(self) -> None:
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._drain_queue(), name="tempmail-commit")

    async def _drain_queue(self) -> None:
        while self._queued or self._notes:
            batch, self._queued = self._queued[:GROUP_LIMIT], self._queued[GROUP_LIMIT:]
            self._writing_notes, self._notes = self._notes, {}
            try:
                results = await self._commit(batch, self._writing_notes)
            except BaseException as error:
                if self._writing_notes:
                    log.warning(
                        "%d first-read results not stored; they will be made again",
                        len(self._writing_notes),
                    )
                for delivery in batch:
                    if not delivery.future.done():
                        delivery.future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
                continue
            finally:
                self._writing_notes = {}
            for delivery, delivered in zip(batch, results, strict=True):
                if not delivery.future.done():
                    delivery.future.set_result(delivered)
