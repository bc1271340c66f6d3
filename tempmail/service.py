"""Service routes for operators: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import ipaddress
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tempmail import wire
from tempmail.clients import ClientResolver
from tempmail.clock import now_ms
from tempmail.errors import NotFound, StorageError
from tempmail.expiry import Expirer
from tempmail.metrics import CONTENT_TYPE, Metrics
from tempmail.responses import json_response
from tempmail.settings import Settings
from tempmail.smtp import Listener
from tempmail.storage import Store


class Readiness:
    """What `/health/ready` checks: a database write, the SMTP listener, the expiry loop."""

    def __init__(
        self,
        store: Store,
        listener: Listener,
        expirer: Expirer,
        expiry_task: asyncio.Task[None],
        interval_seconds: float,
    ) -> None:
        self._store = store
        self._listener = listener
        self._expirer = expirer
        self._task = expiry_task
        self._interval = interval_seconds
        self._started = time.time()

    async def checks(self) -> dict[str, str]:
        results: dict[str, str] = {}
        try:
            await self._store.set_meta("ready_probe", str(now_ms()).encode())
            results["database"] = "ok"
        except StorageError:
            results["database"] = f"{self._store.name} not writable"
        results["smtp"] = "ok" if self._listener.serving else "listener down"
        # A pass that has not finished for three intervals (plus slack) means expiry is stuck.
        allowed = self._interval * 3 + 60
        last = self._expirer.last_success or self._started
        if self._task.done():
            results["expiry"] = "task stopped"
        elif time.time() - last > allowed:
            results["expiry"] = f"no successful pass for {int(time.time() - last)} s"
        else:
            results["expiry"] = "ok"
        return results


async def health(request: Request) -> Response:
    """GET /health: the process is up and the database answers."""
    store: Store = request.state.store
    await store.ping()
    return json_response(wire.Health("ok"))


async def ready(request: Request) -> Response:
    """GET /health/ready: 200 when every check passes, else 503 naming the failing ones."""
    readiness: Readiness = request.state.readiness
    results = await readiness.checks()
    healthy = all(value == "ok" for value in results.values())
    report = wire.ReadyReport("ok" if healthy else "unavailable", results)
    return json_response(report, 200 if healthy else 503)


class MetricsAccess:
    """Who may read `/metrics` on the main port: clients in `metrics.allow_from`."""

    def __init__(self, settings: Settings, resolver: ClientResolver) -> None:
        self.enabled = settings.metrics.enabled and not settings.metrics.listen
        self._allowed = tuple(
            ipaddress.ip_network(network, strict=False) for network in settings.metrics.allow_from
        )
        self._resolver = resolver

    def permits(self, request: Request) -> bool:
        if not self.enabled:
            return False
        address = self._resolver.resolve(
            request.client.host if request.client else None,
            request.headers.getlist("forwarded"),
            request.headers.getlist("x-forwarded-for"),
        )
        return address is not None and any(address in network for network in self._allowed)


async def metrics(request: Request) -> Response:
    """GET /metrics: Prometheus text format, for allowed clients only (404 for others)."""
    access: MetricsAccess = request.app.state.metrics_access
    if not access.permits(request):
        raise NotFound("Not found.")
    registry: Metrics = request.state.metrics
    store: Store = request.state.store
    settings: Settings = request.app.state.settings
    registry.update_storage(await store.stats(now_ms()), settings.data_path)
    return Response(registry.render(), media_type=CONTENT_TYPE)


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/health/ready", ready, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
