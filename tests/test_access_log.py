"""The HTTP access log: route templates, status and duration; no query strings, no ids, and
client addresses only when `[logging] client_addresses = true`."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from tests.helpers import RunningServer, create_inbox, start_server


def _access_records(caplog: pytest.LogCaptureFixture, count: int) -> list[logging.LogRecord]:
    """The access log's records, once `count` are there: each is written just after its
    response has been sent, so the client can be a moment ahead of it."""
    deadline = time.monotonic() + 10
    while True:
        records = [record for record in caplog.records if record.name == "tempmail.access"]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.01)


def test_access_log_writes_templates_not_paths_queries_or_addresses(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tempmail.access"):
        inbox = create_inbox(server)
        with server.client(inbox["token"]) as client:
            listing = f"/api/v1/inboxes/{inbox['inbox_id']}/messages"
            assert client.get(listing, params={"since": "2026-01-01T00:00:00Z"}).status_code == 200
            # A token put in the query string by mistake: refused, and never written down.
            assert client.get(listing, params={"token": inbox["token"]}).status_code == 400
            assert client.get("/api/v1/messages/no-such-message").status_code == 404
        with server.client() as client:
            assert client.get("/health").status_code == 200
    records = _access_records(caplog, 5)
    assert [(r.method, r.route, r.status) for r in records] == [  # type: ignore[attr-defined]
        ("POST", "/api/v1/inboxes", 201),
        ("GET", "/api/v1/inboxes/{inbox_id}/messages", 200),
        ("GET", "/api/v1/inboxes/{inbox_id}/messages", 400),
        ("GET", "/api/v1/messages/{message_id}", 404),
        ("GET", "/health", 200),
    ]
    for record in records:
        text = record.getMessage() + repr(vars(record))
        assert inbox["token"] not in text
        assert inbox["inbox_id"] not in text
        assert "since" not in text and "?" not in text
        assert "127.0.0.1" not in text
        assert not hasattr(record, "client")
        assert record.duration >= 0  # type: ignore[attr-defined]


def test_client_addresses_are_logged_only_when_asked_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_LOGGING_CLIENT_ADDRESSES": "true"})
    try:
        with caplog.at_level(logging.INFO, logger="tempmail.access"), server.client() as client:
            assert client.get("/health").status_code == 200
    finally:
        server.stop()
    records = _access_records(caplog, 1)
    assert [record.client for record in records] == ["127.0.0.1"]  # type: ignore[attr-defined]
