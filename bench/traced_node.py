"""`python -m tempmail serve`, with timestamps along the cross-node event path (bench only).

    BENCH_TRACE_FILE=FILE python bench/traced_node.py serve [options]

Wraps a few methods of the running server, in this process only, and appends one JSON line per
observation to FILE (written by a thread every 0.2 s, so the event loop never waits on it).
Times are `time.monotonic()`: CLOCK_MONOTONIC, one clock for every process of the machine,
so they compare with the probe's and the other node's.

- `queued` / `acked`: a delivery handed to the store and its return after the commit;
- `commit`: one group commit statement (start, end, the message ids it held);
- `parsed`: a change notice parsed off node B's listen connection (asyncpg, before it
  schedules the listener); `heard`: the listener running on the loop;
- `news`: the stream turning an `arrived` event into its `message` events (start: the stream
  task woke up with the event; end: the frame is about to be written), with the message id;
- `lag`: the event loop woke up late for a 2 ms sleep (only lags over LAG_FLOOR_SECONDS), and
  how much CPU time the loop's thread used meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from tempmail import api, cli
from tempmail.storage import notices, postgres

LAG_TICK_SECONDS = 0.002
LAG_FLOOR_SECONDS = 0.003
FLUSH_SECONDS = 0.2


class _Trace:
    def __init__(self, path: str) -> None:
        self._path = path
        self._lines: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._flush_forever, daemon=True).start()

    def add(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"kind": kind, **fields})
        with self._lock:
            self._lines.append(line)

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
        if lines:
            with open(self._path, "a", encoding="utf-8") as out:
                out.write("\n".join(lines) + "\n")


def _install(trace: _Trace) -> None:
    deliver = postgres.PostgresStore.deliver

    async def traced_deliver(
        self: postgres.PostgresStore, messages: Sequence[Any], max_messages: int, now: int
    ) -> list[str]:
        start = time.monotonic()
        try:
            return await deliver(self, messages, max_messages, now)
        finally:
            ids = [message.id for message in messages]
            trace.add("queued", t=start, ids=ids)
            trace.add("acked", t=time.monotonic(), ids=ids)

    commit_group = postgres.PostgresStore._commit_group

    async def traced_commit(
        self: postgres.PostgresStore, batch: list[Any], notes: dict[Any, Any]
    ) -> list[list[str]]:
        start = time.monotonic()
        try:
            return await commit_group(self, batch, notes)
        finally:
            ids = [message.id for delivery in batch for message in delivery.messages]
            trace.add("commit", start=start, end=time.monotonic(), ids=ids)

    process = asyncpg.Connection._process_notification

    def traced_process(self: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        trace.add("parsed", t=time.monotonic(), ids=_message_ids(payload))
        process(self, pid, channel, payload)

    received = notices.Listening._received

    def traced_received(
        self: notices.Listening, connection: object, pid: int, channel: str, payload: object
    ) -> None:
        trace.add("heard", t=time.monotonic(), ids=_message_ids(str(payload)))
        received(self, connection, pid, channel, payload)

    news = api.Arrivals.news

    async def traced_news(self: api.Arrivals, event: Any) -> list[Any]:
        start = time.monotonic()
        told = await news(self, event)
        if event.kind == "arrived":
            trace.add("news", start=start, end=time.monotonic(), id=event.data.get("id"))
        return told

    startup = cli._Server.startup

    async def traced_startup(self: cli._Server, sockets: Any = None) -> None:
        await startup(self, sockets)
        asyncio.get_running_loop().create_task(_watch_loop(trace))

    postgres.PostgresStore.deliver = traced_deliver  # type: ignore[method-assign]
    postgres.PostgresStore._commit_group = traced_commit  # type: ignore[method-assign]
    asyncpg.Connection._process_notification = traced_process  # type: ignore[method-assign]
    notices.Listening._received = traced_received  # type: ignore[method-assign]
    api.Arrivals.news = traced_news  # type: ignore[method-assign]
    cli._Server.startup = traced_startup  # type: ignore[method-assign]


def _message_ids(payload: str) -> list[str]:
    return [
        parts[2]
        for line in payload.split("\n")
        if len(parts := line.split(" ")) >= 4 and parts[0] == "message"
    ]


async def _watch_loop(trace: _Trace) -> None:
    while True:
        start, cpu = time.monotonic(), time.thread_time()
        await asyncio.sleep(LAG_TICK_SECONDS)
        late = time.monotonic() - start - LAG_TICK_SECONDS
        if late > LAG_FLOOR_SECONDS:
            # cpu: how much of the wait the loop's thread spent running (other callbacks);
            # the rest it was waiting for a core (or in a system call).
            trace.add("lag", t=start + LAG_TICK_SECONDS, late=late, cpu=time.thread_time() - cpu)


def main(argv: list[str]) -> int:
    trace = _Trace(os.environ["BENCH_TRACE_FILE"])
    _install(trace)
    run: Callable[[list[str]], int] = cli.main
    try:
        return run(argv)
    finally:
        trace.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
