"""The scale run: many stored messages, list latency at that size, and one big expiry pass.

Fills a fresh server with `messages` messages across `inboxes` inboxes over SMTP (one message
to `recipients_per_message` inboxes per transaction, which the server seals once per inbox),
measures list/read latency, shortens half of the inboxes' lifetimes with PATCH, and triggers the
expiry pass through the admin API while two probes and a trickle of deliveries measure how
long the event loop stalls and whether SMTP replies keep flowing.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

import api_client
import api_load
import probe
import processes
import tempmail_server
from api_client import InboxCredentials, bounded_map
from messages import Template
from procstat import MIB, Sampler, Usage
from smtp_load import LoadPlan, LoadResult, run_load

# PATCH {"ttl_hours": 0.0003}: the inbox ends about a second later.
SHORT_TTL_HOURS = 0.0003
PROBE_BASELINE_SECONDS = 0.5


@dataclass(frozen=True)
class ScalePlan:
    inboxes: int
    messages_per_inbox: int
    expiring_inboxes: int
    recipients_per_message: int = 50
    fill_connections: int = 8
    fill_limit_seconds: float = 900.0
    api_clients: int = 8
    api_requests: int = 4000
    api_limit_seconds: float = 60.0
    expiry_limit_seconds: float = 300.0


@dataclass
class ExpiryRun:
    inboxes_expired: int
    messages_expired: int
    pass_seconds: float
    server_pass_seconds: float | None
    noop: probe.ProbeResult
    health: probe.ProbeResult
    deliveries_during_pass: LoadResult
    server: Usage


@dataclass
class ScaleResult:
    inboxes: int
    messages_stored: int
    create_inboxes_seconds: float
    fill: LoadResult
    database_mb_after_fill: float
    api: api_load.ApiResult
    shorten_ttl_seconds: float
    expiry: ExpiryRun
    messages_after_expiry: int
    database_mb_after_expiry: float
    server: Usage


async def _fill(
    server: tempmail_server.TempmailServer,
    inboxes: list[InboxCredentials],
    plan: ScalePlan,
    template: Template,
    run_id: str,
) -> LoadResult:
    size = plan.recipients_per_message
    groups = [
        [inbox.address for inbox in inboxes[start : start + size]]
        for start in range(0, len(inboxes), size)
    ]
    load = LoadPlan(
        host="127.0.0.1",
        port=server.smtp_port,
        kinds=(template.kind,),
        groups=groups,
        connections=plan.fill_connections,
        messages_per_session=100,
        max_messages=len(groups) * plan.messages_per_inbox,
        duration=plan.fill_limit_seconds,
        run_id=run_id,
    )
    result, _ = await run_load(load, {template.kind: template}, itertools.count(0))
    return result


def _trickle(
    server: tempmail_server.TempmailServer,
    survivors: list[InboxCredentials],
    template: Template,
    limit: float,
    run_id: str,
    stop: asyncio.Event,
) -> LoadPlan:
    """Two sessions delivering to inboxes that stay, for as long as the pass runs."""
    return LoadPlan(
        host="127.0.0.1",
        port=server.smtp_port,
        kinds=(template.kind,),
        groups=[[inbox.address] for inbox in survivors],
        connections=2,
        messages_per_session=500,
        max_messages=100_000,
        duration=limit,
        run_id=run_id + "t",
        stop=stop,
    )


async def _expire(
    server: tempmail_server.TempmailServer,
    client: httpx.AsyncClient,
    survivors: list[InboxCredentials],
    template: Template,
    plan: ScalePlan,
    run_id: str,
) -> ExpiryRun:
    # Everything that reads the database is asked before the probes start and after they
    # stop: a count over 100,000 rows would otherwise show up as a stall of the server's.
    stored_before = int((await api_client.admin_stats(client, server.api_key))["messages_stored"])
    metric = "tempmail_expiry_pass_seconds_sum"
    before = await api_client.metric_sum(client, metric)
    stop = asyncio.Event()
    limit = plan.expiry_limit_seconds
    sampler = Sampler(server.pid).start()
    noop = asyncio.create_task(probe.smtp_noop("127.0.0.1", server.smtp_port, stop, limit))
    health = asyncio.create_task(probe.http_health(server.base_url, stop, limit))
    deliveries = asyncio.create_task(
        run_load(
            _trickle(server, survivors, template, limit, run_id, stop),
            {template.kind: template},
            itertools.count(),
        )
    )
    await asyncio.sleep(PROBE_BASELINE_SECONDS)
    started = time.perf_counter()
    expired = await api_client.admin_expire(client, server.api_key)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(PROBE_BASELINE_SECONDS)
    stop.set()
    delivered, _ = await deliveries
    usage = await sampler.stop()
    after = await api_client.metric_sum(client, metric)
    stored_after = int((await api_client.admin_stats(client, server.api_key))["messages_stored"])
    return ExpiryRun(
        inboxes_expired=expired,
        messages_expired=stored_before + delivered.accepted - stored_after,
        pass_seconds=round(elapsed, 3),
        server_pass_seconds=None if before is None or after is None else round(after - before, 3),
        noop=await noop,
        health=await health,
        deliveries_during_pass=delivered,
        server=usage,
    )


async def run(
    plan: ScalePlan, templates: dict[str, Template], work_dir: Path, run_id: str
) -> ScaleResult:
    """Start a fresh server, run every scale measurement, stop it."""
    server = await tempmail_server.start(work_dir)
    try:
        return await _measure(server, plan, templates["plain"], run_id)
    finally:
        processes.stop(server.process)


async def _measure(
    server: tempmail_server.TempmailServer, plan: ScalePlan, template: Template, run_id: str
) -> ScaleResult:
    whole = Sampler(server.pid).start()
    async with api_client.http_client(server.base_url, connections=32) as client:
        started = time.perf_counter()
        inboxes = await api_client.create_inboxes(client, plan.inboxes, concurrency=16)
        create_seconds = time.perf_counter() - started
        fill = await _fill(server, inboxes, plan, template, run_id)
        stats = await api_client.admin_stats(client, server.api_key)
        filled_bytes = server.database_bytes()
        api = await api_load.run(
            api_load.ApiPlan(
                server.base_url,
                inboxes,
                plan.api_clients,
                plan.api_limit_seconds,
                plan.api_requests,
            )
        )
        expiring, survivors = inboxes[: plan.expiring_inboxes], inboxes[plan.expiring_inboxes :]
        started = time.perf_counter()
        await bounded_map(
            lambda inbox: api_client.set_ttl(client, inbox, SHORT_TTL_HOURS), expiring, 16
        )
        shorten_seconds = time.perf_counter() - started
        await asyncio.sleep(SHORT_TTL_HOURS * 3600 + 0.5)
        expiry = await _expire(server, client, survivors, template, plan, run_id)
        after = await api_client.admin_stats(client, server.api_key)
    return ScaleResult(
        inboxes=len(inboxes),
        messages_stored=int(stats["messages_stored"]),
        create_inboxes_seconds=round(create_seconds, 2),
        fill=fill,
        database_mb_after_fill=round(filled_bytes / MIB, 1),
        api=api,
        shorten_ttl_seconds=round(shorten_seconds, 2),
        expiry=expiry,
        messages_after_expiry=int(after["messages_stored"]),
        database_mb_after_expiry=round(server.database_bytes() / MIB, 1),
        server=await whole.stop(),
    )
