"""The chunked DATA reader: byte for byte against aiosmtpd's own, and through the real server."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import threading
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import uvloop
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tempmail.smtp import _read_data, _Session
from tests.helpers import RunningServer, create_inbox, start_server

SIZE_LIMIT = 4096
END = b"\r\n.\r\n"
FAKE_ENDS = [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r\n.\n"]
ENVELOPE = b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"


class Recorder:
    """A DATA hook that keeps what each client sent, by the client's address."""

    def __init__(self) -> None:
        self.messages: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages[session.peer].append(
            (envelope.content, content, envelope.mail_from, envelope.rcpt_tos)
        )
        return f"250 OK {len(content)} bytes"


class Chunked(SMTP):
    """Stock aiosmtpd with tempmail's DATA reader in place of its own."""

    smtp_DATA = _Session.smtp_DATA

    def _reserve(self, size: int) -> bool:
        return True  # no shared memory budget here: aiosmtpd has none

    def _release(self) -> None:
        pass


class Pair:
    """Stock aiosmtpd and the chunked reader side by side on one loop, on loopback."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.servers: dict[str, tuple[asyncio.Server, Recorder]] = {}

    async def start(self) -> None:
        for name, protocol in (("stock", SMTP), ("chunked", Chunked)):
            recorder = Recorder()
            server = await self.loop.create_server(
                lambda protocol=protocol, recorder=recorder: protocol(
                    recorder, hostname="data.test", data_size_limit=SIZE_LIMIT
                ),
                "127.0.0.1",
                0,
            )
            self.servers[name] = (server, recorder)

    async def stop(self) -> None:
        for server, _ in self.servers.values():
            server.close()
            await server.wait_closed()

    def converse(
        self, name: str, stream: bytes, cuts: Sequence[int], pause: float
    ) -> tuple[Any, ...]:
        """Send `stream` in pieces of `cuts` bytes; the replies and the messages it left."""
        server, recorder = self.servers[name]
        port = server.sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = sock.getsockname()
            offset = 0
            for size in [*cuts, len(stream)]:
                sock.sendall(stream[offset : offset + size])
                offset += size
                if pause:
                    time.sleep(pause)
            replies = bytearray()
            while chunk := sock.recv(65536):
                replies += chunk
        return bytes(replies), recorder.messages.pop(peer, [])

    def compare(self, stream: bytes, cuts: Sequence[int] = (), pause: float = 0.0) -> bytes:
        """Assert both servers answer `stream` alike and keep the same messages; the replies."""
        stock = self.converse("stock", stream, cuts, pause)
        chunked = self.converse("chunked", stream, cuts, pause)
        assert chunked == stock
        replies: bytes = stock[0]
        return replies


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    loop = uvloop.new_event_loop() if request.param == "uvloop" else asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers = Pair(loop)
    asyncio.run_coroutine_threadsafe(servers.start(), loop).result(10)
    try:
        yield servers
    finally:
        asyncio.run_coroutine_threadsafe(servers.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def as_data(body: bytes) -> bytes:
    """`body` as DATA on the wire: ended by CRLF, no early end marker, then the end marker."""
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    wire = b"\r\n" + body
    while END in wire:
        wire = wire.replace(END, b"\r\n..\r\n")
    return wire[2:] + b".\r\n"


def conversation(*bodies: bytes) -> bytes:
    """One client's whole conversation, pipelined: a transaction per body, then QUIT."""
    return b"EHLO client.test\r\n" + b"".join(ENVELOPE + as_data(b) for b in bodies) + b"QUIT\r\n"


def sized(total: int) -> bytes:
    """A body of exactly `total` raw bytes (at least 2) in ordinary lines."""
    lines, rest = divmod(total, 80)
    if rest == 1:
        lines, rest = lines - 1, 81
    return (b"a" * 78 + b"\r\n") * lines + (b"b" * (rest - 2) + b"\r\n" if rest else b"")


