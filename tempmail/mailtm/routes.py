"""The mail.tm routes, mounted under `[mailtm] prefix` as an application of their own so that
errors take mail.tm's shapes there and tempmail's everywhere else."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tempmail.api import ACTIVE_TYPES, Arrivals, HeldStream, content_disposition, read_body
from tempmail.clock import now_ms
from tempmail.errors import (
    BadRequest,
    Forbidden,
    IntegrityError,
    NotFound,
    StorageError,
    TempmailError,
    Unauthorized,
)
from tempmail.events import EventHub, next_event
from tempmail.inboxes import Access, Inboxes
from tempmail.keys import Keyring
from tempmail.mailtm import documents
from tempmail.mailtm.accounts import Accounts, AddressInvalid, PasswordInvalid
from tempmail.records import Reading
from tempmail.responses import NO_STORE, encode
from tempmail.sanitize import Sanitizer, inline_budget
from tempmail.settings import Settings
from tempmail.storage import MessageRow
from tempmail.streams import StreamSlots

log = logging.getLogger(__name__)

MAX_PAGE_DIGITS = 6
KEEPALIVE_SECONDS = 15.0
HEADER_SCAN_BYTES = 64 * 1024
_MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)")


class Credentials(msgspec.Struct):
    address: str
    password: str


class SeenUpdate(msgspec.Struct):
    seen: bool


_credentials = msgspec.json.Decoder(Credentials)
_seen_update = msgspec.json.Decoder(SeenUpdate)


def _respond(request: Request, document: documents.Document | None, status: int = 200) -> Response:
    if document is None:
        return Response(status_code=status, headers=NO_STORE)
    if documents.wants_ld(request.headers.get("accept", "")):
        return Response(encode(document), status, NO_STORE, documents.LD_JSON)
    body: Any = documents.plain(document)
    if document.get("@type") == "hydra:Collection":
        body = body["hydra:member"]
    return Response(encode(body), status, NO_STORE, documents.PLAIN_JSON)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("JWT Token not found")
    return token.strip()


async def _access(request: Request) -> Access:
    inboxes: Inboxes = request.state.inboxes
    try:
        return await inboxes.authenticate(_bearer(request))
    except NotFound:
        # An inbox that ended: for mail.tm clients the account and its token are gone.
        raise Unauthorized("Invalid JWT Token") from None
    except Unauthorized as error:
        if error.message == "JWT Token not found":
            raise
        raise Unauthorized("Invalid JWT Token") from None


def _decode(body: bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as error:
        raise Violation("body", f"Invalid request body: {error}.") from None
    except msgspec.DecodeError:
        raise BadRequest("The request body is not valid JSON.") from None


class Violation(TempmailError):
    """A field's value is wrong: 422 with mail.tm's `violations` list."""

    status = 422
    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.text = message


def _page(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_PAGE_DIGITS or int(raw) < 1:
        raise BadRequest("Page should be a number from 1.")
    return int(raw)


async def domains(request: Request) -> Response:
    """GET /domains"""
    settings: Settings = request.app.state.settings
    page = _page(request)
    names = settings.domains
    start = (page - 1) * documents.PAGE_SIZE
    members = [
        documents.domain(name, request.app.state.started)
        for name in names[start : start + documents.PAGE_SIZE]
    ]
    return _respond(request, documents.collection("/domains", members, len(names), page))


async def domain(request: Request) -> Response:
    """GET /domains/{domain_id}"""
    settings: Settings = request.app.state.settings
    for name in settings.domains:
        if documents.domain_id(name) == request.path_params["domain_id"]:
            return _respond(request, documents.domain(name, request.app.state.started))
    raise NotFound("Not Found")


async def _account_document(request: Request, access: Access) -> documents.Document:
    inboxes: Inboxes = request.state.inboxes
    settings: Settings = request.app.state.settings
    rows = await inboxes.list_messages(access)
    quota = settings.max_message_bytes * settings.inbox.max_messages
    return documents.account(access.inbox, quota, sum(row.size for row, _ in rows))


async def create_account(request: Request) -> Response:
    """POST /accounts {address, password}"""
    credentials: Credentials = _decode(await read_body(request), _credentials)
    accounts: Accounts = request.app.state.accounts
    try:
        created = await accounts.register(
            request.state.inboxes, credentials.address, credentials.password
        )
    except (AddressInvalid, PasswordInvalid) as error:
        field, _, text = error.message.partition(": ")
        raise Violation(field, text) from None
    log.info("mail.tm account %s created", created.inbox.id)
    access = Access(created.inbox, created.token)
    return _respond(request, await _account_document(request, access), 201)


async def token(request: Request) -> Response:
    """POST /token {address, password} -> {id, token}"""
    credentials: Credentials = _decode(await read_body(request), _credentials)
    accounts: Accounts = request.app.state.accounts
    access = await accounts.login(request.state.inboxes, credentials.address, credentials.password)
    return _respond(request, {"token": access.token, "id": access.inbox.id})


async def me(request: Request) -> Response:
    """GET /me"""
    return _respond(request, await _account_document(request, await _access(request)))


async def _own_account(request: Request) -> Access:
    access = await _access(request)
    if access.inbox.id != request.path_params["account_id"]:
        raise NotFound("Not Found")
    return access


async def get_account(request: Request) -> Response:
    """GET /accounts/{account_id}"""
    return _respond(request, await _account_document(request, await _own_account(request)))


async def delete_account(request: Request) -> Response:
    """DELETE /accounts/{account_id}"""
    access = await _own_account(request)
    inboxes: Inboxes = request.state.inboxes
    await inboxes.delete(access)
    return _respond(request, None, 204)


async def messages(request: Request) -> Response:
    """GET /messages?page=N (30 a page, newest first)"""
    page = _page(request)
    access = await _access(request)
    inboxes: Inboxes = request.state.inboxes
    rows = await inboxes.list_messages(access)
    start = (page - 1) * documents.PAGE_SIZE
    members = [
        documents.listed(access.inbox, row, summary)
        for row, summary in rows[start : start + documents.PAGE_SIZE]
    ]
    return _respond(request, documents.collection("/messages", members, len(rows), page))


async def _row(request: Request) -> tuple[Access, MessageRow]:
    access = await _access(request)
    inboxes: Inboxes = request.state.inboxes
    try:
        return access, await inboxes.get_row(access, request.path_params["message_id"])
    except NotFound:
        raise NotFound("Not Found") from None


def _message_id_header(raw: bytes) -> str:
    head = raw[:HEADER_SCAN_BYTES]
    end = head.find(b"\r\n\r\n")
    found = _MESSAGE_ID.search(head if end < 0 else head[:end])
    if found is None:
        return ""
    return " ".join(found.group(1).decode("utf-8", "replace").split())


async def _detail(request: Request, mark_seen: bool) -> Response:
    access, row = await _row(request)
    inboxes: Inboxes = request.state.inboxes
    sanitizer: Sanitizer = request.state.sanitizer

    def render(reading: Reading) -> str:
        if not reading.html:
            return ""
        inline = {
            item.content_id: (item.content_type, item.data)
            for item in reading.attachments
            if item.content_id
        }
        # Programs read these to follow links: remote images stay, scripts never do.
        return sanitizer.clean(reading.html, inline, True, inline_budget(row.size)).html

    content, reading, html = await inboxes.open_reading(access, row, render, mark_seen=mark_seen)
    shown = msgspec.structs.replace(row, seen=row.seen or mark_seen)
    document = documents.message_detail(
        access.inbox, shown, reading, html, _message_id_header(content.raw)
    )
    return _respond(request, document)


async def get_message(request: Request) -> Response:
    """GET /messages/{message_id}"""
    return await _detail(request, mark_seen=False)


async def update_message(request: Request) -> Response:
    """PATCH /messages/{message_id} {"seen": true}"""
    update: SeenUpdate = _decode(await read_body(request), _seen_update)
    if not update.seen:
        raise Violation("seen", "Messages can be marked seen, not unseen, here.")
    return await _detail(request, mark_seen=True)


async def delete_message(request: Request) -> Response:
    """DELETE /messages/{message_id}"""
    access = await _access(request)
    inboxes: Inboxes = request.state.inboxes
    try:
        await inboxes.delete_message(access, request.path_params["message_id"])
    except NotFound:
        raise NotFound("Not Found") from None
    return _respond(request, None, 204)


def _download(data: bytes, content_type: str, filename: str) -> Response:
    if any(marker in content_type for marker in ACTIVE_TYPES) or "/" not in content_type:
        content_type = "application/octet-stream"
    headers = {
        **NO_STORE,
        "Content-Disposition": content_disposition(filename),
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(data, media_type=content_type, headers=headers)


async def source(request: Request) -> Response:
    """GET /sources/{message_id}"""
    access, row = await _row(request)
    inboxes: Inboxes = request.state.inboxes
    content = await inboxes.open_content(access, row)
    return _respond(request, documents.source(row.id, content.raw))


async def download(request: Request) -> Response:
    """GET /messages/{message_id}/download: the raw source, byte for byte"""
    access, row = await _row(request)
    inboxes: Inboxes = request.state.inboxes
    content = await inboxes.open_content(access, row)
    return _download(content.raw, "message/rfc822", f"{row.id}.eml")


async def attachment(request: Request) -> Response:
    """GET /messages/{message_id}/attachment/{attachment_id}"""
    access, row = await _row(request)
    inboxes: Inboxes = request.state.inboxes
    _, reading, _ = await inboxes.open_reading(access, row, lambda reading: None)
    for item in reading.attachments:
        if item.id == request.path_params["attachment_id"]:
            return _download(item.data, item.content_type, item.filename)
    raise NotFound("Not Found")


def _event(document: documents.Document) -> bytes:
    return b"id: urn:uuid:" + str(uuid.uuid4()).encode() + b"\ndata: " + encode(document) + b"\n\n"


async def _updates(hub: EventHub, inboxes: Inboxes, access: Access) -> AsyncIterator[bytes]:
    inbox = access.inbox
    with hub.subscribe(inbox.id) as queue:
        # Mail stored through another node of a cluster is read as the native stream reads it.
        arrivals = Arrivals(inboxes, access)
        await arrivals.start()
        yield b": connected\n\n"
        while True:
            remaining = (inbox.expires_at - now_ms()) / 1000
            if remaining <= 0:
                event_kind = "expired"
            else:
                event = await next_event(queue, min(KEEPALIVE_SECONDS, remaining))
                if event is None:
                    yield b":\n\n"
                    continue
                if event.kind in ("overflow", "closing"):
                    return
                event_kind = event.kind
                if event_kind in ("message", "arrived"):
                    for told in await arrivals.news(event):
                        yield _event(documents.arrival(inbox, told.data))
                    continue
            if event_kind in ("expired", "deleted"):
                ended = documents.account(inbox, 0, 0)
                ended["isDeleted"] = True
                yield _event(ended)
                return


async def mercure(request: Request) -> Response:
    """GET /.well-known/mercure?topic=/accounts/{id}: live updates, as mail.tm's Mercure hub"""
    access = await _access(request)
    topics = request.query_params.getlist("topic")
    wanted = f"/accounts/{access.inbox.id}"
    if not any(topic.rstrip("/").endswith(wanted) for topic in topics):
        raise Forbidden("Subscribe to the topic /accounts/{id} of this token's account.")
    # The same caps as the native event streams, counted together with them.
    slots: StreamSlots = request.state.streams
    lease = slots.take(str(getattr(request.state, "client", "unknown")), access.inbox.id)
    return HeldStream(lease, _updates(request.state.hub, request.state.inboxes, access))


