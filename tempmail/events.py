"""The in-process event hub: who is watching which inbox, and telling them what happened.

Subscribers get a bounded queue; one that falls too far behind is dropped (its stream ends and
the client reconnects), so a stalled reader can never make the server hold unbounded events.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import msgspec

log = logging.getLogger(__name__)

# "arrived": a message stored through another node; its id only (or none, after a gap in
# the notices: look for anything new).
EventKind = Literal["message", "arrived", "expired", "deleted", "overflow", "closing"]
QUEUE_SIZE = 256


class Event(msgspec.Struct, frozen=True):
    kind: EventKind
    data: dict[str, Any]


async def next_event(queue: asyncio.Queue[Event], seconds: float) -> Event | None:
    """The queue's next event, or None when none came within `seconds`.

    Not `asyncio.wait_for(queue.get(), ...)`: on Python 3.11 that runs the get in a task of its
    own, and the waiter resumes three turns of the event loop after the event is put instead of
    one. On a node busy with mail each turn runs every ready callback (tens of ms under load),
    and this wait is on the path of every event a stream tells.
    """
    try:
        async with asyncio.timeout(seconds):
            return await queue.get()
    except TimeoutError:
        return None


class EventHub:
    """Fan-out of inbox events to the streams watching them."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[Event]]] = defaultdict(set)

    @contextmanager
    def subscribe(self, inbox_id: str) -> Iterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[inbox_id].add(queue)
        try:
            yield queue
        finally:
            watchers = self._subscribers.get(inbox_id)
            if watchers is not None:
                watchers.discard(queue)
                if not watchers:
                    del self._subscribers[inbox_id]

    def publish(self, inbox_id: str, event: Event) -> None:
        for queue in list(self._subscribers.get(inbox_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("inbox %s: dropping a subscriber that fell behind", inbox_id)
                queue.get_nowait()
                queue.put_nowait(Event("overflow", {}))

    def close(self) -> None:
        """Tell every watcher the server is stopping, so streams and long polls end now."""
        for watchers in list(self._subscribers.values()):
            for queue in list(watchers):
                while True:
                    try:
                        queue.put_nowait(Event("closing", {}))
                        break
                    except asyncio.QueueFull:
                        queue.get_nowait()

    def watched_inboxes(self) -> list[str]:
        return list(self._subscribers)

    def watcher_count(self) -> int:
        return sum(len(watchers) for watchers in self._subscribers.values())
