"""Two nodes in one process tree sharing one PostgreSQL database: live updates and inbox
changes cross from one node to the other."""

from __future__ import annotations

import asyncio
import json
import queue
import smtplib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tempmail.cluster import Follower
from tempmail.events import EventHub
from tempmail.storage.base import MessageSummaryRow, NewMessage
from tempmail.storage.notices import (
    NOTICE_BYTES,
    Notice,
    message_payload,
    notice_groups,
    parse_notice,
)
from tests.helpers import RunningServer, create_inbox, make_message, send_mail, start_server
from tests.test_lifecycle import _read_events

KEYS = {"TEMPMAIL_ENCRYPTION_KEY": "c3" * 32, "TEMPMAIL_SECRET_KEY": "d4" * 32}


@pytest.fixture
def nodes(tmp_path: Path, postgres_url: str) -> Iterator[tuple[RunningServer, RunningServer]]:
    environ = {"TEMPMAIL_STORAGE_URL": postgres_url, "TEMPMAIL_MAILTM_ENABLED": "true", **KEYS}
    first = start_server(tmp_path / "a", environ)
    try:
        second = start_server(tmp_path / "b", environ)
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def _listen(server: RunningServer, inbox: dict[str, Any]) -> queue.Queue[tuple[str, Any]]:
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    threading.Thread(target=_read_events, args=(server, inbox, events), daemon=True).start()
    assert events.get(timeout=30) == ("status", 200)
    assert events.get(timeout=30) == ("connected", None)
    return events


