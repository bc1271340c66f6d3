"""The POP3 listeners on the running loop (plain with STLS, and implicit TLS), with caps on
sessions in all and per client address."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl
from collections import Counter

from tempmail.clients import bucket_key
from tempmail.databudget import DataBudget
from tempmail.inboxes import Inboxes
from tempmail.pop3.connection import Connection
from tempmail.pop3.session import MAX_LINE, Locks, Session
from tempmail.ratelimit import RateLimiter
from tempmail.settings import POP3Settings

log = logging.getLogger(__name__)

TOO_MANY = b"-ERR [SYS/TEMP] Too many connections; try again later.\r\n"
SHUTTING_DOWN = b"-ERR [SYS/TEMP] Server shutting down.\r\n"
TLS_HANDSHAKE_SECONDS = 30.0


def _client_key(peer: str) -> str:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return bucket_key(None)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return bucket_key(address)


class Listener:
    """Accepts POP3 connections and runs a `Session` task for each."""

    def __init__(
        self,
        inboxes: Inboxes,
        limiter: RateLimiter,
        settings: POP3Settings,
        tls: ssl.SSLContext | None,
    ) -> None:
        self._inboxes = inboxes
        self._limiter = limiter
        self._settings = settings
        self._tls = tls
        self._servers: list[asyncio.Server] = []
        self._tls_server: asyncio.Server | None = None
        self._tasks: dict[asyncio.Task[None], Connection] = {}
        self._per_client: Counter[str] = Counter()
        self._locks = Locks()
        # Shared by every session: what RETR and TOP may hold at once (see `Session._opened`).
        self._replies = DataBudget(settings.reply_memory_mb * 1024 * 1024)

    def _connection(self) -> Connection:
        return Connection(MAX_LINE, self._begin)

    def _begin(self, connection: Connection) -> None:
        client = _client_key(connection.peer)
        if (
            len(self._tasks) >= self._settings.max_connections
            or self._per_client[client] >= self._settings.max_connections_per_ip
        ):
            log.warning("pop3: connection refused, too many sessions")
            assert connection.transport is not None
            connection.transport.write(TOO_MANY)
            connection.close()
            return
        self._per_client[client] += 1
        session = Session(
            connection,
            self._inboxes,
            self._limiter,
            client,
            self._settings,
            self._tls,
            self._locks,
            self._replies,
        )
        task = asyncio.get_running_loop().create_task(session.run(), name="tempmail-pop3")
        self._tasks[task] = connection

        def done(finished: asyncio.Task[None]) -> None:
            del self._tasks[finished]
            self._per_client[client] -= 1
            if self._per_client[client] <= 0:
                del self._per_client[client]
            if not finished.cancelled() and finished.exception() is not None:
                log.error("pop3 session failed", exc_info=finished.exception())

        task.add_done_callback(done)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self._settings
        self._servers.append(
            await loop.create_server(self._connection, host=settings.host, port=settings.port)
        )
        if settings.implicit_tls:
            assert self._tls is not None
            self._tls_server = await loop.create_server(
                self._connection,
                host=settings.host,
                port=settings.tls_port,
                ssl=self._tls,
                ssl_handshake_timeout=TLS_HANDSHAKE_SECONDS,
            )
            self._servers.append(self._tls_server)
        log.info(
            "POP3 listening on %s",
            ", ".join(
                f"{host}:{port}" for server in self._servers for host, port in _bound(server)
            ),
        )

    @property
    def address(self) -> tuple[str, int]:
        """The plain (STLS) listener's address."""
        return _bound(self._servers[0])[0]

    @property
    def tls_address(self) -> tuple[str, int] | None:
        return _bound(self._tls_server)[0] if self._tls_server is not None else None

    @property
    def sessions(self) -> int:
        return len(self._tasks)

    async def stop(self) -> None:
        """Stop accepting and end every session (deleting nothing: no QUIT was seen)."""
        for server in self._servers:
            server.close()
        for task, connection in list(self._tasks.items()):
            if connection.transport is not None and not connection.closed:
                connection.transport.write(SHUTTING_DOWN)
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for server in self._servers:
            await server.wait_closed()
        self._servers = []
        log.info("POP3 listener stopped")


def _bound(server: asyncio.Server) -> list[tuple[str, int]]:
    return [sock.getsockname()[:2] for sock in server.sockets]
