"""Through a real HAProxy (Debian's) running deploy/haproxy.cfg on loopback.

The config is the shipped one with only addresses, ports, the certificate path and the
daemon/chroot lines changed. Behind it run two `tempmail serve` processes with the same keys
over one throwaway PostgreSQL database and one Redis, as a cluster would. Clients connect from
two source addresses (127.0.0.2 and 127.0.0.3); HAProxy connects to the nodes from 127.0.0.1, so
what a node knows of the client comes only through the PROXY v2 header (SMTP) and
X-Forwarded-For (HTTP).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tempmail import keys
from tests.helpers import SMTP_POLICY, make_message, self_signed_certificate
from tests.nodes import Node, start_node
from tests.servers import free_port

SHIPPED = Path(__file__).resolve().parent.parent / "deploy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CLIENT_A, CLIENT_B = "127.0.0.2", "127.0.0.3"
HAPROXY_ADDRESS = "127.0.0.1"


@dataclass
class Balancer:
    smtp_port: int
    https_port: int
    http_port: int
    certificate: Path
    nodes: list[Node]

    def http(self, source: str) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.certificate))
        context.check_hostname = False
        transport = httpx.HTTPTransport(local_address=source, verify=context)
        return httpx.Client(
            base_url=f"https://127.0.0.1:{self.https_port}", transport=transport, timeout=30
        )

    def smtp(self, source: str) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30, source_address=(source, 0))


def generate_config(nodes: list[Node], ports: dict[str, int], pem: Path) -> str:
    """The shipped config, pointed at loopback: nothing else about it changes."""
    text = SHIPPED.read_text()
    for line in ("chroot ", "user ", "group ", "daemon", "stats socket "):
        text = re.sub(rf"(?m)^\s+{line}.*\n", "", text)
    text = text.replace("log /dev/log local0", "log stderr format raw local0")
    text = text.replace("bind :25\n", f"bind 127.0.0.1:{ports['smtp']}\n")
    text = text.replace("bind :80\n", f"bind 127.0.0.1:{ports['http']}\n")
    text = text.replace(
        "bind :443 ssl crt /etc/haproxy/certs/mail.example.org.pem",
        f"bind 127.0.0.1:{ports['https']} ssl crt {pem}",
    )
    servers = {
        "smtp": [f"127.0.0.1:{node.smtp_port}" for node in nodes],
        "http": [node.http_url.removeprefix("http://") for node in nodes],
    }
    for kind, port in (("smtp", 25), ("http", 8000)):
        for n, address in enumerate(["10.0.0.11", "10.0.0.12"]):
            line = f"    server node{n + 1} {address}:{port}\n"
            assert line in text, line
            text = text.replace(
                line, f"    server node{n + 1} {servers[kind][n]}\n" if n < len(nodes) else ""
            )
    assert "10.0.0." not in text.replace("# ", "").split("\nglobal", 1)[1]
    return text


def _wait_until_up(balancer: Balancer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "haproxy exited"
        try:
            with balancer.http(CLIENT_A) as client:
                if client.get("/health").status_code == 200:
                    break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "haproxy did not come up"
        time.sleep(0.1)
    with balancer.smtp(CLIENT_A) as client:
        assert client.noop()[0] == 250


@contextlib.contextmanager
def running_balancer(
    tmp_path: Path, postgres_url: str, redis_url: str, environ: Mapping[str, str]
) -> Iterator[Balancer]:
    """Two nodes on one PostgreSQL database and one Redis, behind HAProxy on loopback."""
    shared = {
        **keys.generate(),
        "TEMPMAIL_STORAGE_URL": postgres_url,
        "TEMPMAIL_LIMITS_REDIS_URL": redis_url,
        "TEMPMAIL_SMTP_PROXY_PROTOCOL": "true",
        "TEMPMAIL_SMTP_TRUSTED_PROXIES": f"{HAPROXY_ADDRESS}/32",
        "TEMPMAIL_HTTP_TRUSTED_PROXIES": HAPROXY_ADDRESS,
        **environ,
    }
    nodes: list[Node] = []
    process: subprocess.Popen[bytes] | None = None
    try:
        for n in range(2):
            nodes.append(start_node(tmp_path / f"node{n}", shared))
        certificate, key = self_signed_certificate(tmp_path, "localhost")
        pem = tmp_path / "haproxy.pem"
        pem.write_bytes(certificate.read_bytes() + key.read_bytes())
        ports = {"smtp": free_port(), "https": free_port(), "http": free_port()}
        config = tmp_path / "haproxy.cfg"
        config.write_text(generate_config(nodes, ports, pem))
        checked = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        with (tmp_path / "haproxy.log").open("wb") as log:
            process = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=log, stderr=log)
        result = Balancer(ports["smtp"], ports["https"], ports["http"], certificate, nodes)
        _wait_until_up(result, process)
        yield result
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=20)
        for node in nodes:
            node.stop()


@pytest.fixture
def limited(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Balancer]:
    """Low limits: 6 HTTP requests an hour per client, 1 SMTP connection per client and node.

    An hourly budget refills one request per 10 minutes, so a slow run on a loaded machine
    cannot earn a 7th request in the middle of the test (a budget of 6 a minute could)."""
    environ = {
        "TEMPMAIL_SMTP_MAX_CONNECTIONS_PER_IP": "1",
        "TEMPMAIL_LIMITS_REQUESTS_PER_HOUR": "6",
        "TEMPMAIL_LOGGING_CLIENT_ADDRESSES": "true",
    }
    with running_balancer(tmp_path, postgres_url, redis_url, environ) as balancer:
        yield balancer


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Balancer]:
    with running_balancer(tmp_path, postgres_url, redis_url, {}) as balancer:
        yield balancer


def _peers_refused(node: Node, reason: str) -> list[str]:
    """The client addresses a node's SMTP refusals name, for refusals that say `reason`."""
    return [
        str(record["peer"])
        for record in node.records()
        if "peer" in record and reason in str(record["event"])
    ]


