"""The embedded backend: `Store` over one SQLite file.

`SQLiteStore` implements the `Store` protocol (`base.py`) over one embedded SQLite file with aiosqlite connections: one writer that owns
every transaction (guarded by a lock so transactions never interleave) and `READERS` read-only
readers, which in WAL mode see only committed data and never wait behind the writer. Each
query goes to the reader with the fewest queries under way, so a list of a few hundred rows
does not hold up the next request's lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import msgspec

from tempmail.errors import CheckpointBusy, StorageError
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
    StoreStats,
)
from tempmail.storage.groupcommit import Delivery, GroupCommit, Notes
from tempmail.storage.inboxcache import InboxCache

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
INBOX_CACHE = 4_096
READERS = 2
# A message list as `list_messages` reads it: (seq, id, received_at, size, hex summary, seen).
_LIST_ROWS = msgspec.json.Decoder(list[tuple[int, str, int, int, str, int]])
_SQLITE_FULL = 13

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE inboxes (
        id TEXT PRIMARY KEY,
        address TEXT NOT NULL UNIQUE,
        token_digest BLOB NOT NULL UNIQUE,
        public_key BLOB NOT NULL,
        wrapped_key BLOB NOT NULL,
        key_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX inboxes_by_expiry ON inboxes (expires_at);
    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        inbox_id TEXT NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
        received_at INTEGER NOT NULL,
        size INTEGER NOT NULL,
        summary BLOB NOT NULL,
        content BLOB NOT NULL,
        reading BLOB,
        seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX messages_by_inbox ON messages (inbox_id, seq);
    CREATE TABLE quarantine (
        address TEXT PRIMARY KEY,
        until INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
}


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    """Turn SQLite's operational failures (full disk, locked, read-only) into StorageError."""
    try:
        yield
    except (sqlite3.OperationalError, sqlite3.DatabaseError) as error:
        if isinstance(error, sqlite3.IntegrityError):
            raise
        full = getattr(error, "sqlite_errorcode", None) == _SQLITE_FULL
        log.error("database operation failed: %s", error)
        raise StorageError(str(error), disk_full=full) from error


_INBOX_COLUMNS = (
    "id, address, token_digest, public_key, wrapped_key, key_id, created_at, expires_at"
)


async def _close_all(connections: list[aiosqlite.Connection]) -> None:
    for connection in connections:
        with contextlib.suppress(sqlite3.Error):
            await connection.close()


def _inbox(row: Iterable[object] | None) -> Inbox | None:
    if row is None:
        return None
    return Inbox(*row)  # type: ignore[arg-type]


