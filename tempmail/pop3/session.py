"""One POP3 session: the AUTHORIZATION and TRANSACTION states of RFC 1939 and its replies.

The user name is the inbox address and the password the inbox token, which unwraps the inbox
key for this session only (as a bearer token does for one HTTP request). Deletions are applied
when the client QUITs (the UPDATE state); a session that drops or times out deletes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ipaddress
import logging
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

from tempmail.databudget import DataBudget
from tempmail.errors import NotFound, StorageError, TempmailError
from tempmail.inboxes import Access, Inboxes
from tempmail.pop3.connection import Connection, LineTooLong
from tempmail.pop3.maildrop import Entry, Maildrop, multiline, top
from tempmail.ratelimit import RateLimiter, retry_after
from tempmail.settings import POP3Settings

log = logging.getLogger(__name__)

# RFC 2449 allows 255 octets per command; SASL responses are longer (an address of up to 318
# characters and a token, base64-encoded), so lines may reach this.
MAX_LINE = 1024
MAX_ARGUMENT = 40
NUMBER = re.compile(r"[0-9]{1,9}")
AUTH_BUCKET = "auth"
VERBS = frozenset(
    {
        "USER", "PASS", "AUTH", "CAPA", "STLS", "QUIT", "NOOP", "STAT", "LIST", "RETR",
        "DELE", "RSET", "TOP", "UIDL", "APOP",
    }
)  # fmt: skip

GREETING = b"+OK tempmail POP3 server ready\r\n"
PLAINTEXT_REFUSED = (
    b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n"
)
AUTH_FAILED = b"-ERR [AUTH] Authentication failed.\r\n"
UNKNOWN = b"-ERR Unknown command.\r\n"
WRONG_STATE = b"-ERR Command not valid in this state.\r\n"
TEMPORARY = b"-ERR [SYS/TEMP] Temporary failure; try again later.\r\n"
BUSY = b"-ERR [SYS/TEMP] Too many messages are being sent right now; try again later.\r\n"


class _Busy(Exception):
    """The shared reply budget cannot hold a message now."""


class Locks:
    """Inboxes with a session in the TRANSACTION state: RFC 1939 locks the maildrop."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    def acquire(self, inbox_id: str) -> bool:
        if inbox_id in self._held:
            return False
        self._held.add(inbox_id)
        return True

    def release(self, inbox_id: str) -> None:
        self._held.discard(inbox_id)


