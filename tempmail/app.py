"""The composition root: builds every collaborator, the lifespan, the routes and error handling.

Lifespan order (teardown runs in reverse): storage -> SMTP listener -> POP3 listener (when
enabled) -> expiry task. On SIGTERM uvicorn runs the lifespan's shutdown, so all teardown lives
here: stop expiry, end POP3 sessions (deleting nothing), stop the SMTP listener (deliveries in
progress finish first), close the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import TypedDict

from prometheus_client import start_http_server
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tempmail import admin, api, crypto, openapi, service, wire
from tempmail import keys as keyring_files
from tempmail.clients import ClientResolver
from tempmail.clock import now_ms
from tempmail.cluster import Follower
from tempmail.delivery import Deliverer
from tempmail.errors import IntegrityError, StorageError, TempmailError, Unavailable
from tempmail.events import EventHub
from tempmail.expiry import Expirer
from tempmail.inboxes import Inboxes
from tempmail.keys import Keyring
from tempmail.mailtm import routes as mailtm_routes
from tempmail.metrics import HTTPMetrics, Metrics
from tempmail.middleware import (
    AUTH,
    CREATE,
    HOUR,
    MINUTE,
    AccessLog,
    PaceIngest,
    RateLimit,
    SecurityHeaders,
)
from tempmail.pacing import IngestPacer
from tempmail.pop3.listener import Listener as POP3Listener
from tempmail.ratelimit import Limits, LocalLimits, RateLimiter, Rule
from tempmail.redislimits import RedisLimits
from tempmail.responses import json_response
from tempmail.sanitize import Sanitizer
from tempmail.service import MetricsAccess, Readiness
from tempmail.settings import Settings
from tempmail.smtp import Counters, Handler, Listener, tls_context
from tempmail.storage import PostgresStore, Store, open_store
from tempmail.streams import StreamSlots

log = logging.getLogger(__name__)


def _static_dir() -> Path:
    """`static/` beside the package in a clone, or where a non-editable install put it."""
    beside = Path(__file__).resolve().parent.parent / "static"
    installed = Path(sys.prefix) / "share" / "tempmail" / "static"
    return beside if beside.is_dir() or not installed.is_dir() else installed


STATIC_DIR = _static_dir()
DATABASE_FILE = "tempmail.sqlite3"
GAUGE_REFRESH_SECONDS = 15
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


def _error(status: int, code: str, text: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(wire.Error(code, text), status, dict(headers or {}))


async def _tempmail_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, TempmailError)
    return _error(error.status, error.code, error.message, error.headers)


async def _storage_error(request: Request, error: Exception) -> Response:
    unavailable = Unavailable("Storage is temporarily unavailable; try again shortly.")
    return await _tempmail_error(request, unavailable)


async def _integrity_error(request: Request, error: Exception) -> Response:
    log.error("sealed data failed to authenticate on %s", request.url.path)
    return _error(500, "internal_error", "The server could not read this item.")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    text = "Not found." if error.status_code == 404 else str(error.detail)
    return _error(error.status_code, code, text, error.headers)


async def _unexpected(request: Request, error: Exception) -> Response:
    log.error("unhandled %s on %s", type(error).__name__, request.url.path, exc_info=error)
    return _error(500, "internal_error", "The server could not complete the request.")


async def _openapi(request: Request) -> Response:
    return json_response(openapi.build(request.app.state.settings))


# Swagger UI needs no more than this: its scripts and styles from here, inline style
# attributes (React sets them; 'unsafe-inline' in style-src allows no script), SVG icons as
# data: URIs in its stylesheet, and fetch to this origin for the spec and "Try it out".
DOCS_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    )
)


async def _docs(request: Request) -> Response:
    """GET /docs: Swagger UI (vendored in static/swagger-ui) on /openapi.json."""
    return FileResponse(
        STATIC_DIR / "docs.html",
        media_type="text/html",
        headers={"Content-Security-Policy": DOCS_POLICY},
    )


class State(TypedDict):
    """What the lifespan hands to every request (`request.state`)."""

    store: Store
    inboxes: Inboxes
    hub: EventHub
    sanitizer: Sanitizer
    expirer: Expirer
    smtp_counters: Counters
    admin_key: str | None
    metrics: Metrics
    readiness: Readiness
    streams: StreamSlots


class Runtime:
    """Handles to the running server that the CLI and tests need (bound SMTP address)."""

    def __init__(self) -> None:
        self.listener: Listener | None = None
        self.expirer: Expirer | None = None
        self.store: Store | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.limiter: RateLimiter | None = None
        self.limits: Limits | None = None
        self.hub: EventHub | None = None
        self.pop3: POP3Listener | None = None

    def begin_shutdown(self) -> None:
        """End event streams and long polls; safe to call from a signal handler or thread."""
        if self.loop is not None and self.hub is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.hub.close)

    @property
    def smtp_address(self) -> tuple[str, int]:
        assert self.listener is not None
        return self.listener.addresses[0]


def create_app(settings: Settings, keys: Keyring, runtime: Runtime | None = None) -> Starlette:
    """Build the ASGI application; collaborators are created in its lifespan."""
    runtime = runtime or Runtime()
    sanitizer = Sanitizer()
    metrics = Metrics()
    resolver = ClientResolver(settings.http.trusted_proxies, settings.http.proxy_header)
    pacer = IngestPacer(on_hold=metrics.deliveries_paced.inc)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        async with contextlib.AsyncExitStack() as stack:
            store = await open_store(settings.storage.url, settings.data_path / DATABASE_FILE)
            stack.push_async_callback(store.close)
            stack.push_async_callback(limits.close)
            hub = EventHub()
            if isinstance(store, PostgresStore):
                # Other nodes' changes reach this node's streams and long polls.
                follower = Follower(hub, store.node, metrics.cluster_arrival_delay.observe)
                listening = await store.follow(follower)
                stack.push_async_callback(listening.stop)
            sealing = crypto.SealingKeys()
            inboxes = Inboxes(store, keys, settings, hub, metrics, sealing)
            deliverer = Deliverer(store, hub, settings.inbox.max_messages, metrics, sealing)
            listener = Listener(
                Handler(store, deliverer, settings, metrics, pacer), settings, metrics
            )
            await listener.start()
            stack.push_async_callback(listener.stop)
            if settings.pop3.enabled:
                pop3 = POP3Listener(inboxes, limiter, settings.pop3, tls_context(settings))
                await pop3.start()
                stack.push_async_callback(pop3.stop)
                runtime.pop3 = pop3
            expirer = Expirer(
                store,
                hub,
                metrics,
                after_pass=_key_retirement(settings, keys, store),
                quarantine_ms=round(settings.inbox.quarantine_hours * 3_600_000),
            )
            expiry_task = asyncio.create_task(
                expirer.run_forever(settings.expiry.interval_seconds), name="tempmail-expiry"
            )
            stack.push_async_callback(_cancel, expiry_task)
            if settings.metrics.enabled and settings.metrics.listen:
                stack.enter_context(_metrics_listener(settings.metrics.listen, metrics))
                refresh = asyncio.create_task(
                    _refresh_gauges(store, metrics, settings.data_path), name="tempmail-metrics"
                )
                stack.push_async_callback(_cancel, refresh)
            runtime.listener, runtime.expirer, runtime.store = listener, expirer, store
            runtime.loop = asyncio.get_running_loop()
            runtime.hub = hub
            readiness = Readiness(
                store, listener, expirer, expiry_task, settings.expiry.interval_seconds
            )
            yield {
                "metrics": metrics,
                "readiness": readiness,
                "store": store,
                "inboxes": inboxes,
                "hub": hub,
                "sanitizer": sanitizer,
                "expirer": expirer,
                "smtp_counters": listener.counters,
                "admin_key": keys.api_key,
                "streams": StreamSlots(
                    settings.limits.streams_per_client, settings.limits.streams_per_inbox
                ),
            }
            log.info("shutting down")

    rules = {
        MINUTE: Rule(settings.limits.requests_per_minute, 60),
        HOUR: Rule(settings.limits.requests_per_hour, 3600),
        CREATE: Rule(settings.limits.inbox_creations_per_hour, 3600),
        AUTH: Rule(settings.limits.auth_failures_per_minute, 60),
    }
    limiter = RateLimiter(rules)
    limits: Limits = LocalLimits(limiter)
    if settings.limits.redis_url:
        limits = RedisLimits(settings.limits.redis_url, rules, LocalLimits(limiter), metrics)
    runtime.limiter, runtime.limits = limiter, limits
    middleware = [
        Middleware(
            AccessLog, client_addresses=settings.logging.client_addresses, resolver=resolver
        ),
        Middleware(PaceIngest, pacer=pacer),
        Middleware(SecurityHeaders, hsts=settings.http.public_url.startswith("https://")),
    ]
    if settings.http.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.http.cors_origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
                allow_credentials=False,
                max_age=600,
            )
        )
    mailtm_prefix = settings.mailtm.prefix if settings.mailtm.enabled else None
    middleware.append(
        Middleware(
            RateLimit,
            limits=limits,
            resolver=resolver,
            on_reject=lambda kind: metrics.rate_limited.labels(kind).inc(),
            prefixes=("/api/", f"{mailtm_prefix}/") if mailtm_prefix else ("/api/",),
            creation_paths=frozenset({"/api/v1/inboxes", f"{mailtm_prefix}/accounts"}),
            login_paths=frozenset({f"{mailtm_prefix}/token"} if mailtm_prefix else ()),
        )
    )
    middleware.insert(3, Middleware(HTTPMetrics, metrics=metrics))
    routes = [
        *api.routes,
        *admin.routes,
        *service.routes,
        Route("/openapi.json", _openapi, methods=["GET"]),
        Route("/docs", _docs, methods=["GET"]),
        *(
            [Mount(mailtm_prefix, app=mailtm_routes.application(settings, keys))]
            if mailtm_prefix
            else []
        ),
        Mount("/", StaticFiles(directory=STATIC_DIR, html=True, check_dir=False), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={
            TempmailError: _tempmail_error,
            StorageError: _storage_error,
            IntegrityError: _integrity_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.metrics_access = MetricsAccess(settings, resolver)
    app.state.settings = settings
    return app


@contextlib.contextmanager
def _metrics_listener(listen: str, metrics: Metrics) -> Iterator[None]:
    """Serve /metrics on its own address (prometheus-client's threaded server)."""
    host, _, port = listen.rpartition(":")
    server, thread = start_http_server(int(port), host.strip("[]"), registry=metrics.registry)
    log.info("metrics listening on %s", listen)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def _refresh_gauges(store: Store, metrics: Metrics, data_dir: Path) -> None:
    while True:
        try:
            metrics.update_storage(await store.stats(now_ms()), data_dir)
        except StorageError:
            log.warning("could not read storage statistics for metrics")
        await asyncio.sleep(GAUGE_REFRESH_SECONDS)


def _key_retirement(
    settings: Settings, keys: Keyring, store: Store
) -> Callable[[], Awaitable[object]] | None:
    """After each expiry pass, drop key sets that no inbox uses any more (key file only)."""
    if keys.source != "file":
        return None

    async def retire() -> list[str]:
        return await keyring_files.retire_unused(settings.data_path, store, keep=keys.current)

    return retire


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
