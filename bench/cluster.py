"""Ingestion on PostgreSQL with 1..N nodes, beside one SQLite node and MailDev, in the same run.

    .venv/bin/python bench/run.py --backend postgresql --nodes 2 [--quick] [--rounds 3]

A throwaway PostgreSQL cluster is started here (Debian's postgresql, as the tests do: see
tests/servers.py), fsync on. Every server is started first and stays up for the whole run: one
SQLite node, MailDev (unless npm/node are missing), and for each n in 1..N, n nodes over a
database of their own. Then, round after round, each message kind is sent to each of them in
turn, so all see the machine in about the same minutes. With several nodes the connections are
split evenly over the nodes' SMTP ports and run at once. msg/s is every node's accepted
messages over the longest node's wall time; p99 is the worst node's (a bound, not a merged
percentile). Each phase notes the load average and a `sum(range(10000))` time just before it.

While the largest cluster ingests, `sse_probe.py` (a process of its own) sends one message a
tenth of a second to node A and times its event on a stream held on node B.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import statistics
import subprocess
import sys
import timeit
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import api_client
import maildev
import processes
import tempmail_server
from messages import KINDS, Template
from procstat import cpu_seconds
from smtp_load import LoadPlan, LoadResult, run_load
from stats import percentile

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
from tests.servers import PostgresServer, start_postgres  # noqa: E402

PROBE_INTERVAL_SECONDS = 0.1
INBOXES = 200


@dataclass(frozen=True)
class Row:
    backend: str
    nodes: int
    kind: str
    round: int
    accepted: int
    messages_per_second: float
    p99_ms: float | None
    rejected: dict[str, int]
    load_average: float
    """1-minute load average just before the phase."""
    timeit_us: float
    """`sum(range(10000))` in this process just before the phase (about 80 us on a quiet desktop)."""
    node_cpu_percent: float
    """The server processes under load (100 = one core)."""
    database_cpu_percent: float | None
    """PostgreSQL's processes (None for SQLite and MailDev)."""


@dataclass
class Probe:
    """Delivery on node A to its event on node B's stream, while both nodes ingest."""

    kind: str
    round: int
    sent: int
    missing: int
    after_250_ms: list[float] = field(default_factory=list)
    after_data_ms: list[float] = field(default_factory=list)


@dataclass
class Target:
    """Servers that take mail: one SQLite node, MailDev, or n PostgreSQL nodes."""

    backend: str
    ports: list[int]
    pids: list[int]
    addresses: list[str]
    postgres: PostgresServer | None = None
    probe: tuple[str, str, str, str] | None = None
    """Node B's events URL, token and address of an inbox kept for the probe, and A's SMTP port."""


def _timeit_us() -> float:
    return round(min(timeit.repeat("sum(range(10000))", number=100, repeat=5)) / 100 * 1e6, 1)


