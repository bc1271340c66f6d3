"""What is inside a sealed message: the records a stored message carries.

* `Summary`, small, sealed at delivery and opened for every list.
* `Content`, sealed at delivery: the raw source and the envelope recipients.
* `Reading`, sealed on first read: the full parse (bodies, attachments) with the one-time codes
  and links found in it. Delivery only glances at a message so that acknowledging mail stays
  cheap; the expensive parse happens once, for messages someone actually opens.
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
    raw: bytes
    delivered_to: list[str] = msgspec.field(default_factory=list)


class Reading(msgspec.Struct, frozen=True, array_like=True):
    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    date: str | None
    text: str
    html: str
    attachments: list[Attachment]
    displayable: bool
    codes: list[str]
    links: list[Link]


SUMMARY_PART = "summary"
CONTENT_PART = "content"
READING_PART = "reading"

_encoder = msgspec.msgpack.Encoder()
_summary_decoder = msgspec.msgpack.Decoder(Summary)
_content_decoder = msgspec.msgpack.Decoder(Content)
_reading_decoder = msgspec.msgpack.Decoder(Reading)


def encode(record: Summary | Content | Reading) -> bytes:
    return _encoder.encode(record)


def decode_summary(data: bytes) -> Summary:
    return _summary_decoder.decode(data)


def decode_content(data: bytes) -> Content:
    return _content_decoder.decode(data)


def decode_reading(data: bytes) -> Reading:
    return _reading_decoder.decode(data)
