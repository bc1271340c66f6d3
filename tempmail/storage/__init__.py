"""Persistence: the only package with SQL.

`base` holds the `Store` protocol and its row types; each backend is a module of its own
(`sqlite`: one embedded SQLite file). Everything the rest of the server needs is importable from
here, so callers do not name a backend.
"""

from __future__ import annotations

from tempmail.storage.base import (
    EVERYTHING,
    AddressQuarantined,
    AddressTaken,
    Inbox,
    InboxUsage,
    MessageFilter,
    MessageRow,
    MessageSummaryRow,
    NewMessage,
    Store,
    StoreStats,
)
from tempmail.storage.sqlite import SQLiteStore, backup

__all__ = [
    "EVERYTHING",
    "AddressQuarantined",
    "AddressTaken",
    "Inbox",
    "InboxUsage",
    "MessageFilter",
    "MessageRow",
    "MessageSummaryRow",
    "NewMessage",
    "SQLiteStore",
    "Store",
    "StoreStats",
    "backup",
]