def test_clients_are_told_apart_through_the_balancer(limited: Balancer) -> None:
    balancer = limited
    with balancer.http(CLIENT_A) as a, balancer.http(CLIENT_B) as b:
        # A client's own X-Forwarded-For is dropped by HAProxy, so it cannot pick a bucket.
        spoof = {"X-Forwarded-For": "198.51.100.99"}
        statuses = [a.get("/api/v1/domains", headers=spoof).status_code for _ in range(9)]
        refused = a.get("/api/v1/domains")
        other = b.get("/api/v1/domains")
    # Round robin over the nodes, one shared budget per real client: 6 an hour in all.
    assert statuses == [200] * 6 + [429] * 3
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 600
    assert other.status_code == 200
    # Each node answered its share (a refused request is logged before routing, "unmatched").
    # The access log names the client HAProxy forwarded for, not HAProxy nor the spoofed one.
    served = [
        [
            record["client"]
            for record in node.records()
            if record.get("logger") == "tempmail.access"
            and record.get("route") in ("/api/v1/domains", "unmatched")
        ]
        for node in balancer.nodes
    ]
    assert sorted(map(len, served)) == [5, 6], "round robin spreads the 11 requests"
    assert sorted(served[0] + served[1]) == [CLIENT_A] * 10 + [CLIENT_B]

    # SMTP: one connection per client address per node. If the nodes saw HAProxy's address,
    # client B would be refused as well.
    held: list[smtplib.SMTP] = []
    refusals: list[int] = []
    try:
        for _ in range(len(balancer.nodes) + 1):
            try:
                held.append(balancer.smtp(CLIENT_A))
            except smtplib.SMTPConnectError as error:
                refusals.append(error.smtp_code)
        assert len(held) == len(balancer.nodes) and refusals == [421]
        assert all(client.noop()[0] == 250 for client in held)
        with balancer.smtp(CLIENT_B) as b_smtp:
            assert b_smtp.noop()[0] == 250
    finally:
        for client in held:
            client.quit()
    events = [event for node in balancer.nodes for event in node.events()]
    assert any(
        event.startswith(f"{CLIENT_A}: refused, 1 SMTP connections from this address")
        for event in events
    )
    assert not any(event.startswith(f"{HAPROXY_ADDRESS}: refused") for event in events)


