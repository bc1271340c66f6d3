"""Where the time of a cross-node event goes: the SSE probe with timestamps at every stage.

    .venv/bin/python bench/sse_stages.py [--seconds 10] [--rounds 3] [--kinds plain,multipart]
        [--code DIR ...] [--output FILE]

Starts a throwaway PostgreSQL (as `cluster.py` does) and, per `--code` checkout (default: this
one), two nodes over a database of their own, each run through `traced_node.py` (timestamps of
the deliveries, group commits, notices, stream wake-ups and event-loop lags, in files of their
own). Round after round, kind after kind, and checkout after checkout in turn (so every variant
sees the machine in about the same minutes), both nodes of a pair ingest at full speed
(`--connections` split over them) while `sse_probe.py` sends one message every 0.1 s to node A
and holds an event stream on node B, with an idle listener of its own on the notice channel.

For every probe message the stages are lined up on the machine's one monotonic clock:

    DATA sent -> queued on A -> commit starts -> commit ends -> 250 read by the probe
                                               -> notice on the probe's idle listener
                                               -> notice parsed on B -> listener runs on B
                                               -> B's stream wakes -> read done -> event read

and printed as percentiles per stage, with the slowest messages one by one beside the longest
event-loop lag each node had while that message was on its way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import api_client
import processes
import profiler
import tempmail_server
from messages import KINDS, Template
from messages import templates as build_templates
from smtp_load import LoadPlan, run_load
from stats import percentile

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
from tests.servers import start_postgres  # noqa: E402

PROBE_INTERVAL_SECONDS = 0.1
INBOXES = 200
TRACED_NODE = Path(__file__).with_name("traced_node.py")
STAGES = (
    ("A: DATA sent -> queued", "data_sent", "queued"),
    ("A: queued -> commit starts", "queued", "commit_start"),
    ("A: commit statement", "commit_start", "commit_end"),
    ("A: commit ends -> 250 read", "commit_end", "acked"),
    ("commit ends -> idle listener", "commit_end", "listener"),
    ("commit ends -> parsed on B", "commit_end", "parsed"),
    ("B: parsed -> listener runs", "parsed", "heard"),
    ("B: listener -> stream wakes", "heard", "news_start"),
    ("B: stream reads the message", "news_start", "news_end"),
    ("B: frame -> event read", "news_end", "event"),
    ("total: 250 read -> event read", "acked", "event"),
)


@dataclass
class Pair:
    """Two nodes of one checkout over a database of their own."""

    label: str
    code: Path
    nodes: list[tempmail_server.TempmailServer]
    traces: list[Path]
    addresses: list[str]
    watched: api_client.InboxCredentials
    database_url: str


def _timeit_us() -> float:
    return round(min(timeit.repeat("sum(range(10000))", number=100, repeat=5)) / 100 * 1e6, 1)


async def _start_pair(
    label: str, code: Path, url: str, work_dir: Path, stack: contextlib.ExitStack
) -> Pair:
    shared = {
        "TEMPMAIL_STORAGE_URL": url,
        "TEMPMAIL_ENCRYPTION_KEY": secrets.token_hex(32),
        "TEMPMAIL_SECRET_KEY": secrets.token_hex(32),
        "PYTHONPATH": str(code),
    }
    nodes, traces = [], []
    for index in range(2):
        trace = work_dir / f"{label}-{index}.trace"
        node = await tempmail_server.start(
            work_dir / f"{label}-{index}",
            extra=shared | {"BENCH_TRACE_FILE": str(trace)},
            command=[sys.executable, str(TRACED_NODE)],
        )
        stack.callback(processes.stop, node.process)
        nodes.append(node)
        traces.append(trace)
    async with api_client.http_client(nodes[0].base_url) as client:
        inboxes = await api_client.create_inboxes(client, INBOXES + 1)
    watched = inboxes.pop()
    return Pair(label, code, nodes, traces, [inbox.address for inbox in inboxes], watched, url)


async def _probe(pair: Pair, count: int) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("sse_probe.py")),
        str(pair.nodes[0].smtp_port),
        f"{pair.nodes[1].base_url}/api/v1/inboxes/{pair.watched.inbox_id}/events",
        pair.watched.token,
        pair.watched.address,
        str(count),
        str(PROBE_INTERVAL_SECONDS),
        pair.database_url,
        stdout=subprocess.PIPE,
        env=processes.clean_environment(),
    )
    output, _ = await asyncio.wait_for(process.communicate(), count * 2 + 120)
    result: dict[str, Any] = json.loads(output)
    return result


async def _phase(
    pair: Pair,
    kind: str,
    connections: int,
    seconds: float,
    run_id: str,
    templates: dict[str, Template],
    serials: itertools.count[int],
    py_spy: Path | None = None,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    load_average = round(os.getloadavg()[0], 2)
    timeit_us = _timeit_us()
    plans = [
        LoadPlan(
            host="127.0.0.1",
            port=node.smtp_port,
            kinds=(kind,),
            groups=[[address] for address in pair.addresses],
            connections=connections // 2,
            messages_per_session=100,
            max_messages=200_000,
            duration=seconds,
            run_id=f"{run_id}{index}",
        )
        for index, node in enumerate(pair.nodes)
    ]
    count = max(1, int(seconds / PROBE_INTERVAL_SECONDS) - 10)
    recorders = [
        profiler.Recorder(py_spy, node.pid, profile_dir / f"{run_id}-{pair.label[0]}-{index}.txt")
        for index, node in enumerate(pair.nodes)
        if py_spy is not None and profile_dir is not None
    ]
    *loads, probed = await asyncio.gather(
        *(run_load(plan, templates, serials) for plan in plans), _probe(pair, count)
    )
    profiles = [recorder.stop() for recorder in recorders]
    accepted = sum(result.accepted for result, _ in loads)
    wall = max(result.wall_seconds for result, _ in loads)
    return {
        "label": pair.label,
        "kind": kind,
        "load_average": load_average,
        "timeit_us": timeit_us,
        "messages_per_second": round(accepted / wall, 1) if wall else 0.0,
        "sent": probed["sent"],
        "missing": probed["missing"],
        "timeline": probed["timeline"],
        "profiles": [asdict(profile) if profile else None for profile in profiles],
    }


def _read_trace(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _stamps(
    a: list[dict[str, Any]], b: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, float]], list[tuple[float, float]], list[tuple[float, float]]]:
    """Per message id, the nodes' stamps; and each node's loop lags as (woke at, late by)."""
    stamps: dict[str, dict[str, float]] = {}

    def put(message_id: str, name: str, value: float) -> None:
        stamps.setdefault(message_id, {}).setdefault(name, value)

    for entry in a:
        if entry["kind"] in ("queued", "acked"):
            for message_id in entry["ids"]:
                put(message_id, f"a_{entry['kind']}", entry["t"])
        elif entry["kind"] == "commit":
            for message_id in entry["ids"]:
                put(message_id, "commit_start", entry["start"])
                put(message_id, "commit_end", entry["end"])
    for entry in b:
        if entry["kind"] in ("parsed", "heard"):
            for message_id in entry["ids"]:
                put(message_id, entry["kind"], entry["t"])
        elif entry["kind"] == "news" and entry.get("id"):
            put(entry["id"], "news_start", entry["start"])
            put(entry["id"], "news_end", entry["end"])
    lags_a = [(entry["t"], entry["late"]) for entry in a if entry["kind"] == "lag"]
    lags_b = [(entry["t"], entry["late"]) for entry in b if entry["kind"] == "lag"]
    return stamps, lags_a, lags_b


def _worst_lag(lags: list[tuple[float, float]], start: float, end: float) -> float:
    """The longest lag that overlapped [start, end] (ms)."""
    worst = 0.0
    for woke, late in lags:
        if woke >= start and woke - late <= end:
            worst = max(worst, late)
    return worst * 1000


def analyse(phases: list[dict[str, Any]], traces: dict[str, list[Path]]) -> dict[str, Any]:
    """Each probe message's stages (ms), per checkout label."""
    out: dict[str, Any] = {}
    for label, (path_a, path_b) in traces.items():
        stamps, lags_a, lags_b = _stamps(_read_trace(path_a), _read_trace(path_b))
        messages = []
        for phase in phases:
            if phase["label"] != label:
                continue
            for entry in phase["timeline"]:
                found = {
                    "data_sent": entry["data_sent"],
                    "acked": entry["acked"],
                    "event": entry["event"],
                }
                if entry.get("listener") is not None:
                    found["listener"] = entry["listener"]
                node = stamps.get(entry["id"], {})
                if "a_queued" in node:
                    found["queued"] = node["a_queued"]
                for name in ("commit_start", "commit_end", "parsed", "heard"):
                    if name in node:
                        found[name] = node[name]
                for name in ("news_start", "news_end"):
                    if name in node:
                        found[name] = node[name]
                stages = {
                    title: round((found[end] - found[start]) * 1000, 2)
                    for title, start, end in STAGES
                    if start in found and end in found
                }
                window = (found.get("commit_end", entry["acked"]), entry["event"])
                stages["lag on A (worst, ms)"] = round(_worst_lag(lags_a, *window), 1)
                stages["lag on B (worst, ms)"] = round(_worst_lag(lags_b, *window), 1)
                messages.append({"kind": phase["kind"], "stages": stages})
        out[label] = {
            "messages": messages,
            "lags_a_ms": [round(late * 1000, 1) for _, late in lags_a],
            "lags_b_ms": [round(late * 1000, 1) for _, late in lags_b],
            "lags_b_cpu_ms": [
                round(entry["cpu"] * 1000, 1)
                for entry in _read_trace(path_b)
                if entry["kind"] == "lag"
            ],
        }
    return out


