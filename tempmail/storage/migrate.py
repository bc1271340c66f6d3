"""`tempmail migrate`: copy a SQLite deployment into PostgreSQL, row for row.

Sealed columns are copied as they are: nothing is opened, so no key or token is needed, and
every inbox opens on the new database with its old token (the nodes need the same server keys).
The source is read in one read transaction (a consistent snapshot, even while the server
runs), messages in batches so memory stays bounded. Rows already in the target are left as they
are, so running it again copies only what is new; at the end every source row is checked to be
in the target.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import msgspec

from tempmail.errors import ConfigError, StorageError
from tempmail.storage.postgres import PostgresStore

log = logging.getLogger(__name__)

BATCH = 500
_FINGERPRINT = "fingerprint."


class Copied(msgspec.Struct, frozen=True):
    """Rows in the source, and how many of them were new to the target."""

    inboxes: int
    new_inboxes: int
    messages: int
    new_messages: int
    quarantined: int


def _open_source(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise ConfigError(f"no database at {path}")
    try:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        version = source.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    if version != 1:
        source.close()
        raise ConfigError(f"{path} has schema version {version}; this tempmail migrates version 1")
    return source


async def to_postgres(source_path: Path, url: str) -> Copied:
    """Copy everything in the SQLite file at `source_path` into the database at `url`."""
    source = _open_source(source_path)
    try:
        target = await PostgresStore.open(url)
    except BaseException:
        source.close()
        raise
    try:
        source.execute("BEGIN")
        return await _copy(source, target)
    finally:
        source.close()
        await target.close()


async def _copy(source: sqlite3.Connection, target: PostgresStore) -> Copied:
    async with target.transaction() as db:
        for key, value in source.execute("SELECT key, value FROM meta"):
            stored = await db.fetchval(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE"
                " SET value = meta.value RETURNING value",
                key,
                bytes(value),
            )
            if key.startswith(_FINGERPRINT) and bytes(stored) != bytes(value):
                raise ConfigError(
                    f"{target.where} records other server keys ({key}); migrate into an empty "
                    "database or one written with the same keys"
                )
        inboxes = source.execute(
            "SELECT id, address, token_digest, public_key, wrapped_key, key_id, created_at,"
            " expires_at FROM inboxes"
        ).fetchall()
        inbox_rows = [
            (row[0], row[1], bytes(row[2]), bytes(row[3]), bytes(row[4]), *row[5:])
            for row in inboxes
        ]
        new_inboxes = 0
        for row in inbox_rows:
            status = await db.execute(
                "INSERT INTO inboxes (id, address, token_digest, public_key, wrapped_key,"
                " key_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT DO NOTHING",
                *row,
            )
            new_inboxes += status == "INSERT 0 1"
        quarantined = source.execute("SELECT address, until FROM quarantine").fetchall()
        if quarantined:
            await db.executemany(
                "INSERT INTO quarantine (address, until) VALUES ($1, $2) ON CONFLICT (address)"
                " DO UPDATE SET until = greatest(quarantine.until, excluded.until)",
                quarantined,
            )
    messages = new_messages = 0
    cursor = source.execute(
        "SELECT id, inbox_id, received_at, size, summary, content, reading, seen"
        " FROM messages ORDER BY seq"
    )
    # Batches of their own transactions: an interrupted run leaves whole batches, and the
    # next run skips what is there.
    while batch := cursor.fetchmany(BATCH):
        rows = [
            (
                row[0],
                row[1],
                row[2],
                row[3],
                bytes(row[4]),
                bytes(row[5]),
                None if row[6] is None else bytes(row[6]),
                bool(row[7]),
            )
            for row in batch
        ]
        async with target.transaction() as db:
            present = {
                record[0]
                for record in await db.fetch(
                    "SELECT id FROM messages WHERE id = ANY($1::text[])", [row[0] for row in rows]
                )
            }
            fresh = [row for row in rows if row[0] not in present]
            if fresh:
                await db.executemany(
                    "INSERT INTO messages (id, inbox_id, received_at, size, summary, content,"
                    " reading, seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    fresh,
                )
        messages += len(rows)
        new_messages += len(fresh)
    async with target.transaction() as db:
        await db.execute(
            "UPDATE inboxes SET message_count ="
            " (SELECT count(*) FROM messages WHERE inbox_id = inboxes.id)"
            " WHERE id = ANY($1::text[])",
            [row[0] for row in inbox_rows],
        )
    await _verify(source, target, [row[0] for row in inbox_rows], messages)
    return Copied(len(inbox_rows), new_inboxes, messages, new_messages, len(quarantined))


async def _verify(
    source: sqlite3.Connection, target: PostgresStore, inbox_ids: list[str], messages: int
) -> None:
    """Every source row is in the target (counted by id, batch by batch)."""
    async with target.transaction() as db:
        found = await db.fetchval(
            "SELECT count(*) FROM inboxes WHERE id = ANY($1::text[])", inbox_ids
        )
        found_messages = 0
        cursor = source.execute("SELECT id FROM messages")
        while batch := cursor.fetchmany(BATCH * 10):
            found_messages += await db.fetchval(
                "SELECT count(*) FROM messages WHERE id = ANY($1::text[])",
                [row[0] for row in batch],
            )
    if found != len(inbox_ids) or found_messages != messages:
        raise StorageError(
            f"verification failed: {found} of {len(inbox_ids)} inboxes and {found_messages} of "
            f"{messages} messages are in the target"
        )
