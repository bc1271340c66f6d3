"""The OpenAPI 3.1 description of the JSON API, built from the wire Structs."""

from __future__ import annotations

from typing import Any

import msgspec

from tempmail import wire

_TYPES = (
    wire.CreateInbox,
    wire.NewInbox,
    wire.InboxInfo,
    wire.MessageList,
    wire.MessageDetail,
    wire.Confirmation,
    wire.Health,
    wire.Error,
    wire.AdminStats,
    wire.AdminInboxPage,
    wire.ExpiryResult,
    wire.ReadyReport,
)


def _ref(struct: type) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{struct.__name__}"}


def _json(struct: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(struct)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Malformed request (bad JSON, a token in the query string, a bad parameter)",
        401: "Missing or invalid bearer token",
        404: "No such inbox or message for this token (or the inbox expired)",
        413: "Request body too large",
        403: "The admin API is disabled (no TEMPMAIL_API_KEY)",
        422: "A field has the wrong type or value",
        429: "Rate limited; see Retry-After",
        503: "Storage temporarily unavailable",
    }
    return {str(status): _json(wire.Error, text[status]) for status in statuses}


_AUTH_ERRORS = (400, 401, 404, 429, 503)
_ADMIN_ERRORS = (401, 403, 429, 503)
_INBOX_ID = {"name": "inbox_id", "in": "path", "required": True, "schema": {"type": "string"}}
_MESSAGE_ID = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _operation(
    summary: str,
    responses: dict[str, Any],
    tag: str,
    parameters: list[dict[str, Any]] | None = None,
    secured: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    if secured:
        operation["security"] = [{"bearer": []}]
    operation.update(extra)
    return operation


def build() -> dict[str, Any]:
    """The whole OpenAPI document as a dict, ready to encode."""
    _, components = msgspec.json.schema_components(
        _TYPES, ref_template="#/components/schemas/{name}"
    )
    binary = {"schema": {"type": "string", "format": "binary"}}
    paths: dict[str, Any] = {
        "/api/v1/inboxes": {
            "post": _operation(
                "Create an inbox; the token in the reply is shown only once",
                {"201": _json(wire.NewInbox, "The new inbox"), **_errors(400, 413, 422, 429, 503)},
                "inboxes",
                secured=False,
                requestBody={
                    "required": False,
                    "content": {"application/json": {"schema": _ref(wire.CreateInbox)}},
                },
            )
        },
        "/api/v1/inboxes/{inbox_id}": {
            "get": _operation(
                "Inbox details",
                {"200": _json(wire.InboxInfo, "The inbox"), **_errors(*_AUTH_ERRORS)},
                "inboxes",
                [_INBOX_ID],
            ),
            "delete": _operation(
                "Delete the inbox and everything in it",
                {"200": _json(wire.Confirmation, "Deleted"), **_errors(*_AUTH_ERRORS)},
                "inboxes",
                [_INBOX_ID],
            ),
        },
        "/api/v1/inboxes/{inbox_id}/messages": {
            "get": _operation(
                "List messages, newest first",
                {"200": _json(wire.MessageList, "The messages"), **_errors(*_AUTH_ERRORS)},
                "messages",
                [_INBOX_ID],
            )
        },
        "/api/v1/inboxes/{inbox_id}/events": {
            "get": _operation(
                "Server-Sent Events: `message` (a summary) on arrival, `expired` or `deleted` "
                "when the inbox ends, `: ping` comments as keep-alive",
                {
                    "200": {
                        "description": "An event stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors(*_AUTH_ERRORS),
                },
                "inboxes",
                [_INBOX_ID],
            )
        },
        "/api/v1/messages/{message_id}": {
            "get": _operation(
                "Read a message (HTML sanitized; remote images removed unless asked for)",
                {"200": _json(wire.MessageDetail, "The message"), **_errors(*_AUTH_ERRORS)},
                "messages",
                [
                    _MESSAGE_ID,
                    {
                        "name": "remote_images",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "boolean", "default": False},
                    },
                ],
            ),
            "delete": _operation(
                "Delete a message",
                {"200": _json(wire.Confirmation, "Deleted"), **_errors(*_AUTH_ERRORS)},
                "messages",
                [_MESSAGE_ID],
            ),
        },
        "/api/v1/messages/{message_id}/raw": {
            "get": _operation(
                "The original message source (.eml)",
                {
                    "200": {"description": "RFC 5322 bytes", "content": {"message/rfc822": binary}},
                    **_errors(*_AUTH_ERRORS),
                },
                "messages",
                [_MESSAGE_ID],
            )
        },
        "/api/v1/messages/{message_id}/attachments/{attachment_id}": {
            "get": _operation(
                "Download an attachment (always as a download; active types as octet-stream)",
                {
                    "200": {"description": "The bytes", "content": {"*/*": binary}},
                    **_errors(*_AUTH_ERRORS),
                },
                "messages",
                [
                    _MESSAGE_ID,
                    {
                        "name": "attachment_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
            )
        },
        "/api/v1/admin/stats": {
            "get": _operation(
                "Server statistics",
                {"200": _json(wire.AdminStats, "Statistics"), **_errors(*_ADMIN_ERRORS)},
                "admin",
                security=[{"apiKey": []}],
            )
        },
        "/api/v1/admin/inboxes": {
            "get": _operation(
                "Inbox metadata, oldest first (never message content)",
                {
                    "200": _json(wire.AdminInboxPage, "A page of inboxes"),
                    **_errors(400, *_ADMIN_ERRORS),
                },
                "admin",
                [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0},
                    },
                ],
                security=[{"apiKey": []}],
            )
        },
        "/api/v1/admin/inboxes/{inbox_id}": {
            "delete": _operation(
                "Delete an inbox and everything in it",
                {
                    "200": _json(wire.Confirmation, "Deleted"),
                    **_errors(404, *_ADMIN_ERRORS),
                },
                "admin",
                [_INBOX_ID],
                security=[{"apiKey": []}],
            )
        },
        "/api/v1/admin/expire": {
            "post": _operation(
                "Run an expiry pass now",
                {"200": _json(wire.ExpiryResult, "Inboxes removed"), **_errors(*_ADMIN_ERRORS)},
                "admin",
                security=[{"apiKey": []}],
            )
        },
        "/health": {
            "get": _operation(
                "Liveness: the database answers",
                {"200": _json(wire.Health, "Healthy"), **_errors(503)},
                "service",
                secured=False,
            )
        },
    }
    paths["/health/ready"] = {
        "get": _operation(
            "Readiness: database writable, SMTP listening, expiry running",
            {
                "200": _json(wire.ReadyReport, "Ready"),
                "503": _json(wire.ReadyReport, "Not ready; the failing checks are named"),
            },
            "service",
            secured=False,
        )
    }
    paths["/metrics"] = {
        "get": _operation(
            "Prometheus metrics (only for clients in metrics.allow_from; 404 for others)",
            {
                "200": {
                    "description": "Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **_errors(404),
            },
            "service",
            secured=False,
        )
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tempmail",
            "version": "1",
            "description": "Disposable inboxes with zero-access encrypted storage.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
