"""Event-loop stall probes: a tight loop of tiny requests, recording the gaps between replies.

A server whose event loop is blocked cannot answer a NOOP; the largest gap between consecutive
replies (minus the probe's own pause, about a millisecond) is the longest stall it saw.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from api_client import http_client
from smtp_client import SMTPClient
from stats import percentile

PAUSE_SECONDS = 0.001


@dataclass
class ProbeResult:
    name: str
    replies: int
    errors: int
    max_gap_ms: float | None
    p99_gap_ms: float | None
    max_reply_ms: float | None
    gaps_over_100ms: int


async def _probe(
    name: str, ask: Callable[[], Awaitable[bool]], stop: asyncio.Event, limit_seconds: float
) -> ProbeResult:
    gaps: list[float] = []
    replies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + limit_seconds
    last = time.perf_counter()
    while not stop.is_set() and time.perf_counter() < deadline:
        started = time.perf_counter()
        if await ask():
            now = time.perf_counter()
            replies.append(now - started)
            gaps.append(now - last)
            last = now
        else:
            errors += 1
        await asyncio.sleep(PAUSE_SECONDS)
    ordered = sorted(gaps)
    return ProbeResult(
        name=name,
        replies=len(replies),
        errors=errors,
        max_gap_ms=round(ordered[-1] * 1000, 2) if ordered else None,
        p99_gap_ms=round(percentile(ordered, 0.99) * 1000, 2) if ordered else None,
        max_reply_ms=round(max(replies) * 1000, 2) if replies else None,
        gaps_over_100ms=sum(1 for gap in gaps if gap > 0.1),
    )


async def smtp_noop(host: str, port: int, stop: asyncio.Event, limit_seconds: float) -> ProbeResult:
    """NOOPs on one SMTP session: answered by the event loop alone, no database involved."""
    client = await SMTPClient.connect(host, port, reply_seconds=limit_seconds)
    try:
        await client.ehlo()

        async def ask() -> bool:
            return (await client.noop()).code == 250

        return await _probe("smtp NOOP", ask, stop, limit_seconds)
    finally:
        await client.quit()
        client.close()


async def http_health(base_url: str, stop: asyncio.Event, limit_seconds: float) -> ProbeResult:
    """GET /health on one keep-alive connection: the loop plus a read from the database."""
    async with http_client(base_url, connections=1, timeout=limit_seconds) as client:

        async def ask() -> bool:
            try:
                return (await client.get("/health")).status_code == 200
            except httpx.HTTPError:
                return False

        return await _probe("GET /health", ask, stop, limit_seconds)
