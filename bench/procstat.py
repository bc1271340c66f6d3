"""Resident memory and CPU time of a process, read from /proc (Linux only, no psutil)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_bytes(pid: int) -> int:
    """Current resident set size."""
    return _status_kib(pid, "VmRSS") * 1024


def peak_rss_bytes(pid: int) -> int:
    """The high-water mark of the resident set since the process started (VmHWM)."""
    return _status_kib(pid, "VmHWM") * 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of all the process's threads."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may contain spaces and parentheses; fields resume after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def machine_busy_seconds() -> float:
    """CPU time all cores have spent on anything but idling, since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / _TICKS_PER_SECOND


@dataclass(frozen=True)
class Usage:
    """What a process used over one measured phase."""

    peak_rss_mb: float
    lifetime_peak_rss_mb: float
    cpu_seconds: float
    cpu_percent: float
    wall_seconds: float
    machine_cpu_percent: float
    """Every process on the machine (100 per busy core): shows how much else was running."""


class Sampler:
    """Samples a process's RSS while a phase runs; `stop()` returns its usage over the phase."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self._pid = pid
        self._interval = interval
        self._peak = 0
        self._task: asyncio.Task[None] | None = None
        self._started_wall = 0.0
        self._started_cpu = 0.0
        self._started_machine = 0.0

    def start(self) -> Sampler:
        self._started_wall = time.perf_counter()
        self._started_cpu = cpu_seconds(self._pid)
        self._started_machine = machine_busy_seconds()
        self._peak = rss_bytes(self._pid)
        self._task = asyncio.create_task(self._sample())
        return self

    async def _sample(self) -> None:
        while True:
            try:
                self._peak = max(self._peak, rss_bytes(self._pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            await asyncio.sleep(self._interval)

    async def stop(self) -> Usage:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        wall = time.perf_counter() - self._started_wall
        cpu = cpu_seconds(self._pid) - self._started_cpu
        machine = machine_busy_seconds() - self._started_machine
        self._peak = max(self._peak, rss_bytes(self._pid))
        return Usage(
            peak_rss_mb=round(self._peak / MIB, 1),
            lifetime_peak_rss_mb=round(peak_rss_bytes(self._pid) / MIB, 1),
            cpu_seconds=round(cpu, 2),
            cpu_percent=round(100 * cpu / wall, 1) if wall > 0 else 0.0,
            wall_seconds=round(wall, 2),
            machine_cpu_percent=round(100 * machine / wall, 1) if wall > 0 else 0.0,
        )