def test_mail_crosses_the_nodes_behind_the_balancer(cluster: Balancer) -> None:
    balancer = cluster
    with balancer.http(CLIENT_A) as http:
        created = http.post("/api/v1/inboxes", json={})
        assert created.status_code == 201
        inbox = created.json()
        http.headers["Authorization"] = f"Bearer {inbox['token']}"
        events: list[dict[str, Any]] = []
        opened = threading.Event()
        sessions = 4

        def listen() -> None:
            with (
                balancer.http(CLIENT_A) as stream_client,
                stream_client.stream(
                    "GET",
                    f"/api/v1/inboxes/{inbox['inbox_id']}/events",
                    headers={"Authorization": f"Bearer {inbox['token']}"},
                ) as stream,
            ):
                opened.set()
                event = ""
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "message":
                        events.append(json.loads(line.removeprefix("data: ")))
                        if len(events) == sessions:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert opened.wait(30)
        # One session after another: HAProxy's leastconn takes turns among idle nodes.
        for n in range(sessions):
            with balancer.smtp(CLIENT_B) as smtp:
                message = make_message(inbox["address"], subject=f"Through HAProxy {n}")
                refused = smtp.sendmail(
                    "a@example.com",
                    [inbox["address"], "nobody@localhost"],
                    message.as_bytes(policy=SMTP_POLICY),
                )
                assert list(refused) == ["nobody@localhost"]
        listener.join(30)
        # The event stream is held by one node; the mail came through both.
        subjects = {f"Through HAProxy {n}" for n in range(sessions)}
        assert {event["subject"] for event in events} == subjects
        listed = http.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()
        assert {m["subject"] for m in listed["messages"]} == subjects

    # Both nodes took SMTP sessions, and each logs its refusals under the sender's address,
    # which only the PROXY v2 header carried; never under HAProxy's.
    stored: list[set[str]] = []
    for node in balancer.nodes:
        peers = _peers_refused(node, "refused with 550")
        assert peers and set(peers) == {CLIENT_B}, node.log.read_text()[-2000:]
        stored.append(
            {
                str(record["message_id"])
                for record in node.records()
                if record.get("inbox_id") == inbox["inbox_id"] and "message_id" in record
            }
        )
    assert all(stored) and not stored[0] & stored[1]
    assert len(stored[0] | stored[1]) == sessions
    # What one node stored, the other reads from the shared database.
    headers = {"Authorization": f"Bearer {inbox['token']}"}
    for here, there in ((0, 1), (1, 0)):
        for message_id in stored[here]:
            detail = httpx.get(
                f"{balancer.nodes[there].http_url}/api/v1/messages/{message_id}",
                headers=headers,
                timeout=30,
            )
            assert detail.status_code == 200, detail.text
            assert detail.json()["subject"].startswith("Through HAProxy")

    # Plain HTTP is redirected to HTTPS, and a node's own SMTP port refuses anyone but HAProxy.
    with httpx.Client(base_url=f"http://127.0.0.1:{balancer.http_port}") as client:
        response = client.get("/api/v1/domains")
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://")
    node = balancer.nodes[0]
    with socket.create_connection(
        (node.smtp_host, node.smtp_port), timeout=30, source_address=(CLIENT_A, 0)
    ) as direct:
        assert direct.recv(200).startswith(b"421 4.7.0 Connections to this port must come")
