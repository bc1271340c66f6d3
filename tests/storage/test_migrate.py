"""Moving a SQLite deployment to PostgreSQL, and backing PostgreSQL up and restoring it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tempmail.cli import main
from tests.helpers import (
    RunningServer,
    create_inbox,
    make_message,
    send_mail,
    start_server,
)
from tests.servers import PostgresServer

KEYS = {"TEMPMAIL_ENCRYPTION_KEY": "e5" * 32, "TEMPMAIL_SECRET_KEY": "f6" * 32}


def _snapshot(server: RunningServer, inbox: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Everything the token holder sees of an inbox: each message's summary and raw bytes."""
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        return [
            (
                message["id"],
                message["subject"],
                message["seen"],
                message["received_at"],
                client.get(f"/api/v1/messages/{message['id']}/raw").content,
            )
            for message in listing["messages"]
        ]


def test_migrate_copies_a_running_deployment_and_old_tokens_open_it(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "sqlite"
    old = start_server(data_dir, KEYS)
    try:
        inboxes = [create_inbox(old) for _ in range(3)]
        for number, inbox in enumerate(inboxes):
            for copy in range(number + 1):
                message = make_message(
                    inbox["address"],
                    f"Message {copy}",
                    attachments=[("a.bin", "application/octet-stream", bytes(range(256)))],
                )
                send_mail(old, inbox["address"], message)
        with old.client(inboxes[2]["token"]) as client:
            first = client.get(f"/api/v1/inboxes/{inboxes[2]['inbox_id']}/messages").json()
            assert client.get(f"/api/v1/messages/{first['messages'][0]['id']}").status_code == 200
        ended = create_inbox(old, local_part="gone-soon")
        with old.client(ended["token"]) as client:
            assert client.delete(f"/api/v1/inboxes/{ended['inbox_id']}").status_code == 200
        before = {inbox["inbox_id"]: _snapshot(old, inbox) for inbox in inboxes}

        monkeypatch.setenv("TEMPMAIL_DATA_DIR", str(data_dir))
        # While the server runs: the copy is one consistent snapshot.
        assert main(["migrate", "--to", postgres_url]) == 0
        output = capsys.readouterr().out
        assert "copied 3 inboxes (3 new), 6 messages (6 new) and 1 quarantined" in output
        assert postgres_url.split("@")[0].split(":")[-1] not in output  # no password
        send_mail(old, inboxes[0]["address"], make_message(inboxes[0]["address"], "Late"))
        assert main(["migrate", "--to", postgres_url]) == 0
        assert "7 messages (1 new)" in capsys.readouterr().out
        before[inboxes[0]["inbox_id"]] = _snapshot(old, inboxes[0])
    finally:
        old.stop()

    new = start_server(tmp_path / "node", {"TEMPMAIL_STORAGE_URL": postgres_url, **KEYS})
    try:
        for inbox in inboxes:
            assert _snapshot(new, inbox) == before[inbox["inbox_id"]]
        with new.client() as client:
            taken = client.post("/api/v1/inboxes", json={"local_part": "gone-soon"})
            assert taken.status_code == 409
    finally:
        new.stop()


def test_migrate_refuses_a_database_written_with_other_keys(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = start_server(tmp_path / "other", {"TEMPMAIL_STORAGE_URL": postgres_url, **KEYS})
    other.stop()
    source = start_server(tmp_path / "sqlite")  # its own key file: other keys
    source.stop()
    monkeypatch.setenv("TEMPMAIL_DATA_DIR", str(tmp_path / "sqlite"))
    assert main(["migrate", "--to", postgres_url]) == 2
    monkeypatch.setenv("TEMPMAIL_DATA_DIR", str(tmp_path / "empty"))
    assert main(["migrate", "--to", postgres_url]) == 2


def test_backup_with_pg_dump_restores_into_a_new_database(
    tmp_path: Path,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = postgres_server.new_database()
    environ = {"TEMPMAIL_STORAGE_URL": url, **KEYS}
    server = start_server(tmp_path / "node", environ)
    try:
        inbox = create_inbox(server)
        send_mail(server, inbox["address"], make_message(inbox["address"], "Keep me"))
        before = _snapshot(server, inbox)
        monkeypatch.setenv("TEMPMAIL_STORAGE_URL", url)
        monkeypatch.setenv("TEMPMAIL_DATA_DIR", str(tmp_path / "node"))
        dump = tmp_path / "tempmail.dump"
        assert main(["backup", str(dump)]) == 0
        assert "pg_restore" in capsys.readouterr().out
        assert dump.stat().st_mode & 0o777 == 0o600
    finally:
        server.stop()
    restored = postgres_server.new_database()
    subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={restored}", str(dump)], check=True, timeout=120
    )
    again = start_server(tmp_path / "restored", {"TEMPMAIL_STORAGE_URL": restored, **KEYS})
    try:
        assert _snapshot(again, inbox) == before
    finally:
        again.stop()
    # Without pg_dump the command says what to do instead.
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries"))
    assert main(["backup", str(tmp_path / "second.dump")]) == 1
    assert "pg_dump is not installed" in capsys.readouterr().err
