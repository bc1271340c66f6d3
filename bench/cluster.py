"""Ingestion on PostgreSQL with 1..N nodes, beside one SQLite node, in the same run.

    .venv/bin/python bench/run.py --backend postgresql --nodes 2 [--quick]

A throwaway PostgreSQL cluster is started here (Debian's postgresql, as the tests do: see
tests/servers.py), fsync on. Every configuration gets the same SMTP phases per message kind;
with several nodes the connections are split evenly over the nodes' SMTP ports and run at
once. msg/s is every node's accepted messages over the longest node's wall time; p99 is the
worst node's (a bound, not a merged percentile).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import api_client
import processes
import tempmail_server
from messages import KINDS, Template
from smtp_load import LoadPlan, LoadResult, run_load

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
from tests.servers import start_postgres  # noqa: E402


@dataclass(frozen=True)
class Row:
    backend: str
    nodes: int
    kind: str
    accepted: int
    messages_per_second: float
    p99_ms: float | None
    rejected: dict[str, int]


async def _phase(
    servers: list[tempmail_server.TempmailServer],
    addresses: list[str],
    kind: str,
    connections: int,
    seconds: float,
    run_id: str,
    templates: dict[str, Template],
    serials: itertools.count[int],
) -> list[LoadResult]:
    share = max(1, connections // len(servers))
    plans = [
        LoadPlan(
            host="127.0.0.1",
            port=server.smtp_port,
            kinds=(kind,),
            groups=[[address] for address in addresses],
            connections=share,
            messages_per_session=100,
            max_messages=200_000,
            duration=seconds,
            run_id=f"{run_id}{index}",
        )
        for index, server in enumerate(servers)
    ]
    outcomes = await asyncio.gather(*(run_load(plan, templates, serials) for plan in plans))
    return [result for result, _ in outcomes]


def _row(backend: str, nodes: int, kind: str, results: list[LoadResult]) -> Row:
    accepted = sum(result.accepted for result in results)
    wall = max(result.wall_seconds for result in results)
    rejected: dict[str, int] = {}
    for result in results:
        for reason, count in result.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + count
    p99s = [result.latency.p99_ms for result in results if result.latency.p99_ms is not None]
    return Row(
        backend,
        nodes,
        kind,
        accepted,
        round(accepted / wall, 1) if wall else 0.0,
        max(p99s) if p99s else None,
        rejected,
    )


async def _measure(
    backend: str,
    servers: list[tempmail_server.TempmailServer],
    connections: int,
    seconds: float,
    templates: dict[str, Template],
    run_id: str,
) -> list[Row]:
    async with api_client.http_client(servers[0].base_url) as client:
        inboxes = await api_client.create_inboxes(client, 200)
    addresses = [inbox.address for inbox in inboxes]
    serials = itertools.count(1)
    rows = []
    for kind in KINDS:
        results = await _phase(
            servers, addresses, kind, connections, seconds, run_id, templates, serials
        )
        rows.append(_row(backend, len(servers), kind, results))
    return rows


async def run(
    nodes: int,
    connections: int,
    seconds: float,
    templates: dict[str, Template],
    work_dir: Path,
    run_id: str,
) -> list[Row]:
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        server = await tempmail_server.start(work_dir / "sqlite")
        stack.callback(processes.stop, server.process)
        rows += await _measure("sqlite", [server], connections, seconds, templates, run_id + "q")
    cluster = await asyncio.to_thread(start_postgres)
    try:
        for count in range(1, nodes + 1):
            url = await asyncio.to_thread(cluster.new_database)
            shared = {
                "TEMPMAIL_STORAGE_URL": url,
                "TEMPMAIL_ENCRYPTION_KEY": secrets.token_hex(32),
                "TEMPMAIL_SECRET_KEY": secrets.token_hex(32),
            }
            with contextlib.ExitStack() as stack:
                servers = []
                for index in range(count):
                    node = await tempmail_server.start(
                        work_dir / f"pg{count}-{index}", extra=shared
                    )
                    stack.callback(processes.stop, node.process)
                    servers.append(node)
                rows += await _measure(
                    "postgresql", servers, connections, seconds, templates, f"{run_id}p{count}"
                )
    finally:
        await asyncio.to_thread(cluster.remove)
    return rows


def render(rows: list[Row]) -> str:
    lines = ["backend     nodes  kind        msg/s   p99 ms  accepted  refused"]
    for row in rows:
        lines.append(
            f"{row.backend:<11} {row.nodes:>5}  {row.kind:<10} {row.messages_per_second:>6}"
            f"  {row.p99_ms if row.p99_ms is not None else '-':>7}  {row.accepted:>8}"
            f"  {sum(row.rejected.values()):>7}"
        )
    return "\n".join(lines)


def as_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]