HAND_PICKED = [
    conversation(b""),
    conversation(b".\r\n"),
    conversation(b"..\r\n", b"...\r\n"),
    conversation(b".hidden\r\n..two\r\n...three\r\n.\r\n"),
    conversation(
        *(b"Subject: fake\r\n\r\nhi" + fake + b"MAIL FROM:<x@y>\r\n" for fake in FAKE_ENDS)
    ),
    conversation(b"lone\rcarriage\nand\n\rreturns\r\r\n"),
    conversation(*(b"L" * n + b"\r\n" for n in range(996, 1005))),
    conversation(*(b"." + b"L" * n + b"\r\n" for n in range(996, 1004))),
    conversation(*(sized(n) for n in range(SIZE_LIMIT - 3, SIZE_LIMIT + 4))),
    # Too much data and a too-long line in one message: the first in the stream wins.
    conversation(sized(SIZE_LIMIT - 100) + b"L" * 1000 + b"\r\n"),
    conversation(sized(SIZE_LIMIT - 100) + b"L" * 1002 + b"\r\n"),
    conversation(b"L" * 1002 + b"\r\n" + sized(SIZE_LIMIT)),
    conversation(sized(SIZE_LIMIT) + b"L" * 1002 + b"\r\n"),
    conversation(sized(SIZE_LIMIT) + b"\r\n" + b"L" * 1002 + b"\r\n"),
    conversation(b"L" * 50_000 + b"\r\n", b"x" * 20_000 + b"\r\n" * 5000),
    # The end marker itself ends the message, and what follows is read as commands.
    b"EHLO c\r\n" + ENVELOPE + b"first\r\n.\r\nNOOP\r\n.\r\nDATA\r\nRSET\r\nQUIT\r\n",
    b"EHLO c\r\n" + ENVELOPE + b".\r\n\r\n" + ENVELOPE + b"x\r\n.\r\nQUIT\r\n",
    # The replies before 354.
    b"DATA\r\nEHLO c\r\nDATA\r\nMAIL FROM:<a@b>\r\nDATA\r\nHELP DATA\r\nQUIT\r\n",
    b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA now\r\nDATA\r\nok\r\n.\r\nQUIT\r\n",
]


@pytest.mark.parametrize("stream", HAND_PICKED)
def test_hand_picked_streams_match_aiosmtpd(pair: Pair, stream: bytes) -> None:
    pair.compare(stream)


def _cut_case(before: bytes, after: bytes) -> tuple[bytes, int]:
    """A whole conversation, and the offset of the boundary between `before` and `after`."""
    head = b"EHLO c\r\n" + ENVELOPE + before
    return head + after + ENVELOPE + b"next\r\n.\r\nQUIT\r\n", len(head)


CUT_CASES = [
    _cut_case(b"one\r\n.dot\r\n", b".\r\n"),
    # The end marker of a message being drained.
    _cut_case(sized(SIZE_LIMIT + 100), b".\r\n"),
    _cut_case(b"L" * 2000 + b"\r\n", b".\r\n"),
    # The CRLF of a line at the length limit that also goes over the size limit.
    *(
        _cut_case(sized(SIZE_LIMIT - 500) + b"L" * n, b"\r\nmore\r\n.\r\n")
        for n in range(1000, 1003)
    ),
]


@pytest.mark.parametrize(("stream", "boundary"), CUT_CASES)
def test_every_cut_near_a_boundary_matches_aiosmtpd(
    pair: Pair, stream: bytes, boundary: int
) -> None:
    for cut in range(boundary - 6, boundary + 6):
        replies = pair.compare(stream, [cut], pause=0.005)
        assert b"250 OK 6 bytes\r\n221 Bye\r\n" in replies


PIECES = st.one_of(
    st.sampled_from(
        [
            b"\r\n",
            b"\r",
            b"\n",
            b".",
            b"..",
            b"\r\n.",
            b"\r\n..",
            b"x",
            b"Subject: s\r\n",
            *FAKE_ENDS,
        ]
    ),
    st.integers(996, 1004).map(lambda n: b"\r\n" + b"L" * n + b"\r\n"),
    st.integers(996, 1004).map(lambda n: b"\r\n." + b"L" * n),
    st.binary(max_size=40),
)
BODIES = st.one_of(
    st.lists(PIECES, max_size=30).map(b"".join),
    st.integers(SIZE_LIMIT - 4, SIZE_LIMIT + 4).map(sized),
)
CUTS = st.lists(st.one_of(st.integers(1, 8), st.integers(9, 3000)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(bodies=st.lists(BODIES, min_size=1, max_size=3), cuts=CUTS, pause=st.sampled_from([0, 1e-3]))
@example(bodies=[b"a" + fake + b"b" for fake in FAKE_ENDS], cuts=[1] * 40, pause=1e-3)
def test_random_streams_match_aiosmtpd(
    pair: Pair, bodies: list[bytes], cuts: list[int], pause: float
) -> None:
    pair.compare(conversation(*bodies), cuts, pause)


async def _drain(stream: list[bytes], size_limit: int | None) -> tuple[bytes | str, int]:
    """Run the reader over `stream`, fed chunk by chunk; its answer and its peak memory."""
    reader = asyncio.StreamReader(limit=1001)
    reading = asyncio.ensure_future(_read_data(reader, 1001, size_limit))
    tracemalloc.start()
    try:
        for chunk in stream:
            reader.feed_data(chunk)
            await asyncio.sleep(0)
        answer = await reading
        return answer, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("line", "size_limit", "expected"),
    [
        (b"a" * 998 + b"\r\n", 1 << 20, "552 Error: Too much mail data"),
        (b"a" * 65_536, None, "500 Line too long (see RFC5321 4.5.3.1.6)"),
    ],
)
def test_refused_message_is_drained_in_bounded_memory(
    line: bytes, size_limit: int | None, expected: str
) -> None:
    chunk = line * (65_536 // len(line))
    stream = [chunk] * 160 + [b"\r\n.\r\nQUIT\r\n"]  # ~10 MB
    answer, peak = asyncio.run(_drain(stream, size_limit))
    assert answer == expected
    assert peak < 2 << 20, peak


# Through the real tempmail server.


def _messages(server: RunningServer, inbox: dict[str, Any]) -> list[bytes]:
    """The raw bytes of every message in `inbox`, oldest first."""
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()["messages"]
        return [
            client.get(f"/api/v1/messages/{item['id']}/raw").content for item in reversed(listing)
        ]


def test_dot_stuffed_lines_are_stored_byte_identical(server: RunningServer) -> None:
    inbox = create_inbox(server)
    message = (
        b"From: a@example.com\r\nSubject: dots\r\n\r\n"
        b".\r\n..\r\n.leading\r\n..two\r\n \r\n.\rbare\nlf\r\n.\r\nend\r\n"
    )
    with smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=30) as client:
        client.sendmail("a@example.com", [inbox["address"]], message)  # smtplib dot-stuffs
    assert _messages(server, inbox) == [message]


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "data", {"TEMPMAIL_SMTP_MAX_MESSAGE_SIZE_MB": "1"})
    try:
        yield running
    finally:
        running.stop()


