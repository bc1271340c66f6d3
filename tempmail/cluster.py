"""What other nodes did, told to the watchers on this node.

On PostgreSQL several nodes serve one set of inboxes. Each node's event hub knows only who
watches on that node, so the change notices of every node (`storage.notices`) are turned into
hub events here: a message stored elsewhere wakes this node's long polls and event streams,
which open its sealed summary row from the notice with their own inbox key (or read it from
the database when the notice has no room for it); an inbox
deleted or expired elsewhere ends them. After a reconnect, when notices may have been missed,
every watcher is told to look again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tempmail.clock import now_ms
from tempmail.events import Event, EventHub
from tempmail.storage.notices import Notice

log = logging.getLogger(__name__)


class Follower:
    """Feeds other nodes' notices into this node's event hub."""

    def __init__(
        self,
        hub: EventHub,
        node: str,
        arrival_delay: Callable[[float], None] = lambda seconds: None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._hub = hub
        self._node = node
        self._arrival_delay = arrival_delay
        """Told, for each message of another node's notice, the seconds since its receipt."""
        self._clock = clock
        self.notices = 0
        """Notices from other nodes handed on so far."""

    def __call__(self, notice: Notice | None) -> None:
        if notice is None:
            for inbox_id in self._hub.watched_inboxes():
                self._hub.publish(inbox_id, Event("arrived", {}))
            return
        if notice.node == self._node:
            return  # this node published its own change already
        self.notices += 1
        if notice.kind == "message":
            arrived: dict[str, object] = {"id": notice.message_id}
            if notice.row is not None:
                arrived["row"] = notice.row  # sealed as stored: the watcher opens it itself
            self._hub.publish(notice.inbox_id, Event("arrived", arrived))
            if notice.row is not None:
                # Clocks of two nodes: a little skew may make it negative; that counts as 0.
                delay = (self._clock() - notice.row.received_at) / 1000
                self._arrival_delay(max(0.0, delay))
        elif notice.kind == "deleted":
            self._hub.publish(notice.inbox_id, Event("deleted", {}))
        elif notice.kind == "expired":
            self._hub.publish(notice.inbox_id, Event("expired", {}))