class SQLiteStore:
    """`Store` over one SQLite file in WAL mode with `synchronous=FULL` and `secure_delete`."""

    name = "sqlite"
    shared = False

    def __init__(self, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]) -> None:
        self._writer = writer
        self._readers = readers
        self._reading = [0] * len(readers)
        """Queries under way on each reader."""
        self._write_lock = asyncio.Lock()
        self._group = GroupCommit(self._commit_group)
        self._inboxes = InboxCache(INBOX_CACHE)

    @classmethod
    async def open(cls, path: Path, busy_timeout_ms: int = 5000) -> SQLiteStore:
        """Open (creating and migrating as needed) the database at `path`."""
        try:
            # The WAL and shared-memory files inherit this mode from the database file.
            await asyncio.to_thread(path.touch, mode=0o600, exist_ok=True)
            writer = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise StorageError(f"cannot open database: {error}") from error
        readers: list[aiosqlite.Connection] = []
        try:
            for pragma in (
                f"PRAGMA busy_timeout={busy_timeout_ms}",
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=FULL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA secure_delete=ON",
            ):
                await writer.execute(pragma)
            await cls._migrate(writer)
            for _ in range(READERS):
                reader = await aiosqlite.connect(path, isolation_level=None)
                readers.append(reader)
                for pragma in (
                    f"PRAGMA busy_timeout={busy_timeout_ms}",
                    "PRAGMA foreign_keys=ON",
                    "PRAGMA query_only=ON",
                ):
                    await reader.execute(pragma)
        except sqlite3.Error as error:
            await _close_all([*readers, writer])
            raise StorageError(f"cannot prepare database: {error}") from error
        except BaseException:
            await _close_all([*readers, writer])
            raise
        return cls(writer, readers)

    @staticmethod
    async def _migrate(writer: aiosqlite.Connection) -> None:
        async with writer.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"database schema version {version} is newer than this tempmail ({SCHEMA_VERSION})"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            await writer.execute("BEGIN IMMEDIATE")
            try:
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        await writer.execute(statement)
                await writer.execute(f"PRAGMA user_version={target}")
                await writer.execute("COMMIT")
            except BaseException:
                await writer.execute("ROLLBACK")
                raise
            log.info("database migrated to schema version %d", target)

    @asynccontextmanager
    async def _transaction(
        self, *, changes_inboxes: bool = True
    ) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction. With `changes_inboxes` (an inbox row, or the count of its
        messages, may change) it empties the inbox cache once it is over; group commits keep
        the cache up to date themselves, and the rest write nothing the cache holds."""
        async with self._write_lock, _translated():
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    yield self._writer
                except BaseException:
                    if self._writer.in_transaction:
                        await self._writer.execute("ROLLBACK")
                    raise
                await self._writer.execute("COMMIT")
            finally:
                if changes_inboxes:
                    self._inboxes.clear()

    async def _fetchall(self, sql: str, parameters: Sequence[object]) -> list[sqlite3.Row]:
        """All rows in one trip to a reader's thread.

        aiosqlite's cursor API costs a trip each to execute, fetch and close, and under load
        each trip waits about two turns of the event loop.
        """
        index = min(range(len(self._readers)), key=self._reading.__getitem__)
        self._reading[index] += 1
        try:
            async with _translated():
                return list(await self._readers[index].execute_fetchall(sql, parameters))
        finally:
            self._reading[index] -= 1

    async def _fetchone(self, sql: str, parameters: Sequence[object]) -> sqlite3.Row | None:
        rows = await self._fetchall(sql, parameters)
        return rows[0] if rows else None

    async def get_meta(self, key: str) -> bytes | None:
        row = await self._fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else bytes(row[0])

    async def set_meta(self, key: str, value: bytes) -> None:
        async with self._transaction(changes_inboxes=False) as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def claim_meta(self, key: str, value: bytes) -> bytes:
        async with self._transaction(changes_inboxes=False) as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, value),
            )
            rows = await db.execute_fetchall("SELECT value FROM meta WHERE key = ?", (key,))
        return bytes(next(iter(rows))[0])

    async def delete_meta(self, key: str) -> None:
        async with self._transaction(changes_inboxes=False) as db:
            await db.execute("DELETE FROM meta WHERE key = ?", (key,))

    async def count_inboxes(self) -> int:
        row = await self._fetchone("SELECT count(*) FROM inboxes", ())
        return int(row[0]) if row else 0

    async def create_inbox(self, inbox: Inbox, now: int) -> None:
        """Insert the inbox unless its address is taken or still quarantined."""
        # No cached entry can be stale: lookups that found no inbox were not kept.
        version = self._inboxes.inbox_version
        try:
            async with self._transaction(changes_inboxes=False) as db:
                if await db.execute_fetchall(
                    "SELECT 1 FROM quarantine WHERE address = ? AND until > ?",
                    (inbox.address, now),
                ):
                    raise AddressQuarantined(inbox.address)
                await db.execute(
                    f"INSERT INTO inboxes ({_INBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    msgspec.structs.astuple(inbox),
                )
        except sqlite3.IntegrityError:
            raise AddressTaken(inbox.address) from None
        # Its token is used next, by the creator's first look at the inbox.
        self._inboxes.keep_token(inbox, version)

    async def extend_inbox(self, inbox_id: str, expires_at: int) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE inboxes SET expires_at = ? WHERE id = ?", (expires_at, inbox_id)
            )

    async def inbox_by_token(self, token_digests: Sequence[bytes]) -> Inbox | None:
        cached = self._inboxes.by_token(token_digests)
        if cached is not None:
            return cached
        version = self._inboxes.inbox_version
        marks = ", ".join("?" for _ in token_digests)
        row = await self._fetchone(
            f"SELECT {_INBOX_COLUMNS} FROM inboxes WHERE token_digest IN ({marks})",
            tuple(token_digests),
        )
        inbox = _inbox(row)
        if inbox is not None:
            self._inboxes.keep_token(inbox, version)
        return inbox

    async def key_ids_in_use(self) -> set[str]:
        return {
            str(row[0]) for row in await self._fetchall("SELECT DISTINCT key_id FROM inboxes", ())
        }

    async def mailbox(self, address: str) -> tuple[Inbox, int] | None:
        """The inbox at `address` and how many messages it holds (kept for the next RCPT)."""
        cached = self._inboxes.mailbox(address)
        if cached is not None:
            return cached
        version = self._inboxes.version
        row = await self._fetchone(
            f"SELECT {_INBOX_COLUMNS}, (SELECT count(*) FROM messages WHERE inbox_id = inboxes.id)"
            " FROM inboxes WHERE address = ?",
            (address,),
        )
        if row is None:
            return None
        inbox, count = Inbox(*row[:-1]), int(row[-1])
        self._inboxes.keep_mailbox(inbox, count, version)
        return inbox, count

    async def message_count(self, inbox_id: str) -> int:
        row = await self._fetchone("SELECT count(*) FROM messages WHERE inbox_id = ?", (inbox_id,))
        return int(row[0]) if row else 0

    async def deliver(
        self, messages: Sequence[NewMessage], max_messages: int, now: int
    ) -> list[str]:
        """Store each message whose inbox is still live and not full, durably, then return.

        Returns the ids of the inboxes that received their copy. Deliveries that arrive while
        a commit is running are committed together by the next one (group commit): one fsync
        for all of them, and each caller still returns only after its own data is on disk.
        """
        return await self._group.deliver(messages, max_messages, now)

    def note_reading(
        self, inbox_id: str, message_id: str, reading: bytes | None, seen: bool
    ) -> None:
        """Keep a message's sealed first-read result and/or that it was read.

        Written with the next group commit, and nobody waits for it: it is derived data (the
        next read would make it again) and a seen mark, so a reader is not held up behind the
        deliveries' fsync. Until it is written, `get_message` and `list_messages` include it.
        """
        self._group.note(inbox_id, message_id, reading, seen)

    async def _commit_group(self, batch: list[Delivery], notes: Notes) -> list[list[str]]:
        """Store the batch in one transaction; returns who got what, and caches the counts."""
        inbox_ids = sorted(
            {message.inbox_id for delivery in batch for message in delivery.messages}
        )
        marks = ", ".join("?" for _ in inbox_ids)
        async with self._transaction(changes_inboxes=False) as db:
            if notes:
                await db.executemany(
                    "UPDATE messages SET reading = coalesce(?, reading), seen = max(seen, ?)"
                    " WHERE id = ? AND inbox_id = ?",
                    [
                        (note.reading, int(note.seen), message_id, inbox_id)
                        for (inbox_id, message_id), note in notes.items()
                    ],
                )
            if not batch:
                return []
            state = {
                row[0]: [int(row[1]), int(row[2])]
                for row in await db.execute_fetchall(
                    "SELECT id, expires_at,"
                    " (SELECT count(*) FROM messages WHERE inbox_id = inboxes.id)"
                    f" FROM inboxes WHERE id IN ({marks})",
                    inbox_ids,
                )
            }
            rows: list[tuple[object, ...]] = []
            results: list[list[str]] = []
            for delivery in batch:
                delivered = []
                for message in delivery.messages:
                    inbox = state.get(message.inbox_id)
                    if (
                        inbox is None
                        or inbox[0] <= delivery.now
                        or inbox[1] >= delivery.max_messages
                    ):
                        continue
                    inbox[1] += 1
                    rows.append(
                        (
                            message.id,
                            message.inbox_id,
                            message.received_at,
                            message.size,
                            message.summary,
                            message.content,
                        )
                    )
                    delivered.append(message.inbox_id)
                results.append(delivered)
            if rows:
                await db.executemany(
                    "INSERT INTO messages (id, inbox_id, received_at, size, summary, content)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
        self._inboxes.committed({inbox_id: count for inbox_id, (_, count) in state.items()})
        return results

    async def list_messages(
        self, inbox_id: str, which: MessageFilter = EVERYTHING
    ) -> list[MessageSummaryRow]:
        """Messages newest first. An unknown `after_message` lists everything."""
        conditions = ["inbox_id = ?"]
        parameters: list[object] = [inbox_id]
        if which.after_message is not None:
            conditions.append(
                "seq > coalesce((SELECT seq FROM messages WHERE id = ? AND inbox_id = ?), 0)"
            )
            parameters += [which.after_message, inbox_id]
        if which.after_time is not None:
            conditions.append("received_at > ?")
            parameters.append(which.after_time)
        if which.unseen_only:
            conditions.append("seen = 0")
        if which.only_message is not None:
            conditions.append("id = ?")
            parameters.append(which.only_message)
        # One row holding the whole list: the reader's thread lets go of the GIL around every
        # row it steps through, and while the event loop and worker threads are busy, taking
        # it back can wait out a switch interval (5 ms) each time.
        found = await self._fetchone(
            "SELECT json_group_array(json_array(seq, id, received_at, size, hex(summary), seen))"
            f" FROM messages WHERE {' AND '.join(conditions)}",
            parameters,
        )
        rows = _LIST_ROWS.decode(found[0]) if found is not None else []
        rows.sort(reverse=True)
        summaries = []
        noted = self._group.has_notes
        for _, message_id, received_at, size, summary, seen_flag in rows:
            seen = bool(seen_flag)
            if not seen and noted:
                note = self._group.noted(inbox_id, message_id)
                seen = note is not None and note.seen
                if seen and which.unseen_only:
                    continue
            summaries.append(
                MessageSummaryRow(message_id, received_at, size, bytes.fromhex(summary), seen)
            )
        return summaries

    async def has_message(self, inbox_id: str, message_id: str) -> bool:
        row = await self._fetchone(
            "SELECT 1 FROM messages WHERE id = ? AND inbox_id = ?", (message_id, inbox_id)
        )
        return row is not None

    async def get_message(self, inbox_id: str, message_id: str) -> MessageRow | None:
        row = await self._fetchone(
            "SELECT id, inbox_id, received_at, size, summary, content, reading, seen"
            " FROM messages WHERE id = ? AND inbox_id = ?",
            (message_id, inbox_id),
        )
        if row is None:
            return None
        reading = None if row[6] is None else bytes(row[6])
        seen = bool(row[7])
        note = self._group.noted(inbox_id, message_id)
        if note is not None:
            reading, seen = reading or note.reading, seen or note.seen
        return MessageRow(
            row[0], row[1], row[2], row[3], bytes(row[4]), bytes(row[5]), reading, seen
        )

    async def delete_message(self, inbox_id: str, message_id: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM messages WHERE id = ? AND inbox_id = ?", (message_id, inbox_id)
            )
            return cursor.rowcount > 0

    async def delete_inbox(self, inbox_id: str, quarantine_until: int) -> bool:
        """Delete the inbox (messages cascade) and hold its address until `quarantine_until`."""
        async with self._transaction() as db:
            deleted = list(
                await db.execute_fetchall(
                    "DELETE FROM inboxes WHERE id = ? RETURNING address", (inbox_id,)
                )
            )
            if not deleted:
                return False
            await self._quarantine(db, [(str(deleted[0][0]), quarantine_until)])
            return True

    @staticmethod
    async def _quarantine(db: aiosqlite.Connection, entries: list[tuple[str, int]]) -> None:
        await db.executemany(
            "INSERT INTO quarantine (address, until) VALUES (?, ?)"
            " ON CONFLICT (address) DO UPDATE SET until = max(until, excluded.until)",
            entries,
        )

    @asynccontextmanager
    async def expiry_pass(self) -> AsyncIterator[bool]:
        """One process owns the file: its expiry pass always runs."""
        yield True

    async def expire(self, now: int, batch_size: int, quarantine_ms: int) -> list[str]:
        """Delete up to `batch_size` inboxes past their expiry (messages cascade); return ids.

        Their addresses are held for `quarantine_ms` after they expired, and quarantine
        entries that have run out are dropped.
        """
        async with self._transaction(changes_inboxes=False) as db:
            rows = list(
                await db.execute_fetchall(
                    "DELETE FROM inboxes WHERE id IN"
                    " (SELECT id FROM inboxes WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)"
                    " RETURNING id, address, expires_at",
                    (now, batch_size),
                )
            )
            await self._quarantine(db, [(str(row[1]), int(row[2]) + quarantine_ms) for row in rows])
            await db.execute("DELETE FROM quarantine WHERE until <= ?", (now,))
        if rows:
            # Most passes delete nothing; only those that do drop what the cache holds.
            self._inboxes.clear()
        return [str(row[0]) for row in rows]

    async def checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it, so deleted pages leave no copies.

        Raises CheckpointBusy when a reader kept it from finishing (the WAL keeps old pages).
        """
        async with self._write_lock, _translated():
            rows = list(await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
        if rows and rows[0][0]:
            raise CheckpointBusy(f"WAL checkpoint blocked: {rows[0][2]} of {rows[0][1]} frames")

    async def stats(self, now: int) -> StoreStats:
        row = await self._fetchone(
            "SELECT (SELECT count(*) FROM inboxes WHERE expires_at > ?),"
            " (SELECT count(*) FROM inboxes),"
            " (SELECT count(*) FROM messages),"
            " (SELECT coalesce(sum(size), 0) FROM messages),"
            " (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size())",
            (now,),
        )
        assert row is not None
        return StoreStats(*(int(value) for value in row))

    async def list_inboxes(self, limit: int, offset: int) -> tuple[int, list[InboxUsage]]:
        total = await self._fetchone("SELECT count(*) FROM inboxes", ())
        rows = await self._fetchall(
            "SELECT i.id, i.address, i.created_at, i.expires_at,"
            " count(m.seq), coalesce(sum(m.size), 0)"
            " FROM inboxes AS i LEFT JOIN messages AS m ON m.inbox_id = i.id"
            " GROUP BY i.id ORDER BY i.created_at, i.id LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return int(total[0]) if total else 0, [InboxUsage(*row) for row in rows]

    async def ping(self) -> None:
        await self._fetchone("SELECT 1", ())

    async def close(self) -> None:
        await self._group.drain()
        for reader in self._readers:
            await reader.close()
        async with self._write_lock:
            try:
                await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as error:
                log.warning("final checkpoint failed: %s", error)
            await self._writer.close()


def backup(source: Path, destination: Path) -> int:
    """Copy a live database consistently with SQLite's online backup API; returns its size.

    The copy is written beside `destination` and renamed into place once complete and checked,
    so a failed backup never leaves a half-written file under the requested name.
    """
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(descriptor)
    try:
        origin = sqlite3.connect(source)
        try:
            copy = sqlite3.connect(partial)
            try:
                origin.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
                status = copy.execute("PRAGMA integrity_check").fetchone()[0]
                if status != "ok":
                    raise StorageError(f"backup failed its integrity check: {status}")
            finally:
                copy.close()
        finally:
            origin.close()
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return destination.stat().st_size