def _tree_cpu_seconds(root: int) -> float:
    """CPU time of `root` and every process below it (PostgreSQL's backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    total = 0.0
    pending = [root]
    while pending:
        pid = pending.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += cpu_seconds(pid)
        pending += children.get(pid, [])
    return total


def _postmaster(server: PostgresServer) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])


async def _phase(
    target: Target,
    kind: str,
    connections: int,
    seconds: float,
    run_id: str,
    templates: dict[str, Template],
    serials: itertools.count[int],
) -> list[LoadResult]:
    share = max(1, connections // len(target.ports))
    plans = [
        LoadPlan(
            host="127.0.0.1",
            port=port,
            kinds=(kind,),
            groups=[[address] for address in target.addresses],
            connections=share,
            messages_per_session=100,
            max_messages=200_000,
            duration=seconds,
            run_id=f"{run_id}{index}",
        )
        for index, port in enumerate(target.ports)
    ]
    outcomes = await asyncio.gather(*(run_load(plan, templates, serials) for plan in plans))
    return [result for result, _ in outcomes]


async def _probe(target: Target, count: int) -> dict[str, Any]:
    assert target.probe is not None
    events_url, token, address, smtp_port = target.probe
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("sse_probe.py")),
        smtp_port,
        events_url,
        token,
        address,
        str(count),
        str(PROBE_INTERVAL_SECONDS),
        stdout=subprocess.PIPE,
        env=processes.clean_environment(),
    )
    output, _ = await asyncio.wait_for(process.communicate(), count * 2 + 120)
    result: dict[str, Any] = json.loads(output)
    return result


async def _measure(
    target: Target,
    kind: str,
    number: int,
    connections: int,
    seconds: float,
    run_id: str,
    templates: dict[str, Template],
    serials: itertools.count[int],
) -> tuple[Row, Probe | None]:
    load_average = round(os.getloadavg()[0], 2)
    timeit_us = _timeit_us()
    postmaster = _postmaster(target.postgres) if target.postgres else None
    node_cpu = sum(cpu_seconds(pid) for pid in target.pids)
    database_cpu = _tree_cpu_seconds(postmaster) if postmaster else 0.0
    load = _phase(target, kind, connections, seconds, run_id, templates, serials)
    probe = None
    if target.probe is not None:
        count = max(1, int(seconds / PROBE_INTERVAL_SECONDS) - 10)
        results, probed = await asyncio.gather(load, _probe(target, count))
        probe = Probe(
            kind,
            number,
            int(probed["sent"]),
            int(probed["missing"]),
            [round(value, 2) for value in probed["after_250_ms"]],
            [round(value, 2) for value in probed["after_data_ms"]],
        )
    else:
        results = await load
    wall = max(result.wall_seconds for result in results)
    node_cpu = sum(cpu_seconds(pid) for pid in target.pids) - node_cpu
    if postmaster:
        database_cpu = _tree_cpu_seconds(postmaster) - database_cpu
    accepted = sum(result.accepted for result in results)
    rejected: dict[str, int] = {}
    for result in results:
        for reason, count in result.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + count
    p99s = [result.latency.p99_ms for result in results if result.latency.p99_ms is not None]
    row = Row(
        target.backend,
        len(target.ports),
        kind,
        number,
        accepted,
        round(accepted / wall, 1) if wall else 0.0,
        max(p99s) if p99s else None,
        rejected,
        load_average,
        timeit_us,
        round(100 * node_cpu / wall, 1) if wall else 0.0,
        round(100 * database_cpu / wall, 1) if postmaster and wall else None,
    )
    return row, probe


async def _inboxes(base_url: str, count: int) -> list[api_client.InboxCredentials]:
    async with api_client.http_client(base_url) as client:
        return await api_client.create_inboxes(client, count)


@contextlib.asynccontextmanager
async def _targets(
    nodes: int, work_dir: Path, maildev_prefix: Path | None
) -> Any:  # AsyncIterator[tuple[list[Target], str | None]]
    """Every server of the run, started; all stopped by PID on the way out."""
    targets: list[Target] = []
    maildev_error = None
    postgres = await asyncio.to_thread(start_postgres)
    try:
        with contextlib.ExitStack() as stack:
            server = await tempmail_server.start(work_dir / "sqlite")
            stack.callback(processes.stop, server.process)
            inboxes = await _inboxes(server.base_url, INBOXES)
            addresses = [inbox.address for inbox in inboxes]
            targets.append(Target("sqlite", [server.smtp_port], [server.pid], addresses))
            if maildev_prefix is not None:
                try:
                    baseline = await maildev.start(maildev_prefix, work_dir / "maildev")
                except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                    maildev_error = f"not measured: {error}"
                else:
                    stack.callback(processes.stop, baseline.process)
                    targets.append(
                        Target(
                            f"maildev {baseline.version}",
                            [baseline.smtp_port],
                            [baseline.pid],
                            addresses,
                        )
                    )
            for count in range(1, nodes + 1):
                url = await asyncio.to_thread(postgres.new_database)
                shared = {
                    "TEMPMAIL_STORAGE_URL": url,
                    "TEMPMAIL_ENCRYPTION_KEY": secrets.token_hex(32),
                    "TEMPMAIL_SECRET_KEY": secrets.token_hex(32),
                }
                servers = []
                for index in range(count):
                    node = await tempmail_server.start(
                        work_dir / f"pg{count}-{index}", extra=shared
                    )
                    stack.callback(processes.stop, node.process)
                    servers.append(node)
                inboxes = await _inboxes(servers[0].base_url, INBOXES + 1)
                watched = inboxes.pop()
                target = Target(
                    "postgresql",
                    [node.smtp_port for node in servers],
                    [node.pid for node in servers],
                    [inbox.address for inbox in inboxes],
                    postgres,
                )
                if count == nodes and count > 1:
                    target.probe = (
                        f"{servers[1].base_url}/api/v1/inboxes/{watched.inbox_id}/events",
                        watched.token,
                        watched.address,
                        str(servers[0].smtp_port),
                    )
                targets.append(target)
            yield targets, maildev_error
    finally:
        await asyncio.to_thread(postgres.remove)


async def run(
    nodes: int,
    connections: int,
    seconds: float,
    rounds: int,
    templates: dict[str, Template],
    work_dir: Path,
    run_id: str,
    maildev_prefix: Path | None,
) -> dict[str, Any]:
    rows: list[Row] = []
    probes: list[Probe] = []
    serials = itertools.count(1)
    async with _targets(nodes, work_dir, maildev_prefix) as (targets, maildev_error):
        for number in range(1, rounds + 1):
            for kind in KINDS:
                for index, target in enumerate(targets):
                    row, probe = await _measure(
                        target,
                        kind,
                        number,
                        connections,
                        seconds,
                        f"{run_id}r{number}t{index}",
                        templates,
                        serials,
                    )
                    rows.append(row)
                    if probe is not None:
                        probes.append(probe)
    return {
        "rows": [asdict(row) for row in rows],
        "probes": [asdict(probe) for probe in probes],
        "maildev_error": maildev_error,
    }


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def _groups(
    rows: list[dict[str, Any]],
) -> Iterator[tuple[tuple[str, int, str], list[dict[str, Any]]]]:
    order: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for row in rows:
        order.setdefault((row["backend"], row["nodes"], row["kind"]), []).append(row)
    yield from order.items()


def _percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"p50 {percentile(ordered, 0.5):.1f} ms, p99 {percentile(ordered, 0.99):.1f} ms"


def render(results: dict[str, Any]) -> str:
    """Medians over the rounds per server and kind, the machine note, the probe and the ratios."""
    rows = results["rows"]
    lines = [
        "medians over rounds (each round: every server, kind by kind)",
        "backend          nodes  kind        msg/s  p99 ms  node CPU%  PG CPU%  CPU ms/msg  rounds"
        "  load     timeit us",
    ]
    medians: dict[tuple[str, int, str], float] = {}
    for (backend, nodes, kind), group in _groups(rows):
        rate = _median([row["messages_per_second"] for row in group])
        medians[(backend, nodes, kind)] = rate
        p99s = [row["p99_ms"] for row in group if row["p99_ms"] is not None]
        databases = [
            row["database_cpu_percent"] for row in group if row["database_cpu_percent"] is not None
        ]
        loads = [row["load_average"] for row in group]
        # CPU per message (servers and PostgreSQL) depends less on what else runs than msg/s.
        costs = [
            10
            * (row["node_cpu_percent"] + (row["database_cpu_percent"] or 0))
            / row["messages_per_second"]
            for row in group
            if row["messages_per_second"]
        ]
        lines.append(
            f"{backend:<16} {nodes:>5}  {kind:<10} {rate:>6}  {_median(p99s) if p99s else '-':>6}"
            f"  {_median([row['node_cpu_percent'] for row in group]):>9}"
            f"  {_median(databases) if databases else '-':>7}"
            f"  {round(statistics.median(costs), 2) if costs else '-':>10}  {len(group):>6}"
            f"  {min(loads):.1f}-{max(loads):.1f}  {_median([row['timeit_us'] for row in group]):>9}"
        )
    refused = sum(sum(row["rejected"].values()) for row in rows)
    lines.append(f"refused or failed transactions over the whole run: {refused}")
    if results.get("maildev_error"):
        lines.append(f"MailDev: {results['maildev_error']}")
    baseline = {
        kind: rate for (backend, _, kind), rate in medians.items() if backend.startswith("maildev")
    }
    for (backend, nodes, kind), rate in medians.items():
        if backend == "postgresql" and baseline.get(kind):
            lines.append(
                f"postgresql x{nodes} {kind}: {rate / baseline[kind]:.2f}x MailDev's msg/s"
            )
    for kind in KINDS:
        probes = [probe for probe in results["probes"] if probe["kind"] == kind]
        if not probes:
            continue
        after_250 = [value for probe in probes for value in probe["after_250_ms"]]
        after_data = [value for probe in probes for value in probe["after_data_ms"]]
        missing = sum(probe["missing"] for probe in probes)
        sent = sum(probe["sent"] for probe in probes)
        lines.append(
            f"SSE across nodes while ingesting {kind}: {sent} probes, {missing} missing;"
            f" from the 250 on A to the event on B: {_percentiles(after_250)};"
            f" from DATA sent: {_percentiles(after_data)}"
        )
    return "\n".join(lines)
