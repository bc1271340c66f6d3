"""API load: concurrent clients listing inboxes and reading messages, bounded in count and time.

Each client repeats: list a random inbox (`GET /api/v1/inboxes/{id}/messages`), then read one
of its messages (`GET /api/v1/messages/{id}`), on its own keep-alive connection (`http_get`).
`run_in_process` runs the same load in a child process, on uvloop, so its client work does not
share an event loop with the SMTP load.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import msgspec
import uvloop

from api_client import InboxCredentials
from http_get import Connection, HttpError
from stats import Latency, summarize

HEALTH_INTERVAL = 0.05


@dataclass(frozen=True)
class ApiPlan:
    base_url: str
    inboxes: list[InboxCredentials]
    clients: int
    duration: float
    max_requests: int
    seed: int = 0


@dataclass
class ApiResult:
    clients: int
    requests: int
    wall_seconds: float
    requests_per_second: float
    list: Latency
    read: Latency
    health: Latency
    """`GET /health` every HEALTH_INTERVAL: the loop's delay plus one database trip, no route work."""
    empty_lists: int
    errors: dict[str, int]
    client_cpu_percent: float
    connections: int
    """Connections the clients opened: one each (and the probe's) unless some were closed."""


@dataclass
class _Run:
    plan: ApiPlan
    deadline: float
    rng: random.Random
    requests: int = 0
    empty_lists: int = 0
    connections: int = 0
    lists: list[float] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def over(self) -> bool:
        return self.requests >= self.plan.max_requests or time.perf_counter() >= self.deadline


async def _timed_get(
    run: _Run, client: Connection, url: str, inbox: InboxCredentials, into: list[float]
) -> bytes | None:
    run.requests += 1
    started = time.perf_counter()
    try:
        status, body = await client.get(url, inbox.auth)
    except HttpError as error:
        run.errors[str(error)] += 1
        return None
    if status != 200:
        run.errors[str(status)] += 1
        return None
    into.append(time.perf_counter() - started)
    return body


class _Listing(msgspec.Struct):
    id: str


class _List(msgspec.Struct):
    messages: list[_Listing]


_LIST = msgspec.json.Decoder(_List)


async def _client(run: _Run) -> None:
    client = Connection(run.plan.base_url)
    try:
        while not run.over():
            inbox = run.rng.choice(run.plan.inboxes)
            listing = await _timed_get(
                run, client, f"/api/v1/inboxes/{inbox.inbox_id}/messages", inbox, run.lists
            )
            if listing is None or run.over():
                continue
            messages = _LIST.decode(listing).messages
            if not messages:
                run.empty_lists += 1
                continue
            message = run.rng.choice(messages)
            await _timed_get(run, client, f"/api/v1/messages/{message.id}", inbox, run.reads)
    finally:
        run.connections += client.opened
        await client.close()


async def _health_probe(run: _Run) -> None:
    client = Connection(run.plan.base_url)
    try:
        while not run.over():
            started = time.perf_counter()
            try:
                status, _ = await client.get("/health")
            except HttpError as error:
                run.errors[f"health {error}"] += 1
            else:
                if status == 200:
                    run.health.append(time.perf_counter() - started)
                else:
                    run.errors[f"health {status}"] += 1
            await asyncio.sleep(HEALTH_INTERVAL)
    finally:
        run.connections += client.opened
        await client.close()


async def run(plan: ApiPlan) -> ApiResult:
    """Run the API load in this process's event loop."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    state = _Run(plan, started + plan.duration, random.Random(plan.seed))
    await asyncio.gather(_health_probe(state), *(_client(state) for _ in range(plan.clients)))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return ApiResult(
        clients=plan.clients,
        requests=state.requests,
        wall_seconds=round(wall, 3),
        requests_per_second=round(state.requests / wall, 1) if wall > 0 else 0.0,
        list=summarize(state.lists),
        read=summarize(state.reads),
        health=summarize(state.health),
        empty_lists=state.empty_lists,
        errors=dict(state.errors),
        client_cpu_percent=round(100 * cpu / wall, 1) if wall > 0 else 0.0,
        connections=state.connections,
    )


def run_in_process(plan: ApiPlan) -> ApiResult:
    """Entry point for a child process (ProcessPoolExecutor with the spawn context)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run(plan))


def ready() -> bool:
    """Called once in the child so that start-up and imports happen before the load starts."""
    return True
