"""Shared test helpers: a real server on loopback, and stdlib clients for it."""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import threading
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tempmail import settings as settings_module
from tempmail.app import Runtime, create_app
from tempmail.cli import preflight, server_config
from tempmail.httpserver import ConnectionCounts
from tempmail.settings import Settings

SMTP_POLICY = policy.default.clone(linesep="\r\n")
T = TypeVar("T")


@dataclass
class RunningServer:
    """The real application served by uvicorn in a background thread, SMTP on the same loop."""

    settings: Settings
    data_dir: Path
    runtime: Runtime
    http_url: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.settings.domains[0]

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.http_url, headers=headers, timeout=30)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's own event loop and wait for its result."""
        assert self.runtime.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.runtime.loop).result(timeout=60)

    def http_connections(self) -> ConnectionCounts:
        """The HTTP listener's counts of open, timed-out and refused connections."""
        assert self._server is not None
        counts: ConnectionCounts = self._server.config.app.state.http_connections
        return counts

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self.runtime.begin_shutdown()
            self._server.should_exit = True
            self._thread.join(timeout=30)
            assert not self._thread.is_alive(), "server thread did not stop"
            self._server = None


def start_server(data_dir: Path, environ: Mapping[str, str] | None = None) -> RunningServer:
    """Start tempmail on 127.0.0.1 with ephemeral ports and `environ` as its environment."""
    env = {
        "TEMPMAIL_DATA_DIR": str(data_dir),
        "TEMPMAIL_SMTP_PORT": "0",
        "TEMPMAIL_HTTP_PORT": "0",
        # Functional tests make many requests from one address; rate-limit tests lower these.
        "TEMPMAIL_LIMITS_REQUESTS_PER_MINUTE": "100000",
        "TEMPMAIL_LIMITS_REQUESTS_PER_HOUR": "1000000",
        "TEMPMAIL_LIMITS_INBOX_CREATIONS_PER_HOUR": "100000",
        "TEMPMAIL_LIMITS_AUTH_FAILURES_PER_MINUTE": "100000",
        "TEMPMAIL_LIMITS_STREAMS_PER_CLIENT": "100000",
        "TEMPMAIL_LIMITS_STREAMS_PER_INBOX": "100000",
        **(environ or {}),
    }
    config = settings_module.load(None, env)
    keys = asyncio.run(preflight(config, env))
    runtime = Runtime()
    app = create_app(config, keys, runtime)
    server = uvicorn.Server(server_config(app, "127.0.0.1", 0))
    thread = threading.Thread(target=server.run, name="tempmail-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server failed to start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    running = RunningServer(settings=config, data_dir=data_dir, runtime=runtime)
    running.http_url = f"http://127.0.0.1:{port}"
    running.smtp_host, running.smtp_port = runtime.smtp_address
    running._server, running._thread = server, thread
    return running


def create_inbox(server: RunningServer, **body: Any) -> dict[str, Any]:
    """POST /api/v1/inboxes and return the JSON reply (asserting 201)."""
    with server.client() as client:
        response = client.post("/api/v1/inboxes", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def send_mail(server: RunningServer, to: str, msg: EmailMessage) -> None:
    """Deliver `msg` to `to` with stdlib smtplib; raises smtplib errors on refusal."""
    with smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=30) as client:
        client.sendmail(msg["From"] or "sender@example.com", [to], msg.as_bytes(policy=SMTP_POLICY))


def send_raw(server: RunningServer, to: str | list[str], data: bytes) -> dict[str, Any]:
    """Deliver raw bytes; returns smtplib's refused-recipients dict."""
    recipients = [to] if isinstance(to, str) else to
    with smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=30) as client:
        return dict(client.sendmail("sender@example.com", recipients, data))


def make_message(
    to: str,
    subject: str = "Hello",
    text: str = "Plain body",
    html: str | None = None,
    sender: str = "Alice Example <alice@example.com>",
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> EmailMessage:
    """A message built with the stdlib: text, optional HTML alternative and attachments."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Tue, 24 Nov 2026 09:00:00 +0000"
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments or []:
        maintype, subtype = content_type.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def self_signed_certificate(directory: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A throwaway EC certificate and key for `host`, written as PEM files in `directory`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
