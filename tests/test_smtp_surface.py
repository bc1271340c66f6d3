"""What an SMTP peer sees: the greeting, EHLO's extensions, enhanced status codes, pipelining.

Checked over real sockets against the real server, with a byte-exact client and with swaks,
a pipelining SMTP client from Debian.
"""

from __future__ import annotations

import logging
import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers import RunningServer, create_inbox, start_server

ENHANCED = re.compile(rb"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)")


class Conversation:
    """A byte-exact SMTP client that returns whole (multi-line) replies."""

    def __init__(self, server: RunningServer) -> None:
        self.sock = socket.create_connection((server.smtp_host, server.smtp_port), timeout=30)
        self.buffer = b""
        self.greeting = self.reply()

    def reply(self) -> list[bytes]:
        lines: list[bytes] = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed after {lines!r}; pending {self.buffer!r}")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line)
            if line[3:4] != b"-":
                return lines

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def command(self, line: bytes) -> list[bytes]:
        self.send(line + b"\r\n")
        return self.reply()

    def close(self) -> None:
        self.sock.close()


def test_greeting_names_the_host_and_no_software(server: RunningServer) -> None:
    conversation = Conversation(server)
    try:
        assert conversation.greeting == [b"220 localhost ESMTP ready"]
    finally:
        conversation.close()


def test_greeting_hostname_and_text_are_configurable(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        {
            "TEMPMAIL_SMTP_HOSTNAME": "mx.example.test",
            "TEMPMAIL_SMTP_BANNER": "ESMTP at your service",
        },
    )
    try:
        conversation = Conversation(server)
        assert conversation.greeting == [b"220 mx.example.test ESMTP at your service"]
        assert conversation.command(b"EHLO client.test")[0] == b"250-mx.example.test"
        conversation.close()
    finally:
        server.stop()


def test_ehlo_advertises_pipelining_and_enhanced_status_codes(server: RunningServer) -> None:
    conversation = Conversation(server)
    try:
        lines = conversation.command(b"EHLO client.test")
        # RFC 2034: the reply to EHLO carries no enhanced codes; its lines are keywords.
        assert lines[0] == b"250-localhost"
        keywords = [line[4:].split(b" ")[0] for line in lines[1:]]
        assert b"PIPELINING" in keywords
        assert b"ENHANCEDSTATUSCODES" in keywords
        assert b"SIZE" in keywords and b"8BITMIME" in keywords and b"SMTPUTF8" in keywords
        assert b"AUTH" not in keywords
        assert all(line.startswith(b"250-") for line in lines[:-1])
        assert lines[-1].startswith(b"250 ")
        assert conversation.command(b"HELO client.test") == [b"250 localhost"]
    finally:
        conversation.close()


def test_every_reply_after_the_greeting_has_an_enhanced_code(server: RunningServer) -> None:
    inbox = create_inbox(server)
    address = inbox["address"].encode()
    conversation = Conversation(server)
    commands = [
        b"MAIL FROM:<early@example.com>",  # before EHLO
        b"HELO",
        b"EHLO",
        b"EHLO client.test",
        b"RCPT TO:<" + address + b">",  # before MAIL
        b"DATA",
        b"MAIL FROM:<a@example.com> SIZE=99999999999",
        b"MAIL FROM:<a@example.com> BODY=9BIT",
        b"MAIL FROM:<a@example.com> XYZ=1",
        b"MAIL FROM:<a@@example.com>",
        b"MAIL FROM:<a@example.com>",
        b"MAIL FROM:<b@example.com>",
        b"RCPT TO:<nobody@localhost>",
        b"RCPT TO:<someone@elsewhere.example>",
        b"RCPT TO:<" + address + b">",
        b"DATA extra",
        b"RSET",
        b"RSET now",
        b"NOOP",
        b"VRFY <" + address + b">",
        b"VRFY",
        b"EXPN list",
        b"HELP",
        b"HELP MAIL",
        b"HELP NOSUCH",
        b"STARTTLS",
        b"AUTH PLAIN",
        b"BDAT 10 LAST",
        b"NOSUCHCOMMAND",
        b"QUIT now",
        b"QUIT",
    ]
    replies: dict[bytes, list[bytes]] = {}
    try:
        for command in commands:
            replies[command] = conversation.command(command)
    finally:
        conversation.close()
    for command, lines in replies.items():
        if command == b"EHLO client.test":
            continue
        for line in lines:
            assert ENHANCED.match(line), (command, line)
    assert replies[b"MAIL FROM:<a@example.com>"] == [b"250 2.1.0 Sender OK"]
    assert replies[b"RCPT TO:<" + address + b">"] == [b"250 2.1.5 Recipient OK"]
    assert replies[b"QUIT"] == [b"221 2.0.0 Bye"]
    # An unknown command is not quoted back (aiosmtpd would echo any bytes, controls too).
    assert replies[b"NOSUCHCOMMAND"] == [b"500 5.5.2 Error: command not recognized"]
    assert replies[b"HELO"][0].startswith(b"501 5.5.4")
    # AUTH is never offered, so neither HELP nor the command itself pretends it is.
    assert b"AUTH" not in replies[b"HELP"][0]
    assert replies[b"AUTH PLAIN"] == [b"500 5.5.2 Error: command not recognized"]
    assert replies[b"RCPT TO:<nobody@localhost>"][0].startswith(b"550 5.1.1")


