"""Prometheus metrics: one registry per server, built in the composition root and passed in.

prometheus-client renders the text format and keeps the histograms; its default global registry
is not used, so two servers in one process (as in the tests) never share numbers. Labels carry
reply codes, route templates and kinds, never addresses, ids or raw paths.
"""

from __future__ import annotations

import abc
import shutil
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tempmail.storage import StoreStats

CONTENT_TYPE = CONTENT_TYPE_LATEST
_SIZE_BUCKETS = (1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """Every metric tempmail exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._reply_children: dict[str, Counter] = {}
        r = self.registry
        self.smtp_sessions = Counter(
            "tempmail_smtp_sessions", "SMTP connections accepted", registry=r
        )
        self.smtp_replies = Counter(
            "tempmail_smtp_replies",
            "SMTP replies sent, by reply code (2xx accepted, 4xx/5xx refused)",
            ["code"],
            registry=r,
        )
        self.messages_accepted = Counter(
            "tempmail_messages_accepted", "Messages acknowledged with 250 after commit", registry=r
        )
        self.messages_rejected = Counter(
            "tempmail_messages_rejected",
            "Messages or recipients refused, by reply code",
            ["code"],
            registry=r,
        )
        self.delivery_failures = Counter(
            "tempmail_delivery_failures",
            "Deliveries that failed on storage (answered 451/452)",
            registry=r,
        )
        self.message_size = Histogram(
            "tempmail_message_size_bytes",
            "Size of accepted messages",
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.delivery_latency = Histogram(
            "tempmail_delivery_seconds",
            "End of DATA to commit: parse, seal and store",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.cluster_arrival_delay = Histogram(
            "tempmail_cluster_arrival_delay_seconds",
            "Messages stored through another node: from their receipt there (by that node's"
            " clock) to this node handing their change notice to its event streams and long polls",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.deliveries_paced = Counter(
            "tempmail_smtp_deliveries_paced",
            "Deliveries held back a moment so that HTTP requests were served first",
            registry=r,
        )
        self.inboxes_created = Counter("tempmail_inboxes_created", "Inboxes created", registry=r)
        self.inboxes_expired = Counter("tempmail_inboxes_expired", "Inboxes expired", registry=r)
        self.inboxes_deleted = Counter(
            "tempmail_inboxes_deleted", "Inboxes deleted by holders or admins", registry=r
        )
        self.inboxes_live = Gauge("tempmail_inboxes_live", "Inboxes not yet expired", registry=r)
        self.messages_stored = Gauge("tempmail_messages_stored", "Messages on disk", registry=r)
        self.message_bytes = Gauge(
            "tempmail_messages_stored_bytes", "Raw size of messages on disk", registry=r
        )
        self.database_bytes = Gauge(
            "tempmail_database_bytes", "Size of the SQLite database file", registry=r
        )
        self.disk_free_bytes = Gauge(
            "tempmail_data_dir_free_bytes",
            "Free space on the file system holding data_dir",
            registry=r,
        )
        self.disk_total_bytes = Gauge(
            "tempmail_data_dir_total_bytes",
            "Size of the file system holding data_dir",
            registry=r,
        )
        self.http_requests = Counter(
            "tempmail_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "tempmail_http_request_seconds",
            "HTTP request duration by route template",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.rate_limited = Counter(
            "tempmail_rate_limited", "Requests refused with 429, by kind", ["kind"], registry=r
        )
        self.rate_limit_redis_up = Gauge(
            "tempmail_rate_limit_redis_up",
            "1 while the shared rate limits in Redis answer, 0 while this node uses its own",
            registry=r,
        )
        self.rate_limit_redis_errors = Counter(
            "tempmail_rate_limit_redis_errors",
            "Rate-limit calls to Redis that failed (unreachable, timed out or an error reply)",
            registry=r,
        )
        self.rate_limit_local_decisions = Counter(
            "tempmail_rate_limit_local_decisions",
            "Rate-limit decisions made on this node's own buckets because Redis was away",
            registry=r,
        )
        self.expiry_duration = Histogram(
            "tempmail_expiry_pass_seconds",
            "Duration of expiry passes",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.checkpoint_busy = Counter(
            "tempmail_wal_checkpoint_busy",
            "WAL checkpoints that a reader kept from finishing (retried)",
            registry=r,
        )
        self.expiry_last_success = Gauge(
            "tempmail_expiry_last_success_timestamp_seconds",
            "When the last expiry pass finished",
            registry=r,
        )

    def record_reply(self, reply: str) -> None:
        code = reply[:3]
        if not code.isdigit():
            return
        # Labelled children are looked up once per code, not once per reply.
        child = self._reply_children.get(code)
        if child is None:
            child = self._reply_children[code] = self.smtp_replies.labels(code)
        child.inc()
        if reply.startswith("250 2.0.0"):
            self.messages_accepted.inc()
        elif code[0] in "45":
            self.messages_rejected.labels(code).inc()

    def update_storage(self, stats: StoreStats, data_dir: Path | None = None) -> None:
        self.inboxes_live.set(stats.live_inboxes)
        self.messages_stored.set(stats.messages)
        self.message_bytes.set(stats.message_bytes)
        self.database_bytes.set(stats.database_bytes)
        if data_dir is not None:
            try:
                usage = shutil.disk_usage(data_dir)
            except OSError:
                return
            self.disk_free_bytes.set(usage.free)
            self.disk_total_bytes.set(usage.total)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_label(scope: Scope) -> str:
    """The template of the route that served a request (`/api/v1/messages/{message_id}`)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    return path or "static"


class RequestObserver(abc.ABC):
    """ASGI middleware that sees every HTTP request's route template, method, final status and
    duration once it is answered (or failed: 500); subclasses say what to do with them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            self.observed(scope, route_label(scope), status, time.perf_counter() - started)

    @abc.abstractmethod
    def observed(self, scope: Scope, route: str, status: int, seconds: float) -> None:
        """Called once per request after it is answered."""


class HTTPMetrics(RequestObserver):
    """Counts and times every HTTP request under its route template (never the raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    def observed(self, scope: Scope, route: str, status: int, seconds: float) -> None:
        method = scope["method"]
        self.metrics.http_requests.labels(route, method, str(status)).inc()
        self.metrics.http_latency.labels(route, method).observe(seconds)
