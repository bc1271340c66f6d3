"""API load: concurrent clients listing inboxes and reading messages, bounded in count and time.

Each client repeats: list a random inbox (`GET /api/v1/inboxes/{id}/messages`), then read one
of its messages (`GET /api/v1/messages/{id}`). `run_in_process` runs the same load in a child
process so its client work does not share an event loop (or a core) with the SMTP load.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from api_client import InboxCredentials, http_client
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


@dataclass
class _Run:
    plan: ApiPlan
    deadline: float
    rng: random.Random
    requests: int = 0
    empty_lists: int = 0
    lists: list[float] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def over(self) -> bool:
        return self.requests >= self.plan.max_requests or time.perf_counter() >= self.deadline


async def _timed_get(
    run: _Run, client: httpx.AsyncClient, url: str, inbox: InboxCredentials, into: list[float]
) -> httpx.Response | None:
    run.requests += 1
    started = time.perf_counter()
    try:
        response = await client.get(url, headers=inbox.auth)
    except httpx.HTTPError as error:
        run.errors[type(error).__name__] += 1
        return None
    if response.status_code != 200:
        run.errors[str(response.status_code)] += 1
        return None
    into.append(time.perf_counter() - started)
    return response


async def _client(run: _Run, client: httpx.AsyncClient) -> None:
    while not run.over():
        inbox = run.rng.choice(run.plan.inboxes)
        listing = await _timed_get(
            run, client, f"/api/v1/inboxes/{inbox.inbox_id}/messages", inbox, run.lists
        )
        if listing is None or run.over():
            continue
        messages = listing.json()["messages"]
        if not messages:
            run.empty_lists += 1
            continue
        message = run.rng.choice(messages)
        await _timed_get(run, client, f"/api/v1/messages/{message['id']}", inbox, run.reads)


async def _health_probe(run: _Run, client: httpx.AsyncClient) -> None:
    while not run.over():
        started = time.perf_counter()
        try:
            response = await client.get("/health")
        except httpx.HTTPError as error:
            run.errors[f"health {type(error).__name__}"] += 1
        else:
            if response.status_code == 200:
                run.health.append(time.perf_counter() - started)
            else:
                run.errors[f"health {response.status_code}"] += 1
        await asyncio.sleep(HEALTH_INTERVAL)


async def run(plan: ApiPlan) -> ApiResult:
    """Run the API load in this process's event loop."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    state = _Run(plan, started + plan.duration, random.Random(plan.seed))
    async with http_client(plan.base_url, connections=plan.clients + 1) as client:
        await asyncio.gather(
            _health_probe(state, client), *(_client(state, client) for _ in range(plan.clients))
        )
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
    )


def run_in_process(plan: ApiPlan) -> ApiResult:
    """Entry point for a child process (ProcessPoolExecutor with the spawn context)."""
    return asyncio.run(run(plan))


def ready() -> bool:
    """Called once in the child so that start-up and imports happen before the load starts."""
    return True
