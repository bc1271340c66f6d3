"""The shared backend: `Store` over PostgreSQL with asyncpg, for several nodes at once.

Every node keeps a small pool of connections; a lost connection is replaced by the pool on the
next use, so a node serves again by itself once PostgreSQL is back. Every failure to reach or
use the database is a `StorageError` (SMTP `451 4.3.0`, API 503). Deliveries are group-committed
as on SQLite: those queued while a commit runs go into the next transaction together, and each
caller returns only after that COMMIT (`synchronous_commit=on`: the WAL is flushed).

A group commit is one statement (its own transaction): it locks the inboxes, checks each one is
live and not full, inserts the messages, counts them and sends their notices, in one round trip.
Inboxes looked up by RCPT and by token are kept in memory only while this node hears every other
node's changes (`sharedcache`); otherwise every lookup reads the row. Schema changes run at start
under an advisory lock, so nodes starting together migrate once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeAlias
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tempmail.errors import StorageError
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
from tempmail.storage.notices import (
    CHANNEL,
    Listening,
    Notice,
    message_payload,
    notice_groups,
    payload,
)
from tempmail.storage.sharedcache import SharedInboxCache

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
POOL_SIZE = 8
INBOX_CACHE = 4096
# Inboxes are kept in memory only while the notice connection answered a probe this recently.
HEARD_WITHIN_SECONDS = 3.0
CONNECT_TIMEOUT_SECONDS = 5
COMMAND_TIMEOUT_SECONDS = 30
# Advisory lock keys (any two fixed 64-bit numbers no other program of the database uses).
MIGRATION_LOCK = 0x74656D706D61696C
EXPIRY_LOCK = 0x74656D706D61696D
# Held by the node whose expiry pass is running, for the whole pass (a session lock on one
# pooled connection): passes of several nodes never overlap, not only their batches.
EXPIRY_PASS_LOCK = 0x74656D706D61696E

_DB: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"

_MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE meta (
            key text PRIMARY KEY,
            value bytea NOT NULL
        )""",
        """CREATE TABLE inboxes (
            id text PRIMARY KEY,
            address text NOT NULL UNIQUE,
            token_digest bytea NOT NULL UNIQUE,
            public_key bytea NOT NULL,
            wrapped_key bytea NOT NULL,
            key_id text NOT NULL,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL
        )""",
        "CREATE INDEX inboxes_by_expiry ON inboxes (expires_at)",
        """CREATE TABLE messages (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            inbox_id text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
            received_at bigint NOT NULL,
            size integer NOT NULL,
            summary bytea NOT NULL,
            content bytea NOT NULL,
            reading bytea,
            seen boolean NOT NULL DEFAULT false
        )""",
        # Sealed bytes do not compress: store them out of line without trying.
        "ALTER TABLE messages ALTER COLUMN content SET STORAGE EXTERNAL",
        "ALTER TABLE messages ALTER COLUMN reading SET STORAGE EXTERNAL",
        "CREATE INDEX messages_by_inbox ON messages (inbox_id, seq)",
        """CREATE TABLE quarantine (
            address text PRIMARY KEY,
            until bigint NOT NULL
        )""",
    ],
    # Each inbox's message count kept on its row: counting an inbox's index entries costs a
    # visit to every recent row (visibility), and RCPT and every delivery need the count.
    2: [
        "ALTER TABLE inboxes ADD COLUMN message_count integer NOT NULL DEFAULT 0",
        "UPDATE inboxes SET message_count ="
        " (SELECT count(*) FROM messages WHERE inbox_id = inboxes.id)",
    ],
}