def test_pipelined_transactions_in_single_writes(server: RunningServer) -> None:
    """RFC 2920: a client sends a whole batch and reads the replies in order."""
    inbox = create_inbox(server)
    address = inbox["address"].encode()
    conversation = Conversation(server)
    try:
        conversation.command(b"EHLO client.test")
        envelope = (
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<nobody@localhost>\r\n"
            b"RCPT TO:<" + address + b">\r\nDATA\r\n"
        )
        conversation.send(envelope)
        assert [conversation.reply()[0][:9] for _ in range(4)] == [
            b"250 2.1.0",
            b"550 5.1.1",
            b"250 2.1.5",
            b"354 End d",
        ]
        # The end of one message, a whole second transaction and QUIT in one write.
        conversation.send(
            b"Subject: one\r\n\r\nfirst\r\n.\r\n"
            + envelope
            + b"Subject: two\r\n\r\nsecond\r\n.\r\nNOOP\r\nQUIT\r\n"
        )
        replies = [conversation.reply()[0][:9] for _ in range(8)]
        assert replies == [
            b"250 2.0.0",
            b"250 2.1.0",
            b"550 5.1.1",
            b"250 2.1.5",
            b"354 End d",
            b"250 2.0.0",
            b"250 2.0.0",
            b"221 2.0.0",
        ]
    finally:
        conversation.close()
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
    assert sorted(message["subject"] for message in listing["messages"]) == ["one", "two"]


def test_swaks_delivers_with_pipelining(server: RunningServer) -> None:
    """Debian's swaks (installed by .ci/run and `make test`) as the pipelining peer."""
    inbox = create_inbox(server)
    result = subprocess.run(
        [
            "swaks", "--pipeline", "--server", server.smtp_host, "--port", str(server.smtp_port),
            "--helo", "client.test", "--from", "sender@example.com", "--to", inbox["address"],
            "--header", "Subject: through swaks", "--body", "Your code is 424242",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    transcript = result.stdout
    assert result.returncode == 0, transcript + result.stderr
    # swaks pipelines MAIL, RCPT and DATA in one batch only when PIPELINING is advertised.
    assert re.search(
        r"-> MAIL FROM:<sender@example.com>\n\s*-> RCPT TO:<[^>]+>\n\s*-> DATA", transcript
    ), transcript
    assert "<-  250 2.0.0 Message accepted" in transcript or "<-  250 2.0.0" in transcript
    with server.client(inbox["token"]) as client:
        listing = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
    assert [message["subject"] for message in listing["messages"]] == ["through swaks"]


def test_pipelined_garbage_is_refused_without_echoing_it(server: RunningServer) -> None:
    conversation = Conversation(server)
    garbage = [b"\x00\x01\x1b[31m", b"X\x7f\x08", bytes(range(128, 256)), b"\r\x0b", b"QQQ"]
    try:
        conversation.send(b"".join(line + b"\r\n" for line in garbage * 2))
        replies = [line for _ in range(6) for line in conversation.reply()]
        with pytest.raises(ConnectionError):
            conversation.reply()  # the server hung up after too many unknown commands
    finally:
        conversation.close()
    assert replies[-1] == b"502 5.5.1 Too many unrecognized commands, goodbye."
    assert all(reply[:9] in (b"500 5.5.2", b"502 5.5.1") for reply in replies)
    assert all(32 <= byte < 127 for reply in replies for byte in reply), replies


@pytest.mark.parametrize(
    "path",
    [b"<broken", b"broken@", b"<broken@", b"broken", b"<a@b.example", b"@", b"<@>", b"a@", b"<a@>"],
)
def test_malformed_paths_get_553_not_a_temporary_failure(
    server: RunningServer, path: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="tempmail.smtp")
    conversation = Conversation(server)
    try:
        conversation.command(b"EHLO client.test")
        mail = conversation.command(b"MAIL FROM:" + path)
        conversation.command(b"RSET")
        conversation.command(b"MAIL FROM:<sender@example.com>")
        rcpt = conversation.command(b"RCPT TO:" + path)
        # The session is still good afterwards: the null sender of bounces is accepted.
        conversation.command(b"RSET")
        null = conversation.command(b"MAIL FROM:<>")
    finally:
        conversation.close()
    assert mail == [b"553 5.1.3 Error: malformed address"], path
    assert rcpt[0].startswith(b"553 5.1.3"), (path, rcpt)
    assert null == [b"250 2.1.0 Sender OK"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
