"""Maintenance commands: key rotation and retirement, backup and restore, check-config, send-test."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tempmail.cli import main
from tests.helpers import RunningServer, create_inbox, make_message, send_mail, start_server


def _key_ids(data: Path) -> tuple[str, list[str]]:
    document = json.loads((data / "keys.json").read_text())
    return document["current"], [entry["id"] for entry in document["keys"]]


def _inbox_key_ids(data: Path) -> dict[str, str]:
    database = sqlite3.connect(data / "tempmail.sqlite3")
    try:
        return dict(database.execute("SELECT id, key_id FROM inboxes").fetchall())
    finally:
        database.close()


def _assert_readable_after_restart(data: Path, inbox: dict[str, Any]) -> None:
    again = start_server(data)
    try:
        with again.client(inbox["token"]) as client:
            assert client.get(f"/api/v1/inboxes/{inbox['inbox_id']}").status_code == 200
    finally:
        again.stop()


def _backup(data: Path, destination: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tempmail", "backup", str(destination)],
        env={**os.environ, "TEMPMAIL_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_rotate_keeps_old_inboxes_and_retires_unused_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    old = create_inbox(server, ttl_hours=0.0004)
    send_mail(server, old["address"], make_message(old["address"], "before rotation"))
    server.stop()

    environ = {"TEMPMAIL_DATA_DIR": str(data)}
    os.environ.update(environ)
    try:
        assert main(["keys", "rotate"]) == 0
        assert "added key set k2" in capsys.readouterr().out
        assert main(["keys", "list"]) == 0
        listing = capsys.readouterr().out
        assert "k1 created" in listing and "k2 (current)" in listing
    finally:
        del os.environ["TEMPMAIL_DATA_DIR"]
    assert _key_ids(data) == ("k2", ["k1", "k2"])

    server = start_server(data)
    try:
        # Still readable with the token alone, under the old key set.
        with server.client(old["token"]) as client:
            listing_json = client.get(f"/api/v1/inboxes/{old['inbox_id']}/messages").json()
            assert listing_json["messages"][0]["subject"] == "before rotation"
        new = create_inbox(server)
        assert _inbox_key_ids(data) == {old["inbox_id"]: "k1", new["inbox_id"]: "k2"}
        send_mail(server, new["address"], make_message(new["address"], "after rotation"))
        with server.client(new["token"]) as client:
            assert client.get(f"/api/v1/inboxes/{new['inbox_id']}").status_code == 200
        # The old inbox expires; the expiry pass then retires k1, which nothing uses any more.
        time.sleep(1.6)
        assert server.runtime.expirer is not None
        assert server.run(server.runtime.expirer.run_once()) == 1
        assert _key_ids(data) == ("k2", ["k2"])
        with server.client(new["token"]) as client:
            assert client.get(f"/api/v1/inboxes/{new['inbox_id']}").json()["message_count"] == 1
    finally:
        server.stop()
    _assert_readable_after_restart(data, new)


def test_running_server_keeps_its_key_after_a_rotation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        os.environ["TEMPMAIL_DATA_DIR"] = str(data)
        try:
            assert main(["keys", "rotate"]) == 0
        finally:
            del os.environ["TEMPMAIL_DATA_DIR"]
        assert server.runtime.expirer is not None
        server.run(server.runtime.expirer.run_once())
        # k1 has no inbox yet, but this server still creates inboxes with it: it must stay.
        assert _key_ids(data) == ("k2", ["k1", "k2"])
        inbox = create_inbox(server)
    finally:
        server.stop()
    _assert_readable_after_restart(data, inbox)


def test_backup_of_a_live_server_restores_on_a_fresh_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        inbox = create_inbox(server)
        send_mail(server, inbox["address"], make_message(inbox["address"], "backed up"))
        backup = tmp_path / "backup.sqlite3"
        result = _backup(data, backup)
        assert result.returncode == 0, result.stderr
        assert f"wrote {backup}" in result.stdout
        assert "keys are not in the backup" in result.stdout
        assert oct(backup.stat().st_mode & 0o777) == "0o600"
        again = _backup(data, backup)
        assert again.returncode == 2 and "already exists" in again.stderr
    finally:
        server.stop()
    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    shutil.copy(backup, restored / "tempmail.sqlite3")
    shutil.copy(data / "keys.json", restored / "keys.json")
    fresh = start_server(restored)
    try:
        with fresh.client(inbox["token"]) as client:
            listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
            assert listing["messages"][0]["subject"] == "backed up"
    finally:
        fresh.stop()


def test_check_config_prints_settings_with_secrets_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("TEMPMAIL_DATA_DIR", str(data))
    monkeypatch.setenv("TEMPMAIL_API_KEY", "super-secret-admin-key")
    assert main(["check-config"]) == 0
    output = capsys.readouterr().out
    assert "does not exist yet" in output
    assert "[smtp]" in output and "port = 8025" in output
    assert "super-secret-admin-key" not in output
    assert "configuration OK" in output
    server = start_server(data)
    create_inbox(server)
    server.stop()
    assert main(["check-config"]) == 0
    output = capsys.readouterr().out
    key_hex = json.loads((data / "keys.json").read_text())["keys"][0]["secret_key"]
    assert key_hex not in output and "key sets k1, current k1" in output
    (data / "keys.json").unlink()
    assert main(["check-config"]) == 2
    assert "missing but the database holds 1 inbox" in capsys.readouterr().err
    monkeypatch.setenv("TEMPMAIL_SMTP_PORT", "99999")
    assert main(["check-config"]) == 2


def test_send_test_delivers_a_realistic_message(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = create_inbox(server)
    port = str(server.smtp_port)
    assert main(["send-test", inbox["address"], "--host", "127.0.0.1", "--port", port]) == 0
    assert capsys.readouterr().out.startswith("250 2.0.0")
    with server.client(inbox["token"]) as client:
        message = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()["messages"][0]
        detail = client.get(f"/api/v1/messages/{message['id']}").json()
    assert detail["subject"] == "tempmail test message ✓"
    assert "data:image/png;base64," in detail["body_html"]
    assert [item["filename"] for item in detail["attachments"]] == [
        "attachment-1.png",
        "send-test.txt",
    ]
    assert main(["send-test", "nobody@localhost", "--port", port]) == 1
    assert capsys.readouterr().out.startswith("550 5.1.1")
    assert main(["send-test", "x@localhost", "--port", "1"]) == 1
    assert "cannot reach" in capsys.readouterr().err
