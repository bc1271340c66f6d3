"""Crash and fault safety with a real `tempmail serve` process: kill -9, full disk, SIGTERM."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import SMTP_POLICY, make_message

LIMITS = {
    "TEMPMAIL_LIMITS_REQUESTS_PER_MINUTE": "100000",
    "TEMPMAIL_LIMITS_REQUESTS_PER_HOUR": "1000000",
    "TEMPMAIL_LIMITS_INBOX_CREATIONS_PER_HOUR": "100000",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Process:
    """`python -m tempmail serve` in a subprocess with its own ports."""

    def __init__(
        self, workdir: Path, environ: dict[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.http_port, self.smtp_port = _free_port(), _free_port()
        self.log = open(workdir / f"server-{self.http_port}.log", "wb")  # noqa: SIM115
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "tempmail", "serve", *args],
            cwd=workdir,
            env={
                **os.environ,
                **LIMITS,
                "TEMPMAIL_HTTP_PORT": str(self.http_port),
                "TEMPMAIL_SMTP_PORT": str(self.smtp_port),
                **(environ or {}),
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.log_path = Path(self.log.name)
        self.url = f"http://127.0.0.1:{self.http_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.popen.poll() is None, "server exited during start"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def create_inbox(self) -> dict[str, Any]:
        with self.client() as client:
            response = client.post("/api/v1/inboxes", json={})
        assert response.status_code == 201
        inbox: dict[str, Any] = response.json()
        return inbox

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            self.popen.wait(timeout=30)
        self.log.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def _check_database(path: Path) -> None:
    database = sqlite3.connect(path)
    try:
        assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert database.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = database.execute(
            "SELECT count(*) FROM messages WHERE inbox_id NOT IN (SELECT id FROM inboxes)"
        ).fetchone()[0]
        assert orphans == 0
    finally:
        database.close()


def test_kill_9_never_loses_an_acknowledged_message(workdir: Path) -> None:
    rng = random.Random(20261124)
    acknowledged: dict[tuple[str, str], bytes] = {}
    lock = threading.Lock()
    server = Process(workdir)
    inboxes = [server.create_inbox() for _ in range(4)]
    for cycle in range(3):
        stop = threading.Event()

        def sender(
            inbox: dict[str, Any], worker: int, stop: threading.Event, cycle: int, port: int
        ) -> None:
            number = 0
            while not stop.is_set():
                subject = f"c{cycle}-w{worker}-n{number}"
                data = make_message(
                    inbox["address"], subject, "x" * rng.randint(10, 5000)
                ).as_bytes(policy=SMTP_POLICY)
                try:
                    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                        client.sendmail("a@example.com", [inbox["address"]], data)
                except (OSError, smtplib.SMTPException):
                    return
                with lock:
                    acknowledged[(inbox["inbox_id"], subject)] = data
                number += 1

        threads = [
            threading.Thread(target=sender, args=(inbox, worker, stop, cycle, server.smtp_port))
            for worker, inbox in enumerate(inboxes)
        ]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.4, 1.2))
        server.stop(signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        _check_database(workdir / "tempmail-data" / "tempmail.sqlite3")
        server = Process(workdir)
    try:
        assert len(acknowledged) > 10
        found: dict[tuple[str, str], bytes] = {}
        for inbox in inboxes:
            with server.client(inbox["token"]) as client:
                listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
                for message in listing["messages"]:
                    raw = client.get(f"/api/v1/messages/{message['id']}/raw").content
                    found[(inbox["inbox_id"], message["subject"])] = raw
        missing = [key for key in acknowledged if key not in found]
        assert missing == []
        for key, data in acknowledged.items():
            assert found[key] == data, key
    finally:
        server.stop()


def test_full_disk_is_temporary_and_recovers(workdir: Path) -> None:
    server = Process(workdir, {"TEMPMAIL_INBOX_MAX_MESSAGES": "1000"})
    try:
        inbox = server.create_inbox()
        first = make_message(inbox["address"], "before").as_bytes(policy=SMTP_POLICY)
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
            client.sendmail("a@example.com", [inbox["address"]], first)
        data_dir = workdir / "tempmail-data"
        largest = max(path.stat().st_size for path in data_dir.iterdir())
        # A file-size limit on the server process is what a full disk looks like to SQLite.
        resource.prlimit(
            server.popen.pid, resource.RLIMIT_FSIZE, (largest + 4096, resource.RLIM_INFINITY)
        )
        big = make_message(inbox["address"], "too big for the disk", "z" * 200_000).as_bytes(
            policy=SMTP_POLICY
        )
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("a@example.com", [inbox["address"]], big)
            assert refused.value.smtp_code in (451, 452)
            assert refused.value.smtp_error[:5] in (b"4.3.0", b"4.3.1")
            assert b"/" not in refused.value.smtp_error
        with server.client() as client:
            for _ in range(50):
                created = client.post("/api/v1/inboxes", json={})
                if created.status_code == 503:
                    break
            assert created.status_code == 503
            assert created.json()["error"] == "unavailable"
            assert "retry-after" in created.headers
        with server.client(inbox["token"]) as client:
            listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
            assert [m["subject"] for m in listing["messages"]] == ["before"]
            assert (
                client.get(f"/api/v1/messages/{listing['messages'][0]['id']}/raw").content == first
            )
        # Space comes back: the next delivery works without a restart.
        resource.prlimit(
            server.popen.pid,
            resource.RLIMIT_FSIZE,
            (resource.RLIM_INFINITY, resource.RLIM_INFINITY),
        )
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
            client.sendmail("a@example.com", [inbox["address"]], big)
        with server.client(inbox["token"]) as client:
            subjects = [
                m["subject"]
                for m in client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()[
                    "messages"
                ]
            ]
            assert subjects == ["too big for the disk", "before"]
            assert client.post("/api/v1/inboxes", json={}).status_code == 201
    finally:
        server.stop()
    _check_database(workdir / "tempmail-data" / "tempmail.sqlite3")


def test_sigterm_closes_sessions_with_421_and_keeps_acknowledged_mail(workdir: Path) -> None:
    server = Process(workdir)
    inbox = server.create_inbox()
    data = make_message(inbox["address"], "acknowledged").as_bytes(policy=SMTP_POLICY)
    idle = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30)
    idle.ehlo("x")
    idle.mail("a@example.com")
    assert idle.rcpt(inbox["address"])[0] == 250
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("a@example.com", [inbox["address"]], data)
    server.popen.send_signal(signal.SIGTERM)
    # The in-flight session is told the service is going away, not left hanging.
    code, text = idle.getreply()
    assert (code, text[:5]) == (421, b"4.3.2")
    idle.close()
    assert server.popen.wait(timeout=30) == 0 or server.popen.returncode == -signal.SIGTERM
    server.stop()
    _check_database(workdir / "tempmail-data" / "tempmail.sqlite3")
    again = Process(workdir)
    try:
        with again.client(inbox["token"]) as client:
            listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
            assert [m["subject"] for m in listing["messages"]] == ["acknowledged"]
    finally:
        again.stop()


def test_logs_of_a_full_run_are_json_and_never_carry_content(workdir: Path) -> None:
    marker = "PLANTED-4c1d-marker"
    server = Process(workdir, args=("--log-level", "debug", "--log-format", "json"))
    try:
        inbox = server.create_inbox()
        message = make_message(
            inbox["address"],
            f"Subject {marker}",
            f"Body {marker}",
            html=f"<p>{marker}</p>",
            attachments=[("n.txt", "text/plain", marker.encode())],
        )
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
            client.sendmail(
                "a@example.com", [inbox["address"]], message.as_bytes(policy=SMTP_POLICY)
            )
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("a@example.com", ["nobody@localhost"], b"Subject: x\r\n\r\nx\r\n")
        with server.client(inbox["token"]) as client:
            listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
            message_id = listing["messages"][0]["id"]
            client.get(f"/api/v1/messages/{message_id}")
            client.get(f"/api/v1/messages/{message_id}/raw")
            # A token in the query string by mistake (answered 400) must not reach the log.
            mistaken = client.get(
                f"/api/v1/inboxes/{inbox['inbox_id']}/messages", params={"token": inbox["token"]}
            )
            assert mistaken.status_code == 400
            client.delete(f"/api/v1/inboxes/{inbox['inbox_id']}")
    finally:
        server.stop()
    text = server.log_path.read_text()
    assert marker not in text
    assert inbox["token"] not in text
    assert "token=" not in text
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert entries
    for entry in entries:
        assert {"time", "level", "logger", "event"} <= set(entry)
        assert "color_message" not in entry
    stored = [entry for entry in entries if entry.get("message_id") == message_id]
    assert stored and stored[0]["inbox_id"] == inbox["inbox_id"] and "duration" in stored[0]
    refusals = [entry for entry in entries if entry.get("code") == "550"]
    assert refusals and refusals[0]["peer"] == "127.0.0.1"
    # HTTP requests are logged by route template, status and duration; without
    # `[logging] client_addresses` nothing ties a client's address to an inbox or a request.
    access = [entry for entry in entries if entry["logger"] == "tempmail.access"]
    assert {entry["route"] for entry in access} >= {
        "/api/v1/inboxes",
        "/api/v1/inboxes/{inbox_id}/messages",
        "/api/v1/messages/{message_id}",
    }
    assert {"status", "duration", "method"} <= set(access[0])
    assert not [entry for entry in entries if entry["logger"] == "uvicorn.access"]
    for entry in access:
        assert "127.0.0.1" not in json.dumps(entry) and "client" not in entry, entry
    assert not [entry for entry in access if inbox["inbox_id"] in json.dumps(entry)]


def test_sigterm_ends_open_event_streams_promptly(workdir: Path) -> None:
    server = Process(workdir)
    inbox = server.create_inbox()
    headers = {"Authorization": f"Bearer {inbox['token']}"}
    url = f"{server.url}/api/v1/inboxes/{inbox['inbox_id']}/events"
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        lines = response.iter_lines()
        assert next(lines) == ": connected"
        started = time.monotonic()
        server.popen.send_signal(signal.SIGTERM)
        # The stream ends on its own, well before uvicorn's graceful-shutdown timeout.
        for _ in lines:
            pass
    assert server.popen.wait(timeout=30) in (0, -signal.SIGTERM)
    assert time.monotonic() - started < 4.5
    server.stop()
    assert "graceful shutdown exceeded" not in server.log_path.read_text()