# One group commit, one statement and so one transaction (and one round trip). The inboxes are
# locked in id order (nodes never deadlock); a row that another node's commit held is read as
# that commit left it (READ COMMITTED re-reads a row it waited for), so counts are exact.
# Message n of an inbox in the batch is stored if the inbox is live at its delivery's time and
# holds fewer than its delivery's limit with the n - 1 before it. The stored messages' notices
# go out at COMMIT, several lines to one notice (grouped by `notices.notice_groups`, under the
# 8000-byte payload limit): a few notices to every listening node per commit, not one per message.
# The statement answers the stored ids, then a NULL per notice sent (a SELECT the answer does not
# read would not run).
_GROUP_COMMIT = """
WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[], $5::bytea[],
                         $6::bytea[], $7::bigint[], $8::integer[], $9::text[], $11::integer[])
        WITH ORDINALITY AS b (id, inbox_id, received_at, size, summary, content, at_ms,
                              max_messages, notice, notice_group, ord)
),
locked AS MATERIALIZED (
    SELECT id, expires_at, message_count FROM inboxes
    WHERE id IN (SELECT inbox_id FROM batch) ORDER BY id FOR UPDATE
),
accepted AS (
    SELECT b.*, l.expires_at,
        l.message_count + row_number() OVER (PARTITION BY b.inbox_id ORDER BY b.ord) AS nth
    FROM batch AS b JOIN locked AS l ON l.id = b.inbox_id
),
stored AS (
    INSERT INTO messages (id, inbox_id, received_at, size, summary, content)
    SELECT id, inbox_id, received_at, size, summary, content FROM accepted
    WHERE expires_at > at_ms AND nth <= max_messages ORDER BY ord
    RETURNING id, inbox_id
),
counted AS (
    UPDATE inboxes SET message_count = inboxes.message_count + added.n
    FROM (SELECT inbox_id, count(*) AS n FROM stored GROUP BY inbox_id) AS added
    WHERE inboxes.id = added.inbox_id
),
notified AS (
    SELECT pg_notify($10, string_agg(b.notice, E'\\n' ORDER BY b.ord))
    FROM stored AS s JOIN batch AS b ON b.id = s.id
    GROUP BY b.notice_group
)
SELECT id FROM stored
UNION ALL SELECT NULL FROM notified
"""

_INBOX_COLUMNS = (
    "id, address, token_digest, public_key, wrapped_key, key_id, created_at, expires_at"
)
# Failures that mean "the database is not reachable or not usable right now".
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)


