"""Pacing bulk SMTP deliveries while HTTP requests are being served, in the one process.

Everything runs on one event loop and, for the Python parts, under one GIL, which the
database threads and the readers' worker threads take turns at. SMTP senders keep as many
messages in flight as they like, and 50 busy connections can keep the process at full
CPU by themselves; an HTTP request then queues at every step (its bytes arriving, each
database trip, the GIL hand-offs inside them) behind all of that work. While HTTP requests
keep arriving, `IngestPacer` lets at most `limit` deliveries be in flight at once and holds
the rest back until one finishes: readers get the headroom, and a sender waits longer for
its 250. With no HTTP request for `window` seconds it gets out of the way entirely.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

LIMIT = 24
WINDOW_SECONDS = 0.25


class IngestPacer:
    def __init__(
        self,
        limit: int = LIMIT,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_hold: Callable[[], None] = lambda: None,
    ) -> None:
        self._limit = limit
        self._on_hold = on_hold
        self._window = window
        self._clock = clock
        self._last_request = -window
        self._in_flight = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    def request_started(self) -> None:
        """An HTTP request arrived: pace deliveries for the next `window` seconds."""
        self._last_request = self._clock()

    def _pacing(self) -> bool:
        return self._clock() - self._last_request < self._window

    @contextlib.asynccontextmanager
    async def delivery(self) -> AsyncIterator[None]:
        """Held while one message is delivered; entered at once unless HTTP requests are
        about and `limit` deliveries are already in flight."""
        if self._waiting or (self._in_flight >= self._limit and self._pacing()):
            future = asyncio.get_running_loop().create_future()
            self._waiting.append(future)
            self._on_hold()
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._in_flight -= 1  # it was handed a place it will not use
                    self._release()
                raise
        else:
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._release()

    def _release(self) -> None:
        """Hand free places to waiting deliveries, in the order they came."""
        pacing = self._pacing()
        while self._waiting and (not pacing or self._in_flight < self._limit):
            future = self._waiting.popleft()
            if not future.done():
                self._in_flight += 1
                future.set_result(None)
