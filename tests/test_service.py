"""Operator routes: readiness, Prometheus metrics and who may read them."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import httpx

from tests.helpers import RunningServer, create_inbox, make_message, send_mail, start_server


def _metric(text: str, name: str, labels: str = "") -> float:
    pattern = (
        re.escape(name) + (re.escape("{" + labels + "}") if labels else r"(?:\{\})?") + r" (\S+)"
    )
    match = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    assert match, f"{name}{{{labels}}} not in metrics"
    return float(match.group(1))


def test_ready_names_every_check(server: RunningServer) -> None:
    with server.client() as client:
        response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "smtp": "ok", "expiry": "ok"},
    }


def test_ready_reports_a_stopped_listener(server: RunningServer) -> None:
    assert server.runtime.listener is not None
    server.run(server.runtime.listener.stop())
    with server.client() as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["smtp"] == "listener down"
    assert response.json()["status"] == "unavailable"


def test_metrics_count_what_happened(server: RunningServer) -> None:
    inbox = create_inbox(server)
    send_mail(server, inbox["address"], make_message(inbox["address"], "metrics"))
    with server.client(inbox["token"]) as client:
        message_id = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()["messages"][
            0
        ]["id"]
        client.get(f"/api/v1/messages/{message_id}")
        client.get("/api/v1/messages/unknown")
        text = client.get("/metrics").text
    assert _metric(text, "tempmail_inboxes_created_total") == 1
    assert _metric(text, "tempmail_messages_accepted_total") == 1
    assert _metric(text, "tempmail_smtp_sessions_total") >= 1
    assert _metric(text, "tempmail_inboxes_live") == 1
    assert _metric(text, "tempmail_messages_stored") == 1
    assert _metric(text, "tempmail_database_bytes") > 0
    assert _metric(text, "tempmail_data_dir_free_bytes") > 0
    assert _metric(text, "tempmail_delivery_seconds_count") == 1
    assert _metric(text, "tempmail_message_size_bytes_count") == 1
    route = 'method="GET",route="/api/v1/messages/{message_id}",status="200"'
    assert _metric(text, "tempmail_http_requests_total", route) == 1
    assert _metric(text, "tempmail_http_requests_total", route.replace("200", "404")) == 1
    # Route templates only: no id, address or token ever appears in a label.
    assert message_id not in text and inbox["inbox_id"] not in text
    assert inbox["address"] not in text and inbox["token"] not in text


def test_metrics_refused_from_outside_allow_list(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        {"TEMPMAIL_METRICS_ALLOW_FROM": "10.9.9.9", "TEMPMAIL_HTTP_TRUSTED_PROXIES": "127.0.0.1"},
    )
    try:
        with server.client() as client:
            assert client.get("/metrics").status_code == 404
            # Through a trusted proxy the real client decides, not the proxy's loopback address.
            assert (
                client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.1"}).status_code
                == 404
            )
            assert (
                client.get("/metrics", headers={"X-Forwarded-For": "10.9.9.9"}).status_code == 200
            )
    finally:
        server.stop()


def test_metrics_on_their_own_address(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = start_server(tmp_path / "data", {"TEMPMAIL_METRICS_LISTEN": f"127.0.0.1:{port}"})
    try:
        create_inbox(server)
        with server.client() as client:
            assert client.get("/metrics").status_code == 404
        deadline = time.monotonic() + 10
        while True:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            if "tempmail_inboxes_created_total 1.0" in text:
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        server.stop()
    try:
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        raise AssertionError("the metrics listener is still up after shutdown")
    except httpx.TransportError:
        pass
