"""Absolute timings of every read-path stage over hostile mail, by size.

    .venv/bin/python bench/hostile.py                 # 10 KB, 100 KB, 1 MB
    .venv/bin/python bench/hostile.py --sizes 10000,10000000

For each generator in `tests/adversarial/hostile.py` it prints the CPU time of the delivery
glance and of a first read (parse, codes and links, cleaning) in milliseconds, the read's
output in KB, and the growth of the read's time from one size to the next (10x the input
should cost about 10x; the tests fail it at 30x). The README's cost table quotes these.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.adversarial.hostile import STAGES

from tempmail.extract import extract
from tempmail.parsing import glance, parse
from tempmail.sanitize import Sanitizer, inline_budget


def _cpu_ms(work: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best * 1000


def _read(sanitizer: Sanitizer, raw: bytes) -> int:
    parsed = parse(raw, preview=False)
    if parsed.displayable:
        extract(parsed.subject, parsed.text, parsed.html)
    inline = {item.content_id: (item.content_type, item.data) for item in parsed.attachments}
    cleaned = sanitizer.clean(parsed.html, inline, False, inline_budget(len(raw)))
    return len(cleaned.html) + len(parsed.text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    sanitizer = Sanitizer()
    print(
        f"{'stage':22} "
        + " ".join(f"{f'{size // 1000} KB: glance/read ms, out KB':>34}" for size in sizes)
        + "  growth"
    )
    for name, generate in STAGES.items():
        cells = []
        reads = []
        for size in sizes:
            raw = generate(size)
            glanced = _cpu_ms(lambda raw=raw: glance(raw), args.repeats)
            read = _cpu_ms(lambda raw=raw: _read(sanitizer, raw), args.repeats)
            reads.append(read)
            cells.append(f"{glanced:9.2f} {read:10.2f} {_read(sanitizer, raw) // 1000:8}")
        growth = " ".join(
            f"{later / max(earlier, 0.01):.1f}x" for earlier, later in itertools.pairwise(reads)
        )
        print(f"{name:22} " + " ".join(f"{cell:>34}" for cell in cells) + f"  {growth}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
