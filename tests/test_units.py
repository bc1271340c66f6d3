"""Pure pieces on their own: sealing, parsing, sanitizing, the event hub."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import uvloop

from tempmail import crypto, parsing
from tempmail.clock import iso_time
from tempmail.errors import IntegrityError, StorageError
from tempmail.events import QUEUE_SIZE, Event, EventHub, next_event
from tempmail.pacing import IngestPacer
from tempmail.sanitize import Sanitizer, html_to_text
from tempmail.storage import Inbox, SQLiteStore
from tempmail.storage.sqlite import READERS
from tests.helpers import SMTP_POLICY, make_message


def test_seal_round_trip_and_binding() -> None:
    server_key = crypto.new_key()
    token = crypto.new_token()
    public, wrapped = crypto.new_inbox_keys(token, server_key, "inbox-1")
    private = crypto.unwrap_inbox_key(token, server_key, "inbox-1", wrapped)
    sealed = crypto.seal(public, "inbox-1", "m1", "content", b"secret mail")
    assert crypto.open_sealed(private, "inbox-1", "m1", "content", sealed) == b"secret mail"
    assert b"secret mail" not in sealed
    for inbox_id, message_id, part in [
        ("inbox-2", "m1", "content"),
        ("inbox-1", "m2", "content"),
        ("inbox-1", "m1", "summary"),
    ]:
        with pytest.raises(IntegrityError):
            crypto.open_sealed(private, inbox_id, message_id, part, sealed)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(IntegrityError):
        crypto.open_sealed(private, "inbox-1", "m1", "content", tampered)
    with pytest.raises(IntegrityError):
        crypto.open_sealed(private, "inbox-1", "m1", "content", b"\x02" + sealed[1:])
    # Each seal uses a fresh ephemeral key and nonce.
    assert crypto.seal(public, "inbox-1", "m1", "content", b"x") != crypto.seal(
        public, "inbox-1", "m1", "content", b"x"
    )


def test_tokens_never_look_like_options() -> None:
    # 1 in 64 URL-safe tokens started with "-", and `--token "$T"` then failed in argparse.
    tokens = {crypto.new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert not any(token.startswith("-") for token in tokens)
    assert all(len(token) == 43 for token in tokens)


def _inbox_keys(inbox_id: str) -> tuple[bytes, crypto.InboxPrivateKey]:
    server_key, token = crypto.new_key(), crypto.new_token()
    public, wrapped = crypto.new_inbox_keys(token, server_key, inbox_id)
    return public, crypto.unwrap_inbox_key(token, server_key, inbox_id, wrapped)


def _ephemeral(sealed: bytes) -> bytes:
    return sealed[1 : 1 + crypto.KEY_BYTES]


def test_sealing_keys_are_reused_briefly_per_inbox() -> None:
    now = [0.0]
    keys = crypto.SealingKeys(max_age=60, max_uses=3, capacity=2, clock=lambda: now[0])
    public, private = _inbox_keys("inbox-1")
    other_public, _ = _inbox_keys("inbox-2")

    def seal(inbox_public: bytes, message_id: str, inbox_id: str = "inbox-1") -> bytes:
        return keys.seal_parts(
            inbox_public, inbox_id, message_id, {"content": b"m" + message_id.encode()}
        )["content"]

    first, second = seal(public, "m1"), seal(public, "m2")
    assert _ephemeral(first) == _ephemeral(second)
    assert first[33:45] != second[33:45]  # every message keeps its own nonce
    derived: crypto.DerivedKeys = {}
    assert crypto.open_sealed(private, "inbox-1", "m1", "content", first, derived) == b"mm1"
    assert crypto.open_sealed(private, "inbox-1", "m2", "content", second, derived) == b"mm2"
    assert len(derived) == 1
    # A shared key does not let one message's blob pass for another's.
    with pytest.raises(IntegrityError):
        crypto.open_sealed(private, "inbox-1", "m2", "content", first, derived)
    assert _ephemeral(seal(other_public, "m3", "inbox-2")) != _ephemeral(first)
    # Used max_uses times: the next message gets a fresh exchange.
    third, fourth = seal(public, "m4"), seal(public, "m5")
    assert _ephemeral(third) == _ephemeral(first) != _ephemeral(fourth)
    # Older than max_age: fresh again.
    now[0] = 61.0
    assert _ephemeral(seal(public, "m6")) != _ephemeral(fourth)
    # At most `capacity` inboxes are remembered, least recently used dropped first.
    assert len(keys) == 2
    seal(_inbox_keys("inbox-3")[0], "m7", "inbox-3")
    assert len(keys) == 2
    assert crypto.open_sealed(private, "inbox-1", "m6", "content", seal(public, "m6")) == b"mm6"


def test_inbox_key_needs_token_server_key_and_id() -> None:
    server_key = crypto.new_key()
    token = crypto.new_token()
    _, wrapped = crypto.new_inbox_keys(token, server_key, "inbox-1")
    for attempt in [
        (crypto.new_token(), server_key, "inbox-1"),
        (token, crypto.new_key(), "inbox-1"),
        (token, server_key, "inbox-2"),
    ]:
        with pytest.raises(IntegrityError):
            crypto.unwrap_inbox_key(*attempt, wrapped)
    # The lookup digest is no key for the wrap: it is a different derivation.
    digest = crypto.token_digest(crypto.new_key(), token)
    with pytest.raises(IntegrityError):
        crypto.unwrap_inbox_key(digest.hex(), server_key, "inbox-1", wrapped)


def test_all_zero_shared_secret_is_refused() -> None:
    private = crypto.InboxPrivateKey.generate()
    # A low-order point (here the all-zero public key) makes the X25519 output all zero.
    forged = bytes([crypto.SEAL_VERSION]) + bytes(32) + bytes(12) + bytes(32)
    with pytest.raises(IntegrityError):
        crypto.open_sealed(private, "i", "m", "content", forged)


def test_parse_extracts_everything() -> None:
    msg = make_message(
        "Bob <bob@localhost>",
        subject="=?utf-8?q?Caf=C3=A9?= menu",
        text="Hello\n" + "word " * 100,
        html="<p>Hi</p>",
        attachments=[("menu.pdf", "application/pdf", b"%PDF")],
    )
    msg["Cc"] = "Carol <carol@example.com>, dave@example.com"
    parsed = parsing.parse(msg.as_bytes(policy=SMTP_POLICY))
    assert parsed.sender == "Alice Example <alice@example.com>"
    assert parsed.to == ["Bob <bob@localhost>"]
    assert parsed.cc == ["Carol <carol@example.com>", "dave@example.com"]
    assert parsed.subject == "Café menu"
    assert parsed.date == "2026-11-24T09:00:00Z"
    assert parsed.text.startswith("Hello\n")
    assert parsed.html == "<p>Hi</p>\n"
    assert len(parsed.preview) <= parsing.PREVIEW_LENGTH + 1
    assert parsed.preview.endswith("…")
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("menu.pdf", "application/pdf", b"%PDF")
    ]


def test_encoded_words_and_html_only_preview() -> None:
    raw = (
        b"From: =?iso-8859-1?q?J=FCrgen?= <j@example.com>\r\n"
        b"Subject: =?utf-8?b?w5xiZXJzaWNodA==?=\r\n"
        b"Date: not a date\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{}</style></head><body><p>Only &amp; HTML</p></body></html>\r\n"
    )
    parsed = parsing.parse(raw)
    assert parsed.sender == "Jürgen <j@example.com>"
    assert parsed.subject == "Übersicht"
    assert parsed.date is None
    assert parsed.text == ""
    assert parsed.preview == "Only & HTML"


def _html_only(body: str) -> bytes:
    return (
        b"From: a@example.com\r\nSubject: s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + body.encode()
        + b"\r\n"
    )


@pytest.mark.parametrize(
    "body",
    [
        "<p>" + "<b>one</b> <i>two</i> " * 400 + "Your code is 4821</p>",
        "<html><head><title>T</title><style>p{}</style></head><body>"
        + "<table>"
        + "<tr><td>cell</td><td>&amp; more</td></tr>" * 300
        + "</table></body></html>",
        "<ul>" + "<li><a href='https://example.com/'>link</a><br></li>" * 300 + "</ul>",
    ],
)
def test_dense_html_previews_like_ordinary_html(body: str) -> None:
    # Past PREVIEW_DENSE_TAGS tags the preview comes from mailtext's linear scanner instead of
    # nh3; it must read the same as nh3 would have.
    assert body.count("<") > parsing.PREVIEW_DENSE_TAGS
    expected = parsing._preview(html_to_text(body[: parsing.PREVIEW_HTML_LIMIT]))
    assert expected
    assert parsing.glance(_html_only(body)).preview == expected
    assert parsing.parse_with_stdlib(_html_only(body)).preview == expected


def test_deeply_nested_html_still_previews() -> None:
    # 3,000 nested elements: nh3 took ~33 ms here and then showed nothing.
    body = "<div>" * 3000 + "Deep inside" + "</div>" * 3000
    assert parsing.glance(_html_only(body)).preview == "Deep inside"
    assert parsing.parse_with_stdlib(_html_only(body)).preview == "Deep inside"


def test_bare_cr_does_not_forge_headers() -> None:
    raw = b"From: real@example.com\r\nSubject: hi\rFrom: ceo@bank.example\r\n\r\nbody\r\n"
    parsed = parsing.parse(raw)
    assert parsed.sender == "real@example.com"
    assert "ceo@bank.example" in parsed.subject


@pytest.mark.parametrize(
    "raw",
    [
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\n\r\npart\r\n" * 3000,
        b"To: " + b", ".join(b"user%d@example.com" % n for n in range(20000)) + b"\r\n\r\nhi",
        b"\xff\xfe\x00garbage without headers",
        b"",
    ],
    ids=["many-parts", "huge-to", "binary", "empty"],
)
def test_hostile_input_is_bounded(raw: bytes) -> None:
    started = time.monotonic()
    parsed = parsing.parse(raw)
    assert isinstance(parsed, parsing.ParsedMessage)
    # Generous bound: the point is "not seconds", not a benchmark.
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\evil.exe", "evil.exe"),
        ('a"b\r\nc.txt', "a_b_c.txt"),
        ("...", "fallback"),
        (None, "fallback"),
        ("x" * 300 + ".pdf", "x" * 190 + ".pdf"),
    ],
)
def test_safe_filename(name: str | None, expected: str) -> None:
    assert parsing.safe_filename(name, "fallback") == expected


def test_sanitizer_strips_active_content() -> None:
    sanitizer = Sanitizer()
    hostile = (
        "<script>alert(1)</script><img src=x onerror=alert(1)>"
        '<svg onload="alert(1)"><circle/></svg><math><mi>x</mi></math>'
        '<a href="javascript:alert(1)">js</a><a href="/relative">rel</a>'
        '<a href="https://ok.example/">ok</a><form action="https://x"><input></form>'
        '<p style="background:url(https://t.example/bg.png);color:red">bg</p>'
        '<p style="color: blue">blue</p><iframe src="https://x"></iframe>'
        '<img src="data:image/svg+xml;base64,PHN2Zz4=">'
    )
    result = sanitizer.clean(hostile)
    cleaned, blocked = result.html, result.remote_blocked
    lowered = cleaned.lower()
    for needle in ["script", "onerror", "onload", "svg", "math", "javascript:", "form", "input",
                   "iframe", "url(", "/relative", "t.example"]:  # fmt: skip
        assert needle not in lowered, needle
    assert '<a href="https://ok.example/" target="_blank" rel="noopener noreferrer">' in cleaned
    assert 'style="color:blue"' in cleaned
    assert blocked == 0


def test_sanitizer_remote_images_and_cid() -> None:
    sanitizer = Sanitizer()
    markup = '<img src="https://t.example/a.gif"><img src="cid:logo"><img src="cid:script">'
    images = {"logo": ("image/png", b"\x89PNG"), "script": ("text/html", b"<script>")}
    result = sanitizer.clean(markup, images)
    cleaned, blocked = result.html, result.remote_blocked
    assert blocked == 1
    assert "t.example" not in cleaned
    assert cleaned.count("data:image/png;base64,iVBORw==") == 1
    assert "text/html" not in cleaned
    allowed = sanitizer.clean(markup, images, allow_remote=True)
    assert 'src="https://t.example/a.gif"' in allowed.html and allowed.remote_blocked == 0
    assert html_to_text("") == ""


def test_event_hub_fans_out_and_bounds_queues() -> None:
    async def scenario() -> None:
        hub = EventHub()
        with hub.subscribe("a") as first, hub.subscribe("a") as second, hub.subscribe("b") as other:
            assert hub.watcher_count() == 3
            hub.publish("a", Event("message", {"id": "1"}))
            assert (await first.get()).data == {"id": "1"}
            assert (await second.get()).data == {"id": "1"}
            assert other.empty()
            for number in range(QUEUE_SIZE + 5):
                hub.publish("b", Event("message", {"n": number}))
            assert other.qsize() == QUEUE_SIZE
            items = [other.get_nowait() for _ in range(QUEUE_SIZE)]
            assert items[-1].kind == "overflow"
        assert hub.watcher_count() == 0

    asyncio.run(scenario())


def test_a_waiting_stream_resumes_one_loop_turn_after_its_event() -> None:
    """Counted in turns of the event loop (a callback that schedules itself again runs once
    per turn): each turn on a busy node runs every ready callback, so each one is latency."""

    async def scenario(loop_factory: str) -> None:
        loop = asyncio.get_running_loop()
        turns = [0]

        def tick() -> None:
            turns[0] += 1
            loop.call_soon(tick)

        loop.call_soon(tick)
        queue: asyncio.Queue[Event] = asyncio.Queue()
        resumed_at: list[int] = []

        async def wait() -> None:
            event = await next_event(queue, 30)
            assert event == Event("arrived", {"id": "m1"})
            resumed_at.append(turns[0])

        waiter = asyncio.create_task(wait())
        for _ in range(3):
            await asyncio.sleep(0)
        put_at = turns[0]
        queue.put_nowait(Event("arrived", {"id": "m1"}))
        await waiter
        # asyncio.wait_for(queue.get(), 30) takes 3 turns here on Python 3.11.
        assert resumed_at[0] - put_at == 1, loop_factory
        # And no event within the time: None, not an exception.
        assert await next_event(queue, 0.01) is None

    asyncio.run(scenario("asyncio"))
    uvloop.run(scenario("uvloop"))


def test_storage_refuses_newer_schema_and_bad_path(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = tmp_path / "db.sqlite3"
        store = await SQLiteStore.open(path)
        await store.close()
        import sqlite3

        database = sqlite3.connect(path)
        database.execute("PRAGMA user_version=99")
        database.close()
        with pytest.raises(StorageError, match="newer"):
            await SQLiteStore.open(path)
        with pytest.raises(StorageError):
            await SQLiteStore.open(tmp_path / "missing-dir" / "db.sqlite3")

    asyncio.run(scenario())


def test_store_spreads_queries_over_readers_and_keeps_new_tokens(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await SQLiteStore.open(tmp_path / "db.sqlite3")
        queries: list[list[str]] = [[] for _ in range(READERS)]
        try:
            for reader, seen in zip(store._readers, queries, strict=True):
                await reader._execute(reader._conn.set_trace_callback, seen.append)
            now = int(time.time() * 1000)
            inbox = Inbox(
                "i1", "a@example.test", b"d" * 32, b"p" * 32, b"w", "k", now, now + 60_000
            )
            await store.create_inbox(inbox, now)
            # The creator looks at the inbox next: its token answers from memory.
            assert await store.inbox_by_token([b"x" * 32, b"d" * 32]) == inbox
            assert queries == [[] for _ in range(READERS)]
            # Queries under way at once go to different readers.
            assert (
                await asyncio.gather(*(store.message_count("i1") for _ in range(READERS)))
                == [0] * READERS
            )
            assert all(len(seen) == 1 for seen in queries)
            assert await store.inbox_by_token([b"u" * 32]) is None
        finally:
            await store.close()

    asyncio.run(scenario())


def test_message_without_policy_default_type() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg.set_content(b"\x00\x01", maintype="application", subtype="octet-stream")
    parsed = parsing.parse(msg.as_bytes(policy=SMTP_POLICY))
    assert parsed.attachments[0].filename == "attachment-1.bin"
    assert parsed.attachments[0].data == b"\x00\x01"


@pytest.mark.parametrize(
    "argument",
    [
        "<a@b.example>",
        "<a.b+tag@x-y.example> SIZE=100 BODY=8BITMIME",
        "<user@localhost>\t",
        "<a..b@x.example>",
        "<.a@x.example>",
        '<"quoted local"@x.example>',
        "<a@[192.0.2.1]>",
        "<>",
        "a@b.example",
        "<a@b.example>\r<evil@x>",
    ],
)
def test_fast_address_parsing_agrees_with_aiosmtpd(argument: str) -> None:
    from aiosmtpd.smtp import SMTP

    from tempmail.smtp import _Session

    session = _Session.__new__(_Session)
    reference = SMTP.__new__(SMTP)
    assert session._getaddr(argument) == reference._getaddr(argument)


@pytest.mark.parametrize("argument", ["<a@b.example", "<broken", "broken", "broken@", "<a@"])
def test_paths_aiosmtpd_would_accept_or_crash_on_are_malformed(argument: str) -> None:
    """An unclosed `<`, a path without `@` (aiosmtpd takes `<a@b.example` and `broken` as
    addresses) or one the stdlib's parser raises IndexError on (`broken@`) is no path."""
    from tempmail.smtp import _Session

    session = _Session.__new__(_Session)
    assert session._getaddr(argument) == (None, None)


