"""Absolute timings of every read-path stage over hostile mail, by size.

    .venv/bin/python bench/hostile.py                 # 10 KB, 100 KB, 1 MB
    .venv/bin/python bench/hostile.py --sizes 10000,10000000
    .venv/bin/python bench/hostile.py --servers       # HTTP stages, POP3, mail.tm logins

For each generator in `tests/adversarial/hostile.py` it prints the CPU time of the delivery
glance and of a first read (parse, codes and links, cleaning) in milliseconds, the read's
output in KB, and the growth of the read's time from one size to the next (10x the input
should cost about 10x; the tests fail it at 30x). The README's cost table quotes these.

With `--servers` it starts a real `tempmail serve` (native API, mail.tm, POP3) and prints the
server process's CPU time per request (from /proc, so the client is not counted) for every HTTP
shape of `tests/adversarial/test_http_cost.py` and for POP3 commands of growing size, then
floods `/mailtm/token` with 40 logins at once and reports how they were answered and when.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import selectors
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.adversarial.hostile import STAGES
from tests.adversarial.test_http_cost import BODY_SIZES, HEAD_SIZES, SHAPES, Target, _per_request
from tests.adversarial.test_mailtm_hostile import _answer, _request
from tests.adversarial.test_pop3_hostile import Served, Talk

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


def _http(target: Target) -> None:
    print(f"{'HTTP shape':32} server CPU ms per request by input size (status)")
    for name, shape in SHAPES.items():
        sizes = BODY_SIZES if shape(target, 10)[3] is not None else HEAD_SIZES
        cells = []
        for size in sizes:
            cost, statuses = _per_request(target, shape, size)
            cells.append(
                f"{size // 1000:>5} KB {cost * 1000:6.2f} ({'/'.join(map(str, statuses))})"
            )
        print(f"{name:32} " + "  ".join(cells))


def _pop3(server: Served) -> None:
    inbox = server.create_inbox()
    for size in (10_000, 100_000, 1_000_000, 10_000_000):
        body = b"".join(b"line %d\r\n" % n for n in range(size // 10))[:size]
        server.send(inbox["address"], b"Subject: top\r\n\r\n" + body)
    server.count(inbox, 4)
    print("POP3, server CPU ms")
    with Talk(server.pop3_port) as talk:
        talk.login(inbox)
        for number, size in enumerate((10_000, 100_000, 1_000_000, 10_000_000), 1):
            started = server.cpu()
            talk.ask(b"TOP %d 999999999" % number)
            talk.multiline()
            print(
                f"  TOP {size // 1000} KB message, n=999999999: {(server.cpu() - started) * 1000:.1f}"
            )
        talk.ask(b"QUIT")
    for lines in (900, 9_000):
        started = server.cpu()
        with Talk(server.pop3_port) as talk:
            talk.sock.sendall(b"JUNK junk\r\n" * lines + b"QUIT\r\n")
            while talk.line():
                pass
        print(f"  {lines} pipelined junk lines: {(server.cpu() - started) * 1000:.1f}")
    for size in (100, 1_000, 1_000_000):
        started = server.cpu()
        for _ in range(10):
            with Talk(server.pop3_port) as talk:
                response = base64.b64encode(b"\0a@localhost\0" + b"t" * size)
                with contextlib.suppress(OSError):
                    talk.sock.sendall(b"AUTH PLAIN " + response + b"\r\n")
                reply = talk.line().decode().strip()
        cost = (server.cpu() - started) * 100
        print(f"  AUTH PLAIN with {size // 1000} KB: {cost:.2f} per attempt ({reply})")


def _login_flood(server: Served) -> None:
    address = f"flood@{server.create_inbox()['address'].split('@')[1]}"
    body = json.dumps({"address": address, "password": "correct horse battery"}).encode()
    account = socket.create_connection(("127.0.0.1", server.http_port))
    account.sendall(_request("/mailtm/accounts", body, server.http_port))
    _answer(account)
    account.close()
    wrong = json.dumps({"address": address, "password": "wrong " * 100}).encode()
    sockets = [socket.create_connection(("127.0.0.1", server.http_port)) for _ in range(40)]
    started, cpu = time.monotonic(), server.cpu()
    for sock in sockets:
        sock.sendall(_request("/mailtm/token", wrong, server.http_port))
    seen: dict[int, list[float]] = {}
    waiting = {sock.fileno(): sock for sock in sockets}
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)
        while waiting:
            # Each answer is timed when it arrives, whatever order the requests were sent in.
            for key, _ in selector.select():
                sock = waiting.pop(key.fd)
                selector.unregister(sock)
                status = _answer(sock)[0]
                seen.setdefault(status, []).append(time.monotonic() - started)
                sock.close()
    print("mail.tm: 40 wrong logins at once")
    for status, times in sorted(seen.items()):
        print(
            f"  {status}: {len(times)} answered, first after {min(times) * 1000:.0f} ms, "
            f"last after {max(times) * 1000:.0f} ms"
        )
    print(f"  server CPU {(server.cpu() - cpu) * 1000:.0f} ms")


def servers() -> int:
    with tempfile.TemporaryDirectory() as workdir:
        server = Served(
            Path(workdir),
            TEMPMAIL_MAILTM_ENABLED="true",
            TEMPMAIL_INBOX_MAX_MESSAGES="1000",
        )
        try:
            _http(Target(server))
            _pop3(server)
            _login_flood(server)
        finally:
            server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--servers", action="store_true", help="HTTP, POP3 and mail.tm instead")
    args = parser.parse_args(argv)
    if args.servers:
        return servers()
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