def _row(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"{percentile(ordered, 0.5):8.1f} {percentile(ordered, 0.9):8.1f}"
        f" {percentile(ordered, 0.99):8.1f} {ordered[-1]:8.1f}  {len(ordered):5}"
    )


def render(results: dict[str, Any]) -> str:
    lines = []
    for phase in results["phases"]:
        lines.append(
            f"{phase['label']:<10} {phase['kind']:<10} load {phase['load_average']:<5}"
            f" timeit {phase['timeit_us']:>6} us  {phase['messages_per_second']:>7} msg/s"
            f"  probes {phase['sent']}, missing {phase['missing']}"
        )
    for label, analysed in results["stages"].items():
        messages = analysed["messages"]
        if not messages:
            continue
        lines.append(
            f"\n{label}: stage (ms)                      p50      p90      p99      max      n"
        )
        titles = [title for title, _, _ in STAGES] + [
            "lag on A (worst, ms)",
            "lag on B (worst, ms)",
        ]
        for title in titles:
            values = [m["stages"][title] for m in messages if title in m["stages"]]
            if values:
                lines.append(f"  {title:<38}{_row(values)}")
        for name in ("lags_a_ms", "lags_b_ms"):
            lags = analysed[name]
            over = [lag for lag in lags if lag > 20]
            lines.append(
                f"  loop lags over 3 ms on {name[5].upper()}: {len(lags)}, over 20 ms: {len(over)},"
                f" longest {max(lags, default=0):.1f} ms"
            )
        cpu = analysed.get("lags_b_cpu_ms", [])
        if cpu:
            long = [
                (lag, spent)
                for lag, spent in zip(analysed["lags_b_ms"], cpu, strict=True)
                if lag > 20
            ]
            running = sum(spent for _, spent in long)
            lines.append(
                f"  of B's lags over 20 ms ({sum(lag for lag, _ in long):.0f} ms in all), the loop"
                f" ran {running:.0f} ms; waited for a core or a system call the rest"
            )
        total = "total: 250 read -> event read"
        slow = sorted(
            (m for m in messages if total in m["stages"]), key=lambda m: -m["stages"][total]
        )[: max(5, len(messages) // 100)]
        lines.append(f"  slowest {len(slow)}:")
        for message in slow:
            stages = message["stages"]
            lines.append(
                "   "
                + ", ".join(
                    f"{title.split(': ')[-1]} {value}"
                    for title, value in stages.items()
                    if not title.startswith("total")
                )
                + f" = {stages[total]} ms ({message['kind']})"
            )
    return "\n".join(lines)


async def run(arguments: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    templates = build_templates()
    serials = itertools.count(1)
    postgres = await asyncio.to_thread(start_postgres)
    phases: list[dict[str, Any]] = []
    try:
        with contextlib.ExitStack() as stack:
            pairs = []
            for index, code in enumerate(arguments.code or [REPOSITORY]):
                url = await asyncio.to_thread(postgres.new_database)
                label = f"{index}:{Path(code).name}"
                pairs.append(await _start_pair(label, Path(code), url, work_dir, stack))
            for number in range(1, arguments.rounds + 1):
                for kind in arguments.kinds:
                    for pair in pairs:
                        phase = await _phase(
                            pair,
                            kind,
                            arguments.connections,
                            arguments.seconds,
                            f"r{number}{pair.label[0]}{kind[0]}",
                            templates,
                            serials,
                            arguments.profile,
                            arguments.profile_dir,
                        )
                        phase["round"] = number
                        phases.append(phase)
                        print(
                            f"round {number} {kind} {pair.label}: load {phase['load_average']},"
                            f" {phase['messages_per_second']} msg/s",
                            file=sys.stderr,
                        )
            for pair in pairs:
                for node in pair.nodes:
                    processes.stop(node.process)
            return {
                "phases": phases,
                "stages": analyse(phases, {pair.label: pair.traces for pair in pairs}),
            }
    finally:
        await asyncio.to_thread(postgres.remove)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50, help="SMTP connections (split)")
    parser.add_argument(
        "--kinds", type=lambda text: text.split(","), default=list(KINDS), help="plain,multipart"
    )
    parser.add_argument(
        "--code", type=Path, action="append", help="a checkout to run the nodes from (repeatable)"
    )
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    parser.add_argument("--profile", type=Path, metavar="PY_SPY", help="sample both nodes")
    parser.add_argument("--profile-dir", type=Path, help="where py-spy's stacks go")
    parser.add_argument("--report", type=Path, metavar="JSON", help="print an earlier result")
    arguments = parser.parse_args(argv)
    if arguments.report:
        print(render(json.loads(arguments.report.read_text())))
        return 0
    work_dir = Path(tempfile.mkdtemp(prefix="tempmail-stages-"))
    started = time.strftime("%H:%M:%S")
    try:
        results = asyncio.run(run(arguments, work_dir))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    results["meta"] = {
        "started": started,
        "median_load": statistics.median(phase["load_average"] for phase in results["phases"]),
    }
    if arguments.output:
        arguments.output.write_text(json.dumps(results) + "\n")
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
