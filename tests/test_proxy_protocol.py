"""SMTP behind a TCP load balancer: the PROXY protocol header, from trusted proxies only.

The balancer is played here by a raw socket from 127.0.0.2 (Linux routes all of 127/8 to
loopback); tests/test_haproxy.py runs the real HAProxy.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tempmail import settings
from tempmail.errors import ConfigError
from tests.helpers import RunningServer, create_inbox, start_server

PROXY = "127.0.0.2"
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(client: str, port: int = 40000) -> bytes:
    family = "TCP6" if ":" in client else "TCP4"
    server = "::1" if ":" in client else "127.0.0.1"
    return f"PROXY {family} {client} {server} {port} 25\r\n".encode()


def v2(client: str, port: int = 40000, command: int = 1, tlv: bytes = b"") -> bytes:
    address = ipaddress.ip_address(client)
    if address.version == 4:
        body = address.packed + bytes([127, 0, 0, 1]) + struct.pack("!HH", port, 25)
        family = 0x11
    else:
        body = address.packed + ipaddress.IPv6Address("::1").packed + struct.pack("!HH", port, 25)
        family = 0x21
    body += tlv
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path / "data",
        {
            "TEMPMAIL_SMTP_PROXY_PROTOCOL": "true",
            "TEMPMAIL_SMTP_TRUSTED_PROXIES": f"{PROXY}/32",
            "TEMPMAIL_SMTP_MAX_CONNECTIONS_PER_IP": "2",
            "TEMPMAIL_SMTP_PROXY_TIMEOUT_SECONDS": "1",
        },
    )
    try:
        yield server
    finally:
        server.stop()


def connect(server: RunningServer, source: str = PROXY) -> socket.socket:
    connection = socket.create_connection(
        (server.smtp_host, server.smtp_port), timeout=30, source_address=(source, 0)
    )
    return connection


def read_reply(connection: socket.socket) -> bytes:
    """Everything the server sends until it stops (a full reply line, or close)."""
    data = b""
    while not data.endswith(b"\r\n"):
        try:
            chunk = connection.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def closed(connection: socket.socket) -> bool:
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


def smtp_through(server: RunningServer, header: bytes) -> smtplib.SMTP:
    """smtplib speaking SMTP on a connection that began with `header`, as a balancer's would."""
    connection = connect(server)
    connection.sendall(header)
    client = smtplib.SMTP(timeout=30)
    client.sock = connection
    client.file = None
    code, banner = client.getreply()
    assert code == 220, banner
    return client


def test_untrusted_peer_is_refused_at_once(proxied: RunningServer) -> None:
    connection = connect(proxied, "127.0.0.1")
    with connection:
        reply = read_reply(connection)
        assert (
            reply == b"421 4.7.0 Connections to this port must come through the load balancer\r\n"
        )
        assert closed(connection)
    # A plain client gets the same clear answer, never a hang.
    with pytest.raises(smtplib.SMTPConnectError) as error:
        smtplib.SMTP(proxied.smtp_host, proxied.smtp_port, timeout=30)
    assert error.value.smtp_code == 421


@pytest.mark.parametrize("version", [v1, v2])
def test_real_client_address_reaches_logs_and_delivery(
    proxied: RunningServer, caplog: pytest.LogCaptureFixture, version: object
) -> None:
    caplog.set_level(logging.INFO, logger="tempmail.smtp")
    inbox = create_inbox(proxied)
    assert callable(version)
    with smtp_through(proxied, version("203.0.113.7")) as client:
        client.ehlo("sender.example")
        refused = client.sendmail("a@example.com", ["nobody@localhost", inbox["address"]], b"")
        assert refused == {"nobody@localhost": (550, b"5.1.1 No such mailbox")}
    with proxied.client(inbox["token"]) as http:
        assert http.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()["count"] == 1
    logged = [r.getMessage() for r in caplog.records if "refused with 550" in r.getMessage()]
    assert logged and all(line.startswith("203.0.113.7:") for line in logged)
    assert not any(r.getMessage().startswith(f"{PROXY}:") for r in caplog.records)


def test_per_ip_cap_counts_the_real_client(proxied: RunningServer) -> None:
    held = [smtp_through(proxied, v2("198.51.100.1")) for _ in range(2)]
    try:
        third = connect(proxied)
        with third:
            third.sendall(v2("198.51.100.1"))
            assert read_reply(third).startswith(b"421 4.7.0 Too many connections")
            assert closed(third)
        # Another client behind the same balancer, and an IPv6 one, are not held back.
        with smtp_through(proxied, v1("198.51.100.2")) as other:
            assert other.noop()[0] == 250
        with smtp_through(proxied, v2("2001:db8::5")) as six:
            assert six.noop()[0] == 250
        with smtp_through(proxied, v2("::ffff:198.51.100.3")) as mapped:
            assert mapped.noop()[0] == 250
    finally:
        for client in held:
            client.quit()
    # Once they leave, the client may connect again.
    with smtp_through(proxied, v2("198.51.100.1")) as again:
        assert again.noop()[0] == 250


