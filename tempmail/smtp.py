"""SMTP ingestion: recipient policy at RCPT, delivery at DATA, and the listener's lifecycle.

aiosmtpd runs on the application's own event loop (`loop.create_server`, never `Controller`,
which starts a loop of its own). Every reply after the greeting carries an enhanced status code
(but those to HELO/EHLO, RFC 2034), and no reply ever contains exception text: storage trouble
is a temporary `451 4.3.0`. DATA is read in chunks rather than aiosmtpd's line at a time, with
the same replies and the same content, and all sessions' unfinished DATA shares one budget.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import ssl
import sys
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiosmtpd.proxy_protocol import AF, V2_CMD, ProxyData, get_proxy
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, syntax

from tempmail.clients import peer_key
from tempmail.clock import now_ms
from tempmail.databudget import DataBudget
from tempmail.delivery import Deliverer, Outcome
from tempmail.errors import ConfigError, StorageError
from tempmail.metrics import Metrics
from tempmail.pacing import IngestPacer
from tempmail.settings import Settings
from tempmail.storage import Inbox, Store

log = logging.getLogger(__name__)

TEMPORARY_FAILURE = "451 4.3.0 Temporary local problem, please try again later"
STORAGE_FULL = "452 4.3.1 Insufficient system storage, please try again later"
DATA_BUDGET_EXCEEDED = "452 4.3.1 Too much mail in progress, please try again later"
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections, please try again later"
SHUTTING_DOWN = b"421 4.3.2 Service shutting down, please try again later\r\n"
IDLE_TIMEOUT = b"421 4.4.2 Idle too long, closing connection\r\n"
UNTRUSTED_PEER = "421 4.7.0 Connections to this port must come through the load balancer"
BAD_PROXY_HEADER = "421 4.7.0 Expected a valid PROXY protocol header"
PROXY_TIMEOUT = b"421 4.4.2 No PROXY protocol header in time, closing connection\r\n"

_PLAIN_ADDRESS = re.compile(
    r"<([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64})@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*)>(.*)\Z",
    re.DOTALL,
)

# aiosmtpd's stock replies carry no enhanced status codes (RFC 2034, RFC 3463); give them ours.
_STOCK_REPLIES = {
    "250 OK": "250 2.0.0 OK",
    "221 Bye": "221 2.0.0 Bye",
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
    "454 TLS not available": "454 4.7.0 TLS not available",
    "502 EXPN not implemented": "502 5.5.1 EXPN not implemented",
    "252 Cannot VRFY user, but will accept message and attempt delivery": (
        "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery"
    ),
    "552 Error: message size exceeds fixed maximum message size": (
        "552 5.3.4 Message size exceeds fixed maximum message size"
    ),
    "552 Error: Too much mail data": "552 5.3.4 Message size exceeds fixed maximum message size",
    "500 Line too long (see RFC5321 4.5.3.1.6)": "500 5.5.2 Line too long (RFC 5321 4.5.3.1.6)",
    "503 Error: need RCPT command": "503 5.5.1 Need RCPT command",
    "503 Error: need MAIL command": "503 5.5.1 Need MAIL command",
    "503 Error: nested MAIL command": "503 5.5.1 Nested MAIL command",
}

# The enhanced code for a reply that has none, by reply code (then by its first digit).
_DEFAULT_DETAIL = {
    "500": "5.5.2",
    "501": "5.5.4",
    "502": "5.5.1",
    "503": "5.5.1",
    "504": "5.5.4",
    "530": "5.7.0",
    "554": "5.7.0",
    "555": "5.5.4",
}
_CLASS_DETAIL = {"2": "2.0.0", "4": "4.0.0", "5": "5.0.0"}
_UNKNOWN_COMMAND = re.compile(r'500 Error: command ".*" not recognized\Z', re.DOTALL)
_HAS_DETAIL = re.compile(r"\d{3}[ -][245]\.\d{1,3}\.\d{1,3}(?: |\Z)")

_END_OF_DATA = b"\r\n.\r\n"
_LINE_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
_TOO_MUCH_DATA = "552 Error: Too much mail data"


def with_enhanced_code(reply: str) -> str:
    """`reply` with an RFC 3463 enhanced status code after the reply code, if it lacks one.

    Intermediate (3xx) replies carry none; the greeting and the replies to HELO and EHLO are
    exempt by RFC 2034 and never passed here. aiosmtpd quotes an unknown command back to the
    client, control characters and all; the reply names none.
    """
    if _UNKNOWN_COMMAND.match(reply):
        return "500 5.5.2 Error: command not recognized"
    reply = _STOCK_REPLIES.get(reply, reply)
    code = reply[:3]
    if not code.isdigit() or code[0] not in _CLASS_DETAIL or _HAS_DETAIL.match(reply):
        return reply
    detail = _DEFAULT_DETAIL.get(code) or _CLASS_DETAIL[code[0]]
    return f"{reply[:4]}{detail} {reply[4:]}".rstrip()


def _first_data_error(
    lines: bytearray, size_before: int, size_limit: int | None, line_limit: int
) -> str | None:
    """aiosmtpd's refusal, if any, for the CRLF-ended `lines` that follow `size_before` bytes.

    aiosmtpd keeps the first of "line too long" and "too much data" in stream order. Its
    StreamReader (limit=line_limit) refuses a line of more than line_limit bytes before its
    CRLF without counting it; a line of line_limit + 1 or + 2 bytes with its CRLF is read and
    counted first, and only then found too long.
    """
    texts = lines.split(b"\r\n")
    if max(map(len, texts)) + 2 <= line_limit and not (
        size_limit and size_before + len(lines) > size_limit
    ):
        return None
    size = size_before
    for text in texts[:-1]:
        if len(text) > line_limit:
            return _LINE_TOO_LONG
        size += len(text) + 2
        if size_limit and size > size_limit:
            return _TOO_MUCH_DATA
        if len(text) + 2 > line_limit:
            return _LINE_TOO_LONG
    return None


async def _read_data(
    reader: asyncio.StreamReader,
    line_limit: int,
    size_limit: int | None,
    reserve: Callable[[int], bool] | None = None,
) -> bytes | str:
    """The DATA content up to CRLF.CRLF, or aiosmtpd's refusal once the end has been read.

    aiosmtpd reads DATA a line at a time in Python; this takes whatever is buffered and
    searches it with bytes methods, for the same result. Only CRLF.CRLF ends the data: a bare
    CR or LF around the dot cannot end one message and smuggle in another.
    """
    # The data begins at a line start: a virtual CRLF in front lets the one search find an
    # end marker on the first line (an empty message) and dot-unstuff the first line.
    buffer = bytearray(b"\r\n")
    try:
        return await _read_into(reader, buffer, line_limit, size_limit, reserve)
    finally:
        # A lost connection cancels the read: the traceback that the cancelled task keeps
        # holds this frame, and with it the buffer, until a full garbage collection.
        buffer.clear()


async def _read_into(
    reader: asyncio.StreamReader,
    buffer: bytearray,
    line_limit: int,
    size_limit: int | None,
    reserve: Callable[[int], bool] | None,
) -> bytes | str:
    checked = 2  # the bytes before this offset are whole lines within both limits
    searched = 0
    error: str | None = None
    while (end := buffer.find(_END_OF_DATA, searched)) < 0:
        if error is None:
            complete = buffer.rfind(b"\r\n", checked) + 2
            if complete > checked:
                error = _first_data_error(
                    buffer[checked:complete], checked - 2, size_limit, line_limit
                )
                checked = complete
            if error is None and len(buffer) - checked > line_limit + 1:
                # No CRLF can end this line within line_limit bytes of text: aiosmtpd's
                # reader refuses it before counting it, so it beats a size overrun in it.
                error = _LINE_TOO_LONG
        if error is not None:
            # Draining a refused message: keep only what could begin the end marker.
            del buffer[:-4]
        searched = max(len(buffer) - 4, 0)
        # Everything buffered, so the reader is empty until the next await.
        chunk = await reader.read(sys.maxsize)
        if not chunk:  # eof_received cancels this task first; aiosmtpd would raise this too
            raise asyncio.IncompleteReadError(b"", None)
        if error is None and reserve is not None and not reserve(len(chunk)):
            # Out of the shared DATA budget: from here on drain like any refused message.
            error = DATA_BUDGET_EXCEEDED
        buffer += chunk
    pipelined = buffer[end + len(_END_OF_DATA) :]
    # Commands sent after the data go back to the reader, ahead of anything still to come.
    # After EOF the reader takes no more, but eof_received has then cancelled this task.
    if pipelined and not reader.at_eof():
        reader.feed_data(pipelined)
    if error is None:
        error = _first_data_error(buffer[checked : end + 2], checked - 2, size_limit, line_limit)
    if error is not None:
        return error
    del buffer[end + 2 :]
    # RFC 5321 4.5.2: a line beginning with a dot loses that dot.
    content = buffer.replace(b"\r\n.", b"\r\n")
    buffer.clear()  # at most two copies of the message exist at once
    del content[:2]
    return bytes(content)


class Counters:
    """What the SMTP side has done since start: messages accepted, replies refused by code."""

    def __init__(self, metrics: Metrics) -> None:
        self.sessions = 0
        self.accepted = 0
        self.rejected: Counter[str] = Counter()
        self.metrics = metrics

    def record(self, reply: str) -> None:
        code = reply[:3]
        if reply.startswith("250 2.0.0"):
            self.accepted += 1
        elif code[:1] in ("4", "5"):
            self.rejected[code] += 1
        self.metrics.record_reply(reply)


def _peer_host(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


class _Session(SMTP):
    """aiosmtpd's protocol with enhanced status codes, connection caps and shutdown tracking."""

    def __init__(self, handler: Handler, listener: Listener, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        # AUTH is never offered (see `handle_EHLO`): not a command HELP lists or one answered
        # as if it were (it gets `500 5.5.2 command not recognized`).
        self._smtp_methods.pop("AUTH", None)
        self._listener = listener
        self._refused = False
        self._host = "unknown"
        self._client = "unknown"
        # The greeting and the replies to HELO/EHLO go out without enhanced codes (RFC 2034).
        self._greeted = False
        self._in_helo = False
        self._reserved = 0
        # Whether this session counts toward its client's per-IP cap (behind a proxy, only once
        # the header has named the real client).
        self.counted = False
        self._awaiting_proxy = False

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            if self._greeted and not (self._in_helo and status[:1] == "2"):
                status = with_enhanced_code(status)
            self._listener.counters.record(status)
            if status[:1] in ("4", "5"):
                log.info(
                    "%s: refused with %s",
                    self._host,
                    status[:9],
                    extra={"peer": self._host, "code": status[:3]},
                )
        await super().push(status)
        self._greeted = True

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        self._in_helo = True
        try:
            await super().smtp_HELO(hostname)
        finally:
            self._in_helo = False

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        self._in_helo = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._in_helo = False

    def _reserve(self, size: int) -> bool:
        """Take `size` bytes of DATA from the listener's shared budget for this session."""
        if not self._listener.budget.take(size):
            return False
        self._reserved += size
        return True

    def _release(self) -> None:
        self._listener.budget.give(self._reserved)
        self._reserved = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._host = _peer_host(transport)
        self._client = peer_key(self._host)
        refusal = self._listener.admit(self._host, self._client)
        if refusal is not None:
            # Refused before the session starts, so aiosmtpd never sees this connection.
            self._refused = True
            self._listener.counters.record(refusal)
            transport.write((refusal + "\r\n").encode())  # type: ignore[attr-defined]
            transport.close()
            return
        self._listener.register(self)
        super().connection_made(transport)

    async def _handle_client(self) -> None:
        # aiosmtpd's own PROXY handling (proxy_protocol_timeout=) closes the connection without
        # a word on a bad header; reading the header here lets every refusal say why.
        if self._listener.proxy_protocol and not await self._read_proxy_header():
            return
        await super()._handle_client()

    async def _read_proxy_header(self) -> bool:
        """Read the PROXY header and take the client address from it; False if refused."""
        assert self.session is not None
        self._awaiting_proxy = True
        self._reset_timeout(self._listener.proxy_timeout)
        try:
            header = await get_proxy(self._reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return False  # closed before a whole header: nobody to answer
        finally:
            self._awaiting_proxy = False
        client = _proxied_client(header)
        if not header.valid or client is None:
            log.warning(
                "%s: refused, bad PROXY header (%s)",
                self._host,
                header.error or "unsupported address",
                extra={"peer": self._host},
            )
            await self._refuse(BAD_PROXY_HEADER)
            return False
        self.session.proxy_data = header
        host, port = client if client[0] else (self._host, None)
        refusal = self._listener.rehome(self, host)
        if refusal is not None:
            await self._refuse(refusal)
            return False
        if port is not None:
            # aiosmtpd annotates peer as str, but it holds the socket's (host, port).
            self.session.peer = (host, port)  # type: ignore[assignment]
        self._reset_timeout()
        return True

    async def _refuse(self, reply: str) -> None:
        await self.push(reply)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        self._listener.unregister(self)
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        if self._refused:
            return False
        if self._awaiting_proxy:
            # The peer left inside the PROXY header: nobody is there to answer; close.
            super().eof_received()
            return False
        return super().eof_received()

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def _timeout_cb(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            reply = PROXY_TIMEOUT if self._awaiting_proxy else IDLE_TIMEOUT
            self._listener.counters.record(reply.decode())
            if self._awaiting_proxy:
                log.warning("%s: refused, no PROXY header in time", self._host)
            self.transport.write(reply)  # type: ignore[attr-defined]
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    def rehome(self, host: str) -> None:
        """Take `host` (the client a PROXY header named) as this session's peer."""
        self._host = host
        self._client = peer_key(host)

    @property
    def host(self) -> str:
        return self._host

    @property
    def client(self) -> str:
        """The key the per-IP cap counts under: the address, or its /64 for IPv6."""
        return self._client

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:
        """aiosmtpd 1.4.6's DATA with a chunked reader: the same replies and content.

        aiosmtpd's line-by-line loop cost ~30% of the server's CPU on 20 KB messages;
        tests/test_smtp_data.py holds this one to aiosmtpd's byte for byte.
        """
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        # Listener never asks aiosmtpd to decode the content, so there is no decoding step.
        assert not self._decode_data
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            # A lost connection cancels this task while it waits, and nothing is delivered.
            content = await _read_data(
                self._reader, self.line_length_limit, self.data_size_limit, self._reserve
            )
            if isinstance(content, str):
                await self.push(content)
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                return
            self.envelope.content = self.envelope.original_content = content
            del content
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
        finally:
            # The message stays charged to the budget until it is stored or refused.
            self._release()
        await self.push("250 OK" if status is MISSING else status)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The path of MAIL FROM / RCPT TO and what follows it; (None, None) for a malformed
        one, which aiosmtpd answers `553 5.1.3`."""
        # aiosmtpd runs the full RFC 5322 header parser on every address; the common plain
        # `<local@domain>` is read here for the same result at a fraction of the cost.
        match = _PLAIN_ADDRESS.match(arg)
        if match is not None and not self.local_part_limit:
            local = match.group(1)
            if ".." not in local and not local.startswith(".") and not local.endswith("."):
                return f"{local}@{match.group(2)}", match.group(3).lstrip(" \t")
        if arg.lstrip(" \t").startswith("<") and ">" not in arg:
            return None, None  # `<broken`: the header parser would read it as an address
        try:
            address, rest = super()._getaddr(arg)
        except (IndexError, ValueError, TypeError, AttributeError):
            # The stdlib's header parser fails on some truncated paths (`broken@` raised
            # IndexError, which aiosmtpd turned into a 451 for a plain syntax error).
            return None, None
        if address and "@" not in address and address.lower() not in ("<>", "postmaster"):
            return None, None  # RFC 5321: a path is a mailbox (or `<>`, or `<postmaster>`)
        return address, rest


def _proxied_client(header: ProxyData) -> tuple[str, int | None] | None:
    """The client a valid PROXY header names: (address, port), ("", None) for the proxy's own
    connection (v2 LOCAL, v1 UNKNOWN, a Unix socket), or None for what cannot be used."""
    if header.command == V2_CMD.LOCAL or header.family in (AF.UNSPEC, AF.UNIX):
        return "", None
    address = header.src_addr
    if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address), header.src_port


def split_address(address: str) -> tuple[str, str] | None:
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return None
    return local, domain.lower()


def mailbox_of(address: str) -> str:
    """The inbox address for a recipient: `name+tag@domain` is delivered to `name@domain`."""
    local, _, domain = address.rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


class Handler:
    """The aiosmtpd handler: which recipients we accept, and what DATA does with the message."""

    def __init__(
        self,
        store: Store,
        deliverer: Deliverer,
        settings: Settings,
        metrics: Metrics,
        pacer: IngestPacer | None = None,
    ) -> None:
        self._metrics = metrics
        self._pacer = pacer or IngestPacer()
        self._store = store
        self._deliverer = deliverer
        self._settings = settings
        self._domains = frozenset(settings.domains)
        # Inboxes accepted at RCPT, per transaction, so DATA need not look them up again.
        self._accepted: weakref.WeakKeyDictionary[Envelope, dict[str, Inbox]] = (
            weakref.WeakKeyDictionary()
        )
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def handle_EHLO(  # aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        """aiosmtpd's EHLO lines plus the extensions it handles but does not advertise.

        PIPELINING: commands are read from one buffered stream, so a client may send a batch
        (and DATA's reader hands back whatever follows the final dot). AUTH is never offered:
        nobody logs in to a receive-only server.
        """
        session.host_name = hostname
        greeting, *extensions = responses
        keywords = [line[4:] for line in extensions if not line[4:].upper().startswith("AUTH")]
        keywords[-1:-1] = ["PIPELINING", "ENHANCEDSTATUSCODES"]
        return [greeting, *(f"250-{keyword}" for keyword in keywords[:-1]), f"250 {keywords[-1]}"]

    async def handle_MAIL(  # aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(  # aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self._settings.smtp.max_recipients:
            return "452 4.5.3 Too many recipients"
        parts = split_address(address)
        if parts is None:
            return "553 5.1.3 Recipient address is not a valid mailbox"
        local, domain = parts
        if domain not in self._domains:
            log.info("%s: refused relay to domain %r", session.peer, domain[:100])
            return "550 5.7.1 Relaying denied: we do not serve this domain"
        if not local.isascii():
            return "550 5.1.1 No such mailbox"
        recipient = f"{local.lower()}@{domain}"
        try:
            found = await self._store.mailbox(mailbox_of(recipient))
        except StorageError:
            return TEMPORARY_FAILURE
        if found is None or found[0].expires_at <= now_ms():
            return "550 5.1.1 No such mailbox"
        inbox, count = found
        if count >= self._settings.inbox.max_messages:
            # A count kept in memory may lag a deletion made through another node.
            try:
                count = await self._store.message_count(inbox.id)
            except StorageError:
                return TEMPORARY_FAILURE
            if count >= self._settings.inbox.max_messages:
                return "452 4.2.2 Mailbox full"
        self._accepted.setdefault(envelope, {})[inbox.address] = inbox
        if recipient not in envelope.rcpt_tos:
            envelope.rcpt_tos.append(recipient)
            envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        self.in_flight += 1
        self.idle.clear()
        try:
            by_mailbox: dict[str, list[str]] = {}
            for address in envelope.rcpt_tos:
                by_mailbox.setdefault(mailbox_of(address), []).append(address)
            # Inboxes were looked up at RCPT; the commit checks again that each is still live.
            accepted = self._accepted.pop(envelope, {})
            recipients = [
                (accepted[mailbox], addresses)
                for mailbox, addresses in by_mailbox.items()
                if mailbox in accepted
            ]
            if not recipients:
                return "550 5.1.1 No such mailbox (it expired or was deleted)"
            async with self._pacer.delivery():
                outcomes = await self._deliverer.deliver(raw, recipients)
        except StorageError as error:
            self._metrics.delivery_failures.inc()
            reply = STORAGE_FULL if error.disk_full else TEMPORARY_FAILURE
            log.warning(
                "%s: delivery failed on storage; answered %s",
                session.peer,
                reply[:3],
                extra={"peer": str(session.peer), "code": reply[:3]},
            )
            return reply
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self.idle.set()
        stored = sum(1 for outcome in outcomes.values() if outcome is Outcome.STORED)
        if stored:
            return f"250 2.0.0 Message accepted for {stored} mailbox(es)"
        if Outcome.FULL in outcomes.values():
            return "452 4.2.2 Mailbox full"
        return "550 5.1.1 No such mailbox (it expired or was deleted)"

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session failed: %s", type(error).__name__, exc_info=error)
        return TEMPORARY_FAILURE


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The STARTTLS context from `smtp.tls_cert` / `smtp.tls_key`, or None when unset."""
    if not settings.smtp.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.smtp.tls_cert, settings.smtp.tls_key)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"cannot load smtp.tls_cert / smtp.tls_key: {error}") from None
    return context


class Listener:
    """The SMTP server on the running loop: start, report its address, stop gracefully."""

    def __init__(self, handler: Handler, settings: Settings, metrics: Metrics) -> None:
        self._handler = handler
        self._settings = settings
        self._server: asyncio.Server | None = None
        self.sessions: set[_Session] = set()
        # Connections per client: an IPv4 address or an IPv6 /64, as for the HTTP rate limits.
        self.per_host: Counter[str] = Counter()
        self.budget = DataBudget(settings.smtp.data_memory_mb * 1024 * 1024)
        self.counters = Counters(metrics)
        self._tls = tls_context(settings)
        self.proxy_protocol = settings.smtp.proxy_protocol
        self.proxy_timeout = settings.smtp.proxy_timeout_seconds
        self._proxies = tuple(
            ipaddress.ip_network(proxy, strict=False) for proxy in settings.smtp.trusted_proxies
        )

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._proxies)

    def admit(self, host: str, client: str) -> str | None:
        """The refusal for a new connection from `host` (`client` is its `peer_key`), or None
        if it fits the caps.

        Behind a proxy the per-IP cap waits for the PROXY header (`rehome`), and only the
        trusted proxies may connect at all.
        """
        limits = self._settings.smtp
        if self.proxy_protocol and not self._trusted(host):
            log.warning("%s: refused, not a trusted proxy (smtp.trusted_proxies)", host)
            return UNTRUSTED_PEER
        if len(self.sessions) >= limits.max_connections:
            log.warning("%s: refused, %d SMTP connections open", host, len(self.sessions))
            return TOO_MANY_CONNECTIONS
        if not self.proxy_protocol and not self._fits(client):
            return TOO_MANY_CONNECTIONS
        return None

    def _fits(self, client: str) -> bool:
        if self.per_host[client] >= self._settings.smtp.max_connections_per_ip:
            log.warning(
                "%s: refused, %d SMTP connections from this address",
                client,
                self.per_host[client],
            )
            return False
        return True

    def rehome(self, session: _Session, host: str) -> str | None:
        """Count a proxied session under the client its PROXY header named, or refuse it."""
        session.rehome(host)
        if not self._fits(session.client):
            return TOO_MANY_CONNECTIONS
        self.per_host[session.client] += 1
        session.counted = True
        return None

    def register(self, session: _Session) -> None:
        self.sessions.add(session)
        if not self.proxy_protocol:
            self.per_host[session.client] += 1
            session.counted = True
        self.counters.sessions += 1
        self.counters.metrics.smtp_sessions.inc()

    def unregister(self, session: _Session) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            if session.counted:
                self.per_host[session.client] -= 1
                if self.per_host[session.client] <= 0:
                    del self.per_host[session.client]

    def _session(self) -> _Session:
        limits = self._settings.smtp
        return _Session(
            self._handler,
            self,
            hostname=limits.hostname,
            ident=limits.banner,
            data_size_limit=self._settings.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=limits.idle_timeout_seconds,
            command_call_limit=limits.max_commands_per_session,
            tls_context=self._tls,
            require_starttls=False,
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._session, host=self._settings.smtp.host, port=self._settings.smtp.port
        )
        log.info("SMTP listening on %s", ", ".join(f"{h}:{p}" for h, p in self.addresses))

    @property
    def addresses(self) -> list[tuple[str, int]]:
        if self._server is None:
            return []
        return [sock.getsockname()[:2] for sock in self._server.sockets]

    @property
    def serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop accepting, let deliveries in progress finish, then close every session."""
        if self._server is None:
            return
        self._server.close()
        try:
            await asyncio.wait_for(self._handler.idle.wait(), grace_seconds)
        except TimeoutError:
            log.warning("SMTP deliveries still running after %.0f s; closing anyway", grace_seconds)
        for session in list(self.sessions):
            transport = session.transport
            if transport is not None and not transport.is_closing():
                transport.write(SHUTTING_DOWN)  # type: ignore[attr-defined]
                transport.close()
        await self._server.wait_closed()
        self._server = None
        log.info("SMTP listener stopped")
