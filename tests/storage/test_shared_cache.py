"""PostgreSQL nodes keep inboxes in memory only while they hear every change (`sharedcache`).

Two store handles on one real database, each following the change notices as a node does:
what one node changes, the other answers within a second; while a node cannot hear, it reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from tempmail.storage.base import Inbox
from tempmail.storage.notices import Notice
from tempmail.storage.postgres import PostgresStore
from tempmail.storage.sharedcache import SharedInboxCache
from tests.storage.test_conformance import HOUR, NOW, make_inbox, make_message

WITHIN_SECONDS = 1.0


def _ignore(notice: Notice | None) -> None:
    pass


async def _within_a_second(check: Callable[[], Awaitable[bool]]) -> float:
    """Seconds until `check` holds; fails the test if it does not hold within one second."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < WITHIN_SECONDS
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def _run(url: str, test: Callable[[PostgresStore, PostgresStore], Awaitable[None]]) -> None:
    async def body() -> None:
        a = await PostgresStore.open(url)
        b = await PostgresStore.open(url)
        listenings = [await a.follow(_ignore), await b.follow(_ignore)]
        try:
            await test(a, b)
        finally:
            for listening in listenings:
                await listening.stop()
            await a.close()
            await b.close()

    asyncio.run(body())


def test_inboxes_kept_in_memory_follow_every_change_made_through_another_node(
    postgres_url: str,
) -> None:
    async def test(a: PostgresStore, b: PostgresStore) -> None:
        inbox = make_inbox(expires_at=NOW + HOUR)
        await b.create_inbox(inbox, NOW)
        assert await a.mailbox(inbox.address) == (inbox, 0)
        assert await a.inbox_by_token([inbox.token_digest]) == inbox
        hits = a.cache_hits
        for _ in range(20):
            assert await a.mailbox(inbox.address) == (inbox, 0)
            assert await a.inbox_by_token([inbox.token_digest]) == inbox
        assert a.cache_hits == hits + 40

        # Messages stored through B are counted on A.
        assert await b.deliver([make_message(inbox), make_message(inbox)], 50, NOW) == [
            inbox.id,
            inbox.id,
        ]

        async def counted() -> bool:
            found = await a.mailbox(inbox.address)
            return found is not None and found[1] == 2

        await _within_a_second(counted)

        await b.extend_inbox(inbox.id, NOW + 5 * HOUR)

        async def extended() -> bool:
            found = await a.mailbox(inbox.address)
            by_token = await a.inbox_by_token([inbox.token_digest])
            return (
                found is not None
                and found[0].expires_at == NOW + 5 * HOUR
                and by_token is not None
                and by_token.expires_at == NOW + 5 * HOUR
            )

        await _within_a_second(extended)

        await b.delete_inbox(inbox.id, NOW + HOUR)

        async def gone() -> bool:
            return (
                await a.mailbox(inbox.address) is None
                and await a.inbox_by_token([inbox.token_digest]) is None
            )

        await _within_a_second(gone)

    _run(postgres_url, test)


def test_expiry_through_another_node_is_seen_within_a_second(postgres_url: str) -> None:
    async def test(a: PostgresStore, b: PostgresStore) -> None:
        inbox = make_inbox(expires_at=NOW - 1)
        await a.create_inbox(inbox, NOW - HOUR)
        assert await a.mailbox(inbox.address) == (inbox, 0)
        assert await b.expire(NOW, 100, HOUR) == [inbox.id]

        async def gone() -> bool:
            return await a.mailbox(inbox.address) is None

        await _within_a_second(gone)

    _run(postgres_url, test)


def test_a_node_that_cannot_hear_changes_reads_the_database(postgres_url: str) -> None:
    async def test(a: PostgresStore, b: PostgresStore) -> None:
        inboxes = [make_inbox() for _ in range(20)]
        for inbox in inboxes:
            await b.create_inbox(inbox, NOW)
            assert await a.mailbox(inbox.address) is not None
        # Cut every notice connection, then delete at once: A may miss these notices.
        async with b.transaction() as db:
            cut = await db.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'tempmail-listen'"
            )
        assert cut == 2
        for inbox in inboxes:
            await b.delete_inbox(inbox.id, NOW + HOUR)

        async def all_gone() -> bool:
            return all([await a.mailbox(inbox.address) is None for inbox in inboxes])

        await _within_a_second(all_gone)

    _run(postgres_url, test)


def test_a_lookup_under_way_during_a_change_is_not_kept() -> None:
    live = True
    clock = [0.0]
    cache = SharedInboxCache(4, lambda: live, clock=lambda: clock[0], ttl_seconds=5.0)
    inbox = make_inbox()
    version = cache.version
    cache.forget(inbox.id)  # a change arrived while the lookup read the row
    cache.keep(inbox, 0, version)
    assert cache.mailbox(inbox.address) is None
    cache.keep(inbox, 0, cache.version)
    assert cache.mailbox(inbox.address) == (inbox, 0)
    # The safety net: an entry ends after its TTL whatever the notices said.
    clock[0] = 5.0
    assert cache.mailbox(inbox.address) is None
    # Nothing is kept or answered while the node cannot hear.
    live = False
    cache.keep(inbox, 0, cache.version)
    assert cache.mailbox(inbox.address) is None
    assert cache.by_token([inbox.token_digest]) is None


def test_the_cache_holds_at_most_its_capacity() -> None:
    cache = SharedInboxCache(3, lambda: True)
    inboxes: list[Inbox] = [make_inbox() for _ in range(10)]
    for inbox in inboxes:
        cache.keep(inbox, 1, cache.version)
        cache.keep(inbox, None, cache.version)
    kept = [inbox for inbox in inboxes if cache.mailbox(inbox.address) is not None]
    assert kept == inboxes[-3:]
    assert [cache.by_token([inbox.token_digest]) for inbox in inboxes[-3:]] == inboxes[-3:]
    assert cache.by_token([inboxes[0].token_digest]) is None
