"""DATA costs time linear in its size, for the shapes that stress the reader most.

The chunked DATA reader (`smtp._read_data`) is fed adversarial DATA of 10 KB to 10 MB in
64 KiB chunks, as a socket would deliver it, and its CPU time per byte is compared across sizes:
a quadratic step would make the 10 MB run ~1,000 times dearer per byte than the 10 KB one. The
bound is a ratio (best of three runs each), never a wall-clock limit.
"""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from tempmail.smtp import _read_data

SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
CHUNK = 65_536
SHAPES = {
    # Every line dot-stuffed: the unstuffing replace works on every line.
    "dot-stuffed": b"..\r\n",
    # Lines of nearly the longest allowed length: the line checks look at each one.
    "long-lines": b"x" * 996 + b"\r\n",
    # Almost the end marker, over and over: the end search must not restart from the start.
    "near-end-marker": b"\r\n.\r",
    # Empty lines only.
    "blank-lines": b"\r\n",
}


def _stream(pattern: bytes, size: int) -> list[bytes]:
    data = (pattern * (size // len(pattern) + 1))[:size]
    # Keep the content free of an end marker, then end it properly.
    data = data.replace(b"\r\n.\r\n", b"\r\n,\r\n") + b"\r\n.\r\n"
    return [data[start : start + CHUNK] for start in range(0, len(data), CHUNK)]


async def _cpu_seconds(chunks: list[bytes]) -> float:
    """CPU time to read `chunks` arriving one at a time, as from a socket."""
    reader = asyncio.StreamReader(limit=1001)
    started = time.process_time()
    reading = asyncio.ensure_future(_read_data(reader, 1001, None, lambda size: True))
    for chunk in chunks:
        reader.feed_data(chunk)
        await asyncio.sleep(0)  # the reader takes each chunk before the next arrives
    content = await reading
    spent = time.process_time() - started
    assert isinstance(content, bytes)
    return spent


def _per_byte(pattern: bytes, size: int) -> float:
    chunks = _stream(pattern, size)
    # Small inputs run often enough to be measurable; the best of three takes out noise.
    repeats = max(1, 2_000_000 // size)
    best = min(sum(asyncio.run(_cpu_seconds(chunks)) for _ in range(repeats)) for _ in range(3))
    return best / (repeats * size)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_data_reader_cost_grows_linearly_with_size(shape: str) -> None:
    costs = {size: _per_byte(SHAPES[shape], size) for size in SIZES}
    smallest = min(costs.values())
    ratios = {size: cost / smallest for size, cost in costs.items()}
    print(f"{shape}: per-byte cost relative to the cheapest size: {ratios}", file=sys.stderr)
    # Linear within a wide margin: a quadratic step at 10 MB would be a factor of ~1,000.
    assert max(ratios.values()) < 8, ratios
