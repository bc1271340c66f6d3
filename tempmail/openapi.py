"""The OpenAPI 3.1 description of the JSON API, built from the wire Structs."""

from __future__ import annotations

from typing import Any

import msgspec

from tempmail import wire
from tempmail.inboxes import LOCAL_PART, MAX_LOCAL_PART
from tempmail.settings import Settings

_TYPES = (
    wire.CreateInbox,
    wire.UpdateInbox,
    wire.Domains,
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
        409: "The chosen address is taken or recently ended (quarantined)",
        422: "A field has the wrong type or value",
        429: "Rate limited; see Retry-After",
        503: "Storage temporarily unavailable",
    }
    return {str(status): _json(wire.Error, text[status]) for status in statuses}


_AUTH_ERRORS = (400, 401, 404, 429, 503)
_ADMIN_ERRORS = (401, 403, 429, 503)
_INBOX_ID = {"name": "inbox_id", "in": "path", "required": True, "schema": {"type": "string"}}
_MESSAGE_ID = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


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


def _address_rules(components: dict[str, Any], settings: Settings) -> None:
    """Document the address rules that depend on the configuration."""
    properties = components["CreateInbox"]["properties"]
    properties["domain"] = {
        "anyOf": [{"enum": list(settings.domains)}, {"type": "null"}],
        "default": None,
        "description": "One of GET /api/v1/domains; the first when omitted",
    }
    properties["local_part"] = {
        "anyOf": [
            {
                "type": "string",
                "minLength": settings.inbox.min_local_part_length,
                "maxLength": MAX_LOCAL_PART,
                "pattern": LOCAL_PART.pattern.join(("^(?:", ")$")),
            },
            {"type": "null"},
        ],
        "default": None,
        "description": "Choose the address (case-insensitive); random when omitted. Reserved "
        "names and addresses taken or recently ended answer 409.",
    }


def build(settings: Settings) -> dict[str, Any]:
    """The whole OpenAPI document as a dict, ready to encode."""
    _, components = msgspec.json.schema_components(
        _TYPES, ref_template="#/components/schemas/{name}"
    )
    _address_rules(components, settings)
    binary = {"schema": {"type": "string", "format": "binary"}}
    paths: dict[str, Any] = {
        "/api/v1/inboxes": {
            "post": _operation(
                "Create an inbox; the token in the reply is shown only once",
                {
                    "201": _json(wire.NewInbox, "The new inbox"),
                    **_errors(400, 409, 413, 422, 429, 503),
                },
                "inboxes",
                secured=False,
                requestBody={
                    "required": False,
                    "content": {"application/json": {"schema": _ref(wire.CreateInbox)}},
                },
            )
        },
        "/api/v1/domains": {
            "get": _operation(
                "The mail domains this server serves; the first is the default",
                {"200": _json(wire.Domains, "Domains"), **_errors(429)},
                "inboxes",
                secured=False,
            )
        },
        "/api/v1/inbox": {
            "get": _operation(
                "The inbox this bearer token opens",
                {"200": _json(wire.InboxInfo, "The inbox"), **_errors(*_AUTH_ERRORS)},
                "inboxes",
            )
        },
        "/api/v1/inboxes/{inbox_id}": {
            "patch": _operation(
                "Change the lifetime: end `ttl_hours` from now, at most max_ttl_hours after creation",
                {
                    "200": _json(wire.InboxInfo, "The inbox"),
                    **_errors(*_AUTH_ERRORS, 413, 422),
                },
                "inboxes",
                [_INBOX_ID],
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": _ref(wire.UpdateInbox)}},
                },
            ),
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
                "List messages, newest first; with `wait`, a long poll that answers as soon as "
                "a message newer than `since` that meets the filters arrives",
                {"200": _json(wire.MessageList, "The messages"), **_errors(*_AUTH_ERRORS)},
                "messages",
                [
                    _INBOX_ID,
                    _query(
                        "wait",
                        {"type": "number", "minimum": 0, "default": 0},
                        "Seconds to wait for a matching message (capped at 60)",
                    ),
                    _query(
                        "since",
                        {"type": "string"},
                        "Only messages newer than this message id, ISO 8601 time or Unix seconds",
                    ),
                    _query("unseen", {"type": "boolean", "default": False}, "Only unread messages"),
                    _query(
                        "from",
                        {"type": "string", "maxLength": 256},
                        "Only messages whose sender contains this (case-insensitive)",
                    ),
                    _query(
                        "subject",
                        {"type": "string", "maxLength": 256},
                        "Only messages whose subject contains this (case-insensitive)",
                    ),
                    _query(
                        "has_code",
                        {"type": "boolean", "default": False},
                        "Only messages in which a one-time code was found",
                    ),
                ],
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
