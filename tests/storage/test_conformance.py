"""The behaviour every `Store` backend must have, run against SQLite and PostgreSQL alike.

Like Inbucket's storage suite: one list of behaviours, every backend must pass all of it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

import pytest

from tempmail.storage import (
    AddressQuarantined,
    AddressTaken,
    Inbox,
    MessageFilter,
    NewMessage,
    Store,
)
from tests.storage.conftest import Backend

NOW = 1_800_000_000_000
HOUR = 3_600_000


def make_inbox(
    address: str | None = None, expires_at: int = NOW + HOUR, key_id: str = "k1"
) -> Inbox:
    inbox_id = secrets.token_hex(8)
    return Inbox(
        inbox_id,
        address or f"{inbox_id}@example.test",
        secrets.token_bytes(32),
        secrets.token_bytes(32),
        secrets.token_bytes(60),
        key_id,
        NOW - HOUR,
        expires_at,
    )


def make_message(inbox: Inbox, received_at: int = NOW, size: int = 100) -> NewMessage:
    return NewMessage(
        secrets.token_hex(8),
        inbox.id,
        received_at,
        size,
        secrets.token_bytes(40),
        secrets.token_bytes(size),
    )


def run(backend: Backend, test: Callable[[Store], Awaitable[None]]) -> None:
    async def body() -> None:
        store = await backend.open()
        try:
            await test(store)
        finally:
            await store.close()

    asyncio.run(body())


def test_deliver_list_and_read(backend: Backend) -> None:
    async def test(store: Store) -> None:
        inbox = make_inbox()
        await store.create_inbox(inbox, NOW)
        sent = [make_message(inbox, NOW + n) for n in range(3)]
        for message in sent:
            assert await store.deliver([message], 50, NOW) == [inbox.id]
        listed = await store.list_messages(inbox.id)
        assert [row.id for row in listed] == [message.id for message in reversed(sent)]
        assert [row.summary for row in listed] == [m.summary for m in reversed(sent)]
        assert not any(row.seen for row in listed)
        row = await store.get_message(inbox.id, sent[0].id)
        assert row is not None
        assert (row.id, row.inbox_id, row.received_at, row.size) == (
            sent[0].id,
            inbox.id,
            NOW,
            100,
        )
        assert row.content == sent[0].content and row.reading is None
        assert await store.has_message(inbox.id, sent[1].id)
        other = make_inbox()
        await store.create_inbox(other, NOW)
        # A message is found only through its own inbox.
        assert await store.get_message(other.id, sent[0].id) is None
        assert not await store.has_message(other.id, sent[0].id)
        assert await store.message_count(inbox.id) == 3
        found = await store.mailbox(inbox.address)
        assert found is not None and found == (inbox, 3)
        assert await store.mailbox("nobody@example.test") is None

    run(backend, test)


def test_one_message_to_several_inboxes(backend: Backend) -> None:
    async def test(store: Store) -> None:
        first, second, gone = make_inbox(), make_inbox(), make_inbox()
        await store.create_inbox(first, NOW)
        await store.create_inbox(second, NOW)
        copies = [make_message(first), make_message(second), make_message(gone)]
        assert sorted(await store.deliver(copies, 50, NOW)) == sorted([first.id, second.id])
        assert await store.message_count(second.id) == 1

    run(backend, test)


def test_filters(backend: Backend) -> None:
    async def test(store: Store) -> None:
        inbox = make_inbox()
        await store.create_inbox(inbox, NOW)
        sent = [make_message(inbox, NOW + n * 1000) for n in range(4)]
        await asyncio.gather(*(store.deliver([message], 50, NOW) for message in sent))
        order = [row.id for row in await store.list_messages(inbox.id)]
        assert sorted(order) == sorted(message.id for message in sent)
        newer = await store.list_messages(inbox.id, MessageFilter(after_message=order[2]))
        assert [row.id for row in newer] == order[:2]
        unknown = await store.list_messages(inbox.id, MessageFilter(after_message="nope"))
        assert len(unknown) == 4
        later = await store.list_messages(inbox.id, MessageFilter(after_time=NOW + 1500))
        assert {row.id for row in later} == {sent[2].id, sent[3].id}
        store.note_reading(inbox.id, sent[1].id, None, True)
        unseen = await store.list_messages(inbox.id, MessageFilter(unseen_only=True))
        assert sent[1].id not in {row.id for row in unseen} and len(unseen) == 3
        one = await store.list_messages(inbox.id, MessageFilter(only_message=sent[1].id))
        assert [(row.id, row.seen) for row in one] == [(sent[1].id, True)]
        other = make_inbox()
        await store.create_inbox(other, NOW)
        elsewhere = MessageFilter(only_message=sent[0].id)
        assert await store.list_messages(other.id, elsewhere) == []
        assert await store.list_messages(inbox.id, MessageFilter(only_message="nope")) == []

    run(backend, test)


def test_reading_and_seen_marks_are_kept(backend: Backend) -> None:
    inbox = make_inbox()
    message = make_message(inbox)

    async def first(store: Store) -> None:
        await store.create_inbox(inbox, NOW)
        await store.deliver([message], 50, NOW)
        store.note_reading(inbox.id, message.id, b"sealed reading", False)
        row = await store.get_message(inbox.id, message.id)
        assert row is not None and row.reading == b"sealed reading" and not row.seen
        store.note_reading(inbox.id, message.id, None, True)
        row = await store.get_message(inbox.id, message.id)
        assert row is not None and row.reading == b"sealed reading" and row.seen
        listed = await store.list_messages(inbox.id)
        assert listed[0].seen

    async def reopened(store: Store) -> None:
        # Closing wrote the notes; a fresh handle reads them from the database.
        row = await store.get_message(inbox.id, message.id)
        assert row is not None and row.reading == b"sealed reading" and row.seen

    run(backend, first)
    run(backend, reopened)


def test_delete_message_and_inbox_with_quarantine(backend: Backend) -> None:
    async def test(store: Store) -> None:
        inbox = make_inbox("taken@example.test")
        await store.create_inbox(inbox, NOW)
        with pytest.raises(AddressTaken):
            await store.create_inbox(make_inbox("taken@example.test"), NOW)
        kept, dropped = make_message(inbox), make_message(inbox)
        await store.deliver([kept], 50, NOW)
        await store.deliver([dropped], 50, NOW)
        assert await store.delete_message(inbox.id, dropped.id)
        assert not await store.delete_message(inbox.id, dropped.id)
        assert [row.id for row in await store.list_messages(inbox.id)] == [kept.id]
        assert await store.delete_inbox(inbox.id, NOW + HOUR)
        assert not await store.delete_inbox(inbox.id, NOW + HOUR)
        assert await store.get_message(inbox.id, kept.id) is None
        assert await store.mailbox(inbox.address) is None
        assert await store.inbox_by_token([inbox.token_digest]) is None
        assert await store.deliver([make_message(inbox)], 50, NOW) == []
        with pytest.raises(AddressQuarantined):
            await store.create_inbox(make_inbox("taken@example.test"), NOW + HOUR - 1)
        await store.create_inbox(make_inbox("taken@example.test"), NOW + HOUR)

    run(backend, test)


def test_expire_in_batches_with_quarantine(backend: Backend) -> None:
    async def test(store: Store) -> None:
        ended = [make_inbox(expires_at=NOW - n) for n in range(5)]
        live = make_inbox(expires_at=NOW + 1)
        for inbox in [*ended, live]:
            await store.create_inbox(inbox, NOW - HOUR)
            await store.deliver([make_message(inbox)], 50, NOW - HOUR)
        first = await store.expire(NOW, 3, HOUR)
        second = await store.expire(NOW, 3, HOUR)
        assert len(first) == 3 and len(second) == 2
        assert sorted(first + second) == sorted(inbox.id for inbox in ended)
        assert await store.expire(NOW, 3, HOUR) == []
        assert await store.message_count(ended[0].id) == 0
        assert await store.mailbox(live.address) is not None
        # Expired at NOW - n: held until NOW - n + HOUR.
        with pytest.raises(AddressQuarantined):
            await store.create_inbox(make_inbox(ended[0].address), NOW + HOUR - 1)
        await store.expire(NOW + 2 * HOUR, 3, HOUR)
        await store.create_inbox(make_inbox(ended[0].address), NOW + 2 * HOUR)
        # A delivery the store judges at a time past an inbox's end is refused.
        assert await store.deliver([make_message(live)], 50, NOW + 1) == []

    run(backend, test)


def test_extend_and_token_lookup(backend: Backend) -> None:
    async def test(store: Store) -> None:
        inbox = make_inbox()
        await store.create_inbox(inbox, NOW)
        assert await store.inbox_by_token([secrets.token_bytes(32), inbox.token_digest]) == inbox
        assert await store.inbox_by_token([secrets.token_bytes(32)]) is None
        await store.extend_inbox(inbox.id, NOW + 5 * HOUR)
        found = await store.inbox_by_token([inbox.token_digest])
        assert found is not None and found.expires_at == NOW + 5 * HOUR
        mailbox = await store.mailbox(inbox.address)
        assert mailbox is not None and mailbox[0].expires_at == NOW + 5 * HOUR

    run(backend, test)


def test_key_sets_and_meta(backend: Backend) -> None:
    async def test(store: Store) -> None:
        assert await store.key_ids_in_use() == set()
        await store.create_inbox(make_inbox(key_id="k1"), NOW)
        await store.create_inbox(make_inbox(key_id="k2"), NOW)
        assert await store.key_ids_in_use() == {"k1", "k2"}
        assert await store.count_inboxes() == 2
        assert await store.get_meta("fingerprint") is None
        assert await store.claim_meta("fingerprint", b"first") == b"first"
        assert await store.claim_meta("fingerprint", b"second") == b"first"
        await store.set_meta("fingerprint", b"third")
        assert await store.get_meta("fingerprint") == b"third"
        await store.delete_meta("fingerprint")
        assert await store.get_meta("fingerprint") is None

    run(backend, test)


def test_stats_and_inbox_listing(backend: Backend) -> None:
    async def test(store: Store) -> None:
        inboxes = [make_inbox(expires_at=NOW + HOUR), make_inbox(expires_at=NOW - 1)]
        for inbox in inboxes:
            await store.create_inbox(inbox, NOW - HOUR)
        await store.deliver([make_message(inboxes[0], size=300)], 50, NOW - HOUR)
        await store.deliver([make_message(inboxes[0], size=200)], 50, NOW - HOUR)
        stats = await store.stats(NOW)
        assert (stats.live_inboxes, stats.inboxes, stats.messages, stats.message_bytes) == (
            1,
            2,
            2,
            500,
        )
        assert stats.database_bytes > 0
        total, page = await store.list_inboxes(10, 0)
        assert total == 2
        usage = {row.id: (row.message_count, row.size) for row in page}
        assert usage == {inboxes[0].id: (2, 500), inboxes[1].id: (0, 0)}
        assert len((await store.list_inboxes(1, 1))[1]) == 1
        await store.ping()
        await store.checkpoint()

    run(backend, test)


def test_full_inbox_refuses_more(backend: Backend) -> None:
    async def test(store: Store) -> None:
        inbox = make_inbox()
        await store.create_inbox(inbox, NOW)
        results = [await store.deliver([make_message(inbox)], 2, NOW) for _ in range(3)]
        assert results == [[inbox.id], [inbox.id], []]
        assert await store.message_count(inbox.id) == 2
        found = await store.mailbox(inbox.address)
        assert found is not None and found[1] == 2

    run(backend, test)


def test_concurrent_deliveries_respect_the_limit(backend: Backend) -> None:
    """Many deliveries at once (group-committed together), from two handles where the backend
    is shared by several nodes: exactly the limit is stored, and every acknowledged one is there."""

    async def body() -> None:
        stores = [await backend.open()]
        if stores[0].shared:
            stores.append(await backend.open())
        try:
            inbox = make_inbox()
            await stores[0].create_inbox(inbox, NOW)
            messages = [make_message(inbox) for _ in range(120)]
            results = await asyncio.gather(
                *(
                    stores[n % len(stores)].deliver([message], 50, NOW)
                    for n, message in enumerate(messages)
                )
            )
            accepted = {m.id for m, result in zip(messages, results, strict=True) if result}
            assert len(accepted) == 50
            stored = {row.id for row in await stores[-1].list_messages(inbox.id)}
            assert stored == accepted
        finally:
            for store in stores:
                await store.close()

    asyncio.run(body())


def test_a_delivery_whose_caller_is_cancelled_is_still_committed(backend: Backend) -> None:
    """A sender that goes away mid-commit cancels only its own wait: the message it handed over
    is stored with its group, and the deliveries queued with it and after it get their answer."""

    async def test(store: Store) -> None:
        inbox = make_inbox()
        await store.create_inbox(inbox, NOW)
        sent = [make_message(inbox, NOW + n) for n in range(6)]
        waits = [asyncio.create_task(store.deliver([message], 50, NOW)) for message in sent[:3]]
        await asyncio.sleep(0)  # every delivery queued, the first commit under way
        waits[1].cancel()
        assert await waits[0] == [inbox.id]
        assert await waits[2] == [inbox.id]
        with pytest.raises(asyncio.CancelledError):
            await waits[1]
        for message in sent[3:]:
            assert await store.deliver([message], 50, NOW) == [inbox.id]
        listed = await store.list_messages(inbox.id)
        assert sorted(row.id for row in listed) == sorted(message.id for message in sent)
        assert await store.message_count(inbox.id) == 6

    run(backend, test)


def test_reopening_keeps_everything(backend: Backend) -> None:
    inbox = make_inbox()
    message = make_message(inbox)

    async def write(store: Store) -> None:
        await store.create_inbox(inbox, NOW)
        await store.deliver([message], 50, NOW)

    async def read(store: Store) -> None:
        assert await store.inbox_by_token([inbox.token_digest]) == inbox
        row = await store.get_message(inbox.id, message.id)
        assert row is not None and row.content == message.content

    run(backend, write)
    run(backend, read)
