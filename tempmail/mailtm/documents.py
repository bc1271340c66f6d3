"""The JSON documents mail.tm answers with, as JSON-LD (hydra) or plain JSON.

mail.tm runs API Platform, which negotiates the format: `Accept: application/ld+json` gets
JSON-LD with `@id`/`@type` and collections as `hydra:Collection`; anything else gets plain JSON,
where a collection is a bare array. Client libraries rely on one or the other.
"""

from __future__ import annotations

import hashlib
from email.utils import getaddresses, parseaddr
from typing import Any

from tempmail.clock import iso_time
from tempmail.records import Reading, Summary
from tempmail.storage import Inbox, MessageRow, MessageSummaryRow

PAGE_SIZE = 30
INTRO_CHARS = 120
LD_JSON = "application/ld+json; charset=utf-8"
PLAIN_JSON = "application/json; charset=utf-8"

Document = dict[str, Any]


def wants_ld(accept: str) -> bool:
    return "application/ld+json" in accept.lower()


def plain(document: Document) -> Document:
    """The plain-JSON form: without the JSON-LD keys, at every level."""
    result: Document = {}
    for key, value in document.items():
        if key.startswith("@"):
            continue
        if isinstance(value, dict):
            value = plain(value)
        elif isinstance(value, list):
            value = [plain(item) if isinstance(item, dict) else item for item in value]
        result[key] = value
    return result


def collection(path: str, members: list[Document], total: int, page: int) -> Document:
    """A hydra collection page; the view links appear when there is more than one page."""
    document: Document = {
        "@context": f"/contexts/{path.strip('/').rstrip('s').capitalize()}",
        "@id": path,
        "@type": "hydra:Collection",
        "hydra:member": members,
        "hydra:totalItems": total,
    }
    last = max(1, -(-total // PAGE_SIZE))
    if last > 1:
        view: Document = {
            "@id": f"{path}?page={page}",
            "@type": "hydra:PartialCollectionView",
            "hydra:first": f"{path}?page=1",
            "hydra:last": f"{path}?page={last}",
        }
        if page > 1:
            view["hydra:previous"] = f"{path}?page={page - 1}"
        if page < last:
            view["hydra:next"] = f"{path}?page={page + 1}"
        document["hydra:view"] = view
    return document


def domain_id(name: str) -> str:
    """A stable id for a configured domain (mail.tm's are 24 hex digits)."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]


def domain(name: str, created: int) -> Document:
    return {
        "@context": "/contexts/Domain",
        "@id": f"/domains/{domain_id(name)}",
        "@type": "Domain",
        "id": domain_id(name),
        "domain": name,
        "isActive": True,
        "isPrivate": False,
        "createdAt": iso_time(created),
        "updatedAt": iso_time(created),
    }


def account(inbox: Inbox, quota: int, used: int) -> Document:
    return {
        "@context": "/contexts/Account",
        "@id": f"/accounts/{inbox.id}",
        "@type": "Account",
        "id": inbox.id,
        "address": inbox.address,
        "quota": quota,
        "used": used,
        "isDisabled": False,
        "isDeleted": False,
        "createdAt": iso_time(inbox.created_at),
        "updatedAt": iso_time(inbox.created_at),
    }


def _party(text: str) -> Document:
    name, address = parseaddr(text)
    return {"address": address or text, "name": name}


def message_summary(
    inbox: Inbox, message_id: str, received_at: int, size: int, seen: bool, summary: Summary
) -> Document:
    return {
        "@id": f"/messages/{message_id}",
        "@type": "Message",
        "id": message_id,
        "accountId": f"/accounts/{inbox.id}",
        "msgid": "",
        "from": _party(summary.sender),
        "to": [{"address": inbox.address, "name": ""}],
        "subject": summary.subject,
        "intro": summary.preview,
        "seen": seen,
        "isDeleted": False,
        "hasAttachments": summary.has_attachments,
        "size": size,
        "downloadUrl": f"/messages/{message_id}/download",
        "createdAt": iso_time(received_at),
        "updatedAt": iso_time(received_at),
    }


def arrival(inbox: Inbox, event: dict[str, Any]) -> Document:
    """The message document of a live `message` event (a delivery's summary)."""
    document = message_summary(
        inbox,
        event["id"],
        0,
        0,
        False,
        Summary(event["from"], event["subject"], event["preview"], event["has_attachments"]),
    )
    document["createdAt"] = document["updatedAt"] = event["received_at"]
    del document["size"]
    return document


def listed(inbox: Inbox, row: MessageSummaryRow, summary: Summary) -> Document:
    return message_summary(inbox, row.id, row.received_at, row.size, row.seen, summary)


def message_detail(
    inbox: Inbox,
    row: MessageRow,
    reading: Reading,
    html: str,
    message_id_header: str,
) -> Document:
    intro = " ".join(reading.text.split())[:INTRO_CHARS]
    summary = Summary(reading.sender, reading.subject, intro, bool(reading.attachments))
    document = message_summary(inbox, row.id, row.received_at, row.size, row.seen, summary)
    document["@context"] = "/contexts/Message"
    document.update(
        {
            "msgid": message_id_header,
            "from": _party(reading.sender),
            "to": [
                {"address": address, "name": name} for name, address in getaddresses(reading.to)
            ],
            "cc": [address for _, address in getaddresses(reading.cc)],
            "bcc": [],
            "flagged": False,
            "verifications": [],
            "retention": True,
            "retentionDate": iso_time(inbox.expires_at),
            "text": reading.text,
            "html": [html] if html else [],
            "attachments": [
                {
                    "id": item.id,
                    "filename": item.filename,
                    "contentType": item.content_type,
                    "disposition": "inline" if item.content_id else "attachment",
                    "transferEncoding": "base64",
                    "related": bool(item.content_id),
                    "size": item.size,
                    "downloadUrl": f"/messages/{row.id}/attachment/{item.id}",
                }
                for item in reading.attachments
            ],
        }
    )
    return document


def source(message_id: str, raw: bytes) -> Document:
    return {
        "@context": "/contexts/Source",
        "@id": f"/sources/{message_id}",
        "@type": "Source",
        "id": message_id,
        "downloadUrl": f"/messages/{message_id}/download",
        # JSON holds text: bytes that are not UTF-8 are replaced; /download has them exactly.
        "data": raw.decode("utf-8", "replace"),
    }


def error(status: int, detail: str, violations: list[Document] | None = None) -> Document:
    """An error body carrying every field mail.tm clients read (`message`, `detail`,
    `hydra:description`, `violations`) and tempmail's own `error`."""
    document: Document = {
        "@context": "/contexts/Error",
        "@type": "hydra:Error",
        "hydra:title": "An error occurred",
        "hydra:description": detail,
        "type": "/errors/" + str(status),
        "title": "An error occurred",
        "detail": detail,
        "status": status,
        "code": status,
        "message": detail,
        "error": _ERROR_CODES.get(status, "error"),
    }
    if violations:
        document["@context"] = "/contexts/ConstraintViolationList"
        document["@type"] = "ConstraintViolationList"
        document["violations"] = violations
    return document


_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