def _loopback(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.is_loopback


def _number(argument: str) -> int | None:
    return int(argument) if NUMBER.fullmatch(argument) else None


class Session:
    """Runs one connection from greeting to QUIT, timeout or disconnect."""

    def __init__(
        self,
        connection: Connection,
        inboxes: Inboxes,
        limiter: RateLimiter,
        client: str,
        settings: POP3Settings,
        tls: ssl.SSLContext | None,
        locks: Locks,
        replies: DataBudget,
    ) -> None:
        self._connection = connection
        self._inboxes = inboxes
        self._limiter = limiter
        self._client = client
        self._settings = settings
        self._tls = tls
        self._locks = locks
        self._replies = replies
        self._user: str | None = None
        self._access: Access | None = None
        self._maildrop: Maildrop | None = None
        self._commands = 0
        self._running = True

    @property
    def inbox_id(self) -> str:
        return self._access.inbox.id if self._access else "-"

    async def _reply(self, data: bytes) -> None:
        await self._connection.write(data)

    async def _line(self) -> str | None:
        """The next line, decoded; None when the session should end."""
        try:
            raw = await self._connection.readline()
        except LineTooLong:
            await self._reply(b"-ERR Line too long.\r\n")
            return None
        if raw is None:
            return None
        return raw.rstrip(b"\r\n").decode("utf-8", "replace")

    async def run(self) -> None:
        await self._reply(GREETING)
        try:
            while self._running and not self._connection.closed:
                try:
                    line = await asyncio.wait_for(self._line(), self._settings.idle_timeout_seconds)
                except TimeoutError:
                    log.info("pop3 inbox %s: autologout after idling", self.inbox_id)
                    await self._reply(b"-ERR [SYS/TEMP] Autologout; idle for too long.\r\n")
                    break
                if line is None:
                    break
                self._commands += 1
                if self._commands > self._settings.max_commands_per_session:
                    await self._reply(b"-ERR [SYS/PERM] Too many commands in this session.\r\n")
                    break
                # A command's own reads (an AUTH continuation) and writes (a client that stops
                # reading a RETR) get the same time as an idle client, not for ever.
                try:
                    # In this task (no wait_for task), so the session ends as soon as before.
                    async with asyncio.timeout(self._settings.idle_timeout_seconds):
                        await self._command(line)
                except TimeoutError:
                    log.info("pop3 inbox %s: autologout, a command did not finish", self.inbox_id)
                    break
        finally:
            if self._access is not None:
                self._locks.release(self._access.inbox.id)
            self._connection.close()

    async def _command(self, line: str) -> None:
        verb, _, argument = line.partition(" ")
        verb = verb.upper()
        log.debug("pop3 inbox %s: %s", self.inbox_id, verb if verb in VERBS else "?")
        handlers = self._transaction if self._access is not None else self._authorization
        handler = handlers().get(verb)
        if handler is None:
            await self._reply(WRONG_STATE if verb in VERBS else UNKNOWN)
            return
        try:
            await handler(argument)
        except (StorageError, TempmailError):
            await self._reply(TEMPORARY)

    def _authorization(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {
            "CAPA": self._capa,
            "USER": self._user_command,
            "PASS": self._pass,
            "AUTH": self._auth,
            "STLS": self._stls,
            "QUIT": self._quit,
            "NOOP": self._noop_refused,
        }

    def _transaction(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {
            "CAPA": self._capa,
            "STAT": self._stat,
            "LIST": self._list,
            "UIDL": self._uidl,
            "RETR": self._retr,
            "TOP": self._top,
            "DELE": self._dele,
            "RSET": self._rset,
            "NOOP": self._noop,
            "QUIT": self._quit,
        }

    @property
    def _login_allowed(self) -> bool:
        policy = self._settings.plaintext_login
        if self._connection.tls or policy == "always":
            return True
        return policy == "loopback" and _loopback(self._connection.peer)

    async def _capa(self, argument: str) -> None:
        lines = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self._access is None:
            if self._login_allowed:
                lines += ["USER", "SASL PLAIN"]
            if self._tls is not None and not self._connection.tls:
                lines.append("STLS")
        lines += ["EXPIRE NEVER", "IMPLEMENTATION tempmail"]
        body = "".join(f"{item}\r\n" for item in lines)
        await self._reply(b"+OK Capability list follows.\r\n" + body.encode() + b".\r\n")

    async def _noop_refused(self, argument: str) -> None:
        await self._reply(WRONG_STATE)

    async def _stls(self, argument: str) -> None:
        if self._connection.tls:
            await self._reply(b"-ERR Command not permitted when TLS active.\r\n")
            return
        if self._tls is None:
            await self._reply(b"-ERR STLS not available.\r\n")
            return
        await self._reply(b"+OK Begin TLS negotiation.\r\n")
        self._user = None
        try:
            await self._connection.start_tls(self._tls)
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError):
            self._running = False

    async def _user_command(self, argument: str) -> None:
        if not self._login_allowed:
            await self._reply(PLAINTEXT_REFUSED)
            return
        name = argument.strip()
        if not name or len(name) > 320:
            await self._reply(b"-ERR [AUTH] USER needs an address.\r\n")
            return
        self._user = name
        await self._reply(b"+OK Send the inbox token with PASS.\r\n")

    async def _pass(self, argument: str) -> None:
        if not self._login_allowed:
            await self._reply(PLAINTEXT_REFUSED)
            return
        user, self._user = self._user, None
        if user is None:
            await self._reply(b"-ERR Send USER first.\r\n")
            return
        await self._login(user, argument)

    async def _auth(self, argument: str) -> None:
        mechanism, _, initial = argument.strip().partition(" ")
        if not mechanism:
            await self._reply(b"+OK\r\nPLAIN\r\n.\r\n")
            return
        if mechanism.upper() != "PLAIN":
            await self._reply(b"-ERR Unsupported authentication mechanism.\r\n")
            return
        if not self._login_allowed:
            await self._reply(PLAINTEXT_REFUSED)
            return
        response: str | None = initial.strip()
        if not response:
            await self._reply(b"+ \r\n")
            response = await self._line()
            if response is None:
                self._running = False
                return
        if response == "*":
            await self._reply(b"-ERR Authentication cancelled.\r\n")
            return
        if response == "=":
            response = ""
        try:
            decoded = base64.b64decode(response.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            await self._reply(b"-ERR Invalid base64 in the SASL response.\r\n")
            return
        parts = decoded.split("\x00")
        if len(parts) != 3 or (parts[0] and parts[0] != parts[1]):
            await self._reply(AUTH_FAILED)
            self._charge()
            return
        await self._login(parts[1], parts[2])

    def _charge(self) -> None:
        self._limiter.charge(self._client, AUTH_BUCKET)

    async def _login(self, user: str, token: str) -> None:
        wait = self._limiter.peek(self._client, AUTH_BUCKET)
        if wait:
            text = (
                f"-ERR [SYS/TEMP] Too many failed logins; try again in {retry_after(wait)} s.\r\n"
            )
            await self._reply(text.encode())
            return
        try:
            access = await self._inboxes.authenticate(token.strip() or None)
        except TempmailError:
            access = None
        if access is None or access.inbox.address != user.strip().lower():
            self._charge()
            log.info("pop3: login failed")
            await self._reply(AUTH_FAILED)
            return
        if not self._locks.acquire(access.inbox.id):
            await self._reply(b"-ERR [IN-USE] Another POP3 session holds this inbox.\r\n")
            return
        try:
            rows = await self._inboxes.list_messages(access)
        except BaseException:
            self._locks.release(access.inbox.id)
            raise
        self._access = access
        # Listed newest first; a maildrop is numbered in arrival order.
        self._maildrop = Maildrop([Entry(row.id, row.size) for row, _ in reversed(rows)])
        count, size = self._maildrop.stat()
        log.info("pop3 inbox %s: logged in", access.inbox.id)
        await self._reply(f"+OK Inbox has {count} messages ({size} octets).\r\n".encode())

    @property
    def _drop(self) -> Maildrop:
        assert self._maildrop is not None
        return self._maildrop

    def _pick(self, argument: str) -> tuple[int, Entry] | bytes:
        number = _number(argument.strip())
        if number is None:
            return b"-ERR Invalid message number.\r\n"
        entry = self._drop.get(number)
        if entry is None:
            if self._drop.exists(number) and self._drop.deleted(number):
                return f"-ERR Message {number} already deleted.\r\n".encode()
            return f"-ERR No such message, only {self._drop.total} in maildrop.\r\n".encode()
        return number, entry

    async def _stat(self, argument: str) -> None:
        count, size = self._drop.stat()
        await self._reply(f"+OK {count} {size}\r\n".encode())

    async def _listing(self, argument: str, value: Callable[[Entry], str]) -> None:
        if argument.strip():
            picked = self._pick(argument)
            if isinstance(picked, bytes):
                await self._reply(picked)
                return
            number, entry = picked
            await self._reply(f"+OK {number} {value(entry)}\r\n".encode())
            return
        count, size = self._drop.stat()
        lines = "".join(f"{number} {value(entry)}\r\n" for number, entry in self._drop.live())
        head = f"+OK {count} messages ({size} octets)\r\n"
        await self._reply((head + lines + ".\r\n").encode())

    async def _list(self, argument: str) -> None:
        await self._listing(argument, lambda entry: str(entry.size))

    async def _uidl(self, argument: str) -> None:
        await self._listing(argument, lambda entry: entry.message_id)

    async def _raw(self, entry: Entry) -> bytes | None:
        assert self._access is not None
        try:
            row = await self._inboxes.get_row(self._access, entry.message_id)
        except NotFound:
            return None
        return (await self._inboxes.open_content(self._access, row)).raw

    @contextlib.asynccontextmanager
    async def _opened(self, entry: Entry) -> AsyncIterator[bytes | None]:
        """The raw message of `entry` while it is being sent, charged to the budget all sessions
        share: it stays in memory (opened and dot-stuffed) until a slow client has read it.

        Raises `_Busy` when the budget cannot hold it now. One message larger than the whole
        budget is charged as the whole budget, so it is sent when nothing else is.
        """
        charge = min(2 * entry.size + 1024, self._replies.limit)
        if not self._replies.take(charge):
            raise _Busy
        try:
            yield await self._raw(entry)
        finally:
            self._replies.give(charge)

    async def _retr(self, argument: str) -> None:
        picked = self._pick(argument)
        if isinstance(picked, bytes):
            await self._reply(picked)
            return
        try:
            async with self._opened(picked[1]) as raw:
                if raw is None:
                    await self._reply(b"-ERR Message was deleted by another client.\r\n")
                    return
                await self._reply(f"+OK {len(raw)} octets\r\n".encode())
                await self._reply(multiline(raw))
        except _Busy:
            await self._reply(BUSY)

    async def _top(self, argument: str) -> None:
        which, _, count = argument.strip().partition(" ")
        lines = _number(count.strip())
        if lines is None:
            await self._reply(b"-ERR TOP needs a message number and a line count.\r\n")
            return
        picked = self._pick(which)
        if isinstance(picked, bytes):
            await self._reply(picked)
            return
        try:
            async with self._opened(picked[1]) as raw:
                if raw is None:
                    await self._reply(b"-ERR Message was deleted by another client.\r\n")
                    return
                await self._reply(b"+OK Top of message follows.\r\n")
                await self._reply(multiline(top(raw, lines)))
        except _Busy:
            await self._reply(BUSY)

    async def _dele(self, argument: str) -> None:
        picked = self._pick(argument)
        if isinstance(picked, bytes):
            await self._reply(picked)
            return
        self._drop.delete(picked[0])
        await self._reply(f"+OK Message {picked[0]} deleted.\r\n".encode())

    async def _rset(self, argument: str) -> None:
        self._drop.reset()
        count, size = self._drop.stat()
        await self._reply(f"+OK Inbox has {count} messages ({size} octets).\r\n".encode())

    async def _noop(self, argument: str) -> None:
        await self._reply(b"+OK\r\n")

    async def _quit(self, argument: str) -> None:
        self._running = False
        if self._access is None:
            await self._reply(b"+OK tempmail POP3 server signing off.\r\n")
            return
        failed = 0
        marked = self._drop.marked()
        for entry in marked:
            try:
                await self._inboxes.delete_message(self._access, entry.message_id)
            except NotFound:
                pass
            except StorageError:
                failed += 1
        log.info("pop3 inbox %s: QUIT deleted %d", self._access.inbox.id, len(marked) - failed)
        if failed:
            await self._reply(b"-ERR [SYS/TEMP] Some deleted messages were not removed.\r\n")
            return
        left = self._drop.total - len(marked)
        state = f"{left} messages left" if left else "maildrop empty"
        await self._reply(f"+OK tempmail POP3 server signing off ({state}).\r\n".encode())
