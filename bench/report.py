"""Results: the JSON file, the targets, and the table printed at the end of a run.

Everything here works on the JSON form of the results, so `run.py --report FILE` can print an
earlier run again.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Results = dict[str, Any]
# Other processes' CPU (100 = one core) above which a phase's figures are called noisy.
BUSY_OTHER_CPU_PERCENT = 15.0


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None
    """None when the run did not measure it."""


def write(results: Results, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{results['meta']['run_id']}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def load(path: Path) -> Results:
    results: Results = json.loads(path.read_text())
    return results


def _phase(results: Results, server: str, name: str) -> dict[str, Any]:
    for phase in (results.get(server) or {}).get("phases", []):
        if phase["name"] == name:
            return dict(phase)
    return {}


def _figure(tree: Any, *path: str) -> float | None:
    """The number at `path` inside nested dicts, or None where anything is missing."""
    for key in path:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(key)
    return None if tree is None else float(tree)


def _target(name: str, goal: str, value: float | None, shown: str, met: bool) -> Target:
    if value is None:
        return Target(name, goal, "not measured", None)
    return Target(name, goal, shown, met)


def _comparison_targets(results: Results) -> list[Target]:
    targets = []
    for kind in ("plain", "multipart"):
        ours, theirs = _phase(results, "tempmail", kind), _phase(results, "maildev", kind)
        rate = _figure(ours, "smtp", "messages_per_second")
        their_rate = _figure(theirs, "smtp", "messages_per_second")
        ratio = rate / their_rate if rate is not None and their_rate else None
        targets.append(
            _target(
                f"{kind}: msg/s vs MailDev",
                ">= 1.2x",
                ratio,
                f"{ratio or 0:.2f}x",
                (ratio or 0) >= 1.2,
            )
        )
        p99 = _figure(ours, "smtp", "latency", "p99_ms")
        their_p99 = _figure(theirs, "smtp", "latency", "p99_ms")
        both = None if p99 is None or their_p99 is None else p99
        targets.append(
            _target(
                f"{kind}: SMTP p99 vs MailDev",
                "<= MailDev's",
                both,
                f"{p99 or 0:.0f} vs {their_p99 or 0:.0f} ms",
                (p99 or 0) <= (their_p99 or 0),
            )
        )
    return targets


def _api_targets(results: Results) -> list[Target]:
    mixed = _phase(results, "tempmail", "mixed + API")
    targets = []
    for operation in ("list", "read"):
        p99 = _figure(mixed, "api", operation, "p99_ms")
        targets.append(
            _target(
                f"API {operation} p99 while ingesting",
                "< 50 ms",
                p99,
                f"{p99 or 0:.1f} ms",
                (p99 or 0) < 50,
            )
        )
    return targets


def _resource_targets(results: Results) -> list[Target]:
    rss = _figure(results, "tempmail", "peak_rss_mb")
    scale_rss = _figure(results, "scale", "server", "lifetime_peak_rss_mb")
    stall = _figure(results, "scale", "expiry", "noop", "max_gap_ms")
    return [
        _target("peak RSS under load", "< 80 MB", rss, f"{rss or 0:.1f} MB", (rss or 0) < 80),
        _target(
            "peak RSS in the scale run",
            "< 80 MB",
            scale_rss,
            f"{scale_rss or 0:.1f} MB",
            (scale_rss or 0) < 80,
        ),
        _target(
            "expiry: longest gap between NOOP replies",
            "<= 100 ms",
            stall,
            f"{stall or 0:.1f} ms",
            (stall or 0) <= 100,
        ),
    ]


def targets(results: Results) -> list[Target]:
    return _comparison_targets(results) + _api_targets(results) + _resource_targets(results)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns aligned: text left, numbers right."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    numeric = [all(_is_number(row[i]) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join(
        [line(headers), line(["-" * width for width in widths])] + [line(row) for row in cells]
    )


def _is_number(value: object) -> bool:
    return value is None or isinstance(value, int | float)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _rejected(counts: dict[str, int]) -> str:
    return ", ".join(f"{code}x{count}" for code, count in sorted(counts.items())) or "none"


def _all_phases(results: Results) -> list[dict[str, Any]]:
    return [
        phase
        for server in ("tempmail", "maildev")
        for phase in (results.get(server) or {}).get("phases", [])
    ]


def _others(phase: dict[str, Any]) -> float:
    """CPU used by processes other than the server and the bench's clients during a phase."""
    machine = _figure(phase, "server", "machine_cpu_percent") or 0.0
    ours = sum(
        _figure(phase, *path) or 0.0
        for path in (
            ("server", "cpu_percent"),
            ("smtp", "client_cpu_percent"),
            ("api", "client_cpu_percent"),
        )
    )
    return round(max(0.0, machine - ours), 1)


