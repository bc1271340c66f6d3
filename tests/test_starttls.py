"""STARTTLS with a throwaway self-signed certificate made here, and the pipelining trap."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tempmail import settings
from tempmail.cli import preflight
from tempmail.errors import ConfigError
from tests.helpers import (
    SMTP_POLICY,
    RunningServer,
    create_inbox,
    make_message,
    self_signed_certificate,
    start_server,
)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[RunningServer, ssl.SSLContext]]:
    cert, key = self_signed_certificate(tmp_path)
    server = start_server(
        tmp_path / "data", {"TEMPMAIL_SMTP_TLS_CERT": str(cert), "TEMPMAIL_SMTP_TLS_KEY": str(key)}
    )
    client_context = ssl.create_default_context(cafile=str(cert))
    yield server, client_context
    server.stop()


def test_starttls_delivery(tls_server: tuple[RunningServer, ssl.SSLContext]) -> None:
    server, context = tls_server
    inbox = create_inbox(server)
    with smtplib.SMTP("localhost", server.smtp_port, timeout=30) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        code, _ = client.starttls(context=context)
        assert code == 220
        client.ehlo()
        client.sendmail(
            "a@example.com",
            [inbox["address"]],
            make_message(inbox["address"], "over TLS").as_bytes(policy=SMTP_POLICY),
        )
    # Plain delivery still works: a public MX cannot require TLS from every sender.
    with smtplib.SMTP("localhost", server.smtp_port, timeout=30) as client:
        client.sendmail(
            "a@example.com",
            [inbox["address"]],
            make_message(inbox["address"], "plain").as_bytes(policy=SMTP_POLICY),
        )
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
    assert [m["subject"] for m in listing["messages"]] == ["plain", "over TLS"]


def _reply(connection: socket.socket | ssl.SSLSocket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n") or data.split(b"\r\n")[-2][3:4] == b"-":
        chunk = connection.recv(4096)
        assert chunk, "connection closed"
        data += chunk
    return data


def test_commands_pipelined_after_starttls_are_discarded(
    tls_server: tuple[RunningServer, ssl.SSLContext],
) -> None:
    server, context = tls_server
    inbox = create_inbox(server)
    raw = socket.create_connection(("localhost", server.smtp_port), timeout=30)
    try:
        assert _reply(raw).startswith(b"220")
        raw.sendall(b"EHLO attacker.example\r\n")
        assert b"STARTTLS" in _reply(raw)
        # The plaintext MAIL rides in the same packet as STARTTLS (CVE-2011-0411 style).
        raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
        assert _reply(raw).startswith(b"220")
        secure = context.wrap_socket(raw, server_hostname="localhost")
        secure.sendall(b"EHLO attacker.example\r\n")
        assert _reply(secure).startswith(b"250")
        secure.sendall(b"RCPT TO:<" + inbox["address"].encode() + b">\r\n")
        # Had the injected MAIL been executed, this RCPT would be accepted.
        assert _reply(secure).startswith(b"503")
        secure.close()
    finally:
        raw.close()


def test_tls_settings_are_checked_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set together"):
        settings.load(None, {"TEMPMAIL_SMTP_TLS_CERT": "/x.pem"})
    config = settings.load(
        None,
        {
            "TEMPMAIL_DATA_DIR": str(tmp_path / "data"),
            "TEMPMAIL_SMTP_TLS_CERT": str(tmp_path / "missing.pem"),
            "TEMPMAIL_SMTP_TLS_KEY": str(tmp_path / "missing.key"),
        },
    )
    with pytest.raises(ConfigError, match=r"cannot load smtp\.tls_cert"):
        asyncio.run(preflight(config, {}))
