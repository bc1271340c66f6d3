"""The admin API: server statistics and inbox metadata behind `X-API-Key`.

Administrators see metadata only (ids, addresses, times, counts, sizes); message content is
sealed to each inbox's own key and cannot be read here anyway. The routes answer 403 while no
`TEMPMAIL_API_KEY` is configured, and 401 for a missing or wrong key (compared in constant time).
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tempmail import wire
from tempmail.clock import iso_time, now_ms
from tempmail.errors import BadRequest, Forbidden, NotFound, Unauthorized
from tempmail.events import Event, EventHub
from tempmail.expiry import Expirer
from tempmail.inboxes import Inboxes
from tempmail.metrics import Metrics
from tempmail.responses import json_response
from tempmail.smtp import Counters
from tempmail.storage import Store

MAX_PAGE = 500


def _authorize(request: Request) -> None:
    expected: str | None = request.state.admin_key
    if not expected:
        raise Forbidden("The admin API is disabled: set TEMPMAIL_API_KEY to enable it.")
    presented = request.headers.get("x-api-key", "")
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthorized("The admin API needs a valid X-API-Key header.")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # ASCII digits only, and few of them: `"²".isdigit()` holds but int() refuses it, and
    # int() refuses strings of over 4,300 digits.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or not low <= int(raw) <= high:
        raise BadRequest(f"Query parameter {name} must be a whole number from {low} to {high}.")
    return int(raw)


async def stats(request: Request) -> Response:
    """GET /api/v1/admin/stats"""
    _authorize(request)
    store: Store = request.state.store
    counters: Counters = request.state.smtp_counters
    usage = await store.stats(now_ms())
    return json_response(
        wire.AdminStats(
            inboxes_live=usage.live_inboxes,
            inboxes_stored=usage.inboxes,
            messages_stored=usage.messages,
            bytes_stored=usage.message_bytes,
            database_bytes=usage.database_bytes,
            messages_received=counters.accepted,
            messages_rejected=sum(counters.rejected.values()),
            rejected_by_code=dict(counters.rejected),
            smtp_sessions=counters.sessions,
        )
    )


async def inboxes(request: Request) -> Response:
    """GET /api/v1/admin/inboxes?limit=&offset="""
    _authorize(request)
    limit = _int_param(request, "limit", 100, 1, MAX_PAGE)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    store: Store = request.state.store
    total, page = await store.list_inboxes(limit, offset)
    return json_response(
        wire.AdminInboxPage(
            inboxes=[
                wire.AdminInbox(
                    inbox_id=usage.id,
                    address=usage.address,
                    created_at=iso_time(usage.created_at),
                    expires_at=iso_time(usage.expires_at),
                    message_count=usage.message_count,
                    size=usage.size,
                )
                for usage in page
            ],
            total=total,
            limit=limit,
            offset=offset,
        )
    )


async def delete_inbox(request: Request) -> Response:
    """DELETE /api/v1/admin/inboxes/{inbox_id}"""
    _authorize(request)
    store: Store = request.state.store
    inbox_id = request.path_params["inbox_id"]
    inboxes: Inboxes = request.state.inboxes
    if not await store.delete_inbox(inbox_id, inboxes.quarantine_until()):
        raise NotFound("Inbox not found.")
    hub: EventHub = request.state.hub
    hub.publish(inbox_id, Event("deleted", {}))
    metrics: Metrics = request.state.metrics
    metrics.inboxes_deleted.inc()
    return json_response(wire.Confirmation("Inbox deleted successfully"))


async def expire(request: Request) -> Response:
    """POST /api/v1/admin/expire"""
    _authorize(request)
    expirer: Expirer = request.state.expirer
    return json_response(wire.ExpiryResult(await expirer.run_once()))


routes = [
    Route("/api/v1/admin/stats", stats, methods=["GET"]),
    Route("/api/v1/admin/inboxes", inboxes, methods=["GET"]),
    Route("/api/v1/admin/inboxes/{inbox_id}", delete_inbox, methods=["DELETE"]),
    Route("/api/v1/admin/expire", expire, methods=["POST"]),
]