def smtp_section(results: Results) -> str:
    rows = []
    for server in ("tempmail", "maildev"):
        for phase in (results.get(server) or {}).get("phases", []):
            smtp, usage = phase["smtp"], phase["server"]
            rows.append(
                [
                    server,
                    phase["name"],
                    smtp["messages_per_second"],
                    smtp["latency"]["p50_ms"],
                    smtp["latency"]["p99_ms"],
                    smtp["latency"]["max_ms"],
                    smtp["accepted"],
                    _rejected(smtp["rejected"]),
                    usage["cpu_percent"],
                    usage["peak_rss_mb"],
                    round(
                        smtp["client_cpu_percent"]
                        + (_figure(phase, "api", "client_cpu_percent") or 0),
                        1,
                    ),
                    _others(phase),
                ]
            )
    headers = ["server", "phase", "msg/s", "p50 ms", "p99 ms", "max ms", "accepted"]
    headers += ["rejected", "srv CPU%", "srv RSS MB", "bench CPU%", "other CPU%"]
    return table(headers, rows)


def api_section(results: Results) -> str:
    mixed = _phase(results, "tempmail", "mixed + API")
    if not mixed.get("api"):
        return "API load: not run"
    api = mixed["api"]
    rows = [
        [
            operation,
            api[operation]["count"],
            api[operation]["p50_ms"],
            api[operation]["p99_ms"],
            api[operation]["max_ms"],
        ]
        for operation in ("list", "read", "health")
        if operation in api
    ]
    summary = (
        f"API while ingesting: {api['clients']} clients, {api['requests_per_second']:,.1f} req/s, "
        f"errors: {_rejected(api['errors']) if api['errors'] else 'none'}"
    )
    if "connections" in api:  # results written before the count was kept have none
        summary += f", connections opened: {api['connections']:,}"
    return summary + "\n" + table(["request", "count", "p50 ms", "p99 ms", "max ms"], rows)


def verification_section(results: Results) -> str:
    lines = []
    ours = (results.get("tempmail") or {}).get("verification")
    if ours:
        lines.append(
            f"tempmail: {ours['found']:,}/{ours['accepted']:,} accepted messages stored and listed "
            f"({ours['missing']} missing, {ours['unacknowledged_extra']} stored but unacknowledged); "
            f"raw source identical for {ours['raw_identical']}/{ours['raw_compared']} sampled"
        )
        lines += [f"  mismatch: {text}" for text in ours["mismatches"]]
    theirs = (results.get("maildev") or {}).get("verification")
    if theirs:
        lines.append(
            f"maildev:  {theirs['found']:,}/{theirs['accepted']:,} accepted messages listed "
            f"({theirs['missing']} missing)"
        )
    return "\n".join(lines) or "verification: not run"