@pytest.mark.parametrize(
    "milliseconds", [0, 1, 999, 1_000, 1_795_597_455_123, 4_102_444_799_999, 951_782_400_000]
)
def test_iso_time_matches_datetime(milliseconds: int) -> None:
    moment = dt.datetime.fromtimestamp(milliseconds / 1000, dt.UTC)
    expected = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{milliseconds % 1000:03d}Z"
    assert iso_time(milliseconds) == expected


def test_pacer_holds_deliveries_only_while_http_requests_arrive() -> None:
    async def scenario() -> None:
        now = [100.0]
        held: list[None] = []
        pacer = IngestPacer(
            limit=2, window=0.25, clock=lambda: now[0], on_hold=lambda: held.append(None)
        )
        order: list[str] = []
        release = asyncio.Event()

        async def deliver(name: str) -> None:
            async with pacer.delivery():
                order.append(f"start {name}")
                await release.wait()
                order.append(f"end {name}")

        # No HTTP request lately: everything starts at once.
        quiet = [asyncio.create_task(deliver(f"q{i}")) for i in range(4)]
        await asyncio.sleep(0)
        assert order == ["start q0", "start q1", "start q2", "start q3"]
        release.set()
        await asyncio.gather(*quiet)
        assert not held

        # While requests arrive, at most `limit` are in flight, and the rest go in order.
        order.clear()
        release.clear()
        pacer.request_started()
        busy = [asyncio.create_task(deliver(f"b{i}")) for i in range(4)]
        await asyncio.sleep(0)
        assert order == ["start b0", "start b1"]
        assert len(held) == 2
        release.set()
        await asyncio.gather(*busy)
        assert [entry for entry in order if entry.startswith("start")] == [
            "start b0",
            "start b1",
            "start b2",
            "start b3",
        ]

        # A held delivery whose sender goes away gives its place to the next one.
        release.clear()
        order.clear()
        running = [asyncio.create_task(deliver(f"r{i}")) for i in range(2)]
        await asyncio.sleep(0)
        gone = asyncio.create_task(deliver("gone"))
        last = asyncio.create_task(deliver("last"))
        await asyncio.sleep(0)
        gone.cancel()
        # Once the window has passed, whatever waits starts without waiting for a place.
        now[0] += 1.0
        release.set()
        await asyncio.gather(*running, last)
        assert gone.cancelled()
        assert "start gone" not in order and "end last" in order

    asyncio.run(scenario())


def test_pacer_hands_on_a_place_given_to_a_waiter_that_was_cancelled() -> None:
    async def scenario() -> None:
        pacer = IngestPacer(limit=1, window=60.0)
        pacer.request_started()
        release = asyncio.Event()
        started: list[str] = []
        waiters: list[asyncio.Task[None]] = []

        async def deliver(name: str) -> None:
            async with pacer.delivery():
                started.append(name)
                await release.wait()

        async def first() -> None:
            async with pacer.delivery():
                started.append("first")
                await release.wait()
            # Its place went to the next waiter, which is cancelled before it can run.
            waiters[0].cancel()

        running = asyncio.create_task(first())
        await asyncio.sleep(0)
        waiters += [asyncio.create_task(deliver("second")), asyncio.create_task(deliver("third"))]
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(running, *waiters, return_exceptions=True)
        assert started == ["first", "third"]
        assert waiters[0].cancelled()

    asyncio.run(scenario())
