"""Inboxes kept in memory for the lookups every recipient and every API request make.

Only `SQLiteStore` uses this: it is the only writer, so it can keep the cache exact.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from tempmail.storage.base import Inbox


class _Entry:
    __slots__ = ("count", "inbox")

    def __init__(self, inbox: Inbox, count: int) -> None:
        self.inbox = inbox
        self.count = count


class InboxCache:
    """Inboxes by address with their message counts (RCPT asks for one per recipient), and by
    token digest (every API request authenticates).

    The store is the only writer, so it keeps this in step: its group commits set the counts,
    and any other write transaction empties it. A lookup that was under way while something
    was written is not kept, as it may predate the write.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._by_address: OrderedDict[str, _Entry] = OrderedDict()
        self._by_id: dict[str, _Entry] = {}
        self._by_token: OrderedDict[bytes, Inbox] = OrderedDict()
        self.version = 0
        """Changes with every write: for lookups of counts."""
        self.inbox_version = 0
        """Changes with every write to inboxes: for lookups by token."""

    def mailbox(self, address: str) -> tuple[Inbox, int] | None:
        entry = self._by_address.get(address)
        if entry is None:
            return None
        self._by_address.move_to_end(address)
        return entry.inbox, entry.count

    def keep_mailbox(self, inbox: Inbox, count: int, version: int) -> None:
        if version != self.version:
            return
        entry = _Entry(inbox, count)
        self._by_address[inbox.address] = entry
        self._by_id[inbox.id] = entry
        while len(self._by_address) > self._capacity:
            _, evicted = self._by_address.popitem(last=False)
            del self._by_id[evicted.inbox.id]

    def by_token(self, digests: Sequence[bytes]) -> Inbox | None:
        for digest in digests:
            inbox = self._by_token.get(digest)
            if inbox is not None:
                self._by_token.move_to_end(digest)
                return inbox
        return None

    def keep_token(self, inbox: Inbox, version: int) -> None:
        if version != self.inbox_version:
            return
        self._by_token[inbox.token_digest] = inbox
        while len(self._by_token) > self._capacity:
            self._by_token.popitem(last=False)

    def committed(self, counts: dict[str, int]) -> None:
        """A group commit is over: these inboxes now hold exactly these many messages."""
        self.version += 1
        for inbox_id, count in counts.items():
            entry = self._by_id.get(inbox_id)
            if entry is not None:
                entry.count = count

    def clear(self) -> None:
        self.version += 1
        self.inbox_version += 1
        self._by_address.clear()
        self._by_id.clear()
        self._by_token.clear()