async def _error(request: Request, error: Exception) -> Response:
    if isinstance(error, Violation):
        violations = [{"propertyPath": error.field, "message": error.text}]
        return _respond(request, documents.error(422, error.message, violations), 422)
    if isinstance(error, TempmailError):
        response = _respond(request, documents.error(error.status, error.message), error.status)
        response.headers.update(error.headers or {})
        return response
    if isinstance(error, StorageError):
        response = _respond(
            request, documents.error(503, "Storage is temporarily unavailable."), 503
        )
        response.headers["Retry-After"] = "5"
        return response
    if isinstance(error, HTTPException):
        text = "Not Found" if error.status_code == 404 else str(error.detail)
        return _respond(request, documents.error(error.status_code, text), error.status_code)
    log.error("sealed data failed to authenticate on %s", request.url.path)
    return _respond(
        request, documents.error(500, "The server could not complete the request."), 500
    )


ROUTES = [
    Route("/domains", domains, methods=["GET"]),
    Route("/domains/{domain_id}", domain, methods=["GET"]),
    Route("/accounts", create_account, methods=["POST"]),
    Route("/token", token, methods=["POST"]),
    Route("/me", me, methods=["GET"]),
    Route("/accounts/{account_id}", get_account, methods=["GET"]),
    Route("/accounts/{account_id}", delete_account, methods=["DELETE"]),
    Route("/messages", messages, methods=["GET"]),
    Route("/messages/{message_id}", get_message, methods=["GET"]),
    Route("/messages/{message_id}", update_message, methods=["PATCH"]),
    Route("/messages/{message_id}", delete_message, methods=["DELETE"]),
    Route("/messages/{message_id}/download", download, methods=["GET"]),
    Route("/messages/{message_id}/attachment/{attachment_id}", attachment, methods=["GET"]),
    Route("/sources/{message_id}", source, methods=["GET"]),
    Route("/.well-known/mercure", mercure, methods=["GET"]),
]


def application(settings: Settings, keys: Keyring) -> Starlette:
    """The mail.tm API as an ASGI application to mount under `settings.mailtm.prefix`."""
    app = Starlette(
        routes=ROUTES,
        exception_handlers={
            TempmailError: _error,
            StorageError: _error,
            IntegrityError: _error,
            HTTPException: _error,
        },
    )
    app.state.settings = settings
    app.state.accounts = Accounts(keys, settings.domains)
    app.state.started = now_ms()
    return app
