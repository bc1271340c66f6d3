"""Walking a message's MIME structure over bytes, without building `email.message` objects.

Delivery must learn a message's sender, subject, preview and whether it has attachments before
it answers `250`, under load. The stdlib parsers do that line by line in Python; this module
finds header blocks and boundary lines with C-level searches, so a 20 KB multipart message costs
tens of microseconds. It follows the stdlib's rules where they matter for a summary (the first
header of a name wins, only whole `--boundary` lines separate parts, `message/rfc822` parts are
walked into); `tests/test_mimescan.py` checks it against the stdlib on a corpus.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_DEPTH = 20
MAX_PARTS = 1000

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = rb"(?:[\x21-\x39\x3b-\x7e]*:|[ \t]|From )"
_FIRST_LINE_NOT_A_HEADER = re.compile(rb"(?!" + _HEADER_LINE + rb")")
# Starts with a literal, so the search skips ahead in C from one line break to the next.
_LINE_NOT_A_HEADER = re.compile(rb"\n(?!" + _HEADER_LINE + rb")")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_PARAM = re.compile(
    r""";\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)""", re.DOTALL
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


class TooComplex(Exception):
    """The message nests or splits deeper than a summary is worth reading."""


class Unusual(Exception):
    """In `strict` mode: the message has a shape this module does not read as the stdlib would
    in every detail (see `read`), so a full parse should be left to the stdlib."""


# In strict mode, the only transfer encodings accepted: the stdlib also undoes uuencode.
SIMPLE_ENCODINGS = frozenset({"", "7bit", "8bit", "binary", "base64", "quoted-printable"})
BARE_CR = re.compile(rb"\r(?!\n)")
# A MIME header value that the stdlib and `parameters` read alike: no comments, quoted pairs,
# RFC 2231 continuations or charsets, or encoded words.
_PLAIN_MIME_VALUE = re.compile(r"[^()\\*\x00-\x08\x0a-\x1f\x7f-\U0010ffff]*")
_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")


@dataclass(frozen=True, slots=True)
class Part:
    """One leaf of the MIME tree: its headers and its still transfer-encoded body."""

    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return content_type(self.headers)

    @property
    def disposition(self) -> str | None:
        value = self.headers.get("content-disposition")
        if value is None:
            return None
        return value.split(";", 1)[0].strip().lower() or None

    @property
    def filename(self) -> str | None:
        """The `filename` of Content-Disposition, else the `name` of Content-Type, stripped
        (as the stdlib's `get_filename()`; RFC 2231 values are not decoded)."""
        for header, name in (("content-disposition", "filename"), ("content-type", "name")):
            params = parameters(self.headers.get(header, ""))
            for key in (name, name + "*", name + "*0", name + "*0*"):
                if key in params:
                    return params[key].strip()
        return None

    def charset(self) -> str | None:
        return parameters(self.headers.get("content-type", "")).get("charset")

    def decoded(self, limit: int | None = None) -> bytes:
        """The body with its transfer encoding undone; at most about `limit` encoded bytes read."""
        truncated = limit is not None and len(self.body) > limit
        body = self.body[:limit] if truncated else self.body
        encoding = self.headers.get("content-transfer-encoding", "").strip().lower()
        if encoding == "base64":
            return _base64(body, truncated)
        if encoding == "quoted-printable":
            return binascii.a2b_qp(body)
        return body


def split(raw: bytes) -> tuple[bytes, bytes]:
    """The header block and the body (empty when there is no blank line)."""
    if raw.startswith((b"\r\n", b"\n")):
        return b"", raw[raw.index(b"\n") + 1 :]
    end = _HEADER_END.search(raw)
    block_end = len(raw) if end is None else end.start()
    if _FIRST_LINE_NOT_A_HEADER.match(raw, 0, block_end):
        return b"", raw
    stray = _LINE_NOT_A_HEADER.search(raw, 0, block_end)
    if stray is not None:
        # As the stdlib: the first line that cannot be a header starts the body.
        return raw[: stray.start()], raw[stray.start() + 1 :]
    return raw[:block_end], b"" if end is None else raw[end.end() :]


def fields(block: bytes, errors: str = "replace") -> list[tuple[str, str]]:
    """Every header field in order: lower-cased name, unfolded value, read as UTF-8 (RFC 6532).

    With `errors="surrogateescape"` bytes that are not UTF-8 are kept as surrogates, so that
    `reading.headers` can decode encoded words from the source's bytes.
    """
    text = block.decode("utf-8", errors)
    found = []
    for line in _FOLD.sub("", text).split("\n"):
        name, colon, value = line.rstrip("\r").partition(":")
        key = name.lower()
        # As the stdlib: a field name is printable and has no white space in it.
        if colon and key and key.isprintable() and " " not in key:
            found.append((key, value.lstrip(" \t")))  # as the stdlib, which keeps trailing blanks
    return found


def headers(block: bytes) -> dict[str, str]:
    """Lower-cased field name to its first value (as the stdlib's `message[name]`)."""
    return _first_values(fields(block))


def _first_values(found: list[tuple[str, str]]) -> dict[str, str]:
    first: dict[str, str] = {}
    for key, value in found:
        first.setdefault(key, value)
    return first


def parameters(value: str) -> dict[str, str]:
    """The `; name=value` parameters of a structured header, names lower-cased, quotes removed."""
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value):
        name, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"'):
            raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1])
        params.setdefault(name, raw)
    return params


def content_type(fields: dict[str, str], default: str = "text/plain") -> str:
    """The lower-cased `type/subtype`; a missing or malformed value gives `default`."""
    value = fields.get("content-type")
    if value is None:
        return default
    kind = value.split(";", 1)[0].strip().lower()
    main, slash, sub = kind.partition("/")
    if not slash or not main or not sub or " " in kind:
        return "text/plain"
    return kind


