"""Time as the server stores it (integer milliseconds, UTC) and as the API shows it."""

from __future__ import annotations

import functools
import time


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def iso_time(milliseconds: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC, e.g. `2026-11-24T09:04:15.123Z`."""
    seconds, remainder = divmod(milliseconds, 1000)
    return f"{_iso_second(seconds)}.{remainder:03d}Z"


@functools.lru_cache(maxsize=8192)
def _iso_second(seconds: int) -> str:
    # A list shows one time per message, and mail arrives in bursts: most seconds repeat.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
