"""Turning raw message bytes into what a reader sees: pure functions, no I/O.

The stdlib parser recurses per MIME level and slows down badly on hostile input, so `parse`
first measures the message cheaply and only hands it to `policy.default` when it is within the
caps; anything beyond them, or anything the parser chokes on, still yields a `ParsedMessage` (with
headers read by the fast compat32 header parser and a note instead of a body), because the raw
source is stored either way: nothing acknowledged is ever lost.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import mimetypes
import re
from collections.abc import Callable
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser

import msgspec

from tempmail import mimescan
from tempmail.mailtext import read_html
from tempmail.reading import headers
from tempmail.reading.normalize import normalize
from tempmail.sanitize import html_to_text

MAX_MULTIPARTS = 50
MAX_BOUNDARY_LINES = 2000
MAX_HEADER_BYTES = 256 * 1024
MAX_ADDRESSES = headers.MAX_ADDRESSES
MAX_HEADER_VALUE = 2000
# The stdlib parses MIME header fields (Content-Type, Content-Disposition, ...) in time
# quadratic in their length: 250 KB of comments in one Content-Type took 39 s, RFC 2231
# continuations 19 s. A message whose MIME fields pass these limits goes to the stdlib when
# `mimescan` cannot read it exactly; any other is read by `mimescan`'s lenient rules.
MAX_STDLIB_MIME_FIELD = 1024
MAX_STDLIB_MIME_FIELDS = 16 * 1024
PREVIEW_LENGTH = 200
PREVIEW_HTML_LIMIT = 16 * 1024
# nh3 slows down with nesting: 16 KB of nested <div>s take it ~33 ms, on the event loop at
# delivery. Markup with more tags than this goes to mailtext's linear scanner (~4 ms at worst);
# up to it, nh3 (~3x faster on ordinary mail) stays under ~3 ms however the tags nest.
PREVIEW_DENSE_TAGS = 1_000
_PREVIEW_SOURCE = PREVIEW_LENGTH * 8
# Encoded bytes read for a preview: enough for _PREVIEW_SOURCE characters in any encoding.
_PREVIEW_ENCODED = _PREVIEW_SOURCE * 16
UNREADABLE_NOTE = (
    "This message could not be displayed because it is too complex or malformed. "
    "The original is available as raw source."
)

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MIME_FIELD = re.compile(rb"^(?:content-|mime-version)[^\n]*+(?:\n[ \t][^\n]*+)*+", re.I | re.M)
_WHITESPACE = re.compile(r"\s+")
_ATOMS = r'[^\x00-\x20\x7f()<>@,;:\\".\[\]]+(?:\.[^\x00-\x20\x7f()<>@,;:\\".\[\]]+)*'
_ADDRESS = _ATOMS + "@" + _ATOMS
_SIMPLE_MAILBOX = re.compile(
    r'[ \t]*(?:(?:"([^"\\\r\n]*)"|([^\x00-\x08\x0a-\x1f\x7f()<>@,;:\\"\[\]]*?))[ \t]*'
    rf"<({_ADDRESS})>|({_ADDRESS}))[ \t]*"
)
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
# Machine-readable reports: delivery status (RFC 3464, 6533), read receipts (RFC 8098, 6533)
# and abuse reports (RFC 5965). Their fields are what a person wants to read, so both parse
# paths show them as body text, as written; every other message/* type that is not walked
# into (partial, external-body, ...) is an attachment of its bytes.
REPORT_TYPES = frozenset({
    "message/delivery-status", "message/global-delivery-status",
    "message/disposition-notification", "message/global-disposition-notification",
    "message/feedback-report",
})  # fmt: skip


class Attachment(msgspec.Struct, frozen=True):
    id: str
    filename: str
    content_type: str
    size: int
    content_id: str | None
    data: bytes


class ParsedMessage(msgspec.Struct, frozen=True):
    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    date: str | None
    text: str
    html: str
    preview: str
    attachments: list[Attachment]
    displayable: bool = True


def _clean_header(value: str) -> str:
    text = _WHITESPACE.sub(" ", value).strip()
    return text[:MAX_HEADER_VALUE]


def _decode_header(value: str) -> str:
    return headers.decode(value)[:MAX_HEADER_VALUE]


def _mailbox(value: str) -> tuple[str, str] | None:
    """The stdlib's (name, address) for the common `Name <a@b>`, `"Name" <a@b>`, `a@b` forms.

    `email.utils.getaddresses` parses character by character in Python; most mail has one of
    these shapes, and anything else (comments, groups, escapes, lists) is left to it.
    """
    match = _SIMPLE_MAILBOX.fullmatch(value)
    if match is None:
        return None
    quoted, plain, address, bare = match.groups()
    if bare is not None:
        return "", bare
    return (quoted if quoted is not None else " ".join(plain.split())), address


def _addresses(values: list[str]) -> list[str]:
    """`Name <address>` for each mailbox of address-list header values, at most MAX_ADDRESSES.

    `headers.address_pieces` splits the list in one pass; each piece is read by `_mailbox` or,
    in its unusual shapes (comments, routes, escapes), by the stdlib's parser, which then never
    sees a group (it recurses once per nested group) or more than one mailbox at a time.
    """
    joined = headers.unfold_text(", ".join(values))
    result = []
    for piece in headers.address_pieces(joined):
        simple = _mailbox(piece)
        for name, address in [simple] if simple else email.utils.getaddresses([piece]):
            name, address = _decode_header(name), _clean_header(headers.as_text(address))
            if name or address:
                result.append(f"{name} <{address}>" if name and address else name or address)
    return result[:MAX_ADDRESSES]


def _raw_headers(message: Message, name: str) -> list[str]:
    """The values of a header as written (8-bit bytes as surrogates, see `reading.headers`)."""
    lowered = name.lower()
    return [str(value) for key, value in message.raw_items() if key.lower() == lowered]


def _iso_date(values: list[str]) -> str | None:
    if not values:
        return None
    try:
        when = email.utils.parsedate_to_datetime(values[0])
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    try:
        return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError):
        return None


def safe_filename(name: str | None, fallback: str) -> str:
    """A display- and download-safe file name: no paths, control characters or quotes."""
    if not name:
        return fallback
    name = normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME.sub("_", name).strip(" .")
    if not name:
        return fallback
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = stem[:190] + dot + extension[:9] if dot and len(extension) < 10 else name[:200]
    return name


def _extension(content_type: str) -> str:
    return mimetypes.guess_extension(content_type, strict=False) or ""


def _role(content_type: str, disposition: str | None, filename: str | None) -> str:
    """Whether a leaf part is body `text`, body `html` or an `attachment`, for both paths."""
    if disposition == "attachment" or filename:
        return "attachment"
    if content_type == "text/plain" or content_type in REPORT_TYPES:
        return "text"
    return "html" if content_type == "text/html" else "attachment"


def _decoded_text(payload: bytes, charset: str | None) -> str:
    """`payload` as text in its declared charset (through the aliases mail uses), else UTF-8."""
    codec = (headers.charset_codec(charset) if charset else None) or "utf-8"
    return headers.well_formed(payload.decode(codec, "replace"))


def _text_of(part: EmailMessage) -> str:
    """A text part as `mimescan`'s path reads it: its declared charset through the aliases mail
    uses (`gb2312` read as GB18030, ...), else UTF-8, undecodable bytes replaced."""
    try:
        payload = part.get_payload(decode=True)
        charset = part.get_content_charset()
    except (LookupError, UnicodeError, ValueError, AssertionError, KeyError):
        return ""
    if not isinstance(payload, bytes):
        return ""
    return _decoded_text(payload, charset).replace("\r\n", "\n")


def _preview(text: str) -> str:
    flat = " ".join(text[:_PREVIEW_SOURCE].split())
    if len(flat) <= PREVIEW_LENGTH:
        return flat
    return flat[:PREVIEW_LENGTH].rsplit(" ", 1)[0] + "…"


def _too_complex(raw: bytes) -> bool:
    header = _HEADER_END.search(raw)
    header_length = header.start() if header else len(raw)
    # bytes.count runs in C; these are upper bounds on MIME nesting and on the part count.
    return (
        header_length > MAX_HEADER_BYTES
        or raw.lower().count(b"multipart/") > MAX_MULTIPARTS
        or raw.count(b"\n--") + raw.startswith(b"--") > MAX_BOUNDARY_LINES
    )


def _sender(values: list[str]) -> str:
    senders = _addresses(values)
    return senders[0] if senders else ""


def _subject(values: list[str]) -> str:
    return _decode_header(values[0]) if values else ""


def _field(read: Callable[[list[str]], object], values: list[str], empty: object) -> object:
    try:
        return read(values)
    except Exception:  # hostile input: this field is lost, never the others
        return empty


def _header_fields(values: Callable[[str], list[str]]) -> dict[str, object]:
    """Sender, recipients, subject and date from the values of each header, each read alone so
    that one hostile header costs only its own field."""
    return {
        "sender": _field(_sender, values("from"), ""),
        "to": _field(_addresses, values("to"), []),
        "cc": _field(_addresses, values("cc"), []),
        "subject": _field(_subject, values("subject"), ""),
        "date": _field(_iso_date, values("date"), None),
    }


def _stdlib_values(message: Message) -> Callable[[str], list[str]]:
    return lambda name: _raw_headers(message, name)


def _unreadable(raw: bytes) -> ParsedMessage:
    header = _HEADER_END.search(raw)
    head = raw[: min(header.end() if header else len(raw), MAX_HEADER_BYTES)]
    try:
        fields = _header_fields(
            _stdlib_values(BytesHeaderParser(policy=policy.compat32).parsebytes(head))
        )
    except Exception:  # hostile input must still be stored
        fields = {"sender": "", "to": [], "cc": [], "subject": "", "date": None}
    return ParsedMessage(
        text=UNREADABLE_NOTE,
        html="",
        preview=UNREADABLE_NOTE[:PREVIEW_LENGTH],
        attachments=[],
        displayable=False,
        **fields,  # type: ignore[arg-type]
    )


def _normalise(raw: bytes) -> bytes:
    """Make a bare CR in the header block harmless: it must not start a new header."""
    header = _HEADER_END.search(raw)
    end = header.start() if header else len(raw)
    head = raw[:end]
    if not mimescan.BARE_CR.search(head):
        return raw
    return mimescan.BARE_CR.sub(b" ", head) + raw[end:]


class Glance(msgspec.Struct, frozen=True):
    """What a message list shows, read cheaply at delivery (the full parse waits for a reader)."""

    sender: str
    subject: str
    preview: str
    has_attachments: bool


def _body_text(part: mimescan.Part, limit: int | None) -> str:
    return _decoded_text(part.decoded(limit), part.charset())


def glance(raw: bytes) -> Glance:
    """Sender, subject, preview and whether there are attachments; never raises.

    Reads the message with `mimescan` (C-level searches, no message objects) under the same
    caps as `parse`, and agrees with `parse` on what it reports; only the start of each body
    part is decoded, as a preview needs no more.
    """
    try:
        if _too_complex(raw):
            raise mimescan.TooComplex("over the parse caps")
        top, parts = mimescan.read(raw)
        first = {name: [value] for name, value in top.items() if name in ("from", "subject")}
        sender = _field(_sender, first.get("from", []), "")
        subject = _field(_subject, first.get("subject", []), "")
        texts: list[str] = []
        htmls: list[str] = []
        # Running totals: summing the lists per part was quadratic in the part count.
        text_length = html_length = 0
        has_attachments = False
        for part in parts:
            role = _role(part.content_type, part.disposition, part.filename)
            if role == "text":
                if text_length < _PREVIEW_SOURCE:
                    texts.append(_body_text(part, _PREVIEW_ENCODED))
                    text_length += len(texts[-1])
            elif role == "html":
                if html_length < PREVIEW_HTML_LIMIT:
                    htmls.append(_body_text(part, PREVIEW_HTML_LIMIT * 4))
                    html_length += len(htmls[-1])
            else:
                has_attachments = True
        text = "\n\n".join(text for text in texts if text)
        html = "\n".join(html for html in htmls if html)
        preview = _preview(text or _html_text(html))
        return Glance(str(sender), str(subject), preview, has_attachments)
    except Exception:  # hostile input must still be stored and listed
        unreadable = _unreadable(raw)
        return Glance(unreadable.sender, unreadable.subject, unreadable.preview, False)


def parse(raw: bytes, *, preview: bool = True) -> ParsedMessage:
    """Extract headers, bodies and attachments from raw RFC 5322 bytes; never raises.

    Well-formed mail is read with `mimescan` (about ten times faster: a reader's first look
    at a message waits for this); anything it does not read exactly as the stdlib would goes
    to `policy.default`, and `tests/test_mimescan.py` holds the two to the same results.
    Without `preview` (a reader has the summary already) the preview is left empty, which
    spares turning HTML into text.
    """
    if _too_complex(raw):
        return _unreadable(raw)
    try:
        return _scan(raw, preview)
    except mimescan.TooComplex:
        # The stdlib would take far longer (~0.4 ms a part) to come to the same verdict.
        return _unreadable(raw)
    except Exception:  # mimescan.Unusual, or hostile input: the stdlib's turn
        if _fits_stdlib(raw):
            return _with_stdlib(raw, preview)
    try:
        return _scan(_normalise(raw), preview, strict=False)
    except Exception:  # too deep or too many parts even for the lenient reading
        return _unreadable(raw)


def _fits_stdlib(raw: bytes) -> bool:
    """Whether the stdlib parses this message's MIME header fields in bounded time."""
    total = 0
    for field in _MIME_FIELD.finditer(raw):
        length = field.end() - field.start()
        total += length
        if length > MAX_STDLIB_MIME_FIELD or total > MAX_STDLIB_MIME_FIELDS:
            return False
    return True


