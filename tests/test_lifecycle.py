"""Expiry, restart, live events, and what the files on disk do and do not contain."""

from __future__ import annotations

import json
import logging
import queue
import smtplib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tempmail import logs
from tests.helpers import (
    RunningServer,
    create_inbox,
    make_message,
    send_mail,
    start_server,
)


def _wait_until(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_expiry_with_short_ttl(server: RunningServer) -> None:
    short = create_inbox(server, ttl_hours=0.0003)  # about one second
    kept = create_inbox(server)
    send_mail(server, short["address"], make_message(short["address"]))
    with server.client(short["token"]) as client:
        assert client.get(f"/api/v1/inboxes/{short['inbox_id']}").status_code == 200
        expires = time.time() + 1.1
        _wait_until(lambda: time.time() > expires)
        # Before any sweep, an expired inbox is already gone for readers and for SMTP.
        response = client.get(f"/api/v1/inboxes/{short['inbox_id']}")
        assert response.status_code == 404
        assert client.get(f"/api/v1/inboxes/{short['inbox_id']}/messages").status_code == 404
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send_mail(server, short["address"], make_message(short["address"]))
    assert refused.value.recipients[short["address"]][0] == 550

    assert server.runtime.expirer is not None
    assert server.run(server.runtime.expirer.run_once()) == 1
    database = sqlite3.connect(server.data_dir / "tempmail.sqlite3")
    assert database.execute("SELECT count(*) FROM inboxes").fetchone()[0] == 1
    assert database.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    database.close()
    with server.client(kept["token"]) as client:
        assert client.get(f"/api/v1/inboxes/{kept['inbox_id']}").status_code == 200


def test_expiry_loop_runs_on_its_own(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_EXPIRY_INTERVAL_SECONDS": "0.2"})
    try:
        create_inbox(server, ttl_hours=0.0001)
        database = sqlite3.connect(server.data_dir / "tempmail.sqlite3")
        _wait_until(lambda: database.execute("SELECT count(*) FROM inboxes").fetchone()[0] == 0)
        database.close()
    finally:
        server.stop()


def test_restart_keeps_inboxes_readable(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    inbox = create_inbox(server)
    send_mail(server, inbox["address"], make_message(inbox["address"], "Survives restarts"))
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        message_id = listing["messages"][0]["id"]
        # The first read's parse and seen mark are written after the reply, with the next
        # commit; stopping right away must still write them.
        assert client.get(f"/api/v1/messages/{message_id}").json()["seen"] is True
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        assert listing["messages"][0]["seen"] is True
    server.stop()
    database = sqlite3.connect(tmp_path / "data" / "tempmail.sqlite3")
    assert database.execute("SELECT seen, reading IS NOT NULL FROM messages").fetchall() == [(1, 1)]
    database.close()
    again = start_server(tmp_path / "data")
    try:
        with again.client(inbox["token"]) as client:
            listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
            assert listing["messages"][0]["subject"] == "Survives restarts"
            assert listing["messages"][0]["seen"] is True
            assert client.get(f"/api/v1/messages/{message_id}").json()["subject"] == (
                "Survives restarts"
            )
        send_mail(again, inbox["address"], make_message(inbox["address"], "After restart"))
        with again.client(inbox["token"]) as client:
            assert client.get(f"/api/v1/inboxes/{inbox['inbox_id']}").json()["message_count"] == 2
    finally:
        again.stop()


def _read_events(
    server: RunningServer, inbox: dict[str, Any], events: queue.Queue[tuple[str, Any]]
) -> None:
    headers = {"Authorization": f"Bearer {inbox['token']}"}
    url = f"{server.http_url}/api/v1/inboxes/{inbox['inbox_id']}/events"
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        events.put(("status", response.status_code))
        kind = ""
        for line in response.iter_lines():
            if line == ": connected":
                events.put(("connected", None))
            elif line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.put((kind, json.loads(line.removeprefix("data: "))))
                if kind in ("deleted", "expired"):
                    return


def test_events_stream_new_mail_and_deletion(server: RunningServer) -> None:
    inbox = create_inbox(server)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    reader = threading.Thread(target=_read_events, args=(server, inbox, events), daemon=True)
    reader.start()
    assert events.get(timeout=30) == ("status", 200)
    assert events.get(timeout=30) == ("connected", None)
    send_mail(server, inbox["address"], make_message(inbox["address"], "Live!"))
    kind, data = events.get(timeout=30)
    assert kind == "message"
    assert data["subject"] == "Live!"
    assert set(data) == {
        "id", "from", "subject", "preview", "received_at", "has_attachments", "seen"
    }  # fmt: skip
    assert data["seen"] is False
    with server.client(inbox["token"]) as client:
        client.delete(f"/api/v1/inboxes/{inbox['inbox_id']}")
    assert events.get(timeout=30) == ("deleted", {})
    reader.join(timeout=30)
    assert not reader.is_alive()


def test_events_stream_ends_when_inbox_expires(server: RunningServer) -> None:
    inbox = create_inbox(server, ttl_hours=0.0004)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    reader = threading.Thread(target=_read_events, args=(server, inbox, events), daemon=True)
    reader.start()
    assert events.get(timeout=30) == ("status", 200)
    assert events.get(timeout=30) == ("connected", None)
    assert events.get(timeout=30) == ("expired", {})
    reader.join(timeout=30)


def test_nothing_readable_at_rest(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    logs.configure("debug", "json")
    caplog.set_level(logging.DEBUG)
    marker = "MARKER-7f3a9c-zebra"
    inbox = create_inbox(server)
    message = make_message(
        inbox["address"],
        subject=f"Subject {marker}",
        text=f"Body {marker}",
        html=f"<p>HTML {marker}</p>",
        attachments=[("notes.txt", "text/plain", f"Attachment {marker}".encode())],
    )
    send_mail(server, inbox["address"], message)
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        assert marker in listing["messages"][0]["subject"]
    files = sorted(server.data_dir.iterdir())
    assert any(path.name.endswith("-wal") for path in files)
    needles = [marker.encode(), marker.encode("utf-16-le"), inbox["token"].encode()]
    for path in files:
        content = path.read_bytes()
        for needle in needles:
            assert needle not in content, f"{needle!r} found in {path.name}"
    captured = caplog.text
    assert marker not in captured
    assert inbox["token"] not in captured


def test_deleted_mail_leaves_no_ciphertext_after_checkpoint(server: RunningServer) -> None:
    inbox = create_inbox(server)
    send_mail(server, inbox["address"], make_message(inbox["address"], text="z" * 5000))
    database = sqlite3.connect(server.data_dir / "tempmail.sqlite3")
    sealed = database.execute("SELECT content, summary FROM messages").fetchone()
    database.close()
    fragments = [bytes(sealed[0][100:164]), bytes(sealed[1][40:80])]
    with server.client(inbox["token"]) as client:
        assert client.delete(f"/api/v1/inboxes/{inbox['inbox_id']}").status_code == 200
    assert server.runtime.expirer is not None
    server.run(server.runtime.expirer.run_once())
    for path in server.data_dir.iterdir():
        content = path.read_bytes()
        for fragment in fragments:
            assert fragment not in content, f"ciphertext left in {path.name}"