def read(raw: bytes) -> tuple[dict[str, str], Iterator[Part]]:
    """The message's own header fields (8-bit bytes that are not UTF-8 kept as surrogates),
    and its leaf parts as `leaves` gives them."""
    block, body = split(raw)
    top = _first_values(fields(block, "surrogateescape"))
    return top, _counted(_entity(headers(block), body, "text/plain", 0, strict=False))


def read_strict(raw: bytes) -> tuple[list[tuple[str, str]], Iterator[Part]]:
    """All of the message's own header fields (as `read` gives them), and its leaf parts, for a
    full parse.

    Raises `Unusual` (possibly only while the parts are iterated) where this module's reading
    could differ from the stdlib's in a detail a reader sees: a bare CR (the stdlib ends lines
    there), a transfer encoding other than those in SIMPLE_ENCODINGS, or a Content-Type or
    Content-Disposition with comments, quoted pairs, RFC 2231 parameters, encoded words or
    more than one slash in the type. Well-formed mail has none of these.
    """
    if BARE_CR.search(raw):
        raise Unusual("bare CR")
    block, body = split(raw)
    top = fields(block, "surrogateescape")
    return top, _counted(_entity(headers(block), body, "text/plain", 0, strict=True))


def _check_plain(fields: dict[str, str]) -> None:
    for name in ("content-type", "content-disposition"):
        value = fields.get(name)
        if value is not None and ("=?" in value or not _PLAIN_MIME_VALUE.fullmatch(value)):
            raise Unusual(f"{name} needs the stdlib")
    kind = fields.get("content-type")
    if kind is not None and not _TYPE.fullmatch(kind.split(";", 1)[0].strip().lower()):
        raise Unusual("content-type needs the stdlib")
    encoding = fields.get("content-transfer-encoding", "").strip().lower()
    if encoding not in SIMPLE_ENCODINGS:
        raise Unusual("transfer encoding needs the stdlib")


def leaves(raw: bytes) -> Iterator[Part]:
    """Every leaf part of the message, depth first, as the stdlib's `walk()` orders them.

    Raises TooComplex beyond MAX_DEPTH levels or MAX_PARTS parts.
    """
    return read(raw)[1]


def _counted(parts: Iterator[Part]) -> Iterator[Part]:
    for count, part in enumerate(parts, 1):
        if count > MAX_PARTS:
            raise TooComplex(f"more than {MAX_PARTS} parts")
        yield part


def _walk(entity: bytes, default: str, depth: int, strict: bool) -> Iterator[Part]:
    block, body = split(entity)
    return _entity(headers(block), body, default, depth, strict)


def _entity(
    fields: dict[str, str], body: bytes, default: str, depth: int, strict: bool
) -> Iterator[Part]:
    if depth > MAX_DEPTH:
        raise TooComplex(f"nested deeper than {MAX_DEPTH}")
    if strict:
        _check_plain(fields)
    kind = content_type(fields, default)
    if kind == "message/rfc822":
        yield from _walk(body, "text/plain", depth + 1, strict)
        return
    boundary = parameters(fields.get("content-type", "")).get("boundary")
    if not kind.startswith("multipart/") or not boundary:
        yield Part(fields, body)
        return
    children = list(_children(body, boundary))
    if not children:
        # No delimiter line at all: the stdlib keeps the body as one opaque leaf.
        yield Part(fields, body)
        return
    child_default = "message/rfc822" if kind == "multipart/digest" else "text/plain"
    for child in children:
        yield from _walk(child, child_default, depth + 1, strict)


def _children(body: bytes, boundary: str) -> Iterator[bytes]:
    """The entities between `--boundary` lines; the preamble and epilogue are dropped."""
    marker = b"--" + boundary.encode("utf-8", "replace")
    start: int | None = None
    at = body.find(marker)
    while at >= 0:
        line_end = body.find(b"\n", at)
        line_end = len(body) if line_end < 0 else line_end
        closing = _delimiter_line(body, at, line_end, marker)
        if closing is not None:
            if start is not None:
                # The line break before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
                end = at - 2 if body[at - 2 : at] == b"\r\n" else at - 1
                yield body[start : max(start, end)]
            if closing:
                return
            start = line_end + 1
        at = body.find(marker, line_end)
    if start is not None:
        # No closing delimiter: the last part runs to the end, less its last line break, as
        # the stdlib reads it.
        last = body[start:]
        yield last[:-2] if last.endswith(b"\r\n") else last[:-1] if last.endswith(b"\n") else last


def _delimiter_line(body: bytes, at: int, line_end: int, marker: bytes) -> bool | None:
    """Whether the line at `at` closes the multipart, opens a part (False), or is neither."""
    if at and body[at - 1] != 0x0A:
        return None
    rest = body[at + len(marker) : line_end].rstrip(b"\r")
    closing = rest.startswith(b"--")
    if rest[2 if closing else 0 :].strip(b" \t"):
        return None
    return closing


def _base64(body: bytes, truncated: bool) -> bytes:
    """Undo base64 as the stdlib's `get_payload(decode=True)` does, padding defects and all."""
    encoded = b"".join(body.splitlines())
    if truncated:
        encoded = encoded[: len(encoded) - len(encoded) % 4]
    missing = b"==="[: 4 - len(encoded) % 4] if len(encoded) % 4 else b""
    for attempt, strict in ((encoded + missing, True), (encoded, False), (encoded + b"==", False)):
        try:
            return base64.b64decode(attempt, validate=strict)
        except binascii.Error:
            continue
    return encoded