def parse_with_stdlib(raw: bytes, *, preview: bool = True) -> ParsedMessage:
    """`parse` by `policy.default` alone, for messages `mimescan` leaves to it."""
    if _too_complex(raw):
        return _unreadable(raw)
    return _with_stdlib(raw, preview)


def _with_stdlib(raw: bytes, preview: bool) -> ParsedMessage:
    try:
        return _parse(_normalise(raw), preview)
    except Exception:  # recursion, memory or a parser bug on hostile input: keep the mail
        return _unreadable(raw)


def _scan(raw: bytes, preview: bool = True, strict: bool = True) -> ParsedMessage:
    """`_parse` over `mimescan.read_strict`; raises `mimescan.Unusual` where they could differ.

    Not `strict`: over `mimescan.read`, which reads anything (for messages the stdlib would
    take too long over).
    """
    if strict:
        top, parts = mimescan.read_strict(raw)
    else:
        top = mimescan.fields(mimescan.split(raw)[0])
        parts = mimescan.read(raw)[1]
    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[Attachment] = []
    for part in parts:
        content_type = part.content_type
        filename = part.filename
        role = _role(content_type, part.disposition, filename)
        if role == "text":
            text_parts.append(_body_text(part, None).replace("\r\n", "\n"))
        elif role == "html":
            html_parts.append(_body_text(part, None).replace("\r\n", "\n"))
        else:
            data = part.decoded()
            content_id = part.headers.get("content-id")
            if strict and content_id is not None and "=?" in content_id:
                raise mimescan.Unusual("encoded words in Content-ID")
            attachments.append(
                _attachment(len(attachments) + 1, filename, content_type, data, content_id)
            )
    text = "\n\n".join(part for part in text_parts if part)
    html = "\n".join(part for part in html_parts if part)

    def values(name: str) -> list[str]:
        return [value for key, value in top if key == name]

    return ParsedMessage(
        text=text,
        html=html,
        preview=_preview_of(text, html) if preview else "",
        attachments=attachments,
        **_header_fields(values),  # type: ignore[arg-type]
    )


