"""What is inside a sealed message: the two records every stored message carries.

The summary is small and opened for every list; the content holds everything else, including
the raw source and attachment bytes, and is opened only when one message is read.
"""

from __future__ import annotations

import msgspec

from tempmail.extract import Link
from tempmail.parsing import Attachment


class Summary(msgspec.Struct, frozen=True, array_like=True):
    sender: str
    subject: str
    preview: str
    has_attachments: bool


class Content(msgspec.Struct, frozen=True, array_like=True):
    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    date: str | None
    text: str
    html: str
    attachments: list[Attachment]
    raw: bytes
    displayable: bool = True
    delivered_to: list[str] = msgspec.field(default_factory=list)
    codes: list[str] = msgspec.field(default_factory=list)
    links: list[Link] = msgspec.field(default_factory=list)


SUMMARY_PART = "summary"
CONTENT_PART = "content"

_encoder = msgspec.msgpack.Encoder()
_summary_decoder = msgspec.msgpack.Decoder(Summary)
_content_decoder = msgspec.msgpack.Decoder(Content)


def encode(record: Summary | Content) -> bytes:
    return _encoder.encode(record)


def decode_summary(data: bytes) -> Summary:
    return _summary_decoder.decode(data)


def decode_content(data: bytes) -> Content:
    return _content_decoder.decode(data)
