"""The SMTP load generator: many sessions, many transactions per session, bounded in count and time.

Each of `connections` workers opens a session, says EHLO once, sends up to
`messages_per_session` messages (MAIL, RCPT, DATA on the same connection), quits and opens the
next session, until the phase has attempted `max_messages` or `duration` seconds have passed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from messages import SENDER, Template, dot_stuffed
from smtp_client import Delivery, Refused, SMTPClient
from stats import Latency, summarize

RECONNECT_PAUSE = 0.05


@dataclass(frozen=True)
class Sent:
    """One accepted message: enough to rebuild its bytes and find it again."""

    serial: int
    kind: str
    group: int
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class LoadPlan:
    host: str
    port: int
    kinds: tuple[str, ...]
    """Message kinds, alternated by serial number."""
    groups: Sequence[Sequence[str]]
    """Recipient groups; transaction n goes to group n % len(groups)."""
    connections: int
    messages_per_session: int
    max_messages: int
    duration: float
    run_id: str
    reply_timeout: float = 30.0
    stop: asyncio.Event | None = None
    """Ends the phase early when set (in addition to count and time)."""


@dataclass
class LoadResult:
    """What one phase achieved, from the client's side."""

    kinds: list[str]
    connections: int
    messages_per_session: int
    attempted: int
    accepted: int
    recipients_accepted: int
    rejected: dict[str, int]
    sessions: int
    wall_seconds: float
    messages_per_second: float
    latency: Latency
    client_cpu_percent: float


def subject_of(run_id: str, kind: str, serial: int) -> str:
    return f"bench {run_id} {kind} {serial:08d}"


def render(template: Template, run_id: str, serial: int, recipient: str) -> bytes:
    """The exact bytes message `serial` carries (what the server must store)."""
    return template.render(
        recipient, subject_of(run_id, template.kind, serial), f"{run_id}.{serial:08d}"
    )


@dataclass
class _Phase:
    plan: LoadPlan
    templates: dict[str, Template]
    serials: itertools.count[int]
    deadline: float
    attempted: int = 0
    sessions: int = 0
    latencies: list[float] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    sent: list[Sent] = field(default_factory=list)

    def over(self) -> bool:
        stop = self.plan.stop
        return (
            self.attempted >= self.plan.max_messages
            or time.perf_counter() >= self.deadline
            or (stop is not None and stop.is_set())
        )

    def next_serial(self) -> int:
        self.attempted += 1
        return next(self.serials)

    def record(self, serial: int, kind: str, group: int, delivery: Delivery) -> None:
        self.rejected.update(delivery.refusals)
        if delivery.ok:
            self.latencies.append(delivery.seconds)
            self.sent.append(Sent(serial, kind, group, tuple(delivery.accepted)))


async def _session(phase: _Phase, client: SMTPClient) -> None:
    plan = phase.plan
    reply = await client.ehlo()
    if reply.code != 250:
        phase.rejected[str(reply.code)] += 1
        return
    for _ in range(plan.messages_per_session):
        if phase.over():
            break
        serial = phase.next_serial()
        kind = plan.kinds[serial % len(plan.kinds)]
        group = serial % len(plan.groups)
        recipients = plan.groups[group]
        payload = dot_stuffed(render(phase.templates[kind], plan.run_id, serial, recipients[0]))
        delivery = await client.send(SENDER, recipients, payload)
        phase.record(serial, kind, group, delivery)
        if delivery.code == "421":
            return
    await client.quit()


async def _worker(phase: _Phase) -> None:
    plan = phase.plan
    while not phase.over():
        try:
            client = await SMTPClient.connect(plan.host, plan.port, plan.reply_timeout)
        except Refused as refused:
            phase.rejected[refused.code] += 1
            await asyncio.sleep(RECONNECT_PAUSE)
            continue
        except (OSError, TimeoutError, ConnectionError):
            phase.rejected["connect-failed"] += 1
            await asyncio.sleep(RECONNECT_PAUSE)
            continue
        phase.sessions += 1
        try:
            await _session(phase, client)
        except TimeoutError:
            phase.rejected["timeout"] += 1
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            phase.rejected["disconnected"] += 1
        finally:
            client.close()


async def run_load(
    plan: LoadPlan, templates: dict[str, Template], serials: itertools.count[int]
) -> tuple[LoadResult, list[Sent]]:
    """Run one phase; returns its figures and every accepted message."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    phase = _Phase(plan, templates, serials, started + plan.duration)
    await asyncio.gather(*(_worker(phase) for _ in range(plan.connections)))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    accepted = len(phase.sent)
    result = LoadResult(
        kinds=list(plan.kinds),
        connections=plan.connections,
        messages_per_session=plan.messages_per_session,
        attempted=phase.attempted,
        accepted=accepted,
        recipients_accepted=sum(len(sent.recipients) for sent in phase.sent),
        rejected=dict(phase.rejected),
        sessions=phase.sessions,
        wall_seconds=round(wall, 3),
        messages_per_second=round(accepted / wall, 1) if wall > 0 else 0.0,
        latency=summarize(phase.latencies),
        client_cpu_percent=round(100 * cpu / wall, 1) if wall > 0 else 0.0,
    )
    return result, phase.sent