def _attachment(
    index: int, filename: str | None, content_type: str, data: bytes, content_id: str | None
) -> Attachment:
    return Attachment(
        id=str(index),
        filename=safe_filename(filename, f"attachment-{index}{_extension(content_type)}"),
        content_type=content_type,
        size=len(data),
        content_id=_clean_header(content_id).strip("<>") if content_id else None,
        data=data,
    )


def _preview_of(text: str, html: str) -> str:
    return _preview(text or _html_text(html))


def _html_text(html: str) -> str:
    """The visible text of the start of HTML for a preview, in bounded time however hostile
    the markup."""
    html = html[:PREVIEW_HTML_LIMIT]
    unclosed = html.rfind("<")
    if unclosed > html.rfind(">"):
        html = html[:unclosed]  # a tag cut off at PREVIEW_HTML_LIMIT
    if html.count("<") > PREVIEW_DENSE_TAGS:
        return read_html(html)[0]
    return html_to_text(html, limit=_PREVIEW_SOURCE * 2)


class _Entity(EmailMessage):
    """`EmailMessage` as the parser builds it for `_parse`.

    The stdlib's feed parser reads the body of every message/* part as a message of its own
    (and a delivery status as a list of them) and asks the part's `get_content_type()` when it
    decides. Answering with an opaque type for the message types `mimescan` does not walk into
    keeps their bodies as written, so both paths read one message the same way; `declared_type`
    gives the real type. Boundaries are read as `mimescan` reads them where the stdlib cuts
    them short (an unquoted `boundary=----=_Part_1` is `----` to it).
    """

    def get_boundary(self, failobj: object = None) -> object:  # type: ignore[override]
        written = next((str(v) for k, v in self.raw_items() if k.lower() == "content-type"), "")
        unquoted = mimescan.parameters(written).get("boundary")
        if unquoted is not None and "=" in unquoted and not unquoted.startswith('"'):
            return unquoted
        return super().get_boundary(failobj)

    def get_content_type(self) -> str:
        kind = self.declared_type()
        if kind.startswith("message/") and kind not in mimescan.WALKED_MESSAGES:
            return "application/octet-stream"
        return kind

    def declared_type(self) -> str:
        return super().get_content_type()


