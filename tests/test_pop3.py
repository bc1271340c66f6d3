"""POP3: real clients (stdlib poplib, curl, getmail6) against the real server on loopback, and
the exact replies, limits and hostile input checked with a raw socket."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import poplib
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tempmail.pop3.maildrop import multiline, top
from tests.helpers import (
    RunningServer,
    create_inbox,
    make_message,
    self_signed_certificate,
    send_mail,
    send_raw,
    start_server,
)


def _pop3_server(tmp_path: Path, **overrides: str) -> RunningServer:
    cert, key = self_signed_certificate(tmp_path)
    environ = {
        "TEMPMAIL_POP3_ENABLED": "true",
        "TEMPMAIL_POP3_PORT": "0",
        "TEMPMAIL_POP3_IMPLICIT_TLS": "true",
        "TEMPMAIL_POP3_TLS_PORT": "0",
        "TEMPMAIL_SMTP_TLS_CERT": str(cert),
        "TEMPMAIL_SMTP_TLS_KEY": str(key),
        **{f"TEMPMAIL_{name.upper()}": value for name, value in overrides.items()},
    }
    running = start_server(tmp_path / "data", environ)
    running.extra["cert"] = cert
    return running


@pytest.fixture
def pop3(tmp_path: Path) -> Iterator[RunningServer]:
    running = _pop3_server(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def _address(server: RunningServer) -> tuple[str, int]:
    assert server.runtime.pop3 is not None
    return server.runtime.pop3.address


def _tls_address(server: RunningServer) -> tuple[str, int]:
    assert server.runtime.pop3 is not None and server.runtime.pop3.tls_address is not None
    return server.runtime.pop3.tls_address


def _raw_sources(server: RunningServer, inbox: dict[str, Any]) -> dict[str, bytes]:
    """Message id -> raw source, through the JSON API."""
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        return {
            message["id"]: client.get(f"/api/v1/messages/{message['id']}/raw").content
            for message in listing["messages"]
        }


def _tricky_messages(server: RunningServer, inbox: dict[str, Any]) -> None:
    address = inbox["address"]
    send_mail(server, address, make_message(address, "first", "hello"))
    # Lines that are, or start with, a dot must survive dot-stuffing both ways.
    send_raw(
        server,
        address,
        b"From: a@example.com\r\nSubject: dots\r\n\r\n.\r\n..\r\n.leading\r\nlast\r\n",
    )
    send_mail(
        server,
        address,
        make_message(
            address,
            "attached",
            "see file",
            attachments=[("a.bin", "application/x", bytes(range(256)) * 40)],
        ),
    )


class Conversation:
    """A raw POP3 client: send exact bytes, read exact replies."""

    def __init__(self, address: tuple[str, int], timeout: float = 30) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.file = self.sock.makefile("rb")

    def line(self) -> bytes:
        return self.file.readline()

    def ask(self, command: bytes) -> bytes:
        self.sock.sendall(command + b"\r\n")
        return self.line()

    def multiline(self) -> list[bytes]:
        lines = []
        while (line := self.line()) != b".\r\n":
            assert line, "connection closed inside a multi-line reply"
            lines.append(line)
        return lines

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_poplib_reads_byte_identical_sources_and_deletes_at_quit(pop3: RunningServer) -> None:
    inbox = create_inbox(pop3)
    _tricky_messages(pop3, inbox)
    sources = _raw_sources(pop3, inbox)
    client = poplib.POP3(*_address(pop3), timeout=30)
    assert client.getwelcome() == b"+OK tempmail POP3 server ready"
    assert client.user(inbox["address"]) == b"+OK Send the inbox token with PASS."
    total = sum(len(raw) for raw in sources.values())
    assert client.pass_(inbox["token"]) == f"+OK Inbox has 3 messages ({total} octets).".encode()
    assert client.stat() == (3, total)
    _, uidls, _ = client.uidl()
    ids = [line.split()[1].decode() for line in uidls]
    assert sorted(ids) == sorted(sources)
    _, listing, _ = client.list()
    assert [int(line.split()[1]) for line in listing] == [len(sources[i]) for i in ids]
    for number, message_id in enumerate(ids, 1):
        response, lines, _ = client.retr(number)
        assert response == f"+OK {len(sources[message_id])} octets".encode()
        assert b"\r\n".join(lines) + b"\r\n" == sources[message_id]
    assert client.uidl(2) == f"+OK 2 {ids[1]}".encode()
    _, top_lines, _ = client.top(2, 1)
    assert top_lines[-2:] == [b"", b".."[1:]]  # the blank line, then the body's first line "."

    # Mail arriving during the session belongs to the next one.
    send_mail(pop3, inbox["address"], make_message(inbox["address"], "later", "new"))
    assert client.stat() == (3, total)
    assert client.dele(1) == b"+OK Message 1 deleted."
    with pytest.raises(poplib.error_proto, match="already deleted"):
        client.retr(1)
    assert client.stat() == (2, total - len(sources[ids[0]]))
    assert client.rset() == f"+OK Inbox has 3 messages ({total} octets).".encode()
    client.dele(1)
    client.dele(3)
    # Not applied before QUIT: the API still has all four.
    assert len(_raw_sources(pop3, inbox)) == 4
    assert client.quit() == b"+OK tempmail POP3 server signing off (1 messages left)."
    left = _raw_sources(pop3, inbox)
    assert ids[0] not in left and ids[2] not in left and ids[1] in left and len(left) == 2

    again = poplib.POP3(*_address(pop3), timeout=30)
    again.user(inbox["address"])
    again.pass_(inbox["token"])
    assert again.stat()[0] == 2
    again.quit()


def test_exact_replies_and_states(pop3: RunningServer) -> None:
    inbox = create_inbox(pop3)
    send_mail(pop3, inbox["address"], make_message(inbox["address"], "one", "body"))
    talk = Conversation(_address(pop3))
    try:
        assert talk.line() == b"+OK tempmail POP3 server ready\r\n"
        assert talk.ask(b"CAPA") == b"+OK Capability list follows.\r\n"
        capabilities = talk.multiline()
        for expected in (b"USER\r\n", b"SASL PLAIN\r\n", b"STLS\r\n", b"RESP-CODES\r\n",
                         b"AUTH-RESP-CODE\r\n", b"UIDL\r\n", b"TOP\r\n"):  # fmt: skip
            assert expected in capabilities
        assert talk.ask(b"STAT") == b"-ERR Command not valid in this state.\r\n"
        assert talk.ask(b"XYZZY") == b"-ERR Unknown command.\r\n"
        assert talk.ask(b"PASS nothing") == b"-ERR Send USER first.\r\n"
        assert talk.ask(b"AUTH CRAM-MD5") == b"-ERR Unsupported authentication mechanism.\r\n"
        assert talk.ask(b"AUTH") == b"+OK\r\n"
        assert talk.multiline() == [b"PLAIN\r\n"]
        assert talk.ask(b"AUTH PLAIN") == b"+ \r\n"
        assert talk.ask(b"*") == b"-ERR Authentication cancelled.\r\n"
        assert (
            talk.ask(b"AUTH PLAIN !!notbase64") == b"-ERR Invalid base64 in the SASL response.\r\n"
        )
        assert (
            talk.ask(b"USER " + inbox["address"].encode())
            == b"+OK Send the inbox token with PASS.\r\n"
        )
        assert talk.ask(b"PASS wrong-token") == b"-ERR [AUTH] Authentication failed.\r\n"
        # A valid token for the wrong address fails the same way.
        other = create_inbox(pop3)
        talk.ask(b"USER " + inbox["address"].encode())
        assert (
            talk.ask(b"PASS " + other["token"].encode())
            == b"-ERR [AUTH] Authentication failed.\r\n"
        )
        plain = base64.b64encode(f"\0{inbox['address']}\0{inbox['token']}".encode())
        assert talk.ask(b"AUTH PLAIN") == b"+ \r\n"
        assert talk.ask(plain).startswith(b"+OK Inbox has 1 messages (")
        assert talk.ask(b"USER x") == b"-ERR Command not valid in this state.\r\n"
        assert talk.ask(b"STLS") == b"-ERR Command not valid in this state.\r\n"
        assert talk.ask(b"NOOP") == b"+OK\r\n"
        assert talk.ask(b"RETR 2") == b"-ERR No such message, only 1 in maildrop.\r\n"
        assert talk.ask(b"RETR 0") == b"-ERR No such message, only 1 in maildrop.\r\n"
        assert talk.ask(b"RETR x") == b"-ERR Invalid message number.\r\n"
        assert talk.ask(b"RETR 99999999999999999999") == b"-ERR Invalid message number.\r\n"
        assert talk.ask(b"TOP 1") == b"-ERR TOP needs a message number and a line count.\r\n"
        assert talk.ask(b"LIST 1").startswith(b"+OK 1 ")
        assert talk.ask(b"DELE 1") == b"+OK Message 1 deleted.\r\n"
        assert talk.ask(b"DELE 1") == b"-ERR Message 1 already deleted.\r\n"
        assert talk.ask(b"STAT") == b"+OK 0 0\r\n"
        assert talk.ask(b"LIST") == b"+OK 0 messages (0 octets)\r\n"
        assert talk.multiline() == []
        assert talk.ask(b"QUIT") == b"+OK tempmail POP3 server signing off (maildrop empty).\r\n"
        assert talk.line() == b""
    finally:
        talk.close()
    assert _raw_sources(pop3, inbox) == {}


def test_authorization_identity_must_match(pop3: RunningServer) -> None:
    inbox = create_inbox(pop3)
    talk = Conversation(_address(pop3))
    try:
        talk.line()
        response = base64.b64encode(f"someone@else\0{inbox['address']}\0{inbox['token']}".encode())
        assert talk.ask(b"AUTH PLAIN " + response) == b"-ERR [AUTH] Authentication failed.\r\n"
        response = base64.b64encode(
            f"{inbox['address']}\0{inbox['address']}\0{inbox['token']}".encode()
        )
        assert talk.ask(b"AUTH PLAIN " + response).startswith(b"+OK Inbox has 0 messages")
    finally:
        talk.close()


def test_one_session_per_inbox(pop3: RunningServer) -> None:
    inbox = create_inbox(pop3)
    first = poplib.POP3(*_address(pop3), timeout=30)
    first.user(inbox["address"])
    first.pass_(inbox["token"])
    second = poplib.POP3(*_address(pop3), timeout=30)
    second.user(inbox["address"])
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        second.pass_(inbox["token"])
    first.quit()
    second.user(inbox["address"])
    assert second.pass_(inbox["token"]).startswith(b"+OK")
    second.quit()


def test_plaintext_login_refused_until_stls(tmp_path: Path) -> None:
    server = _pop3_server(tmp_path, pop3_plaintext_login="never")
    try:
        inbox = create_inbox(server)
        send_mail(server, inbox["address"], make_message(inbox["address"], "secret", "body"))
        refused = b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n"
        talk = Conversation(_address(server))
        try:
            talk.line()
            talk.ask(b"CAPA")
            capabilities = talk.multiline()
            assert b"STLS\r\n" in capabilities
            assert b"USER\r\n" not in capabilities and b"SASL PLAIN\r\n" not in capabilities
            assert talk.ask(b"USER " + inbox["address"].encode()) == refused
            assert talk.ask(b"PASS " + inbox["token"].encode()) == refused
            plain = base64.b64encode(f"\0{inbox['address']}\0{inbox['token']}".encode())
            assert talk.ask(b"AUTH PLAIN " + plain) == refused
        finally:
            talk.close()

        client = poplib.POP3("localhost", _address(server)[1], timeout=30)
        context = ssl.create_default_context(cafile=server.extra["cert"])
        assert client.stls(context) == b"+OK Begin TLS negotiation."
        assert "STLS" not in client.capa() and "USER" in client.capa()
        client.user(inbox["address"])
        assert client.pass_(inbox["token"]).startswith(b"+OK Inbox has 1 messages")
        client.quit()

        secure = poplib.POP3_SSL("localhost", _tls_address(server)[1], context=context, timeout=30)
        secure.user(inbox["address"])
        assert secure.pass_(inbox["token"]).startswith(b"+OK Inbox has 1 messages")
        assert "STLS" not in secure.capa()
        secure.quit()
    finally:
        server.stop()


def test_commands_pipelined_after_stls_are_discarded(pop3: RunningServer) -> None:
    inbox = create_inbox(pop3)
    sock = socket.create_connection(_address(pop3), timeout=30)
    try:
        assert sock.recv(1024) == b"+OK tempmail POP3 server ready\r\n"
        # The injected USER/PASS would log in before the handshake if the server kept them.
        sock.sendall(
            b"STLS\r\nUSER "
            + inbox["address"].encode()
            + b"\r\nPASS "
            + inbox["token"].encode()
            + b"\r\n"
        )
        reply = b""
        while not reply.endswith(b"\r\n"):
            reply += sock.recv(1)
        assert reply == b"+OK Begin TLS negotiation.\r\n"
        context = ssl.create_default_context(cafile=pop3.extra["cert"])
        secure = context.wrap_socket(sock, server_hostname="localhost")
        secure.sendall(b"STAT\r\n")
        assert secure.recv(1024) == b"-ERR Command not valid in this state.\r\n"
        secure.close()
    finally:
        sock.close()


def test_wrong_passwords_spend_the_api_auth_budget(tmp_path: Path) -> None:
    server = _pop3_server(tmp_path, limits_auth_failures_per_minute="3")
    try:
        inbox = create_inbox(server)
        talk = Conversation(_address(server))
        try:
            talk.line()
            for _ in range(3):
                talk.ask(b"USER " + inbox["address"].encode())
                assert talk.ask(b"PASS guess") == b"-ERR [AUTH] Authentication failed.\r\n"
            talk.ask(b"USER " + inbox["address"].encode())
            # Even the right token waits now, over POP3 and over HTTP alike.
            reply = talk.ask(b"PASS " + inbox["token"].encode())
            assert reply.startswith(b"-ERR [SYS/TEMP] Too many failed logins; try again in ")
        finally:
            talk.close()
        with server.client(inbox["token"]) as client:
            assert client.get("/api/v1/inbox").status_code == 429
    finally:
        server.stop()


def test_autologout_deletes_nothing(tmp_path: Path) -> None:
    server = _pop3_server(tmp_path, pop3_idle_timeout_seconds="0.5")
    try:
        inbox = create_inbox(server)
        send_mail(server, inbox["address"], make_message(inbox["address"], "kept", "body"))
        talk = Conversation(_address(server))
        try:
            talk.line()
            talk.ask(b"USER " + inbox["address"].encode())
            talk.ask(b"PASS " + inbox["token"].encode())
            assert talk.ask(b"DELE 1") == b"+OK Message 1 deleted.\r\n"
            assert talk.line() == b"-ERR [SYS/TEMP] Autologout; idle for too long.\r\n"
            assert talk.line() == b""
        finally:
            talk.close()
        assert len(_raw_sources(server, inbox)) == 1
    finally:
        server.stop()


def test_sessions_per_address_are_capped(tmp_path: Path) -> None:
    server = _pop3_server(tmp_path, pop3_max_connections_per_ip="2")
    try:
        held = [Conversation(_address(server)) for _ in range(2)]
        for talk in held:
            assert talk.line() == b"+OK tempmail POP3 server ready\r\n"
        extra = Conversation(_address(server))
        assert extra.line() == b"-ERR [SYS/TEMP] Too many connections; try again later.\r\n"
        assert extra.line() == b""
        extra.close()
        held[0].ask(b"QUIT")
        held[0].close()
        again = Conversation(_address(server))
        assert again.line() == b"+OK tempmail POP3 server ready\r\n"
        for talk in (again, held[1]):
            talk.close()
    finally:
        server.stop()


@pytest.mark.parametrize("size", [1_025, 100_000, 5_000_000])
def test_overlong_lines_end_the_session_early(pop3: RunningServer, size: int) -> None:
    talk = Conversation(_address(pop3))
    try:
        talk.line()
        # The server may close before taking it all: that is the point.
        with contextlib.suppress(OSError):
            talk.sock.sendall(b"N" * size)
        assert talk.line() == b"-ERR Line too long.\r\n"
        assert talk.line() == b""
    finally:
        talk.close()


def test_a_message_of_dot_lines_round_trips(pop3: RunningServer) -> None:
    inbox = create_inbox(pop3)
    body = b"".join(b"." * (n % 3 + 1) + b"\r\n" for n in range(150_000))
    send_raw(pop3, inbox["address"], b"Subject: dots\r\n\r\n" + body)
    [raw] = _raw_sources(pop3, inbox).values()
    client = poplib.POP3(*_address(pop3), timeout=60)
    client.user(inbox["address"])
    client.pass_(inbox["token"])
    _, lines, _ = client.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == raw
    client.quit()


def test_command_count_is_capped(tmp_path: Path) -> None:
    server = _pop3_server(tmp_path, pop3_max_commands_per_session="50")
    try:
        talk = Conversation(_address(server))
        try:
            talk.line()
            talk.sock.sendall(b"CAPA\r\n" * 10 + b"NOOP\r\n" * 1000)
            replies = []
            while line := talk.line():
                replies.append(line)
            assert replies[-1] == b"-ERR [SYS/PERM] Too many commands in this session.\r\n"
            assert replies.count(b"-ERR Command not valid in this state.\r\n") == 40
        finally:
            talk.close()
    finally:
        server.stop()


def test_logs_hold_only_ids_and_verbs(
    pop3: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = create_inbox(pop3)
    send_mail(
        pop3, inbox["address"], make_message(inbox["address"], "Subject-MARKER", "Body-MARKER")
    )
    caplog.set_level(logging.DEBUG)
    client = poplib.POP3(*_address(pop3), timeout=30)
    client.user(inbox["address"])
    client.pass_(inbox["token"])
    client.retr(1)
    client.quit()
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert inbox["inbox_id"] in text and "RETR" in text
    local_part = inbox["address"].split("@")[0]
    for secret in (inbox["token"], local_part, "MARKER"):
        assert secret not in text


def test_curl_reads_over_pop3_and_pop3s(pop3: RunningServer) -> None:
    inbox = create_inbox(pop3)
    _tricky_messages(pop3, inbox)
    sources = _raw_sources(pop3, inbox)
    credentials = f"{inbox['address']}:{inbox['token']}"
    host, port = _address(pop3)
    listing = subprocess.run(
        ["curl", "-sS", "--max-time", "30", "-u", credentials, f"pop3://{host}:{port}/"],
        capture_output=True,
        check=True,
    ).stdout
    sizes = [int(line.split()[1]) for line in listing.splitlines()]
    assert sorted(sizes) == sorted(len(raw) for raw in sources.values())
    tls_host, tls_port = _tls_address(pop3)
    for url, extra in (
        (f"pop3://{host}:{port}", ["--ssl-reqd"]),
        (f"pop3s://{tls_host}:{tls_port}", []),
    ):
        fetched = [
            subprocess.run(
                ["curl", "-sS", "--max-time", "30", "--cacert", str(pop3.extra["cert"]),
                 "--resolve", f"localhost:{url.rsplit(':', 1)[1]}:127.0.0.1", *extra, "-u",
                 credentials, url.replace("127.0.0.1", "localhost") + f"/{number}"],
                capture_output=True,
                check=True,
            ).stdout
            for number in range(1, 4)
        ]  # fmt: skip
        assert sorted(fetched) == sorted(sources.values())
    # A wrong token: curl reports the login failure.
    wrong = subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "30",
            "-u",
            f"{inbox['address']}:nope",
            f"pop3://{host}:{port}/",
        ],
        capture_output=True,
        check=False,
    )
    assert wrong.returncode == 67  # CURLE_LOGIN_DENIED


def test_fetchmail_fetches_into_a_maildir_and_deletes(pop3: RunningServer, tmp_path: Path) -> None:
    inbox = create_inbox(pop3)
    _tricky_messages(pop3, inbox)
    sources = _raw_sources(pop3, inbox)
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    # The smallest maildir delivery agent: write into tmp/, then rename into new/.
    deliver = tmp_path / "deliver"
    deliver.write_text(
        '#!/bin/sh\nset -e\nf=$(mktemp -p "$1/tmp")\ncat > "$f"\nmv "$f" "$1/new/"\n'
    )
    deliver.chmod(0o755)
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "set no syslog\nset invisible\n"
        f"poll localhost service {_tls_address(pop3)[1]} protocol pop3 uidl\n"
        f'  user "{inbox["address"]}" password "{inbox["token"]}"\n'
        f'  ssl sslcertck sslcertfile "{pop3.extra["cert"]}"\n'
        "  fetchall nokeep no rewrite no stripcr\n"
        f'  mda "{deliver} {maildir}"\n'
    )
    rc.chmod(0o600)
    fetched = subprocess.run(
        ["fetchmail", "--nodetach", "-f", str(rc)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HOME": str(tmp_path), "FETCHMAILHOME": str(tmp_path)},
    )
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    files = sorted(path.read_bytes() for path in (maildir / "new").iterdir())
    assert files == sorted(sources.values())
    # fetchmail deleted what it fetched, and QUIT applied it.
    assert _raw_sources(pop3, inbox) == {}


@pytest.mark.parametrize(
    ("raw", "wire"),
    [
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b"no final newline", b"no final newline\r\n.\r\n"),
        (b".\r\n.x\r\n..\r\n", b"..\r\n..x\r\n...\r\n.\r\n"),
        # After a bare LF too: a client splitting lines at LF must not see an end marker.
        (b"a\n.\r\nb\r\n", b"a\n..\r\nb\r\n.\r\n"),
    ],
)
def test_multiline_encoding(raw: bytes, wire: bytes) -> None:
    assert multiline(raw) == wire


def test_top_takes_headers_and_lines() -> None:
    raw = b"Subject: x\r\nFrom: y\r\n\r\none\r\ntwo\r\nthree\r\n"
    assert top(raw, 0) == b"Subject: x\r\nFrom: y\r\n\r\n"
    assert top(raw, 2) == b"Subject: x\r\nFrom: y\r\n\r\none\r\ntwo\r\n"
    assert top(raw, 999_999_999) == raw
    assert top(b"Subject: no body", 5) == b"Subject: no body"


def test_shutdown_ends_sessions_without_deleting(tmp_path: Path) -> None:
    server = _pop3_server(tmp_path)
    inbox = create_inbox(server)
    send_mail(server, inbox["address"], make_message(inbox["address"], "kept", "body"))
    talk = Conversation(_address(server))
    try:
        talk.line()
        talk.ask(b"USER " + inbox["address"].encode())
        talk.ask(b"PASS " + inbox["token"].encode())
        assert talk.ask(b"DELE 1") == b"+OK Message 1 deleted." + b"\r\n"
        server.stop()
        assert talk.line() == b"-ERR [SYS/TEMP] Server shutting down.\r\n"
        assert talk.line() == b""
    finally:
        talk.close()
        server.stop()
    again = start_server(tmp_path / "data")
    try:
        assert len(_raw_sources(again, inbox)) == 1
    finally:
        again.stop()
