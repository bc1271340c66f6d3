"""Three `tempmail serve` processes on one PostgreSQL: one service, nothing lost.

Each node is a real child process with its own ports and data directory and the same keys,
as a cluster behind several MX records would run.
"""

from __future__ import annotations

import queue
import smtplib
import threading
import time
from collections.abc import Iterator
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SMTP_POLICY, make_message
from tests.nodes import Node, start_node
from tests.servers import PostgresServer
from tests.test_lifecycle import _read_events

KEYS = {"TEMPMAIL_ENCRYPTION_KEY": "17" * 32, "TEMPMAIL_SECRET_KEY": "28" * 32}


def _start(directory: Path, url: str, expiry_seconds: float) -> Node:
    return start_node(
        directory,
        {
            **KEYS,
            "TEMPMAIL_STORAGE_URL": url,
            "TEMPMAIL_EXPIRY_INTERVAL_SECONDS": str(expiry_seconds),
            "TEMPMAIL_INBOX_QUARANTINE_HOURS": "0",
            "TEMPMAIL_INBOX_MAX_MESSAGES": "1000",
        },
    )


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str) -> Iterator[list[Node]]:
    nodes: list[Node] = []
    try:
        for name in "abc":
            nodes.append(_start(tmp_path / name, postgres_url, 0.3))
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def _create(node: Node, **body: Any) -> dict[str, Any]:
    with node.client() as client:
        response = client.post("/api/v1/inboxes", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _raws(node: Node, inbox: dict[str, Any]) -> dict[str, bytes]:
    """Every stored message's raw bytes by its Message-ID, read through `node`."""
    found = {}
    with node.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        for message in listing["messages"]:
            raw = client.get(f"/api/v1/messages/{message['id']}/raw").content
            header = raw.split(b"\r\nMessage-ID: ", 1)[1].split(b"\r\n", 1)[0]
            found[header.decode()] = raw
    return found


def _numbered(address: str, sender: int, number: int) -> tuple[str, bytes]:
    message = make_message(address, f"s{sender} n{number}", text="x" * 2000)
    message_id = make_msgid(f"s{sender}n{number}")
    message["Message-ID"] = message_id
    return message_id, message.as_bytes(policy=SMTP_POLICY)


def test_live_updates_and_inbox_changes_cross_nodes(cluster: list[Node]) -> None:
    a, b, c = cluster
    inbox = _create(a)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    threading.Thread(target=_read_events, args=(b, inbox, events), daemon=True).start()
    assert events.get(timeout=30) == ("status", 200)
    assert events.get(timeout=30) == ("connected", None)
    with smtplib.SMTP(a.smtp_host, a.smtp_port, timeout=30) as smtp:
        smtp.sendmail("s@example.com", [inbox["address"]], _numbered(inbox["address"], 0, 0)[1])
    kind, data = events.get(timeout=30)
    assert (kind, data["subject"]) == ("message", "s0 n0")
    with smtplib.SMTP(c.smtp_host, c.smtp_port, timeout=30) as smtp:
        # The third node knows the inbox (and keeps it in memory)...
        smtp.ehlo("client.example")
        smtp.mail("s@example.com")
        assert smtp.rcpt(inbox["address"])[0] == 250
        smtp.rset()
        with b.client(inbox["token"]) as client:
            assert client.delete(f"/api/v1/inboxes/{inbox['inbox_id']}").status_code == 200
        # ...and refuses RCPT within a second of its deletion through another node.
        deleted_at = time.monotonic()
        while True:
            smtp.mail("s@example.com")
            code = smtp.rcpt(inbox["address"])[0]
            smtp.rset()
            if code == 550:
                break
            assert code == 250
            assert time.monotonic() - deleted_at < 1.0
            time.sleep(0.01)
    assert events.get(timeout=30) == ("deleted", {})


def test_every_inbox_expires_once_across_the_nodes(cluster: list[Node]) -> None:
    inboxes = [_create(cluster[n % 3], ttl_hours=0.0003) for n in range(24)]
    deadline = time.monotonic() + 60
    for inbox in inboxes:
        with cluster[0].client(inbox["token"]) as client:
            while client.get(f"/api/v1/inboxes/{inbox['inbox_id']}").status_code != 401:
                assert time.monotonic() < deadline, "expiry did not run"
                time.sleep(0.2)
    # A few more passes on every node: none may find anything left to delete.
    time.sleep(1.5)
    removed = [
        event["removed"]
        for node in cluster
        for event in node.records()
        if event.get("event", "").startswith("expiry pass removed")
    ]
    assert sum(removed) == len(inboxes)


Reply = tuple[str, int, bytes]
"""A message's id, the final reply code to it (0: the connection was lost), its bytes."""


def _send_all(
    node: Node,
    address: str,
    sender: int,
    count: int,
    replies: list[Reply],
    stop: threading.Event | None = None,
) -> None:
    """Send up to `count` messages (until `stop`), a session each; record each final reply."""
    for number in range(count):
        if stop is not None and stop.is_set():
            return
        message_id, data = _numbered(address, sender, number)
        try:
            with smtplib.SMTP(node.smtp_host, node.smtp_port, timeout=60) as smtp:
                smtp.sendmail("s@example.com", [address], data)
            replies.append((message_id, 250, data))
        except smtplib.SMTPRecipientsRefused as refused:
            replies.append((message_id, refused.recipients[address][0], data))
        except smtplib.SMTPResponseException as error:
            replies.append((message_id, error.smtp_code, data))
        except (OSError, smtplib.SMTPException):
            replies.append((message_id, 0, data))


def _wait_for(replies: list[Reply], code: int, count: int, after: int = 0) -> None:
    deadline = time.monotonic() + 120
    while sum(1 for reply in replies[after:] if reply[1] == code) < count:
        assert time.monotonic() < deadline, f"fewer than {count} replies {code} in time"
        time.sleep(0.01)


def test_kill_9_during_delivery_loses_no_acknowledged_message(cluster: list[Node]) -> None:
    a, b, _ = cluster
    inbox = _create(b)
    replies: list[Reply] = []
    senders = [
        threading.Thread(target=_send_all, args=(a, inbox["address"], n, 40, replies))
        for n in range(4)
    ]
    for sender in senders:
        sender.start()
    _wait_for(replies, 250, 20)
    a.process.kill()
    a.process.wait()
    for sender in senders:
        sender.join(timeout=120)
    assert len(replies) == 160
    acknowledged = {message_id: data for message_id, code, data in replies if code == 250}
    assert 20 <= len(acknowledged) < 160
    stored = _raws(b, inbox)
    for message_id, data in acknowledged.items():
        assert stored.get(message_id) == data, f"{message_id} acknowledged but not stored intact"


def test_postgres_restart_under_load_gives_only_temporary_failures(
    cluster: list[Node], postgres_server: PostgresServer
) -> None:
    _, b, c = cluster
    inbox = _create(b, ttl_hours=2)
    replies: list[Reply] = []
    stop = threading.Event()
    senders = [
        threading.Thread(target=_send_all, args=(node, inbox["address"], n, 100_000, replies, stop))
        for n, node in enumerate([b, c, b, c])
    ]
    for sender in senders:
        sender.start()
    try:
        _wait_for(replies, 250, 20)
        postgres_server.stop()
        _wait_for(replies, 451, 10, len(replies))
        postgres_server.start()
        # Both nodes serve again by themselves.
        _wait_for(replies, 250, 40, len(replies))
    finally:
        stop.set()
        for sender in senders:
            sender.join(timeout=180)
    codes = {code for _, code, _ in replies}
    assert codes == {250, 451}, codes
    acknowledged = {message_id: data for message_id, code, data in replies if code == 250}
    stored = _raws(c, inbox)
    # A COMMIT cut off by the shutdown may have been durable before the node heard back: that
    # message is stored and was answered 451, so its sender sends it again (at least once).
    assert set(stored) <= {message_id for message_id, _, _ in replies}
    for message_id, data in acknowledged.items():
        assert stored.get(message_id) == data, f"{message_id} acknowledged but not stored intact"