def _parse(raw: bytes, preview: bool = True) -> ParsedMessage:
    message = BytesParser(_Entity, policy=policy.default).parsebytes(raw)
    assert isinstance(message, _Entity)
    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        assert isinstance(part, _Entity)
        encoding = part.get("content-transfer-encoding")
        if encoding is not None and str(encoding) != str(encoding).strip():
            # As `mimescan`: white space around the encoding's name does not hide it.
            part.replace_header("content-transfer-encoding", str(encoding).strip())
        content_type = part.declared_type()
        filename = part.get_filename()
        role = _role(content_type, part.get_content_disposition(), filename)
        if role == "text":
            text_parts.append(_text_of(part))
        elif role == "html":
            html_parts.append(_text_of(part))
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            content_id = part.get("Content-ID")
            attachments.append(
                _attachment(
                    len(attachments) + 1,
                    filename,
                    content_type,
                    data,
                    str(content_id) if content_id else None,
                )
            )
    text = "\n\n".join(part for part in text_parts if part)
    html = "\n".join(part for part in html_parts if part)
    return ParsedMessage(
        text=text,
        html=html,
        preview=_preview_of(text, html) if preview else "",
        attachments=attachments,
        **_header_fields(_stdlib_values(message)),  # type: ignore[arg-type]
    )
