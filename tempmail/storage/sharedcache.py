"""Inboxes one node of several keeps in memory, kept true by the other nodes' change notices.

On PostgreSQL any node may delete, expire or extend an inbox. A node keeps the inboxes its
recipients and tokens name (RCPT and every API request look one up) only while it hears every
change: its notice connection is up and answered a probe in the last `FRESH_SECONDS`. A notice
that an inbox was deleted, expired or extended drops it; a reconnect (notices may have been
missed) drops everything; a lookup that was under way while anything was dropped is not kept,
as it may predate the change. Each entry also ends after `TTL_SECONDS` whatever happens.

Message counts only speed up RCPT's "mailbox full": they follow this node's commits and other
nodes' notices, may lag by a message or two, and the store re-reads the row before refusing.
The commit itself checks the count under a row lock, exactly. Missing inboxes are never kept:
a new inbox is accepted by every node at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from tempmail.storage.base import Inbox
from tempmail.storage.notices import Notice

TTL_SECONDS = 30.0


class _Entry:
    __slots__ = ("count", "inbox", "kept_at")

    def __init__(self, inbox: Inbox, count: int, kept_at: float) -> None:
        self.inbox = inbox
        self.count = count
        self.kept_at = kept_at


class SharedInboxCache:
    """Inboxes by address (with message counts) and by token digest, for one node."""

    def __init__(
        self,
        capacity: int,
        live: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
        ttl_seconds: float = TTL_SECONDS,
    ) -> None:
        self._capacity = capacity
        self._live = live
        self._clock = clock
        self._ttl = ttl_seconds
        self._by_address: OrderedDict[str, _Entry] = OrderedDict()
        self._by_id: OrderedDict[str, _Entry] = OrderedDict()
        self._by_token: OrderedDict[bytes, _Entry] = OrderedDict()
        self.version = 0
        """Changes whenever anything is dropped: a lookup is kept only if it did not change."""
        self.hits = 0

    def _fresh(self, entry: _Entry | None) -> _Entry | None:
        if entry is None:
            return None
        if self._clock() - entry.kept_at >= self._ttl or not self._live():
            self._drop(entry.inbox.id)
            return None
        self.hits += 1
        return entry

    def mailbox(self, address: str) -> tuple[Inbox, int] | None:
        entry = self._fresh(self._by_address.get(address))
        if entry is None:
            return None
        self._by_address.move_to_end(address)
        return entry.inbox, entry.count

    def by_token(self, digests: Sequence[bytes]) -> Inbox | None:
        for digest in digests:
            entry = self._fresh(self._by_token.get(digest))
            if entry is not None:
                self._by_token.move_to_end(digest)
                return entry.inbox
        return None

    def keep(self, inbox: Inbox, count: int | None, version: int) -> None:
        """Keep a looked-up inbox (with its count when known), unless something changed since."""
        if version != self.version or not self._live():
            return
        entry = self._by_id.get(inbox.id)
        if entry is None or entry.inbox != inbox:
            self._drop(inbox.id)
            entry = _Entry(inbox, count or 0, self._clock())
            self._by_id[inbox.id] = entry
        if count is not None:
            entry.count = count
            self._by_address[inbox.address] = entry
        self._by_token[inbox.token_digest] = entry
        while len(self._by_id) > self._capacity:
            self._drop(next(iter(self._by_id)))

    def added(self, inbox_id: str, messages: int) -> None:
        """`messages` more were committed to this inbox (by this node or another one)."""
        entry = self._by_id.get(inbox_id)
        if entry is not None:
            entry.count += messages

    def forget(self, inbox_id: str) -> None:
        """This inbox changed: drop it, and do not keep lookups that were under way."""
        self.version += 1
        self._drop(inbox_id)

    def _drop(self, inbox_id: str) -> None:
        entry = self._by_id.pop(inbox_id, None)
        if entry is not None:
            self._by_address.pop(entry.inbox.address, None)
            self._by_token.pop(entry.inbox.token_digest, None)

    def clear(self) -> None:
        self.version += 1
        self._by_id.clear()
        self._by_address.clear()
        self._by_token.clear()

    def noticed(self, notice: Notice | None) -> None:
        """A change notice from any node (None: notices may have been missed)."""
        if notice is None:
            self.clear()
        elif notice.kind == "message":
            self.added(notice.inbox_id, 1)
        else:
            self.forget(notice.inbox_id)