def scale_section(results: Results) -> str:
    scale = results.get("scale")
    if not scale:
        return "Scale run: not run"
    expiry, fill, api = scale["expiry"], scale["fill"], scale["api"]
    noop, health = expiry["noop"], expiry["health"]
    trickle = expiry["deliveries_during_pass"]
    return "\n".join(
        [
            f"Scale run: {scale['messages_stored']:,} messages in {scale['inboxes']:,} inboxes",
            f"  create inboxes  {scale['create_inboxes_seconds']:.1f} s; fill over SMTP "
            f"{fill['wall_seconds']:.1f} s ({fill['recipients_accepted'] / max(fill['wall_seconds'], 1e-9):,.0f} stored/s)",
            f"  database        {scale['database_mb_after_fill']:,.1f} MB after fill, "
            f"{scale['database_mb_after_expiry']:,.1f} MB after expiry",
            f"  list at scale   p50 {api['list']['p50_ms']} ms, p99 {api['list']['p99_ms']} ms; "
            f"read p50 {api['read']['p50_ms']} ms, p99 {api['read']['p99_ms']} ms",
            f"  expiry pass     {expiry['inboxes_expired']:,} inboxes / {expiry['messages_expired']:,} "
            f"messages in {expiry['pass_seconds']:.2f} s (server says {expiry['server_pass_seconds']} s)",
            f"  loop stall      NOOP max gap {noop['max_gap_ms']} ms (p99 {noop['p99_gap_ms']} ms, "
            f"{noop['gaps_over_100ms']} gaps > 100 ms); /health max gap {health['max_gap_ms']} ms",
            f"  SMTP during it  {trickle['accepted']:,} delivered, p99 {trickle['latency']['p99_ms']} ms, "
            f"max {trickle['latency']['max_ms']} ms, rejected {_rejected(trickle['rejected'])}",
            f"  server          peak RSS {scale['server']['lifetime_peak_rss_mb']} MB; "
            f"CPU {expiry['server']['cpu_percent']}% during the pass",
        ]
    )


def profile_section(results: Results) -> str:
    blocks = []
    for phase in (results.get("tempmail") or {}).get("phases", []):
        profile = phase.get("profile")
        if not profile:
            continue
        threads = ", ".join(f"{name} {share}%" for name, share in profile["by_thread"].items())
        rows = list(
            itertools.zip_longest(
                [f"{share:5.1f}% {name}" for name, share in profile["top_self"].items()],
                [f"{share:5.1f}% {name}" for name, share in profile["top_inclusive"].items()],
                fillvalue="",
            )
        )
        blocks.append(
            f"py-spy, {phase['name']}: the GIL was held {profile['gil_held_percent']}% of the time; "
            f"of that: {threads}\n  stacks: {profile['path']}\n"
            + table(["innermost frame (self)", "tempmail function (inclusive)"], rows)
        )
    return "\n\n".join(blocks)


def targets_section(results: Results) -> str:
    rows = [
        ["-" if t.met is None else ("met" if t.met else "MISSED"), t.name, t.goal, t.measured]
        for t in targets(results)
    ]
    return table(["", "target", "goal", "measured"], rows)


def render(results: Results) -> str:
    meta = results["meta"]
    header = (
        f"tempmail benchmark {meta['run_id']} ({meta['profile']}): {meta['connections']} SMTP "
        f"connections, {meta['messages_per_session']} messages/session, "
        f"{meta['phase_seconds']:.0f} s per phase; tempmail {meta['tempmail_commit']}"
    )
    maildev = results.get("maildev") or {}
    notes = [f"MailDev: {maildev['error']}"] if maildev.get("error") else []
    busiest = max((_others(phase) for phase in _all_phases(results)), default=0.0)
    if busiest > BUSY_OTHER_CPU_PERCENT:
        notes.append(
            f"Note: other processes used up to {busiest:.0f}% CPU during a phase (of "
            f"{100 * (meta.get('cpus') or 1)}%): the figures are noisy; run again on a quiet machine."
        )
    sections = [header, smtp_section(results), api_section(results)]
    sections += [verification_section(results), scale_section(results), *notes]
    if any(phase.get("profile") for phase in (results.get("tempmail") or {}).get("phases", [])):
        sections.append(profile_section(results))
    sections.append(targets_section(results))
    return "\n\n".join(sections)
