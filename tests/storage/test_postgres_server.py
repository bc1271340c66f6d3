"""The whole server on PostgreSQL: the core flows of the SQLite suite, what is on disk, and
what clients see while the database is away."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.test_api as api_tests
import tests.test_lifecycle as lifecycle_tests
import tests.test_smtp as smtp_tests
from tests.helpers import (
    SMTP_POLICY,
    RunningServer,
    create_inbox,
    make_message,
    send_mail,
    send_raw,
    start_server,
)
from tests.servers import PostgresServer


@pytest.fixture
def pg_server(tmp_path: Path, postgres_url: str) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "data", {"TEMPMAIL_STORAGE_URL": postgres_url})
    try:
        yield running
    finally:
        running.stop()


def test_core_flow(pg_server: RunningServer) -> None:
    api_tests.test_full_flow(pg_server)


def test_auth_and_idor(pg_server: RunningServer) -> None:
    api_tests.test_auth_and_idor_on_every_route(pg_server)


def test_recipients(pg_server: RunningServer) -> None:
    smtp_tests.test_unknown_and_foreign_recipients(pg_server)
    # The SQLite file is never made: everything went to PostgreSQL.
    assert not (pg_server.data_dir / "tempmail.sqlite3").exists()


def test_concurrent_sessions(pg_server: RunningServer) -> None:
    smtp_tests.test_concurrent_sessions_all_acknowledged_messages_stored(pg_server)


def test_events_stream(pg_server: RunningServer) -> None:
    lifecycle_tests.test_events_stream_new_mail_and_deletion(pg_server)


def test_nothing_readable_in_the_data_directory_or_wal(
    pg_server: RunningServer, postgres_server: PostgresServer
) -> None:
    """A planted marker and the token appear nowhere in PostgreSQL's files: tables, WAL, logs."""
    marker = "MARKER-5c1e-pg-walrus"
    inbox = create_inbox(pg_server)
    message = make_message(
        inbox["address"],
        subject=f"Subject {marker}",
        text=f"Body {marker}",
        html=f"<p>HTML {marker}</p>",
        attachments=[("notes.txt", "text/plain", f"Attachment {marker}".encode())],
    )
    send_mail(pg_server, inbox["address"], message)
    with pg_server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        assert marker in listing["messages"][0]["subject"]
        detail = client.get(f"/api/v1/messages/{listing['messages'][0]['id']}").json()
        assert marker in detail["body_text"]
    # The first read seals its parse with the next commit; force one, then a checkpoint so the
    # tables' files hold what the WAL does.
    send_mail(pg_server, inbox["address"], make_message(inbox["address"]))
    postgres_server.psql("CHECKPOINT")
    files = [path for path in postgres_server.root.rglob("*") if path.is_file()]
    assert any("pg_wal" in path.parts for path in files)
    needles = [marker.encode(), marker.encode("utf-16-le"), inbox["token"].encode()]
    scanned = 0
    for path in files:
        try:
            content = path.read_bytes()
        except OSError:
            continue
        scanned += len(content)
        for needle in needles:
            assert needle not in content, f"{needle!r} found in {path}"
    assert scanned > 1_000_000
    # The address is stored in plaintext by design (mail routing needs it): the scan can see.
    address = inbox["address"].encode()
    assert any(address in path.read_bytes() for path in files if "pg_wal" in path.parts)


def test_database_away_means_retry_later_then_recovery(
    pg_server: RunningServer, postgres_server: PostgresServer
) -> None:
    inbox = create_inbox(pg_server)
    data = make_message(inbox["address"], "While away").as_bytes(policy=SMTP_POLICY)
    postgres_server.stop()
    try:
        with smtplib.SMTP(pg_server.smtp_host, pg_server.smtp_port, timeout=60) as client:
            client.ehlo("client.example")
            client.mail("sender@example.com")
            code, _ = client.rcpt(inbox["address"])
            assert code == 451
        with pg_server.client(inbox["token"]) as client:
            response = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert response.json()["error"] == "unavailable"
            ready = client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"] == "postgresql not writable"
            assert client.get("/health").status_code == 503
    finally:
        postgres_server.start()
    deadline = time.monotonic() + 60
    with pg_server.client(inbox["token"]) as client:
        while client.get("/health").status_code != 200:
            assert time.monotonic() < deadline, "the server did not reconnect"
            time.sleep(0.2)
        assert client.get("/health/ready").status_code == 200
    assert send_raw(pg_server, inbox["address"], data) == {}
    with pg_server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
    assert [message["subject"] for message in listing["messages"]] == ["While away"]