def test_proxy_health_checks_keep_the_proxy_address(proxied: RunningServer) -> None:
    # v2 LOCAL and v1 UNKNOWN are the balancer's own connections (health checks).
    local = V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    for header in (local, b"PROXY UNKNOWN\r\n"):
        with smtp_through(proxied, header) as client:
            assert client.noop()[0] == 250


BAD_HEADERS = {
    "plain SMTP": b"EHLO sender.example\r\n",
    "v1 bad family": b"PROXY UDP4 203.0.113.7 127.0.0.1 1 25\r\n",
    "v1 bad address": b"PROXY TCP4 203.0.113.777 127.0.0.1 1 25\r\n",
    "v1 mixed families": b"PROXY TCP4 2001:db8::1 127.0.0.1 1 25\r\n",
    "v1 port out of range": b"PROXY TCP4 203.0.113.7 127.0.0.1 70000 25\r\n",
    "v1 extra fields": b"PROXY TCP4 203.0.113.7 127.0.0.1 1 25 more\r\n",
    "v1 too long": b"PROXY TCP4 " + b"1" * 200 + b"\r\n",
    "v2 wrong version": V2_SIGNATURE + b"\x11\x11\x00\x0c" + bytes(12),
    "v2 bad command": V2_SIGNATURE + b"\x25\x11\x00\x0c" + bytes(12),
    "v2 bad family": V2_SIGNATURE + b"\x21\x51\x00\x0c" + bytes(12),
    "v2 short address": V2_SIGNATURE + b"\x21\x11\x00\x04" + bytes(4),
}


@pytest.mark.parametrize("header", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_bad_headers_get_a_clear_refusal(proxied: RunningServer, header: bytes) -> None:
    with connect(proxied) as connection:
        connection.sendall(header)
        assert read_reply(connection) == b"421 4.7.0 Expected a valid PROXY protocol header\r\n"
        assert closed(connection)
    with smtp_through(proxied, v1("203.0.113.9")) as client:
        assert client.noop()[0] == 250


@pytest.mark.parametrize("size", [2_000, 10_000, 100_000, 1_000_000])
def test_oversized_v1_header_is_refused_without_reading_it_all(
    proxied: RunningServer, size: int
) -> None:
    with connect(proxied) as connection:
        connection.settimeout(30)
        sent = 0
        chunk = b"PROXY TCP4 " + b"9" * 65536
        try:
            while sent < size:
                sent += connection.send(chunk[: size - sent])
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = read_reply(connection)
    assert reply == b"421 4.7.0 Expected a valid PROXY protocol header\r\n"
    with smtp_through(proxied, v1("203.0.113.9")) as client:
        assert client.noop()[0] == 250


def test_large_v2_tlvs_are_bounded_and_accepted(proxied: RunningServer) -> None:
    # The v2 length field caps a header at 64 KB: the most it can ever make the server read.
    tlv = bytes([0xE0]) + struct.pack("!H", 65535 - 12 - 3) + bytes(65535 - 12 - 3)
    with smtp_through(proxied, v2("203.0.113.10", tlv=tlv)) as client:
        assert client.noop()[0] == 250


def test_slow_or_missing_header_times_out(proxied: RunningServer) -> None:
    with connect(proxied) as connection:
        # A client that waits for a greeting, as plain SMTP clients do.
        assert read_reply(connection) == (
            b"421 4.4.2 No PROXY protocol header in time, closing connection\r\n"
        )
        assert closed(connection)
    with connect(proxied) as connection:
        # Dripping bytes does not extend the deadline: it is for the whole header.
        header = v1("203.0.113.11")
        dripped = 0
        try:
            for byte in header[:-2] * 4:
                connection.send(bytes([byte]))
                dripped += 1
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert dripped < len(header[:-2]) * 4
        assert b"421 4.4.2 No PROXY protocol header in time" in read_reply(connection)


def test_connection_closed_inside_the_header(proxied: RunningServer) -> None:
    for partial in (b"PRO", v1("203.0.113.12")[:-2], v2("203.0.113.12")[:20]):
        with connect(proxied) as connection:
            connection.sendall(partial)
            connection.shutdown(socket.SHUT_WR)
            # Closed at once and without a word: there is nobody left to read one.
            assert read_reply(connection) == b""
    with smtp_through(proxied, v1("203.0.113.9")) as client:
        assert client.noop()[0] == 250


def test_proxy_settings_are_checked() -> None:
    with pytest.raises(ConfigError) as error:
        settings.load(None, {"TEMPMAIL_SMTP_PROXY_PROTOCOL": "true"})
    assert "smtp.proxy_protocol needs smtp.trusted_proxies" in str(error.value)
    with pytest.raises(ConfigError) as error:
        settings.load(None, {"TEMPMAIL_SMTP_TRUSTED_PROXIES": "10.0.0.0/33"})
    assert "smtp.trusted_proxies" in str(error.value)
    loaded = settings.load(
        None,
        {"TEMPMAIL_SMTP_PROXY_PROTOCOL": "true", "TEMPMAIL_SMTP_TRUSTED_PROXIES": "10.0.0.0/8"},
    )
    assert loaded.smtp.proxy_protocol and loaded.smtp.trusted_proxies == ["10.0.0.0/8"]
