"""Run the tempmail benchmark and print/write its results.

    .venv/bin/python bench/run.py            # SMTP load per kind, mixed with API load (~2 min)
    .venv/bin/python bench/run.py --quick    # the same, smaller (~30 s)
    .venv/bin/python bench/run.py --all      # plus MailDev and the scale run
    .venv/bin/python bench/run.py --backend postgresql --nodes 2   # SQLite vs PostgreSQL, 1..N nodes

Every server is started here on free 127.0.0.1 ports in a temporary directory, and stopped (by
PID) before the run ends. Results go to bench/results/<run id>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import api_client
import cluster
import maildev
import processes
import report
import scale
import tempmail_server
import verify
from loadrun import LoadProfile, Phase, Profiling, Runner
from messages import KINDS, Template
from messages import templates as build_templates
from procstat import MIB, peak_rss_bytes
from smtp_load import subject_of

BENCH_DIR = Path(__file__).resolve().parent
# A last bound on the whole run; every phase has its own, much shorter one.
RUN_LIMIT_SECONDS = 3600
REPOSITORY = BENCH_DIR.parent


@dataclass(frozen=True)
class Profile:
    name: str
    load: LoadProfile
    inboxes: int
    verify_sample: int
    scale: scale.ScalePlan


FULL = Profile(
    "full",
    LoadProfile(
        connections=50,
        phase_seconds=30,
        phase_max_messages=200_000,
        messages_per_session=200,
        api_clients=10,
    ),
    inboxes=1_000,
    verify_sample=500,
    scale=scale.ScalePlan(inboxes=10_000, messages_per_inbox=10, expiring_inboxes=5_000),
)
QUICK = Profile(
    "quick",
    LoadProfile(
        connections=50,
        phase_seconds=6,
        phase_max_messages=50_000,
        messages_per_session=100,
        api_clients=8,
    ),
    inboxes=200,
    verify_sample=100,
    scale=scale.ScalePlan(
        inboxes=1_000, messages_per_inbox=10, expiring_inboxes=500, api_requests=1_000
    ),
)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run")
    parser.add_argument("--maildev", action="store_true", help="also load MailDev (npm)")
    parser.add_argument("--scale", action="store_true", help="also run the scale run")
    parser.add_argument("--all", action="store_true", help="--maildev and --scale")
    parser.add_argument("--connections", type=int, help="SMTP connections (default 50)")
    parser.add_argument("--seconds", type=float, help="length of each load phase")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results")
    parser.add_argument(
        "--maildev-prefix",
        type=Path,
        default=BENCH_DIR / ".cache" / "maildev",
        help="where MailDev is installed with npm (reused when present)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PY_SPY",
        help="sample tempmail with this py-spy executable during each load phase",
    )
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="postgresql: ingestion on a throwaway PostgreSQL with 1..--nodes nodes, beside SQLite",
    )
    parser.add_argument("--nodes", type=int, default=2, help="most nodes for --backend postgresql")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds for --backend postgresql (medians reported)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the servers' data directories")
    parser.add_argument("--report", type=Path, metavar="JSON", help="print an earlier result")
    return parser.parse_args(argv)


def _profile(arguments: argparse.Namespace) -> Profile:
    profile = QUICK if arguments.quick else FULL
    load = profile.load
    if arguments.connections:
        load = replace(load, connections=arguments.connections)
    if arguments.seconds:
        load = replace(load, phase_seconds=arguments.seconds)
    return replace(profile, load=load)


def _commit() -> str:
    def git(*args: str) -> str:
        try:
            completed = subprocess.run(
                ["git", "-C", str(REPOSITORY), *args],
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError:
            return ""
        return completed.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--", "tempmail") else "")


async def _start_maildev(prefix: Path, work_dir: Path) -> maildev.MailDevServer | str:
    """MailDev, or why it could not be started."""
    try:
        return await maildev.start(prefix, work_dir / "maildev")
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        return f"not measured: {error}"


Baseline = maildev.MailDevServer | str | None
"""MailDev when it runs, the reason when it could not, None when not asked for."""


@contextlib.asynccontextmanager
async def _servers(
    arguments: argparse.Namespace, work_dir: Path
) -> AsyncIterator[tuple[tempmail_server.TempmailServer, Baseline]]:
    """tempmail, and MailDev if asked for; both stopped (by PID) on the way out."""
    with contextlib.ExitStack() as stack:
        server = await tempmail_server.start(work_dir / "tempmail")
        stack.callback(processes.stop, server.process)
        baseline: Baseline = None
        if arguments.maildev or arguments.all:
            baseline = await _start_maildev(arguments.maildev_prefix, work_dir)
            if isinstance(baseline, maildev.MailDevServer):
                stack.callback(processes.stop, baseline.process)
        yield server, baseline


async def _interleaved(ours: Runner, theirs: Runner | None) -> tuple[list[Phase], list[Phase]]:
    """Each kind on tempmail then on MailDev, so both see the same machine at about the same time."""
    our_phases: list[Phase] = []
    their_phases: list[Phase] = []
    for kind in KINDS:
        our_phases.append(await ours.phase(kind, (kind,)))
        if theirs is not None:
            their_phases.append(await theirs.phase(kind, (kind,)))
    return our_phases, their_phases


async def _maildev_results(
    baseline: maildev.MailDevServer, runner: Runner, phases: list[Phase]
) -> dict[str, Any]:
    stored = set(await maildev.stored_subjects(baseline))
    expected = {subject_of(runner.run_id, sent.kind, sent.serial) for sent in runner.sent}
    found = len(expected & stored)
    return {
        "version": baseline.version,
        "storage": "files (--mail-directory)",
        "phases": [asdict(phase) for phase in phases],
        "peak_rss_mb": round(peak_rss_bytes(baseline.pid) / MIB, 1),
        "verification": {
            "accepted": len(expected),
            "found": found,
            "missing": len(expected) - found,
        },
    }


async def _load_runs(
    arguments: argparse.Namespace,
    profile: Profile,
    templates: dict[str, Template],
    work_dir: Path,
    run_id: str,
) -> report.Results:
    """tempmail (and MailDev) under the same SMTP load, then tempmail with API load as well."""
    profiling = None
    if arguments.profile:
        profiling = Profiling(arguments.profile, arguments.output / f"{run_id}-profile")
    async with (
        _servers(arguments, work_dir) as (server, baseline),
        api_client.http_client(server.base_url) as client,
    ):
        inboxes = await api_client.create_inboxes(client, profile.inboxes)
        addresses = [inbox.address for inbox in inboxes]
        ours = Runner(server.pid, server.smtp_port, addresses, profile.load, templates, run_id)
        ours.profiling = profiling
        theirs = None
        if isinstance(baseline, maildev.MailDevServer):
            theirs = Runner(
                baseline.pid, baseline.smtp_port, addresses, profile.load, templates, run_id + "m"
            )
        our_phases, their_phases = await _interleaved(ours, theirs)
        our_phases.append(await ours.with_api(server.base_url, inboxes))
        checked = await verify.verify(
            client, inboxes, ours.sent, templates, run_id, profile.verify_sample
        )
        results: report.Results = {
            "tempmail": {
                "phases": [asdict(phase) for phase in our_phases],
                "peak_rss_mb": round(peak_rss_bytes(server.pid) / MIB, 1),
                "verification": asdict(checked),
                "database_mb": round(server.database_bytes() / MIB, 1),
                "server_stats": await api_client.admin_stats(client, server.api_key),
            }
        }
        if isinstance(baseline, str):
            results["maildev"] = {"error": baseline}
        elif isinstance(baseline, maildev.MailDevServer) and theirs is not None:
            results["maildev"] = await _maildev_results(baseline, theirs, their_phases)
    return results


def _meta(profile: Profile, run_id: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "profile": profile.name,
        "connections": profile.load.connections,
        "messages_per_session": profile.load.messages_per_session,
        "phase_seconds": profile.load.phase_seconds,
        "inboxes": profile.inboxes,
        "api_clients": profile.load.api_clients,
        "tempmail_commit": _commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }


async def _run(arguments: argparse.Namespace, work_dir: Path) -> report.Results:
    profile = _profile(arguments)
    run_id = time.strftime("%Y%m%d-%H%M%S")
    templates = build_templates()
    results: report.Results = {"meta": _meta(profile, run_id)}
    results |= await _load_runs(arguments, profile, templates, work_dir, run_id)
    if arguments.scale or arguments.all:
        outcome = await scale.run(profile.scale, templates, work_dir / "scale", run_id + "s")
        results["scale"] = asdict(outcome)
    results["meta"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    results["targets"] = [asdict(target) for target in report.targets(results)]
    return results


def _run_cluster(arguments: argparse.Namespace, work_dir: Path) -> int:
    profile = _profile(arguments)
    run_id = time.strftime("%Y%m%d-%H%M%S")
    meta = _meta(profile, run_id)
    try:
        results = asyncio.run(
            asyncio.wait_for(
                cluster.run(
                    arguments.nodes,
                    profile.load.connections,
                    profile.load.phase_seconds,
                    arguments.rounds,
                    build_templates(),
                    work_dir,
                    run_id,
                    arguments.maildev_prefix,
                ),
                RUN_LIMIT_SECONDS,
            )
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    meta["load_average_at_end"] = round(os.getloadavg()[0], 2)
    arguments.output.mkdir(parents=True, exist_ok=True)
    path = arguments.output / f"{run_id}-cluster.json"
    path.write_text(json.dumps({"meta": meta} | results, indent=2) + "\n")
    print(cluster.render(results))
    print(f"\nresults written to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    if arguments.report:
        loaded = report.load(arguments.report)
        print(cluster.render(loaded) if "rows" in loaded else report.render(loaded))
        return 0
    work_dir = Path(tempfile.mkdtemp(prefix="tempmail-bench-"))
    if arguments.backend == "postgresql":
        return _run_cluster(arguments, work_dir)
    try:
        results = asyncio.run(asyncio.wait_for(_run(arguments, work_dir), RUN_LIMIT_SECONDS))
    finally:
        if arguments.keep:
            print(f"data kept in {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    path = report.write(results, arguments.output)
    print(report.render(results))
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
