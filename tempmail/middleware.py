"""ASGI middleware: the access log, security headers on every response, per-client rate limits
on the API, and noting HTTP requests so that SMTP deliveries give way to them."""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tempmail import wire
from tempmail.clients import ClientResolver, bucket_key
from tempmail.metrics import RequestObserver
from tempmail.pacing import IngestPacer
from tempmail.ratelimit import Limits, retry_after
from tempmail.responses import json_response

PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        # Remote images only ever load inside a message frame whose own policy allows them,
        # and only after the person asked for them (see static/app.js).
        "img-src 'self' data: blob: http: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    )
)
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = b"max-age=63072000; includeSubDomains"

MINUTE, HOUR, CREATE, AUTH = "minute", "hour", "create", "auth"
_CREDENTIALS = frozenset({b"authorization", b"x-api-key"})


access_log = logging.getLogger("tempmail.access")


class AccessLog(RequestObserver):
    """One line per HTTP request: method, route template, status and duration.

    Never the raw path (it holds inbox and message ids) or the query string (a token put there
    by mistake must not reach the logs); the client's address only when asked for.
    """

    def __init__(self, app: ASGIApp, client_addresses: bool = False) -> None:
        super().__init__(app)
        self.client_addresses = client_addresses

    def observed(self, scope: Scope, route: str, status: int, seconds: float) -> None:
        method = scope["method"]
        fields: dict[str, object] = {
            "method": method,
            "route": route,
            "status": status,
            "duration": round(seconds, 6),
        }
        if self.client_addresses:
            peer = scope.get("client")
            fields["client"] = peer[0] if peer else "unknown"
        access_log.info("%s %s %d", method, route, status, extra=fields)


class PaceIngest:
    """Tells the pacer an HTTP request arrived, before anything else is done with it."""

    def __init__(self, app: ASGIApp, pacer: IngestPacer) -> None:
        self.app = app
        self.pacer = pacer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.pacer.request_started()
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds the headers every response needs; HTML pages get the page policy."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                content_type = next(
                    (value for name, value in headers if name.lower() == b"content-type"), b""
                )
                policy = PAGE_POLICY if content_type.startswith(b"text/html") else OTHER_POLICY
                additions = {
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"x-frame-options": b"DENY",
                    b"content-security-policy": policy.encode(),
                    b"cross-origin-opener-policy": b"same-origin",
                    b"cross-origin-resource-policy": b"same-origin",
                }
                if self.hsts:
                    additions[b"strict-transport-security"] = HSTS
                if message["status"] == 304:
                    # Browsers merge a 304's headers into the cached page: a policy chosen here
                    # without the page's content type would replace the page's own.
                    del additions[b"content-security-policy"]
                headers.extend(
                    (name, value) for name, value in additions.items() if name not in names
                )
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope["headers"] if key.lower() == name]


class RateLimit:
    """Token buckets on every `/api/` request, on inbox creation, and on failed authentication.

    A client whose requests keep failing authentication (401) runs out of its `auth` bucket and is
    then refused with 429 before its token is even looked at.
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: Limits,
        resolver: ClientResolver,
        on_reject: Callable[[str], None] | None = None,
        prefixes: tuple[str, ...] = ("/api/",),
        creation_paths: frozenset[str] = frozenset({"/api/v1/inboxes"}),
        login_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.limits = limits
        self.resolver = resolver
        self.on_reject = on_reject
        self.prefixes = prefixes
        self.creation_paths = creation_paths
        # Where a 401 is a wrong password even without a credential header (mail.tm's /token).
        self.login_paths = login_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        address = self.resolver.resolve(
            peer[0] if peer else None,
            _header_values(scope, b"forwarded"),
            _header_values(scope, b"x-forwarded-for"),
        )
        client = bucket_key(address)
        scope.setdefault("state", {})["client"] = client
        rules = [MINUTE, HOUR]
        path = scope["path"].rstrip("/")
        if scope["method"] == "POST" and path in self.creation_paths:
            rules.append(CREATE)
        denied = await self.limits.take(client, rules, gate=AUTH)
        if denied is not None:
            kind = AUTH if denied.rule == AUTH else "create" if CREATE in rules else "request"
            await self._refuse(scope, receive, send, denied.wait, kind)
            return

        presented = path in self.login_paths or any(
            key.lower() in _CREDENTIALS for key, _ in scope["headers"]
        )

        async def watch(message: Message) -> None:
            # Only a credential that was presented and refused counts as a guess.
            if presented and message["type"] == "http.response.start" and message["status"] == 401:
                await self.limits.charge(client, AUTH)
            await send(message)

        await self.app(scope, receive, watch)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, wait: float, kind: str
    ) -> None:
        if self.on_reject is not None:
            self.on_reject(kind)
        seconds = retry_after(wait)
        text = {
            AUTH: f"Too many requests with an invalid token; try again in {seconds} s.",
            "create": f"Too many new inboxes from your address; try again in {seconds} s.",
        }.get(kind, f"Too many requests; try again in {seconds} s.")
        response = json_response(
            wire.Error("rate_limited", text), status=429, headers={"Retry-After": seconds}
        )
        await response(scope, receive, send)
