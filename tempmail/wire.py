"""The JSON API's request and response shapes (msgspec Structs, also the OpenAPI schemas)."""

from __future__ import annotations

from typing import Annotated

import msgspec

# Hours are capped by max_ttl_hours; past this bound a number is a mistake (or 1e308), not a wish.
MAX_TTL_INPUT = 1_000_000.0
TTL = Annotated[
    float,
    msgspec.Meta(gt=0, le=MAX_TTL_INPUT, description="Lifetime in hours; capped by max_ttl_hours"),
]


class CreateInbox(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    ttl_hours: TTL | None = None
    local_part: Annotated[
        str | None,
        msgspec.Meta(description="Choose the address (a-z, 0-9, . - _); random when omitted"),
    ] = None
    domain: Annotated[str | None, msgspec.Meta(description="One of GET /api/v1/domains")] = None


class UpdateInbox(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    ttl_hours: Annotated[
        float,
        msgspec.Meta(gt=0, le=MAX_TTL_INPUT, description="End this many hours from now (capped)"),
    ]


class Domains(msgspec.Struct):
    domains: list[str]
    default: str


class NewInbox(msgspec.Struct):
    inbox_id: str
    address: str
    token: Annotated[str, msgspec.Meta(description="Bearer token; shown only once")]
    expires_at: str


class InboxInfo(msgspec.Struct):
    inbox_id: str
    address: str
    expires_at: str
    message_count: int


class MessageSummary(msgspec.Struct, rename={"sender": "from"}):
    id: str
    sender: str
    subject: str
    preview: str
    received_at: str
    has_attachments: bool
    seen: bool


class MessageList(msgspec.Struct):
    messages: list[MessageSummary]
    count: int


class AttachmentInfo(msgspec.Struct):
    id: str
    filename: str
    content_type: str
    size: int


class LinkInfo(msgspec.Struct):
    url: str
    text: Annotated[str, msgspec.Meta(description="The link's text; empty for a bare URL")]
    verification: Annotated[
        bool, msgspec.Meta(description="Likely the verify / confirm / reset / sign-in link")
    ]


class MessageDetail(msgspec.Struct, rename={"sender": "from"}):
    id: str
    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    date: str | None
    body_html: Annotated[str, msgspec.Meta(description="Sanitized HTML; empty when none")]
    body_text: str
    received_at: str
    seen: bool
    delivered_to: Annotated[
        list[str], msgspec.Meta(description="Envelope recipients, with any +tag they carried")
    ]
    attachments: list[AttachmentInfo]
    codes: Annotated[
        list[str], msgspec.Meta(description="Likely one-time codes, most likely first")
    ]
    links: Annotated[
        list[LinkInfo], msgspec.Meta(description="http(s) links; verification links first")
    ]
    remote_images_blocked: Annotated[
        int, msgspec.Meta(description="Remote images removed; ask again with remote_images=true")
    ]


class Confirmation(msgspec.Struct):
    message: str


class Health(msgspec.Struct):
    status: str


class Error(msgspec.Struct):
    error: Annotated[str, msgspec.Meta(description="A stable machine-readable code")]
    message: Annotated[str, msgspec.Meta(description="What was wrong, for people")]


class AdminStats(msgspec.Struct):
    inboxes_live: int
    inboxes_stored: Annotated[int, msgspec.Meta(description="Includes expired ones not yet swept")]
    messages_stored: int
    bytes_stored: Annotated[int, msgspec.Meta(description="Sum of raw message sizes")]
    database_bytes: int
    messages_received: Annotated[int, msgspec.Meta(description="Accepted since start")]
    messages_rejected: Annotated[int, msgspec.Meta(description="SMTP refusals since start")]
    rejected_by_code: dict[str, int]
    smtp_sessions: Annotated[int, msgspec.Meta(description="Connections served since start")]


class AdminInbox(msgspec.Struct):
    inbox_id: str
    address: str
    created_at: str
    expires_at: str
    message_count: int
    size: int


class AdminInboxPage(msgspec.Struct):
    inboxes: list[AdminInbox]
    total: int
    limit: int
    offset: int


class ExpiryResult(msgspec.Struct):
    expired: int


class ReadyReport(msgspec.Struct):
    status: Annotated[str, msgspec.Meta(description="ok, or unavailable")]
    checks: Annotated[
        dict[str, str], msgspec.Meta(description="database, smtp, expiry: ok or what is wrong")
    ]
