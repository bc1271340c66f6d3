"""What only the PostgreSQL store has: start-up by several nodes at once, one expiry at a time,
failures while the database is away and recovery without a restart."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest

from tempmail.errors import StorageError
from tempmail.storage import PostgresStore
from tempmail.storage.base import Inbox, MessageSummaryRow, NewMessage
from tempmail.storage.notices import CHANNEL, Notice
from tempmail.storage.postgres import EXPIRY_LOCK, SCHEMA_VERSION, public_url
from tests.servers import PostgresServer, free_port
from tests.storage.test_conformance import HOUR, NOW, make_inbox, make_message


def test_nodes_starting_together_migrate_once(postgres_url: str) -> None:
    async def body() -> None:
        stores = await asyncio.gather(*(PostgresStore.open(postgres_url) for _ in range(6)))
        try:
            connection = await asyncpg.connect(postgres_url)
            try:
                versions = await connection.fetch("SELECT version FROM schema_version")
            finally:
                await connection.close()
            assert [row[0] for row in versions] == list(range(1, SCHEMA_VERSION + 1))
            inbox = make_inbox()
            await stores[0].create_inbox(inbox, NOW)
            assert await stores[5].inbox_by_token([inbox.token_digest]) == inbox
        finally:
            for store in stores:
                await store.close()

    asyncio.run(body())


def test_version_2_counts_the_messages_of_a_version_1_database(postgres_url: str) -> None:
    async def body() -> None:
        store = await PostgresStore.open(postgres_url)
        inbox = make_inbox()
        await store.create_inbox(inbox, NOW)
        for _ in range(3):
            await store.deliver([make_message(inbox)], 50, NOW)
        await store.close()
        connection = await asyncpg.connect(postgres_url)
        await connection.execute("ALTER TABLE inboxes DROP COLUMN message_count")
        await connection.execute("DELETE FROM schema_version WHERE version = 2")
        await connection.close()
        store = await PostgresStore.open(postgres_url)
        try:
            assert await store.message_count(inbox.id) == 3
            assert await store.deliver([make_message(inbox)], 4, NOW) == [inbox.id]
            assert await store.deliver([make_message(inbox)], 4, NOW) == []
        finally:
            await store.close()

    asyncio.run(body())


def test_newer_schema_is_refused(postgres_url: str) -> None:
    async def body() -> None:
        store = await PostgresStore.open(postgres_url)
        await store.close()
        connection = await asyncpg.connect(postgres_url)
        await connection.execute("INSERT INTO schema_version VALUES ($1)", SCHEMA_VERSION + 1)
        await connection.close()
        with pytest.raises(StorageError, match="newer than this tempmail"):
            await PostgresStore.open(postgres_url)

    asyncio.run(body())


def test_expiry_runs_on_one_node_at_a_time(postgres_url: str) -> None:
    """While another node holds the expiry lock, a pass deletes nothing and does not wait."""

    async def body() -> None:
        store = await PostgresStore.open(postgres_url)
        other = await asyncpg.connect(postgres_url)
        try:
            inbox = make_inbox(expires_at=NOW - 1)
            await store.create_inbox(inbox, NOW - HOUR)
            async with other.transaction():
                await other.execute("SELECT pg_advisory_xact_lock($1)", EXPIRY_LOCK)
                assert await asyncio.wait_for(store.expire(NOW, 10, 0), 10) == []
            assert await store.expire(NOW, 10, 0) == [inbox.id]
        finally:
            await other.close()
            await store.close()

    asyncio.run(body())


def test_expiry_passes_of_two_nodes_never_overlap(postgres_url: str) -> None:
    """A whole pass, not only each batch, belongs to one node: while node A's pass runs,
    node B's is refused at once (no waiting), and B gets the next one."""

    async def body() -> None:
        first = await PostgresStore.open(postgres_url)
        second = await PostgresStore.open(postgres_url)
        try:
            async with first.expiry_pass() as ours:
                assert ours
                async with second.expiry_pass() as theirs:
                    assert not theirs
            async with second.expiry_pass() as theirs:
                assert theirs
            # A node whose connection dies mid-pass gives the lock back with its session, and
            # its pass ends without an error.
            admin = await asyncpg.connect(postgres_url)
            try:
                async with first.expiry_pass() as ours:
                    assert ours
                    holders = await admin.fetch(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    )
                    assert len(holders) == 1
                    await admin.execute("SELECT pg_terminate_backend($1)", holders[0]["pid"])
            finally:
                await admin.close()
            async with second.expiry_pass() as theirs:
                assert theirs
        finally:
            await first.close()
            await second.close()

    asyncio.run(body())