def _metric(server: RunningServer, name: str) -> float:
    with server.client() as client:
        text = client.get("/metrics").text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def test_mail_through_one_node_streams_on_the_other(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    inbox = create_inbox(a)
    events = _listen(b, inbox)
    send_mail(a, inbox["address"], make_message(inbox["address"], "Across nodes"))
    kind, data = events.get(timeout=30)
    assert (kind, data["subject"], data["seen"]) == ("message", "Across nodes", False)
    assert set(data) == {
        "id", "from", "subject", "preview", "received_at", "has_attachments", "seen"
    }  # fmt: skip
    send_mail(b, inbox["address"], make_message(inbox["address"], "Same node"))
    assert events.get(timeout=30)[1]["subject"] == "Same node"
    # A summary too long for a change notice (2,000 characters of subject, 3 bytes each in
    # UTF-8): node B reads the row from the database instead.
    long_subject = " ".join("語" * 9 for _ in range(200))[:2000]
    send_mail(a, inbox["address"], make_message(inbox["address"], long_subject))
    kind, data = events.get(timeout=30)
    assert (kind, data["subject"]) == ("message", long_subject)
    # Each node timed the messages of the other's notices that carried their row.
    assert _metric(b, "tempmail_cluster_arrival_delay_seconds_count") == 1
    assert _metric(a, "tempmail_cluster_arrival_delay_seconds_count") == 1
    with a.client(inbox["token"]) as client:
        assert client.delete(f"/api/v1/inboxes/{inbox['inbox_id']}").status_code == 200
    assert events.get(timeout=30) == ("deleted", {})
    assert events.empty()


def test_mailtm_mercure_on_one_node_gets_mail_through_the_other(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    address = f"mercure@{create_inbox(a)['address'].split('@')[1]}"
    account = {"address": address, "password": "correct horse battery"}
    with httpx.Client(base_url=b.http_url + "/mailtm", timeout=30) as http:
        created = http.post("/accounts", json=account)
        assert created.status_code == 201, created.text
        answer = http.post("/token", json=account)
        assert answer.status_code == 200, answer.text
        token = answer.json()["token"]
        url = f"/.well-known/mercure?topic=/accounts/{created.json()['id']}"
        headers = {"Authorization": f"Bearer {token}"}
        with http.stream("GET", url, headers=headers) as stream:
            lines = stream.iter_lines()
            assert next(lines) == ": connected"
            send_mail(a, address, make_message(address, "Across to Mercure"))
            # Keep-alive comments come every 15 s: a stream that never tells fails here.
            deadline = time.monotonic() + 40
            for line in lines:
                assert time.monotonic() < deadline
                if line.startswith("data: "):
                    document = json.loads(line.removeprefix("data: "))
                    break
    assert (document["subject"], document["seen"]) == ("Across to Mercure", False)
    assert document["to"] == [{"address": address, "name": ""}]


def test_long_poll_on_one_node_wakes_for_mail_through_the_other(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    inbox = create_inbox(b)
    answers: queue.Queue[tuple[float, Any]] = queue.Queue()

    def poll() -> None:
        started = time.monotonic()
        with b.client(inbox["token"]) as client:
            response = client.get(
                f"/api/v1/inboxes/{inbox['inbox_id']}/messages", params={"wait": 50}, timeout=90
            )
        answers.put((time.monotonic() - started, response.json()))

    waiter = threading.Thread(target=poll, daemon=True)
    waiter.start()
    # The poll is parked once its node watches the inbox.
    deadline = time.monotonic() + 30
    assert b.runtime.hub is not None
    while b.runtime.hub.watcher_count() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    send_mail(a, inbox["address"], make_message(inbox["address"], "Wake up"))
    elapsed, listing = answers.get(timeout=90)
    assert [message["subject"] for message in listing["messages"]] == ["Wake up"]
    # Woken by the notice, not by its 50 s wait running out.
    assert elapsed < 40


def test_inbox_changes_are_seen_by_every_node_within_a_second(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    inbox = create_inbox(a)
    # A new inbox is accepted by the other node at once.
    send_mail(b, inbox["address"], make_message(inbox["address"]))
    with a.client(inbox["token"]) as client:
        assert (
            client.patch(
                f"/api/v1/inboxes/{inbox['inbox_id']}", json={"ttl_hours": 100}
            ).status_code
            == 200
        )
        expires = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}").json()["expires_at"]
    with b.client(inbox["token"]) as client:
        assert client.get(f"/api/v1/inboxes/{inbox['inbox_id']}").json()["expires_at"] == expires
        assert client.delete(f"/api/v1/inboxes/{inbox['inbox_id']}").status_code == 200
    # Every node sees the deletion within a second (a node drops its copy when the notice comes).
    deleted_at = time.monotonic()
    with a.client(inbox["token"]) as client:
        while client.get(f"/api/v1/inboxes/{inbox['inbox_id']}").status_code != 401:
            assert time.monotonic() - deleted_at < 1.0
            time.sleep(0.01)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send_mail(a, inbox["address"], make_message(inbox["address"]))
    assert refused.value.recipients[inbox["address"]][0] == 550


def test_a_lost_notice_connection_is_made_again_and_nothing_is_missed(
    nodes: tuple[RunningServer, RunningServer], postgres_url: str
) -> None:
    a, b = nodes
    inbox = create_inbox(a)
    events = _listen(b, inbox)

    async def cut() -> int:
        connection = await asyncpg.connect(postgres_url)
        try:
            return int(
                await connection.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = 'tempmail-listen' AND datname = current_database()"
                )
            )
        finally:
            await connection.close()

    assert asyncio.run(cut()) == 2  # one per node
    send_mail(a, inbox["address"], make_message(inbox["address"], "During the gap"))
    kind, data = events.get(timeout=30)
    assert (kind, data["subject"]) == ("message", "During the gap")
    send_mail(a, inbox["address"], make_message(inbox["address"], "After the gap"))
    assert events.get(timeout=30)[1]["subject"] == "After the gap"


def test_the_follower_hands_on_other_nodes_changes_and_asks_for_a_look_after_a_gap() -> None:
    hub = EventHub()
    follower = Follower(hub, "me")
    with hub.subscribe("i1") as first, hub.subscribe("i2") as second:
        follower(Notice("message", "i1", "m1", "me"))
        assert first.empty()
        follower(Notice("message", "i1", "m1", "other"))
        assert first.get_nowait().data == {"id": "m1"}
        row = MessageSummaryRow("m2", 1, 2, b"sealed")
        follower(Notice("message", "i1", "m2", "other", row))
        assert first.get_nowait().data == {"id": "m2", "row": row}
        follower(Notice("deleted", "i2", "", "other"))
        assert second.get_nowait().kind == "deleted"
        follower(None)
        assert first.get_nowait() == second.get_nowait()
        assert first.empty() and second.empty()
    assert follower.notices == 3


def test_the_follower_times_each_message_from_its_receipt_on_the_other_node() -> None:
    delays: list[float] = []
    follower = Follower(EventHub(), "me", delays.append, clock=lambda: 1_000_250)
    follower(Notice("message", "i1", "m1", "other", MessageSummaryRow("m1", 1_000_000, 1, b"")))
    # Another node's clock a little ahead: 0, not a negative delay.
    follower(Notice("message", "i1", "m2", "other", MessageSummaryRow("m2", 1_000_300, 1, b"")))
    # Without its row (read from the database instead) or from this node: nothing to time.
    follower(Notice("message", "i1", "m3", "other"))
    follower(Notice("message", "i1", "m4", "me", MessageSummaryRow("m4", 1_000_000, 1, b"")))
    assert delays == [0.25, 0.0]


def test_a_message_notice_carries_its_row_and_a_damaged_one_is_read_instead() -> None:
    message = NewMessage("m1", "i1", 1_700_000_000_000, 1234, bytes(range(256)) * 2, b"")
    line = message_payload(message, "node1")
    assert parse_notice(line) == Notice(
        "message",
        "i1",
        "m1",
        "node1",
        MessageSummaryRow("m1", 1_700_000_000_000, 1234, message.summary),
    )
    # Damaged base64, or a number that is not one: still a message notice, without its row.
    assert parse_notice(line[:-4] + "!!!!") == Notice("message", "i1", "m1", "node1")
    assert parse_notice(line.replace(" 1234 ", " 12x4 ")) == Notice("message", "i1", "m1", "node1")
    assert parse_notice("deleted i2 - node1") == Notice("deleted", "i2", "", "node1")
    assert parse_notice("deleted i2 - node1 1 2 AAAA") is None
    assert parse_notice("garbage") is None


def test_notice_lines_are_grouped_under_the_payload_limit() -> None:
    lines = ["a" * 3000, "b" * 3000, "c" * 3000, "d" * 10, "e" * 7898, "f"]
    groups = notice_groups(lines)
    assert groups == [0, 0, 1, 1, 2, 3]
    for group in set(groups):
        joined = "\n".join(
            line for line, number in zip(lines, groups, strict=True) if number == group
        )
        assert len(joined.encode()) < NOTICE_BYTES
