"""Afterwards, through the API: is every accepted message stored, readable and byte-identical?

Presence is checked for every accepted message (one listing per inbox, matched by the unique
subject); the raw source is fetched and compared byte for byte for a random sample.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from api_client import InboxCredentials, bounded_map, list_messages, raw_message
from messages import Template
from smtp_load import Sent, render, subject_of


@dataclass
class Verification:
    accepted: int
    found: int
    missing: int
    unacknowledged_extra: int
    """Stored messages of this run that were never acknowledged (e.g. a reply timed out)."""
    raw_compared: int
    raw_identical: int
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.raw_identical == self.raw_compared


def _first_difference(expected: bytes, actual: bytes) -> str:
    for offset, (left, right) in enumerate(zip(expected, actual, strict=False)):
        if left != right:
            return f"differs at byte {offset}: sent {expected[offset : offset + 24]!r}, stored {actual[offset : offset + 24]!r}"
    return f"sent {len(expected)} bytes, stored {len(actual)}"


async def verify(
    client: httpx.AsyncClient,
    inboxes: Sequence[InboxCredentials],
    sent: Sequence[Sent],
    templates: dict[str, Template],
    run_id: str,
    sample: int,
) -> Verification:
    """Check `sent` (accepted messages, one recipient each) against what the API returns."""
    by_address = {inbox.address: inbox for inbox in inboxes}
    listings = await bounded_map(lambda inbox: list_messages(client, inbox), inboxes, 8)
    stored: dict[tuple[str, str], str] = {}
    for inbox, messages in zip(inboxes, listings, strict=True):
        for message in messages:
            stored[(inbox.address, message["subject"])] = message["id"]
    expected = {
        (sent_message.recipients[0], subject_of(run_id, sent_message.kind, sent_message.serial))
        for sent_message in sent
    }
    found = sum(1 for key in expected if key in stored)
    ours = {key for key in stored if f" {run_id} " in key[1]}
    picked = random.Random(0).sample(list(sent), min(sample, len(sent)))
    mismatches: list[str] = []

    async def compare(message: Sent) -> bool:
        address = message.recipients[0]
        key = (address, subject_of(run_id, message.kind, message.serial))
        if key not in stored:
            return False
        inbox = by_address[address]
        actual = await raw_message(client, inbox, stored[key])
        wanted = render(templates[message.kind], run_id, message.serial, address)
        if actual != wanted and len(mismatches) < 5:
            mismatches.append(f"{key[1]}: {_first_difference(wanted, actual)}")
        return actual == wanted

    identical = await bounded_map(compare, picked, 8)
    return Verification(
        accepted=len(expected),
        found=found,
        missing=len(expected) - found,
        unacknowledged_extra=len(ours - expected),
        raw_compared=len(picked),
        raw_identical=sum(identical),
        mismatches=mismatches,
    )
