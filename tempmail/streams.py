"""How many event streams and long polls may be open at once, per client and per inbox.

Each one holds a connection and a subscription for up to a minute (a long poll) or the inbox's
whole life (a stream), so without a cap one client could open thousands on one inbox. A request
over either cap is refused with 429 before anything is held.
"""

from __future__ import annotations

from collections import Counter

from tempmail.errors import TooManyStreams


class StreamLease:
    """One held slot; `release` gives it back (once, however often it is called)."""

    def __init__(self, slots: StreamSlots, client: str, inbox_id: str) -> None:
        self._slots = slots
        self._key: tuple[str, str] | None = (client, inbox_id)

    def release(self) -> None:
        if self._key is not None:
            self._slots.give_back(*self._key)
            self._key = None


class StreamSlots:
    """Counts of open streams and long polls by client key and by inbox."""

    def __init__(self, per_client: int, per_inbox: int) -> None:
        self.per_client = per_client
        self.per_inbox = per_inbox
        self.by_client: Counter[str] = Counter()
        self.by_inbox: Counter[str] = Counter()

    def take(self, client: str, inbox_id: str) -> StreamLease:
        """A slot for `client` on `inbox_id`, or TooManyStreams (429)."""
        if self.by_inbox[inbox_id] >= self.per_inbox:
            raise TooManyStreams(
                f"This inbox already has {self.per_inbox} event streams or long polls open; "
                "close one first."
            )
        if self.by_client[client] >= self.per_client:
            raise TooManyStreams(
                f"Your address already has {self.per_client} event streams or long polls "
                "open; close one first."
            )
        self.by_inbox[inbox_id] += 1
        self.by_client[client] += 1
        return StreamLease(self, client, inbox_id)

    def give_back(self, client: str, inbox_id: str) -> None:
        for counts, key in ((self.by_client, client), (self.by_inbox, inbox_id)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]

    def open_count(self) -> int:
        return sum(self.by_inbox.values())
