"""The JSON API's endpoints: request in, domain call, response out. No SQL, no MIME.

Endpoints raise `TempmailError`s and let the one handler in `app.py` render them. Every inbox and
message route authenticates with `Authorization: Bearer <token>`; a message of another inbox, an
unknown id and an expired inbox all answer the same 404.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tempmail import wire
from tempmail.clock import iso_time, now_ms
from tempmail.criteria import Criteria, flag, from_query
from tempmail.delivery import summary_event
from tempmail.errors import BadRequest, Invalid, NotFound, PayloadTooLarge, Unauthorized
from tempmail.events import Event, EventHub, next_event
from tempmail.filenames import clean_filename
from tempmail.inboxes import Access, Inboxes
from tempmail.records import Content, Reading, Summary
from tempmail.responses import NO_STORE, encode, json_response
from tempmail.sanitize import Cleaned, Sanitizer, inline_budget
from tempmail.storage import MessageFilter, MessageRow, MessageSummaryRow
from tempmail.streams import StreamLease, StreamSlots

MAX_BODY_BYTES = 16 * 1024
KEEPALIVE_SECONDS = 15.0
LOOKBACK_MS = 60_000
QUERY_TOKEN_NAMES = frozenset({"token", "access_token", "bearer", "auth", "authorization"})
# Types a browser could render or run if opened directly; attachments of these are served opaque.
ACTIVE_TYPES = ("html", "xml", "svg", "javascript", "ecmascript", "x-shockwave-flash", "pdf")


_create_decoder = msgspec.json.Decoder(wire.CreateInbox)
_update_decoder = msgspec.json.Decoder(wire.UpdateInbox)
T = TypeVar("T")
MAX_WAIT_SECONDS = 60.0


def _bearer(request: Request) -> str | None:
    if QUERY_TOKEN_NAMES & {name.lower() for name in request.query_params}:
        raise BadRequest(
            "Tokens are not accepted in the query string; send Authorization: Bearer <token>."
        )
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be: Bearer <token>.")
    return token.strip()


async def _access(request: Request) -> Access:
    inboxes: Inboxes = request.state.inboxes
    return await inboxes.authenticate(_bearer(request))


async def _inbox_access(request: Request) -> Access:
    access = await _access(request)
    if access.inbox.id != request.path_params["inbox_id"]:
        raise NotFound("Inbox not found.")
    return access


async def read_body(request: Request) -> bytes:
    """The request body, at most `MAX_BODY_BYTES` (413 past it, by the declared length first)."""
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and (len(declared) > 12 or int(declared) > MAX_BODY_BYTES)
    ):
        raise PayloadTooLarge(f"The request body must be at most {MAX_BODY_BYTES} bytes.")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise PayloadTooLarge(f"The request body must be at most {MAX_BODY_BYTES} bytes.")
    except ClientDisconnect:
        # Gone, or cut off for sending too slowly: nobody is left to read an answer.
        raise BadRequest("The request body did not arrive.") from None
    return bytes(body)


def _decode(body: bytes, decoder: msgspec.json.Decoder[T], required: bool = False) -> T:
    if not body.strip():
        if required:
            raise BadRequest("This route needs a JSON body.")
        body = b"{}"
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as error:
        raise Invalid(f"Invalid request body: {error}.") from None
    except msgspec.DecodeError:
        raise BadRequest("The request body is not valid JSON.") from None


async def create_inbox(request: Request) -> Response:
    """POST /api/v1/inboxes"""
    command = _decode(await read_body(request), _create_decoder)
    inboxes: Inboxes = request.state.inboxes
    created = await inboxes.create(command.ttl_hours, command.local_part, command.domain)
    return json_response(
        wire.NewInbox(
            inbox_id=created.inbox.id,
            address=created.inbox.address,
            token=created.token,
            expires_at=iso_time(created.inbox.expires_at),
        ),
        status=201,
    )


async def _info(request: Request, access: Access) -> Response:
    inboxes: Inboxes = request.state.inboxes
    return json_response(
        wire.InboxInfo(
            inbox_id=access.inbox.id,
            address=access.inbox.address,
            expires_at=iso_time(access.inbox.expires_at),
            message_count=await inboxes.message_count(access),
        )
    )


async def get_inbox(request: Request) -> Response:
    """GET /api/v1/inboxes/{inbox_id}"""
    return await _info(request, await _inbox_access(request))


async def current_inbox(request: Request) -> Response:
    """GET /api/v1/inbox: the inbox the bearer token opens (for token-only clients)."""
    return await _info(request, await _access(request))


async def update_inbox(request: Request) -> Response:
    """PATCH /api/v1/inboxes/{inbox_id} {"ttl_hours": N}"""
    access = await _inbox_access(request)
    command = _decode(await read_body(request), _update_decoder, required=True)
    inboxes: Inboxes = request.state.inboxes
    extended = await inboxes.extend(access, command.ttl_hours)
    return await _info(request, Access(extended, access.token))


async def domains(request: Request) -> Response:
    """GET /api/v1/domains"""
    names: list[str] = request.app.state.settings.domains
    return json_response(wire.Domains(domains=names, default=names[0]))


async def delete_inbox(request: Request) -> Response:
    """DELETE /api/v1/inboxes/{inbox_id}"""
    access = await _inbox_access(request)
    inboxes: Inboxes = request.state.inboxes
    await inboxes.delete(access)
    return json_response(wire.Confirmation("Inbox deleted successfully"))


def _wait_seconds(request: Request) -> float:
    raw = request.query_params.get("wait")
    if raw is None:
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise BadRequest("Query parameter wait must be a number of seconds from 0 to 60.")
    return min(seconds, MAX_WAIT_SECONDS)


async def _message_filter(request: Request, access: Access) -> MessageFilter:
    since = request.query_params.get("since")
    unseen = flag(request.query_params, "unseen")
    if not since:
        return MessageFilter(unseen_only=unseen)
    inboxes: Inboxes = request.state.inboxes
    if await inboxes.has_message(access, since):
        return MessageFilter(after_message=since, unseen_only=unseen)
    try:
        moment = dt.datetime.fromisoformat(since.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        try:
            moment = dt.datetime.fromtimestamp(float(since), dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise BadRequest(
                "Query parameter since must be a message id of this inbox, an ISO 8601 time "
                "or Unix seconds."
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return MessageFilter(after_time=int(moment.timestamp() * 1000), unseen_only=unseen)


async def _disconnected(request: Request) -> None:
    """Returns when the client goes away (for a GET, the body is empty and already final)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _wait_for_mail(request: Request, queue: asyncio.Queue[Event], seconds: float) -> bool:
    """Wait for the next event; False on timeout, disconnect, or the inbox ending."""
    getter = asyncio.ensure_future(queue.get())
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait(
            {getter, gone}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (getter, gone):
            task.cancel()
    if getter in done:
        return getter.result().kind in ("message", "arrived")
    return False


class _Matcher:
    """Lists an inbox's messages that meet the criteria; remembers which hold a code."""

    def __init__(self, inboxes: Inboxes, access: Access, which: MessageFilter, wanted: Criteria):
        self._inboxes = inboxes
        self._access = access
        self._which = which
        self._wanted = wanted
        self._has_code: dict[str, bool] = {}

    async def __call__(self) -> list[tuple[MessageSummaryRow, Summary]]:
        rows = await self._inboxes.list_messages(self._access, self._which)
        if not self._wanted.any:
            return rows
        kept = []
        for row, summary in rows:
            if not self._wanted.matches(summary):
                continue
            if self._wanted.has_code:
                if row.id not in self._has_code:
                    codes = await self._inboxes.codes(self._access, row.id)
                    self._has_code[row.id] = bool(codes)
                if not self._has_code[row.id]:
                    continue
            kept.append((row, summary))
        return kept


async def list_messages(request: Request) -> Response:
    """GET /api/v1/inboxes/{inbox_id}/messages[?wait=S&since=ID|TIME&unseen=true&from=&subject=&has_code=true]

    With `wait`, answers as soon as a matching message exists, or after at most `wait`
    seconds (capped at 60) with what there is, possibly nothing. Waiters listen to the same
    in-process events as the SSE route; nothing polls the database. `from` and `subject` are
    case-insensitive substrings of the sender and subject; `has_code=true` keeps messages in
    which a one-time code was found.
    """
    access = await _inbox_access(request)
    wait = _wait_seconds(request)
    wanted = from_query(request.query_params)
    which = await _message_filter(request, access)
    inboxes: Inboxes = request.state.inboxes
    hub: EventHub = request.state.hub
    matching = _Matcher(inboxes, access, which, wanted)
    with hub.subscribe(access.inbox.id) as queue:
        rows = await matching()
        if not rows and wait > 0:
            # Only a poll that will wait holds one of the inbox's and the client's slots.
            lease = _stream_slots(request).take(_client(request), access.inbox.id)
            try:
                deadline = time.monotonic() + wait
                expires = access.inbox.expires_at
                while not rows:
                    remaining = min(deadline - time.monotonic(), (expires - now_ms()) / 1000)
                    if remaining <= 0 or not await _wait_for_mail(request, queue, remaining):
                        break
                    rows = await matching()
            finally:
                lease.release()
    summaries = [
        wire.MessageSummary(
            id=row.id,
            sender=summary.sender,
            subject=summary.subject,
            preview=summary.preview,
            received_at=iso_time(row.received_at),
            has_attachments=summary.has_attachments,
            seen=row.seen,
        )
        for row, summary in rows
    ]
    return json_response(wire.MessageList(messages=summaries, count=len(summaries)))


async def _message_row(request: Request) -> tuple[Access, MessageRow]:
    access = await _access(request)
    inboxes: Inboxes = request.state.inboxes
    return access, await inboxes.get_row(access, request.path_params["message_id"])


async def _content(request: Request) -> tuple[Access, MessageRow, Content]:
    access, row = await _message_row(request)
    inboxes: Inboxes = request.state.inboxes
    return access, row, await inboxes.open_content(access, row)


async def get_message(request: Request) -> Response:
    """GET /api/v1/messages/{message_id}"""
    allow_remote = flag(request.query_params, "remote_images")
    access, row = await _message_row(request)
    inboxes: Inboxes = request.state.inboxes
    sanitizer: Sanitizer = request.state.sanitizer

    def render(reading: Reading) -> Cleaned:
        if not reading.html:
            return Cleaned("", 0, 0)
        inline = {
            item.content_id: (item.content_type, item.data)
            for item in reading.attachments
            if item.content_id
        }
        return sanitizer.clean(reading.html, inline, allow_remote, inline_budget(row.size))

    content, reading, cleaned = await inboxes.open_reading(access, row, render, mark_seen=True)
    return json_response(
        wire.MessageDetail(
            id=row.id,
            sender=reading.sender,
            to=reading.to,
            cc=reading.cc,
            subject=reading.subject,
            date=reading.date,
            body_html=cleaned.html,
            body_text=reading.text,
            received_at=iso_time(row.received_at),
            seen=True,
            delivered_to=content.delivered_to,
            attachments=[
                wire.AttachmentInfo(
                    item.id, clean_filename(item.filename), item.content_type, item.size
                )
                for item in reading.attachments
            ],
            codes=reading.codes,
            links=[wire.LinkInfo(link.url, link.text, link.verification) for link in reading.links],
            remote_images_blocked=cleaned.remote_blocked,
            inline_images_omitted=cleaned.inline_omitted,
        )
    )


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the RFC 5987 UTF-8 name; no quotes or CR/LF."""
    filename = clean_filename(filename)
    fallback = "".join(
        char if char.isascii() and char.isprintable() and char not in '"\\;' else "_"
        for char in filename
    )
    encoded = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _download(data: bytes, content_type: str, filename: str) -> Response:
    if any(marker in content_type for marker in ACTIVE_TYPES) or "/" not in content_type:
        content_type = "application/octet-stream"
    return Response(
        data,
        media_type=content_type,
        headers={
            **NO_STORE,
            "Content-Disposition": content_disposition(filename),
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


async def get_raw(request: Request) -> Response:
    """GET /api/v1/messages/{message_id}/raw"""
    _, row, content = await _content(request)
    return _download(content.raw, "message/rfc822", f"message-{row.id}.eml")


async def get_attachment(request: Request) -> Response:
    """GET /api/v1/messages/{message_id}/attachments/{attachment_id}"""
    access, row = await _message_row(request)
    inboxes: Inboxes = request.state.inboxes
    _, reading, _ = await inboxes.open_reading(access, row, lambda reading: None)
    wanted = request.path_params["attachment_id"]
    for item in reading.attachments:
        if item.id == wanted:
            return _download(item.data, item.content_type, item.filename)
    raise NotFound("Attachment not found.")


async def delete_message(request: Request) -> Response:
    """DELETE /api/v1/messages/{message_id}"""
    access = await _access(request)
    inboxes: Inboxes = request.state.inboxes
    await inboxes.delete_message(access, request.path_params["message_id"])
    return json_response(wire.Confirmation("Message deleted successfully"))


def _sse(kind: str, data: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + encode(data) + b"\n\n"


async def _recent(inboxes: Inboxes, access: Access) -> list[tuple[MessageSummaryRow, Summary]]:
    """The inbox's messages of the last LOOKBACK_MS (clocks of nodes may differ a little)."""
    return await inboxes.list_messages(access, MessageFilter(after_time=now_ms() - LOOKBACK_MS))


class Arrivals:
    """What a live stream (SSE here, mail.tm's Mercure) tells of mail stored through another
    node. Such mail comes as an `arrived` event with the message's id and, mostly, its summary
    row as stored (sealed, from the change notice): the stream unwraps it with its own inbox
    key, or reads that one row when the notice had no room for it. Without an id (notices may
    have been missed after a reconnect) it reads everything recent again, so nothing is lost.
    Messages the client had when the stream opened, or was told of since, are not told again."""

    def __init__(self, inboxes: Inboxes, access: Access) -> None:
        self._inboxes = inboxes
        self._access = access
        self._told: set[str] = set()

    async def start(self) -> None:
        self._told = {row.id for row, _ in await _recent(self._inboxes, self._access)}

    async def news(self, event: Event) -> list[Event]:
        """`event` as the stream tells it: an `arrived` one becomes the `message` events of
        what is new (none if all is known); anything else is as it came."""
        if event.kind == "message":
            self._told.add(event.data["id"])
        if event.kind != "arrived":
            return [event]
        message_id = event.data.get("id")
        if message_id in self._told:
            return []
        row = event.data.get("row")
        if isinstance(row, MessageSummaryRow):
            found = self._inboxes.open_summaries(self._access, [row])
        elif isinstance(message_id, str):
            which = MessageFilter(only_message=message_id)
            found = await self._inboxes.list_messages(self._access, which)
        else:
            found = await _recent(self._inboxes, self._access)
        events = []
        for row, summary in reversed(found):
            if row.id not in self._told:
                self._told.add(row.id)
                events.append(summary_event(row.id, row.received_at, summary, row.seen))
        return events


async def _event_stream(hub: EventHub, inboxes: Inboxes, access: Access) -> AsyncIterator[bytes]:
    with hub.subscribe(access.inbox.id) as queue:
        arrivals = Arrivals(inboxes, access)
        await arrivals.start()
        yield b": connected\n\n"
        while True:
            remaining = (access.inbox.expires_at - now_ms()) / 1000
            if remaining <= 0:
                yield _sse("expired", {})
                return
            event = await next_event(queue, min(KEEPALIVE_SECONDS, remaining))
            if event is None:
                yield b": ping\n\n"
                continue
            if event.kind in ("overflow", "closing"):
                return
            for told in await arrivals.news(event):
                yield _sse(told.kind, told.data)
            if event.kind in ("expired", "deleted"):
                return


class HeldStream(StreamingResponse):
    """A streaming response that gives its stream slot back however it ends."""

    def __init__(self, lease: StreamLease, content: AsyncIterator[bytes]) -> None:
        super().__init__(
            content, media_type="text/event-stream", headers={**NO_STORE, "X-Accel-Buffering": "no"}
        )
        self._lease = lease

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._lease.release()


async def inbox_events(request: Request) -> Response:
    """GET /api/v1/inboxes/{inbox_id}/events (Server-Sent Events)"""
    access = await _inbox_access(request)
    lease = _stream_slots(request).take(_client(request), access.inbox.id)
    return HeldStream(lease, _event_stream(request.state.hub, request.state.inboxes, access))


def _stream_slots(request: Request) -> StreamSlots:
    slots: StreamSlots = request.state.streams
    return slots


def _client(request: Request) -> str:
    """The rate-limit key of the client (set by the RateLimit middleware on every API route)."""
    return str(getattr(request.state, "client", "unknown"))


routes = [
    Route("/api/v1/inboxes", create_inbox, methods=["POST"]),
    Route("/api/v1/domains", domains, methods=["GET"]),
    Route("/api/v1/inbox", current_inbox, methods=["GET"]),
    Route("/api/v1/inboxes/{inbox_id}", get_inbox, methods=["GET"]),
    Route("/api/v1/inboxes/{inbox_id}", update_inbox, methods=["PATCH"]),
    Route("/api/v1/inboxes/{inbox_id}", delete_inbox, methods=["DELETE"]),
    Route("/api/v1/inboxes/{inbox_id}/messages", list_messages, methods=["GET"]),
    Route("/api/v1/inboxes/{inbox_id}/events", inbox_events, methods=["GET"]),
    Route("/api/v1/messages/{message_id}", get_message, methods=["GET"]),
    Route("/api/v1/messages/{message_id}", delete_message, methods=["DELETE"]),
    Route("/api/v1/messages/{message_id}/raw", get_raw, methods=["GET"]),
    Route(
        "/api/v1/messages/{message_id}/attachments/{attachment_id}", get_attachment, methods=["GET"]
    ),
]
