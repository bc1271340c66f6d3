"""Header values as a reader sees them: unfolded, RFC 2047 words decoded, address lists split.

Both parse paths hand these functions the same thing: a header value as text in which 8-bit bytes
the source had are either UTF-8 characters or `surrogateescape` surrogates (the stdlib keeps every
8-bit byte as a surrogate, `mimescan` only the ones that are not UTF-8). Each function first turns
that back into the source's bytes, so the two paths cannot read a header differently, and an
encoded word's bytes are decoded as the encoded word's own charset says.

Every function here is linear in the length of the value: a header is attacker input of up to
the header cap, and the stdlib's address parser recurses once per nested group.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator

MAX_ADDRESSES = 100
# Longer pieces of an address list are cut: no mailbox is this long, and the stdlib's address
# parser costs ~0.3 ms per address, so this bounds a whole To: at a few tens of milliseconds.
MAX_ADDRESS_PIECE = 1000

_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_FOLD_TEXT = re.compile(r"\r?\n(?=[ \t])")
# RFC 2047 encoded words, matched where the stdlib's `email.header` matches them (also when
# glued to other text), but without its `.*?`: encoded text never holds a `?`, and a value of
# thousands of unterminated `=?` must cost one pass, not one pass per `=?`.
_ENCODED_WORD = re.compile(rb"=\?([^?\s]*+)\?([qQbB])\?([^?]*+)\?=")
_BLANK = re.compile(rb"[ \t\r\n]*+")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
# Charset labels mail uses that Python does not know, mapped as WHATWG's Encoding Standard
# (which browsers follow) maps them.
_CHARSET_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-e": "iso-8859-6",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "x-sjis": "shift_jis",
    "windows-31j": "cp932",
    "x-user-defined": "windows-1252",
}
# An address list splits at top-level commas; quoted strings, comments and angle brackets are
# read whole (unterminated ones run to the end, as in the stdlib's parser).
_ADDRESS_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*+"?|<[^>]*+>?|[,:;(]|[^",:;<(]++', re.DOTALL)
_COMMENT_MARK = re.compile(r"[()\\]")


def source_bytes(value: str) -> bytes:
    """The bytes a header value was read from (see the module docstring)."""
    return value.encode("utf-8", "surrogateescape")


def as_text(value: str) -> str:
    """A header value with its 8-bit bytes read as UTF-8 (RFC 6532), undecodable ones replaced."""
    if value.isascii():
        return value
    return source_bytes(value).decode("utf-8", "replace")


def unfold(value: bytes) -> bytes:
    """The value with its folding line breaks removed (RFC 5322 2.2.3), as `mimescan` reads it."""
    return _FOLD.sub(b"", value)


def unfold_text(value: str) -> str:
    """`unfold` for a value that is still text."""
    return _FOLD_TEXT.sub("", value)


def charset_codec(label: str) -> str | None:
    """Python's codec for a MIME charset label, through the aliases mail uses; None if unknown."""
    name = label.split("*", 1)[0].strip().lower()  # RFC 2231 adds `*language`
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, label: str | None) -> str:
    """Text from bytes in a declared charset; an unknown or missing one is read as UTF-8, and
    bytes the charset cannot decode become replacement characters."""
    codec = charset_codec(label) if label else None
    try:
        return data.decode(codec or "utf-8", "replace")
    except (LookupError, UnicodeError, ValueError):  # a codec that cannot decode at all
        return data.decode("utf-8", "replace")


def _word_bytes(encoding: bytes, encoded: bytes) -> bytes:
    if encoding in b"qQ":
        return _Q_ESCAPE.sub(lambda match: bytes.fromhex(match[1].decode()), encoded).replace(
            b"_", b" "
        )
    compact = re.sub(rb"[^A-Za-z0-9+/]", b"", encoded)
    compact = compact[: len(compact) - len(compact) % 4 if len(compact) % 4 == 1 else None]
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):
        return b""


def decode(value: str) -> str:
    """A header value unfolded, its RFC 2047 encoded words decoded, white space collapsed.

    White space between two encoded words is dropped (RFC 2047 6.2); all other text is kept as
    written and read as UTF-8. An encoded word's bytes, 8-bit ones included, are decoded in its
    own charset, with replacement characters where they do not fit it.
    """
    raw = unfold(source_bytes(value))
    if b"=?" not in raw:
        return _collapse(raw.decode("utf-8", "replace"))
    pieces: list[str] = []
    # Adjacent words in one charset are decoded together: senders split a character's bytes
    # across two of them, as the stdlib also tolerates.
    pending = bytearray()
    pending_label: bytes | None = None
    position = 0
    for match in _ENCODED_WORD.finditer(raw):
        between = raw[position : match.start()]
        label, encoding, encoded = match.groups()
        if pending_label is not None and not (
            _BLANK.fullmatch(between) and label.lower() == pending_label.lower()
        ):
            pieces.append(decode_bytes(bytes(pending), pending_label.decode("latin-1")))
            pending.clear()
            pending_label = None
        if not (position and _BLANK.fullmatch(between)):  # text, or the start before a word
            pieces.append(between.decode("utf-8", "replace"))
        pending += _word_bytes(encoding, encoded)
        pending_label = label
        position = match.end()
    if pending_label is not None:
        pieces.append(decode_bytes(bytes(pending), pending_label.decode("latin-1")))
    pieces.append(raw[position:].decode("utf-8", "replace"))
    return _collapse("".join(pieces))


def _collapse(text: str) -> str:
    return " ".join(text.split())


def address_pieces(value: str) -> Iterator[str]:
    """The members of an address list, one mailbox each, in one linear pass.

    Splits at top-level commas and drops group syntax (`name: members;`), which the display
    loses anyway; groups do not nest (RFC 5322 3.4), so nesting cannot make this recurse. At
    most MAX_ADDRESSES non-empty pieces of at most MAX_ADDRESS_PIECE characters.
    """
    piece: list[str] = []
    count = 0
    position = 0
    length = len(value)
    while position < length and count < MAX_ADDRESSES:
        match = _ADDRESS_TOKEN.match(value, position)
        assert match is not None  # every character starts some token
        lexeme = match.group()
        position = match.end()
        if lexeme == "(":
            position = _comment_end(value, position)
            piece.append(value[match.start() : position])
        elif lexeme == ":":
            piece = []  # a group's name
        elif lexeme in (",", ";"):
            text = "".join(piece)
            piece = []
            if text.strip():
                count += 1
                yield text[:MAX_ADDRESS_PIECE]
        else:
            piece.append(lexeme)
    text = "".join(piece)
    if text.strip() and count < MAX_ADDRESSES:
        yield text[:MAX_ADDRESS_PIECE]


def _comment_end(value: str, position: int) -> int:
    """Where a comment that opened just before `position` ends (comments nest; RFC 5322 3.2.2)."""
    depth = 1
    for mark in _COMMENT_MARK.finditer(value, position):
        if mark.start() < position:
            continue  # the character a backslash escaped
        if mark.group() == "\\":
            position = mark.end() + 1
            continue
        depth += 1 if mark.group() == "(" else -1
        if depth == 0:
            return mark.end()
    return len(value)
