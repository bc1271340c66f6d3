"""SMTP replies over a real socket with stdlib smtplib."""

from __future__ import annotations

import smtplib
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import (
    SMTP_POLICY,
    RunningServer,
    create_inbox,
    make_message,
    send_raw,
    start_server,
)


def _session(server: RunningServer) -> smtplib.SMTP:
    client = smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=30)
    client.ehlo("client.example")
    return client


def _count(server: RunningServer, token: str, inbox_id: str) -> int:
    with server.client(token) as client:
        count: int = client.get(f"/api/v1/inboxes/{inbox_id}").json()["message_count"]
    return count


def test_greeting_and_extensions(server: RunningServer) -> None:
    with smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=30) as client:
        code, _ = client.ehlo("client.example")
        assert code == 250
        assert client.has_extn("size")
        assert int(client.esmtp_features["size"]) == 10 * 1024 * 1024
        assert client.has_extn("8bitmime")
        assert client.has_extn("smtputf8")


def test_unknown_and_foreign_recipients(server: RunningServer) -> None:
    inbox = create_inbox(server)
    with _session(server) as client:
        client.mail("sender@example.com")
        assert client.rcpt("nobody@localhost")[0] == 550
        code, text = client.rcpt("nobody@localhost")
        assert (code, text[:5]) == (550, b"5.1.1")
        code, text = client.rcpt(f"{inbox['address'].split('@')[0]}@elsewhere.example")
        assert (code, text[:5]) == (550, b"5.7.1")
        code, text = client.rcpt("no-at-sign")
        assert code == 553
        # A look-alike with a non-ASCII letter is a different address, not a match.
        local = inbox["address"].split("@")[0]
        lookalike = local[:-1] + "\u0430@localhost"
        client.command_encoding = "utf-8"
        code, _ = client.rcpt(lookalike)
        assert code == 550
        code, text = client.rcpt(inbox["address"].upper())
        assert (code, text[:5]) == (250, b"2.1.5")