def test_unreachable_and_bad_urls_say_why_without_the_password(
    postgres_server: PostgresServer,
) -> None:
    async def reason(url: str) -> str:
        with pytest.raises(StorageError) as caught:
            await PostgresStore.open(url)
        return str(caught.value)

    async def body() -> None:
        closed = f"postgresql://tempmail:hunter2secret@127.0.0.1:{free_port()}/tempmail"
        text = await reason(closed)
        assert "connection refused" in text and "hunter2secret" not in text
        assert text.startswith("cannot connect to postgresql://tempmail@127.0.0.1:")
        wrong = postgres_server.url().replace(postgres_server.password, "hunter2secret")
        text = await reason(wrong)
        assert "authentication failed" in text and "hunter2secret" not in text
        missing = postgres_server.url("no_such_database")
        text = await reason(missing)
        assert "does not exist" in text and postgres_server.password not in text

    asyncio.run(body())


def test_public_url_hides_secrets() -> None:
    assert public_url("postgresql://u:p@db.example:5433/mail?password=x") == (
        "postgresql://u@db.example:5433/mail"
    )
    assert public_url("postgresql://[::1]/mail") == "postgresql://[::1]/mail"
    assert public_url("postgresql://u@host:notaport/x") == "postgresql://<unparseable>"


def test_database_away_is_a_storage_error_then_recovers(postgres_server: PostgresServer) -> None:
    """Stopped PostgreSQL: every operation fails as StorageError (451/503 upstream), and the
    same store works again once it is back, without being reopened."""
    url = postgres_server.new_database()

    async def body() -> None:
        store = await PostgresStore.open(url)
        try:
            inbox = make_inbox()
            await store.create_inbox(inbox, NOW)
            await store.deliver([make_message(inbox)], 50, NOW)
            await asyncio.to_thread(postgres_server.stop)
            try:
                with pytest.raises(StorageError):
                    await store.deliver([make_message(inbox)], 50, NOW)
                with pytest.raises(StorageError):
                    await store.list_messages(inbox.id)
                with pytest.raises(StorageError):
                    await store.ping()
            finally:
                await asyncio.to_thread(postgres_server.start)
            for _ in range(50):
                try:
                    await store.ping()
                    break
                except StorageError:
                    await asyncio.sleep(0.2)
            assert await store.deliver([make_message(inbox)], 50, NOW) == [inbox.id]
            assert await store.message_count(inbox.id) == 2
        finally:
            await store.close()

    asyncio.run(body())


def _message_with_summary(inbox: Inbox, summary_bytes: int) -> NewMessage:
    message = make_message(inbox)
    return NewMessage(
        message.id,
        inbox.id,
        message.received_at,
        message.size,
        secrets.token_bytes(summary_bytes),
        message.content,
    )


def test_a_commit_sends_its_messages_summary_rows_in_a_few_notices(postgres_url: str) -> None:
    """150 messages committed together, summaries of every size up to and past the limit: a
    few notices (not one per message), each under PostgreSQL's 8000 bytes; the other node's
    follower hears each message once, with its row as stored when it fits in a notice."""

    async def body() -> None:
        sender = await PostgresStore.open(postgres_url)
        other = await PostgresStore.open(postgres_url)
        raw: list[str] = []
        heard: list[Notice] = []
        listener = await asyncpg.connect(postgres_url)
        await listener.add_listener(CHANNEL, lambda *args: raw.append(str(args[3])))
        listening = await other.follow(lambda notice: heard.append(notice) if notice else None)
        try:
            inbox = make_inbox()
            await sender.create_inbox(inbox, NOW)
            # Base64 of 3072 bytes is exactly SUMMARY_CHARS; 3073 bytes is over it.
            sizes = [40] * 130 + [600] * 10 + [3072] * 5 + [3073] * 5
            messages = [_message_with_summary(inbox, size) for size in sizes]
            assert await sender.deliver(messages, 500, NOW) == [inbox.id] * 150
            for _ in range(100):
                if len(heard) >= 150 and sum(len(text.split("\n")) for text in raw) >= 150:
                    break
                await asyncio.sleep(0.05)
            assert sum(len(text.split("\n")) for text in raw) == 150
            assert all(len(text.encode()) < 8000 for text in raw)
            # 130 short lines fit ~40 to a notice; a 4 KB line takes a notice of its own.
            assert len(raw) < 25
            assert sorted(notice.message_id for notice in heard) == sorted(m.id for m in messages)
            assert {(notice.kind, notice.inbox_id, notice.node) for notice in heard} == {
                ("message", inbox.id, sender.node)
            }
            rows = {notice.message_id: notice.row for notice in heard}
            for message in messages:
                expected = MessageSummaryRow(
                    message.id, message.received_at, message.size, message.summary, False
                )
                fits = len(message.summary) <= 3072
                assert rows[message.id] == (expected if fits else None)
        finally:
            await listening.stop()
            await listener.close()
            await sender.close()
            await other.close()

    asyncio.run(body())
