"""Giving freed memory back to the system after large buffers (glibc's `malloc_trim`).

Python frees a session's DATA buffer the moment it is done, but glibc keeps freed heap memory
for reuse, and after a burst of multi-megabyte buffers its heap stays fragmented: the process
keeps the burst's size. After a large amount of DATA has been let go, one `malloc_trim(0)` (at
most once a second, a few milliseconds at the sizes the DATA budget allows) returns the free
pages. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

TRIM_AFTER_BYTES = 8 * 1024 * 1024
TRIM_DELAY_SECONDS = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    function: Callable[[int], int] = trim
    return function


class MemoryTrimmer:
    """Counts freed bytes; once enough are freed, trims the heap a moment later, on the loop."""

    def __init__(
        self, threshold: int = TRIM_AFTER_BYTES, delay: float = TRIM_DELAY_SECONDS
    ) -> None:
        self._trim = _malloc_trim()
        self._threshold = threshold
        self._delay = delay
        self._freed = 0
        self._scheduled: asyncio.TimerHandle | None = None
        self.trims = 0

    def freed(self, size: int) -> None:
        """Note that `size` bytes of buffers were let go; called on the event loop."""
        if self._trim is None:
            return
        self._freed += size
        if self._freed >= self._threshold and self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_later(self._delay, self._run)

    def _run(self) -> None:
        self._scheduled = None
        self._freed = 0
        if self._trim is not None:
            self._trim(0)
            self.trims += 1
