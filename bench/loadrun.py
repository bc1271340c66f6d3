"""The SMTP-and-API load run against one server: phases per message kind, then mixed with API reads."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import api_load
import profiler
from api_client import InboxCredentials
from messages import KINDS, Template
from procstat import Sampler, Usage
from smtp_load import LoadPlan, LoadResult, Sent, run_load


@dataclass(frozen=True)
class LoadProfile:
    connections: int
    phase_seconds: float
    phase_max_messages: int
    messages_per_session: int
    api_clients: int


@dataclass
class Phase:
    name: str
    smtp: LoadResult
    server: Usage
    api: api_load.ApiResult | None = None
    profile: profiler.Profile | None = None


@dataclass(frozen=True)
class Profiling:
    """Sample the server with py-spy during each phase, writing stacks into `directory`."""

    py_spy: Path
    directory: Path


class Runner:
    """Runs phases against one SMTP server and collects every accepted message."""

    def __init__(
        self,
        pid: int,
        smtp_port: int,
        recipients: Sequence[str],
        profile: LoadProfile,
        templates: dict[str, Template],
        run_id: str,
    ) -> None:
        self.profiling: Profiling | None = None
        """Set to sample the server with py-spy during each phase."""
        self.run_id = run_id
        self._pid = pid
        self._port = smtp_port
        self._groups = [[address] for address in recipients]
        self._profile = profile
        self._templates = templates
        self._serials = itertools.count(1)
        self.sent: list[Sent] = []

    def _plan(self, kinds: tuple[str, ...]) -> LoadPlan:
        profile = self._profile
        return LoadPlan(
            host="127.0.0.1",
            port=self._port,
            kinds=kinds,
            groups=self._groups,
            connections=profile.connections,
            messages_per_session=profile.messages_per_session,
            max_messages=profile.phase_max_messages,
            duration=profile.phase_seconds,
            run_id=self.run_id,
        )

    async def phase(self, name: str, kinds: tuple[str, ...]) -> Phase:
        """One SMTP load phase, with the server's memory and CPU over it."""
        recorder = self._recorder(name)
        sampler = Sampler(self._pid).start()
        result, sent = await run_load(self._plan(kinds), self._templates, self._serials)
        usage = await sampler.stop()
        self.sent += sent
        profile = None if recorder is None else await asyncio.to_thread(recorder.stop)
        return Phase(name, result, usage, profile=profile)

    def _recorder(self, name: str) -> profiler.Recorder | None:
        if self.profiling is None:
            return None
        self.profiling.directory.mkdir(parents=True, exist_ok=True)
        stacks = self.profiling.directory / f"{name.replace(' ', '').replace('+', '-')}.txt"
        return profiler.Recorder(self.profiling.py_spy, self._pid, stacks)

    async def with_api(self, base_url: str, inboxes: list[InboxCredentials]) -> Phase:
        """Both kinds alternating while API clients list and read, from a separate process."""
        profile = self._profile
        plan = api_load.ApiPlan(
            base_url,
            inboxes,
            profile.api_clients,
            profile.phase_seconds,
            max_requests=profile.api_clients * 100_000,
        )
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            await loop.run_in_executor(pool, api_load.ready)
            api = loop.run_in_executor(pool, api_load.run_in_process, plan)
            phase = await self.phase("mixed + API", KINDS)
            phase.api = await api
        return phase
