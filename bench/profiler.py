"""Optional: sample the server with py-spy while a phase runs, and say where its time went.

py-spy is not a dependency: pass its path with `run.py --profile PATH` (install it into any
scratch venv with `pip install py-spy`). The collapsed stacks are kept next to the results, so
they can be opened in speedscope or turned into a flame graph with flamegraph.pl.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES_PER_SECOND = 100
STOP_WAIT_SECONDS = 30
TOP = 12


@dataclass
class Profile:
    """Where the sampled (non-idle) time went."""

    path: str
    samples: int
    gil_held_percent: float
    """Samples over the samples possible in the phase: how busy the one Python core was."""
    by_thread: dict[str, float] = field(default_factory=dict)
    """Share of samples per thread kind (event loop, database, worker)."""
    top_self: dict[str, float] = field(default_factory=dict)
    """Share of samples whose innermost frame is this function."""
    top_inclusive: dict[str, float] = field(default_factory=dict)
    """Share of samples with this function anywhere on the stack (tempmail code only)."""


class Recorder:
    """One py-spy process attached to `pid` for the length of a phase."""

    def __init__(self, py_spy: Path, pid: int, output: Path) -> None:
        self._output = output
        self._started = time.perf_counter()
        argv = [str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--threads"]
        # Only samples holding the GIL: where the one Python core the server has goes.
        argv += ["--gil", "--rate", str(SAMPLES_PER_SECOND), "--output", str(output)]
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> Profile | None:
        """Stop sampling (py-spy writes its file on SIGINT) and summarize."""
        seconds = time.perf_counter() - self._started
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(STOP_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(STOP_WAIT_SECONDS)
        if not self._output.exists():
            return None
        return summarize(self._output, seconds)


def _function(frame: str) -> str:
    """`name (path/module.py:12)` -> `module.py:name`."""
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0].rsplit("/", 1)[-1]
    return f"{file}:{name}" if file else name


def _is_ours(frame: str) -> bool:
    """A tempmail frame below the entry points (which are on every event-loop stack)."""
    return "tempmail/" in frame and "tempmail/cli.py" not in frame and "__main__" not in frame


def _thread_kind(stack: list[str]) -> str:
    text = ";".join(stack)
    if "aiosqlite" in text:
        return "database thread (aiosqlite)"
    if "_worker (concurrent/futures/thread.py" in text or "to_thread" in text:
        return "worker threads (to_thread)"
    if "run_forever" in text or "_run_once" in text:
        return "event loop"
    return "other"


def summarize(path: Path, seconds: float) -> Profile:
    """Read py-spy's collapsed stacks: `thread;frame;frame... count` per line."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        stack = stack_text.split(";")[1:]  # the first element names the thread
        if not stack:
            continue
        total += count
        threads[_thread_kind(stack)] += count
        self_time[_function(stack[-1])] += count
        for function in {_function(frame) for frame in stack if _is_ours(frame)}:
            inclusive[function] += count

    def shares(counter: Counter[str]) -> dict[str, float]:
        return {key: round(100 * value / total, 1) for key, value in counter.most_common(TOP)}

    return Profile(
        path=str(path),
        samples=total,
        gil_held_percent=round(100 * total / (SAMPLES_PER_SECOND * seconds), 1) if seconds else 0.0,
        by_thread=shares(threads),
        top_self=shares(self_time),
        top_inclusive=shares(inclusive),
    )
