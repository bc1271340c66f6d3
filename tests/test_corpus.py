"""Public test mail of mail-parser projects (`tests/corpus/`, see its SOURCES file), delivered
for real and read by both parse paths: every message is accepted (or refused for a line over
998 bytes, as the README says), stored byte for byte, readable, and listed as it is shown."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tempmail import parsing
from tempmail.parsing import UNREADABLE_NOTE, glance, parse, parse_with_stdlib
from tests.helpers import RunningServer, create_inbox, start_server

CORPUS = Path(__file__).parent / "corpus"
_LINE_END = re.compile(rb"\r\n|\n|\r(?!\n)")


def corpus_names() -> list[str]:
    """Every message the SOURCES file lists (their license files are not messages)."""
    lines = (CORPUS / "SOURCES").read_text("utf-8").splitlines()
    return [line.split("\t", 1)[0] for line in lines if line and not line.startswith("#")]


def on_the_wire(name: str) -> bytes:
    """The message as SMTP carries it: lines end in CRLF (smtplib would make them so)."""
    raw = _LINE_END.sub(b"\r\n", (CORPUS / name).read_bytes())
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


def too_long(raw: bytes) -> bool:
    return any(len(line) > 998 for line in raw.split(b"\r\n"))


NAMES = corpus_names()


def test_the_corpus_is_large_and_sourced() -> None:
    assert len(NAMES) >= 300
    assert len({name.split("/", 1)[0] for name in NAMES}) >= 8
    for folder in {name.split("/", 1)[0] for name in NAMES}:
        assert (CORPUS / folder / "LICENSE").exists() or (CORPUS / folder / "COPYING").exists()
    size = sum(path.stat().st_size for path in CORPUS.rglob("*") if path.is_file())
    assert size < 4 * 1024 * 1024


@pytest.mark.parametrize("name", NAMES)
def test_both_paths_read_the_corpus_alike(name: str) -> None:
    """The differential test: the fast path over mimescan, the stdlib's `policy.default` and
    the delivery-time glance agree on every message."""
    raw = on_the_wire(name)
    parsed = parse(raw)
    assert parsed == parse_with_stdlib(raw)
    seen = glance(raw)
    expected = (parsed.sender, parsed.subject, parsed.preview, bool(parsed.attachments))
    assert (seen.sender, seen.subject, seen.preview, seen.has_attachments) == expected


def test_most_of_the_corpus_takes_the_fast_path() -> None:
    scanned = 0
    for name in NAMES:
        try:
            parsing._scan(on_the_wire(name))
            scanned += 1
        except Exception:
            continue
    assert scanned >= 0.85 * len(NAMES)


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("corpus") / "data")
    try:
        yield running
    finally:
        running.stop()


def deliver(server: RunningServer, address: str, raw: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=30) as client:
        try:
            client.sendmail("sender@example.com", [address], raw)
        except smtplib.SMTPDataError as refusal:
            return refusal.smtp_code, refusal.smtp_error
    return 250, b""


def test_the_corpus_is_delivered_stored_and_shown(corpus_server: RunningServer) -> None:
    refused = []
    for name in NAMES:
        raw = on_the_wire(name)
        inbox = create_inbox(corpus_server)
        code, reply = deliver(corpus_server, inbox["address"], raw)
        if too_long(raw):
            assert (code, reply[:5]) == (500, b"5.5.2"), name
            refused.append(name)
            continue
        assert code == 250, (name, reply)
        with corpus_server.client(inbox["token"]) as client:
            listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
            (summary,) = listing["messages"]
            stored = client.get(f"/api/v1/messages/{summary['id']}/raw")
            detail = client.get(f"/api/v1/messages/{summary['id']}")
        assert stored.status_code == 200 and stored.content == raw, name
        assert detail.status_code == 200, name
        shown = detail.json()
        if parse_with_stdlib(raw).displayable:
            assert shown["body_text"] != UNREADABLE_NOTE, name
        assert summary["from"] == shown["from"], name
        assert summary["subject"] == shown["subject"], name
        assert summary["has_attachments"] == bool(shown["attachments"]), name
    # The two messages with lines of 1,523 and 4,464 bytes (RFC 5321 allows refusing them).
    assert refused == [name for name in NAMES if too_long(on_the_wire(name))]
    assert len(refused) == 2