def public_url(url: str) -> str:
    """`url` without its password (and without query parameters, which may hold one)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "postgresql://<unparseable>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _describe(error: BaseException) -> str:
    """A one-line reason for a connection failure, without secrets or exception internals."""
    if isinstance(
        error, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return "authentication failed (check the user and password)"
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return "the database does not exist"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_SECONDS} s"
    if isinstance(error, OSError):
        return error.strerror or "cannot connect"
    if isinstance(error, asyncpg.PostgresError):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return type(error).__name__


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    """Turn connection-level failures into StorageError (retry later)."""
    try:
        yield
    except _UNAVAILABLE as error:
        log.error("database operation failed: %s", _describe(error))
        disk_full = isinstance(error, asyncpg.exceptions.DiskFullError)
        raise StorageError(_describe(error), disk_full=disk_full) from error


async def _keep_session(connection: asyncpg.Connection) -> None:
    """What a pooled connection needs between uses: nothing, so no extra round trip.

    asyncpg rolls back a transaction left open before calling this; its default reset would then
    also send `RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()` on every release. This
    store never changes a session: no SET, LISTEN only on its own connection (`notices`),
    advisory locks per transaction, cursors only inside transactions.
    """


def _inbox(row: asyncpg.Record | None) -> Inbox | None:
    if row is None:
        return None
    return Inbox(*row.values())


class PostgresStore:
    """`Store` over PostgreSQL; one per node, any number of nodes on one database."""

    name = "postgresql"
    shared = True

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self._url = url
        self.where = public_url(url)
        """For logs and start-up errors (no password)."""
        self.node = secrets.token_hex(6)
        """This node's id in change notices, to skip its own."""
        self._group = GroupCommit(self._commit_group)
        self._listening: Listening | None = None
        self._cache = SharedInboxCache(INBOX_CACHE, self._hearing)

    def _hearing(self) -> bool:
        listening = self._listening
        return listening is not None and listening.heard_within(HEARD_WITHIN_SECONDS)

    @property
    def cache_hits(self) -> int:
        """Inbox lookups answered from memory so far."""
        return self._cache.hits

    @classmethod
    async def open(cls, url: str, pool_size: int = POOL_SIZE) -> PostgresStore:
        """Connect and migrate; StorageError with a reason (no password) when that fails."""
        where = public_url(url)
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=pool_size,
                timeout=CONNECT_TIMEOUT_SECONDS,
                command_timeout=COMMAND_TIMEOUT_SECONDS,
                server_settings={"application_name": "tempmail", "synchronous_commit": "on"},
                reset=_keep_session,
            )
        except (ValueError, *_UNAVAILABLE, asyncpg.PostgresError) as error:
            raise StorageError(f"cannot connect to {where}: {_describe(error)}") from None
        try:
            await _migrate(pool)
        except (*_UNAVAILABLE, asyncpg.PostgresError) as error:
            await pool.close()
            raise StorageError(f"cannot prepare {where}: {_describe(error)}") from None
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_DB]:
        async with _translated(), self._pool.acquire() as connection, connection.transaction():
            yield connection

    def transaction(self) -> AbstractAsyncContextManager[_DB]:
        """One transaction on a pooled connection (for `migrate`, which copies rows in bulk)."""
        return self._transaction()

    async def _fetch(self, sql: str, *arguments: object) -> list[asyncpg.Record]:
        async with _translated():
            return await self._pool.fetch(sql, *arguments)

    async def _fetchrow(self, sql: str, *arguments: object) -> asyncpg.Record | None:
        async with _translated():
            return await self._pool.fetchrow(sql, *arguments)

    async def get_meta(self, key: str) -> bytes | None:
        row = await self._fetchrow("SELECT value FROM meta WHERE key = $1", key)
        return None if row is None else bytes(row[0])

    async def set_meta(self, key: str, value: bytes) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                key,
                value,
            )

    async def claim_meta(self, key: str, value: bytes) -> bytes:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                key,
                value,
            )
            stored = await db.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return bytes(stored)

    async def delete_meta(self, key: str) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM meta WHERE key = $1", key)

    async def count_inboxes(self) -> int:
        row = await self._fetchrow("SELECT count(*) FROM inboxes")
        return int(row[0]) if row else 0

    async def create_inbox(self, inbox: Inbox, now: int) -> None:
        try:
            async with self._transaction() as db:
                # Two nodes creating the same address at once: the unique index decides.
                if await db.fetchval(
                    "SELECT 1 FROM quarantine WHERE address = $1 AND until > $2",
                    inbox.address,
                    now,
                ):
                    raise AddressQuarantined(inbox.address)
                await db.execute(
                    f"INSERT INTO inboxes ({_INBOX_COLUMNS})"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    inbox.id,
                    inbox.address,
                    inbox.token_digest,
                    inbox.public_key,
                    inbox.wrapped_key,
                    inbox.key_id,
                    inbox.created_at,
                    inbox.expires_at,
                )
        except asyncpg.UniqueViolationError:
            raise AddressTaken(inbox.address) from None
        # Its creator uses the token next; a delete on any node drops it again.
        self._cache.keep(inbox, None, self._cache.version)

    async def extend_inbox(self, inbox_id: str, expires_at: int) -> None:
        self._cache.forget(inbox_id)
        try:
            async with self._transaction() as db:
                await db.execute(
                    "UPDATE inboxes SET expires_at = $1 WHERE id = $2", expires_at, inbox_id
                )
                await _notify(db, "extended", inbox_id, "", self.node)
        finally:
            self._cache.forget(inbox_id)

    async def inbox_by_token(self, token_digests: Sequence[bytes]) -> Inbox | None:
        cached = self._cache.by_token(token_digests)
        if cached is not None:
            return cached
        version = self._cache.version
        inbox = _inbox(
            await self._fetchrow(
                f"SELECT {_INBOX_COLUMNS} FROM inboxes WHERE token_digest = ANY($1::bytea[])"
                " LIMIT 1",
                list(token_digests),
            )
        )
        if inbox is not None:
            self._cache.keep(inbox, None, version)
        return inbox

    async def key_ids_in_use(self) -> set[str]:
        return {str(row[0]) for row in await self._fetch("SELECT DISTINCT key_id FROM inboxes")}

    async def mailbox(self, address: str) -> tuple[Inbox, int] | None:
        """The inbox at `address` and about how many messages it holds (see `sharedcache`)."""
        cached = self._cache.mailbox(address)
        if cached is not None:
            return cached
        version = self._cache.version
        row = await self._fetchrow(
            f"SELECT {_INBOX_COLUMNS}, message_count FROM inboxes WHERE address = $1",
            address,
        )
        if row is None:
            return None
        values = list(row.values())
        inbox, count = Inbox(*values[:-1]), int(values[-1])
        self._cache.keep(inbox, count, version)
        return inbox, count

    async def message_count(self, inbox_id: str) -> int:
        row = await self._fetchrow("SELECT message_count FROM inboxes WHERE id = $1", inbox_id)
        return int(row[0]) if row else 0

    async def deliver(
        self, messages: Sequence[NewMessage], max_messages: int, now: int
    ) -> list[str]:
        """Store each message whose inbox is live and not full; return once committed.

        Returns the ids of the inboxes that received their copy. Deliveries queued while a
        commit runs are committed together by the next one.
        """
        return await self._group.deliver(messages, max_messages, now)

    def note_reading(
        self, inbox_id: str, message_id: str, reading: bytes | None, seen: bool
    ) -> None:
        """Keep a first-read result and/or seen mark; written with the next group commit."""
        self._group.note(inbox_id, message_id, reading, seen)

    async def _commit_group(self, batch: list[Delivery], notes: Notes) -> list[list[str]]:
        rows = [(message, delivery) for delivery in batch for message in delivery.messages]
        async with _translated(), self._pool.acquire() as db:
            if notes:
                await db.execute(
                    "UPDATE messages AS m SET reading = coalesce(n.reading, m.reading),"
                    " seen = m.seen OR n.seen"
                    " FROM unnest($1::text[], $2::text[], $3::bytea[], $4::boolean[])"
                    " AS n (inbox_id, id, reading, seen)"
                    " WHERE m.id = n.id AND m.inbox_id = n.inbox_id",
                    [inbox_id for inbox_id, _ in notes],
                    [message_id for _, message_id in notes],
                    [note.reading for note in notes.values()],
                    [note.seen for note in notes.values()],
                )
            if not rows:
                return [[] for _ in batch]
            lines = [message_payload(message, self.node) for message, _ in rows]
            stored = {
                str(row[0])
                for row in await db.fetch(
                    _GROUP_COMMIT,
                    [message.id for message, _ in rows],
                    [message.inbox_id for message, _ in rows],
                    [message.received_at for message, _ in rows],
                    [message.size for message, _ in rows],
                    [message.summary for message, _ in rows],
                    [message.content for message, _ in rows],
                    [delivery.now for _, delivery in rows],
                    [delivery.max_messages for _, delivery in rows],
                    lines,
                    CHANNEL,
                    notice_groups(lines),
                )
                if row[0] is not None
            }
        added: dict[str, int] = {}
        results: list[list[str]] = []
        for delivery in batch:
            delivered = [message.inbox_id for message in delivery.messages if message.id in stored]
            for inbox_id in delivered:
                added[inbox_id] = added.get(inbox_id, 0) + 1
            results.append(delivered)
        for inbox_id, count in added.items():
            self._cache.added(inbox_id, count)
        return results

    async def list_messages(
        self, inbox_id: str, which: MessageFilter = EVERYTHING
    ) -> list[MessageSummaryRow]:
        """Messages newest first. An unknown `after_message` lists everything."""
        conditions = ["inbox_id = $1"]
        arguments: list[object] = [inbox_id]
        if which.after_message is not None:
            arguments.append(which.after_message)
            conditions.append(
                "seq > coalesce((SELECT seq FROM messages"
                f" WHERE id = ${len(arguments)} AND inbox_id = $1), 0)"
            )
        if which.after_time is not None:
            arguments.append(which.after_time)
            conditions.append(f"received_at > ${len(arguments)}")
        if which.unseen_only:
            conditions.append("NOT seen")
        if which.only_message is not None:
            arguments.append(which.only_message)
            conditions.append(f"id = ${len(arguments)}")
        rows = await self._fetch(
            "SELECT id, received_at, size, summary, seen FROM messages"
            f" WHERE {' AND '.join(conditions)} ORDER BY seq DESC",
            *arguments,
        )
        noted = self._group.has_notes
        summaries = []
        for message_id, received_at, size, summary, seen in rows:
            if not seen and noted:
                note = self._group.noted(inbox_id, message_id)
                seen = note is not None and note.seen
                if seen and which.unseen_only:
                    continue
            summaries.append(MessageSummaryRow(message_id, received_at, size, bytes(summary), seen))
        return summaries

    async def has_message(self, inbox_id: str, message_id: str) -> bool:
        row = await self._fetchrow(
            "SELECT 1 FROM messages WHERE id = $1 AND inbox_id = $2", message_id, inbox_id
        )
        return row is not None

    async def get_message(self, inbox_id: str, message_id: str) -> MessageRow | None:
        row = await self._fetchrow(
            "SELECT id, inbox_id, received_at, size, summary, content, reading, seen"
            " FROM messages WHERE id = $1 AND inbox_id = $2",
            message_id,
            inbox_id,
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
            status = await db.execute(
                "WITH gone AS (DELETE FROM messages WHERE id = $1 AND inbox_id = $2 RETURNING 1)"
                " UPDATE inboxes SET message_count = message_count - (SELECT count(*) FROM gone)"
                " WHERE id = $2 AND EXISTS (SELECT 1 FROM gone)",
                message_id,
                inbox_id,
            )
        if status == "UPDATE 0":
            return False
        self._cache.added(inbox_id, -1)
        return True

    async def delete_inbox(self, inbox_id: str, quarantine_until: int) -> bool:
        self._cache.forget(inbox_id)
        try:
            async with self._transaction() as db:
                address = await db.fetchval(
                    "DELETE FROM inboxes WHERE id = $1 RETURNING address", inbox_id
                )
                if address is None:
                    return False
                await _quarantine(db, [(str(address), quarantine_until)])
                await _notify(db, "deleted", inbox_id, "", self.node)
                return True
        finally:
            self._cache.forget(inbox_id)

    @asynccontextmanager
    async def expiry_pass(self) -> AsyncIterator[bool]:
        """Whether this node runs the expiry pass now: True while it holds the cluster's pass
        lock (taken without waiting; another node's pass makes it False at once)."""
        async with _translated(), self._pool.acquire() as connection:
            held = bool(
                await connection.fetchval("SELECT pg_try_advisory_lock($1)", EXPIRY_PASS_LOCK)
            )
            try:
                yield held
            finally:
                if held:
                    try:
                        await connection.execute("SELECT pg_advisory_unlock($1)", EXPIRY_PASS_LOCK)
                    except (
                        *_UNAVAILABLE,
                        asyncpg.PostgresError,
                        asyncpg.exceptions.InternalClientError,
                    ):
                        # Closing the session gives the lock back (a lost one already has).
                        log.warning("expiry pass lock not released; closing its connection")
                        with contextlib.suppress(asyncpg.InterfaceError):  # already gone
                            connection.terminate()

    async def expire(self, now: int, batch_size: int, quarantine_ms: int) -> list[str]:
        """Delete up to `batch_size` expired inboxes; returns their ids.

        One node at a time: a node that finds another one's expiry transaction under way
        returns nothing at once instead of waiting for it.
        """
        async with self._transaction() as db:
            if not await db.fetchval("SELECT pg_try_advisory_xact_lock($1)", EXPIRY_LOCK):
                return []
            rows = await db.fetch(
                "DELETE FROM inboxes WHERE id IN (SELECT id FROM inboxes WHERE expires_at <= $1"
                " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
                " RETURNING id, address, expires_at",
                now,
                batch_size,
            )
            await _quarantine(db, [(str(row[1]), int(row[2]) + quarantine_ms) for row in rows])
            await db.execute("DELETE FROM quarantine WHERE until <= $1", now)
            for row in rows:
                await _notify(db, "expired", str(row[0]), "", self.node)
        expired = [str(row[0]) for row in rows]
        for inbox_id in expired:
            self._cache.forget(inbox_id)
        return expired

    async def checkpoint(self) -> None:
        """Nothing to fold in: PostgreSQL's autovacuum reclaims deleted rows (see README)."""

    async def stats(self, now: int) -> StoreStats:
        row = await self._fetchrow(
            "SELECT (SELECT count(*) FROM inboxes WHERE expires_at > $1),"
            " (SELECT count(*) FROM inboxes),"
            " (SELECT count(*) FROM messages),"
            " (SELECT coalesce(sum(size), 0) FROM messages),"
            " pg_database_size(current_database())",
            now,
        )
        assert row is not None
        return StoreStats(*(int(value) for value in row.values()))

    async def list_inboxes(self, limit: int, offset: int) -> tuple[int, list[InboxUsage]]:
        total = await self._fetchrow("SELECT count(*) FROM inboxes")
        rows = await self._fetch(
            "SELECT i.id, i.address, i.created_at, i.expires_at,"
            " count(m.seq), coalesce(sum(m.size), 0)"
            " FROM inboxes AS i LEFT JOIN messages AS m ON m.inbox_id = i.id"
            " GROUP BY i.id ORDER BY i.created_at, i.id LIMIT $1 OFFSET $2",
            limit,
            offset,
        )
        return int(total[0]) if total else 0, [InboxUsage(*(row.values())) for row in rows]

    async def ping(self) -> None:
        await self._fetchrow("SELECT 1")

    async def follow(self, on_notice: Callable[[Notice | None], None]) -> Listening:
        """Follow every node's change notices on a connection of its own (see `notices`)."""

        def noticed(notice: Notice | None) -> None:
            # This node's own messages were counted when it committed them.
            if notice is None or notice.kind != "message" or notice.node != self.node:
                self._cache.noticed(notice)
            on_notice(notice)

        listening = Listening(self._url, noticed)
        self._listening = listening
        await listening.start()
        return listening

    async def close(self) -> None:
        await self._group.drain()
        try:
            await asyncio.wait_for(self._pool.close(), COMMAND_TIMEOUT_SECONDS)
        except TimeoutError:
            self._pool.terminate()


async def _notify(db: _DB, kind: str, inbox_id: str, message_id: str, node: str) -> None:
    """Sent at COMMIT, and only if the transaction commits."""
    await db.execute("SELECT pg_notify($1, $2)", CHANNEL, payload(kind, inbox_id, message_id, node))


async def _quarantine(db: _DB, entries: list[tuple[str, int]]) -> None:
    if entries:
        await db.executemany(
            "INSERT INTO quarantine (address, until) VALUES ($1, $2)"
            " ON CONFLICT (address) DO UPDATE SET until = greatest(quarantine.until, excluded.until)",
            entries,
        )


async def _migrate(pool: asyncpg.Pool) -> None:
    """Bring the schema to SCHEMA_VERSION; nodes starting together wait for one another."""
    async with pool.acquire() as db, db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        version = await db.fetchval("SELECT max(version) FROM schema_version") or 0
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"database schema version {version} is newer than this tempmail ({SCHEMA_VERSION})"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[target]:
                await db.execute(statement)
            await db.execute("INSERT INTO schema_version (version) VALUES ($1)", target)
            log.info("database migrated to schema version %d", target)
