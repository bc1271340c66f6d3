"""What every storage backend offers: the `Store` protocol and the rows it deals in.

The rest of the server (SMTP, API, expiry) talks to a `Store` and never learns which backend
is behind it. Times are milliseconds since the epoch, UTC; sealed columns are opaque bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import msgspec


class Inbox(msgspec.Struct, frozen=True):
    """An inbox row. Times are milliseconds since the epoch, UTC."""

    id: str
    address: str
    token_digest: bytes
    public_key: bytes
    wrapped_key: bytes
    key_id: str
    created_at: int
    expires_at: int


class MessageSummaryRow(msgspec.Struct, frozen=True):
    id: str
    received_at: int
    size: int
    summary: bytes
    seen: bool = False


class MessageRow(msgspec.Struct, frozen=True):
    id: str
    inbox_id: str
    received_at: int
    size: int
    summary: bytes
    content: bytes
    reading: bytes | None = None
    seen: bool = False


class NewMessage(msgspec.Struct, frozen=True):
    """A sealed message ready to be stored in one inbox."""

    id: str
    inbox_id: str
    received_at: int
    size: int
    summary: bytes
    content: bytes


class StoreStats(msgspec.Struct, frozen=True):
    live_inboxes: int
    inboxes: int
    messages: int
    message_bytes: int
    database_bytes: int


class InboxUsage(msgspec.Struct, frozen=True):
    """An inbox's metadata and footprint, for administrators: never content."""

    id: str
    address: str
    created_at: int
    expires_at: int
    message_count: int
    size: int


class AddressTaken(Exception):
    """The address already belongs to an inbox."""


class AddressQuarantined(Exception):
    """The address belonged to an inbox that ended recently; nobody may claim it yet."""


class MessageFilter(msgspec.Struct, frozen=True):
    """Which messages of an inbox to list: newer than a message or a time, unseen only, or one."""

    after_message: str | None = None
    after_time: int | None = None
    unseen_only: bool = False
    only_message: str | None = None
    """Just this message (its summary row), if the inbox holds it: a live stream told of one."""


EVERYTHING = MessageFilter()


class Store(Protocol):
    """The storage operations the server needs; every backend implements these."""

    name: str
    """What the operator calls this database (no secrets), for readiness and errors."""
    shared: bool
    """Several nodes may use this database at once (so key records bind them all)."""

    async def get_meta(self, key: str) -> bytes | None: ...

    async def set_meta(self, key: str, value: bytes) -> None: ...

    async def claim_meta(self, key: str, value: bytes) -> bytes:
        """Store `value` unless `key` already has one; return the value now stored."""
        ...

    async def count_inboxes(self) -> int: ...

    async def create_inbox(self, inbox: Inbox, now: int) -> None: ...

    async def extend_inbox(self, inbox_id: str, expires_at: int) -> None: ...

    async def delete_meta(self, key: str) -> None: ...

    async def inbox_by_token(self, token_digests: Sequence[bytes]) -> Inbox | None: ...

    async def key_ids_in_use(self) -> set[str]: ...

    async def mailbox(self, address: str) -> tuple[Inbox, int] | None: ...

    async def message_count(self, inbox_id: str) -> int: ...

    async def deliver(
        self, messages: Sequence[NewMessage], max_messages: int, now: int
    ) -> list[str]: ...

    async def list_messages(
        self, inbox_id: str, which: MessageFilter = EVERYTHING
    ) -> list[MessageSummaryRow]: ...

    async def has_message(self, inbox_id: str, message_id: str) -> bool: ...

    def note_reading(
        self, inbox_id: str, message_id: str, reading: bytes | None, seen: bool
    ) -> None: ...

    async def get_message(self, inbox_id: str, message_id: str) -> MessageRow | None: ...

    async def delete_message(self, inbox_id: str, message_id: str) -> bool: ...

    async def delete_inbox(self, inbox_id: str, quarantine_until: int) -> bool: ...

    def expiry_pass(self) -> AbstractAsyncContextManager[bool]:
        """Held around one whole expiry pass; yields whether this node should run it now
        (False while another node of a cluster runs its own)."""
        ...

    async def expire(self, now: int, batch_size: int, quarantine_ms: int) -> list[str]: ...

    async def checkpoint(self) -> None: ...

    async def stats(self, now: int) -> StoreStats: ...

    async def list_inboxes(self, limit: int, offset: int) -> tuple[int, list[InboxUsage]]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