def test_oversized_message_is_refused_and_the_session_goes_on(small_server: RunningServer) -> None:
    inbox = create_inbox(small_server)
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1100
    small = b"Subject: small\r\n\r\nhello\r\n"
    with smtplib.SMTP(small_server.smtp_host, small_server.smtp_port, timeout=30) as client:
        client.ehlo("client.example")
        client.mail("a@example.com")
        client.rcpt(inbox["address"])
        code, text = client.data(big)
        assert (code, text[:5]) == (552, b"5.3.4")
        client.mail("a@example.com")
        client.rcpt(inbox["address"])
        assert client.data(small)[0] == 250
    assert _messages(small_server, inbox) == [small]


def test_pipelined_messages_in_one_write_are_all_stored(server: RunningServer) -> None:
    inbox = create_inbox(server)
    envelope = b"MAIL FROM:<a@example.com>\r\nRCPT TO:<" + inbox["address"].encode() + b">\r\n"
    bodies = [b".first\r\nSubject: m%d\r\n\r\n.dot\r\n..two\r\n" % n for n in range(3)]
    stuffed = [(b"\r\n" + body).replace(b"\r\n.", b"\r\n..")[2:] for body in bodies]
    stream = b"EHLO c\r\n" + b"".join(envelope + b"DATA\r\n" + s + b".\r\n" for s in stuffed)
    with socket.create_connection((server.smtp_host, server.smtp_port), timeout=30) as sock:
        sock.sendall(stream + b"QUIT\r\n")
        replies = bytearray()
        while chunk := sock.recv(65536):
            replies += chunk
    codes = [line[:3] for line in bytes(replies).split(b"\r\n") if line[3:4] == b" "]
    assert codes == [b"220", b"250"] + [b"250", b"250", b"354", b"250"] * 3 + [b"221"]
    assert _messages(server, inbox) == bodies


def _unfinished_data(inbox: dict[str, Any], content: bytes) -> bytes:
    """A session up to DATA and the start of a message that never ends."""
    address = inbox["address"].encode()
    return (
        b"EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<" + address + b">\r\nDATA\r\n" + content
    )


def test_connection_lost_during_data_stores_nothing(server: RunningServer) -> None:
    inbox = create_inbox(server)
    with socket.create_connection((server.smtp_host, server.smtp_port), timeout=30) as sock:
        sock.sendall(_unfinished_data(inbox, b"Subject: cut\r\n\r\nhalf a mess"))
        received = b""
        while b"354 " not in received:
            received += sock.recv(65536)
    listener = server.runtime.listener
    assert listener is not None
    deadline = time.monotonic() + 10
    while listener.sessions and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not listener.sessions
    assert listener.counters.rejected["451"] == 0
    assert _messages(server, inbox) == []


def test_idle_timeout_during_data_closes_and_stores_nothing(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_SMTP_IDLE_TIMEOUT_SECONDS": "1"})
    try:
        inbox = create_inbox(server)
        with socket.create_connection((server.smtp_host, server.smtp_port), timeout=30) as sock:
            sock.sendall(_unfinished_data(inbox, b"Subject: slow\r\n\r\nand then silence"))
            replies = bytearray()
            while chunk := sock.recv(65536):
                replies += chunk
        assert b"\r\n354 " in replies
        assert replies.endswith(b"\r\n421 4.4.2 Idle too long, closing connection\r\n")
        assert _messages(server, inbox) == []
    finally:
        server.stop()
