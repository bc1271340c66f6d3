"""Delivery: parse once, seal once per inbox, store everything in one commit, then announce.

Shared by every way mail comes in. Parsing and sealing run off the event loop; the caller learns
the outcome only after the commit, so an SMTP `250` always means the message is on disk.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from collections.abc import Callable, Sequence

import msgspec

from tempmail import crypto, records
from tempmail.clock import iso_time, now_ms
from tempmail.events import Event, EventHub
from tempmail.metrics import Metrics
from tempmail.parsing import glance
from tempmail.storage import Inbox, NewMessage, Store

log = logging.getLogger(__name__)


# A message is glanced at and sealed on the event loop when it is this small and simple:
# the glance is linear in the message, and within these limits it costs a few milliseconds
# at worst (measured over tests/adversarial/hostile.py); anything else goes to a thread.
INLINE_PREPARE_BYTES = 32 * 1024
INLINE_PREPARE_BOUNDARIES = 64
INLINE_PREPARE_TAGS = 1000
INLINE_PREPARE_ENCODED_WORDS = 64


def _glance_inline(raw: bytes) -> bool:
    # Counted in C: each is far cheaper than the hop to a thread.
    return (
        len(raw) <= INLINE_PREPARE_BYTES
        and raw.count(b"\n--") <= INLINE_PREPARE_BOUNDARIES
        and raw.count(b"<") <= INLINE_PREPARE_TAGS
        and raw.count(b"=?") <= INLINE_PREPARE_ENCODED_WORDS
    )


class Outcome(enum.Enum):
    STORED = "stored"
    FULL = "full"
    GONE = "gone"


def summary_event(
    message_id: str, received_at: int, summary: records.Summary, seen: bool = False
) -> Event:
    return Event(
        "message",
        {
            "id": message_id,
            "from": summary.sender,
            "subject": summary.subject,
            "preview": summary.preview,
            "received_at": iso_time(received_at),
            "has_attachments": summary.has_attachments,
            "seen": seen,
        },
    )


Recipient = tuple[Inbox, list[str]]
"""An inbox and the envelope addresses (with any +tag) that led to it."""


class _Prepared(msgspec.Struct, frozen=True):
    messages: list[NewMessage]
    summary: records.Summary


def _prepare(
    raw: bytes, recipients: Sequence[Recipient], received_at: int, sealing: crypto.SealingKeys
) -> _Prepared:
    seen = glance(raw)
    summary = records.Summary(
        sender=seen.sender,
        subject=seen.subject,
        preview=seen.preview,
        has_attachments=seen.has_attachments,
    )
    summary_bytes = records.encode(summary)
    messages = []
    for inbox, addresses in recipients:
        message_id = str(uuid.uuid4())
        sealed_content = records.encode(records.Content(raw=raw, delivered_to=addresses))
        sealed = sealing.seal_parts(
            inbox.public_key,
            inbox.id,
            message_id,
            {records.SUMMARY_PART: summary_bytes, records.CONTENT_PART: sealed_content},
        )
        messages.append(
            NewMessage(
                id=message_id,
                inbox_id=inbox.id,
                received_at=received_at,
                size=len(raw),
                summary=sealed[records.SUMMARY_PART],
                content=sealed[records.CONTENT_PART],
            )
        )
    return _Prepared(messages, summary)


class Deliverer:
    """Turns raw bytes for a set of inboxes into stored, sealed messages."""

    def __init__(
        self,
        store: Store,
        hub: EventHub,
        max_messages: int,
        metrics: Metrics,
        sealing: crypto.SealingKeys,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._metrics = metrics
        self._sealing = sealing
        self._store = store
        self._hub = hub
        self._max_messages = max_messages
        self._clock = clock

    async def deliver(self, raw: bytes, recipients: Sequence[Recipient]) -> dict[str, Outcome]:
        """Store `raw` in each inbox; returns the outcome per inbox id. Raises StorageError."""
        started = time.perf_counter()
        received_at = self._clock()
        if _glance_inline(raw):
            # Small messages cost less to glance at and seal here than the hop to a thread.
            prepared = _prepare(raw, recipients, received_at, self._sealing)
        else:
            prepared = await asyncio.to_thread(
                _prepare, raw, recipients, received_at, self._sealing
            )
        stored = set(
            await self._store.deliver(prepared.messages, self._max_messages, self._clock())
        )
        duration = time.perf_counter() - started
        if stored:
            self._metrics.delivery_latency.observe(duration)
            self._metrics.message_size.observe(len(raw))
        outcomes: dict[str, Outcome] = {}
        for message in prepared.messages:
            if message.inbox_id in stored:
                outcomes[message.inbox_id] = Outcome.STORED
                log.info(
                    "inbox %s: message %s stored (%d bytes)",
                    message.inbox_id,
                    message.id,
                    message.size,
                    extra={
                        "inbox_id": message.inbox_id,
                        "message_id": message.id,
                        "size": message.size,
                        "duration": round(duration, 6),
                    },
                )
                self._hub.publish(
                    message.inbox_id, summary_event(message.id, received_at, prepared.summary)
                )
            else:
                count = await self._store.message_count(message.inbox_id)
                outcomes[message.inbox_id] = (
                    Outcome.FULL if count >= self._max_messages else Outcome.GONE
                )
        return outcomes