def test_delivery_to_several_inboxes_seals_once_each(server: RunningServer) -> None:
    first, second = create_inbox(server), create_inbox(server)
    data = make_message(first["address"], "To both").as_bytes(policy=SMTP_POLICY)
    refused = send_raw(server, [first["address"], second["address"], first["address"]], data)
    assert refused == {}
    assert _count(server, first["token"], first["inbox_id"]) == 1
    assert _count(server, second["token"], second["inbox_id"]) == 1
    # A second message to the first inbox reuses its sealing exchange (crypto.SealingKeys).
    send_raw(server, first["address"], data)
    database = sqlite3.connect(server.data_dir / "tempmail.sqlite3")
    contents = {
        (inbox_id, content[1:33])
        for inbox_id, content in database.execute("SELECT inbox_id, content FROM messages")
    }
    database.close()
    assert len(contents) == 2, "one ephemeral key per inbox"
    assert len({ephemeral for _, ephemeral in contents}) == 2
    with server.client(first["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{first['inbox_id']}/messages").json()
        assert [m["subject"] for m in listing["messages"]] == ["To both", "To both"]


def test_too_many_recipients(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_SMTP_MAX_RECIPIENTS": "2"})
    try:
        inboxes = [create_inbox(server) for _ in range(3)]
        with _session(server) as client:
            client.mail("sender@example.com")
            assert client.rcpt(inboxes[0]["address"])[0] == 250
            assert client.rcpt(inboxes[1]["address"])[0] == 250
            code, text = client.rcpt(inboxes[2]["address"])
            assert (code, text[:5]) == (452, b"4.5.3")
    finally:
        server.stop()


def test_full_mailbox(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_INBOX_MAX_MESSAGES": "2"})
    try:
        inbox = create_inbox(server)
        data = make_message(inbox["address"]).as_bytes(policy=SMTP_POLICY)
        send_raw(server, inbox["address"], data)
        send_raw(server, inbox["address"], data)
        with _session(server) as client:
            client.mail("sender@example.com")
            code, text = client.rcpt(inbox["address"])
            assert (code, text[:5]) == (452, b"4.2.2")
        assert _count(server, inbox["token"], inbox["inbox_id"]) == 2
        # RCPT answers from a cache the store keeps in step with every write.
        with server.client(inbox["token"]) as api:
            url = f"/api/v1/inboxes/{inbox['inbox_id']}/messages"
            first = api.get(url).json()["messages"][0]["id"]
            assert api.delete(f"/api/v1/messages/{first}").status_code == 200
        with _session(server) as client:
            client.mail("sender@example.com")
            assert client.rcpt(inbox["address"])[0] == 250
        send_raw(server, inbox["address"], data)
        with _session(server) as client:
            client.mail("sender@example.com")
            assert client.rcpt(inbox["address"])[0] == 452
        with server.client(inbox["token"]) as api:
            assert api.delete(f"/api/v1/inboxes/{inbox['inbox_id']}").status_code == 200
        with _session(server) as client:
            client.mail("sender@example.com")
            assert client.rcpt(inbox["address"])[0] == 550
    finally:
        server.stop()


def test_rcpt_sees_lifetime_changes_at_once(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        inbox = create_inbox(server)
        data = make_message(inbox["address"]).as_bytes(policy=SMTP_POLICY)
        assert send_raw(server, inbox["address"], data) == {}
        with server.client(inbox["token"]) as api:
            url = f"/api/v1/inboxes/{inbox['inbox_id']}"
            response = api.patch(url, json={"ttl_hours": 0.0001})  # ends in 0.36 s
            assert response.status_code == 200, response.text
        time.sleep(0.5)
        with _session(server) as client:
            client.mail("sender@example.com")
            assert client.rcpt(inbox["address"])[0] == 550
    finally:
        server.stop()


def test_size_limits(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_SMTP_MAX_MESSAGE_SIZE_MB": "1"})
    try:
        inbox = create_inbox(server)
        with _session(server) as client:
            code, text = client.mail("sender@example.com", ["SIZE=2000000"])
            assert (code, text[:5]) == (552, b"5.3.4")
        big = make_message(inbox["address"], text="x" * 80 + "\n")
        body = big.as_bytes(policy=SMTP_POLICY) + (b"y" * 998 + b"\r\n") * 1100
        with _session(server) as client:
            client.mail("sender@example.com")
            client.rcpt(inbox["address"])
            code, text = client.data(body)
            assert (code, text[:5]) == (552, b"5.3.4")
            # The session stays usable after the refusal.
            assert client.noop()[0] == 250
        assert _count(server, inbox["token"], inbox["inbox_id"]) == 0
    finally:
        server.stop()


def test_storage_failure_is_temporary_and_recovers(server: RunningServer) -> None:
    inbox = create_inbox(server)
    data = make_message(inbox["address"], "Retry me").as_bytes(policy=SMTP_POLICY)
    # Another process holding the write lock is what a stuck or busy database looks like.
    blocker = sqlite3.connect(server.data_dir / "tempmail.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with _session(server) as client:
            client.mail("sender@example.com")
            assert client.rcpt(inbox["address"])[0] == 250
            code, text = client.data(data)
            assert (code, text[:5]) == (451, b"4.3.0")
            assert b"database" not in text.lower() and b"/" not in text
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert send_raw(server, inbox["address"], data) == {}
    assert _count(server, inbox["token"], inbox["inbox_id"]) == 1


def test_unparseable_mail_is_stored_raw(server: RunningServer) -> None:
    inbox = create_inbox(server)
    nested = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (depth, depth)
        for depth in range(300)
    )
    data = b"From: bomb@example.com\r\nSubject: Nested\r\nMIME-Version: 1.0\r\n" + nested
    assert send_raw(server, inbox["address"], data) == {}
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        message = listing["messages"][0]
        assert message["subject"] == "Nested"
        assert message["from"] == "bomb@example.com"
        detail = client.get(f"/api/v1/messages/{message['id']}").json()
        assert "could not be displayed" in detail["body_text"]
        raw = client.get(f"/api/v1/messages/{message['id']}/raw").content
        assert raw == data + b"\r\n" or raw == data


def test_smtputf8_headers_are_listed_and_read(server: RunningServer) -> None:
    # RFC 6532 mail carries raw UTF-8 in its headers; the stdlib hands those bytes back as
    # surrogates, which once made delivery fail with 451 and reading fail with 500.
    inbox = create_inbox(server)
    data = (
        "From: Jörg Müller <jörg@bücher.example>\r\nSubject: Grüße aus Köln\r\n"
        "Content-Type: text/plain\r\n\r\nHällo, dein Code ist 4711.\r\n"
    ).encode()
    with _session(server) as client:
        client.sendmail("jörg@bücher.example", [inbox["address"]], data, ["SMTPUTF8"])
    with server.client(inbox["token"]) as api:
        listing = api.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        message = listing["messages"][0]
        assert (message["subject"], message["from"]) == (
            "Grüße aus Köln",
            "Jörg Müller <jörg@bücher.example>",
        )
        assert message["preview"] == "Hällo, dein Code ist 4711."
        detail = api.get(f"/api/v1/messages/{message['id']}").json()
        assert detail["subject"] == "Grüße aus Köln"
        assert detail["body_text"].startswith("Hällo")
        assert detail["codes"] == ["4711"]


def test_concurrent_sessions_all_acknowledged_messages_stored(server: RunningServer) -> None:
    inboxes = [create_inbox(server) for _ in range(4)]
    errors: list[BaseException] = []

    def sender(inbox: dict[str, str]) -> None:
        try:
            with _session(server) as client:
                for number in range(5):
                    data = make_message(inbox["address"], f"n{number}").as_bytes(policy=SMTP_POLICY)
                    client.sendmail("sender@example.com", [inbox["address"]], data)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=sender, args=(inbox,)) for inbox in inboxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for inbox in inboxes:
        assert _count(server, inbox["token"], inbox["inbox_id"]) == 5


@pytest.mark.parametrize("command", [b"RCPT TO:<x@localhost>", b"DATA"])
def test_commands_out_of_order(server: RunningServer, command: bytes) -> None:
    with _session(server) as client:
        code, text = client.docmd(command.decode())
        assert code == 503
        assert text.startswith(b"5.5.1")
