"""The memory that SMTP sessions may hold in DATA, all sessions together.

Each session's unfinished DATA lives in memory until its final dot. Connection caps alone
still let a few addresses hold gigabytes (500 connections x 10 MB), so every byte a session
buffers is taken from one shared budget first. A session that finds it empty stops keeping
what it reads (it drains to the final dot in constant memory) and is answered `452 4.3.1`;
the sender retries later, as it would for a full disk.
"""

from __future__ import annotations

from tempmail.memory import MemoryTrimmer


class DataBudget:
    """A byte budget: `take` before buffering, `give` back when the buffer is gone."""

    def __init__(self, limit: int, trimmer: MemoryTrimmer | None = None) -> None:
        self.limit = limit
        self.trimmer = trimmer or MemoryTrimmer()
        self.in_use = 0
        self.peak = 0
        self.refusals = 0

    def take(self, size: int) -> bool:
        """Reserve `size` bytes; False (and nothing reserved) when they would not fit."""
        if self.in_use + size > self.limit:
            self.refusals += 1
            return False
        self.in_use += size
        self.peak = max(self.peak, self.in_use)
        return True

    def give(self, size: int) -> None:
        self.in_use = max(0, self.in_use - size)
        self.trimmer.freed(size)
