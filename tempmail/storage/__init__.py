"""Persistence: the only package with SQL.

`base` holds the `Store` protocol and its row types; each backend is a module of its own
(`sqlite`: one embedded SQLite file; `postgres`: PostgreSQL shared by several nodes). Everything
the rest of the server needs is importable from here, and `open_store` picks the backend from
the `storage.url` setting, so callers do not name one.
"""

from __future__ import annotations

from pathlib import Path

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
from tempmail.storage.postgres import PostgresStore
from tempmail.storage.sqlite import SQLiteStore, backup


async def open_store(url: str, sqlite_path: Path) -> Store:
    """PostgreSQL when `url` is set, else the SQLite file at `sqlite_path`."""
    if url:
        return await PostgresStore.open(url)
    return await SQLiteStore.open(sqlite_path)


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
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "StoreStats",
    "backup",
    "open_store",
]
