"""Features for test suites and power users: long-poll, chosen addresses, tags, seen, lifetime."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import RunningServer, create_inbox, make_message, send_mail, start_server


def _later(seconds: float, action: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _messages_url(inbox: dict[str, Any]) -> str:
    return f"/api/v1/inboxes/{inbox['inbox_id']}/messages"


def test_long_poll_returns_when_mail_arrives(server: RunningServer) -> None:
    inbox = create_inbox(server)
    sender = _later(
        0.5, lambda: send_mail(server, inbox["address"], make_message(inbox["address"], "awaited"))
    )
    with server.client(inbox["token"]) as client:
        started = time.monotonic()
        response = client.get(_messages_url(inbox), params={"wait": 30})
        elapsed = time.monotonic() - started
    sender.join()
    assert [m["subject"] for m in response.json()["messages"]] == ["awaited"]
    assert elapsed < 25  # it answered on arrival, not at the end of the wait


def test_long_poll_since_a_message_and_a_time(server: RunningServer) -> None:
    inbox = create_inbox(server)
    send_mail(server, inbox["address"], make_message(inbox["address"], "first"))
    with server.client(inbox["token"]) as client:
        first = client.get(_messages_url(inbox)).json()["messages"][0]
        # Nothing newer than "first": the wait runs out and answers an empty list.
        empty = client.get(_messages_url(inbox), params={"wait": 0.3, "since": first["id"]})
        assert empty.json() == {"messages": [], "count": 0}
        sender = _later(
            0.3,
            lambda: send_mail(server, inbox["address"], make_message(inbox["address"], "second")),
        )
        newer = client.get(_messages_url(inbox), params={"wait": 30, "since": first["id"]}).json()
        sender.join()
        assert [m["subject"] for m in newer["messages"]] == ["second"]
        by_time = client.get(_messages_url(inbox), params={"since": first["received_at"]}).json()
        assert [m["subject"] for m in by_time["messages"]] == ["second"]
        stamp = datetime.fromisoformat(first["received_at"].replace("Z", "+00:00")).timestamp()
        by_seconds = client.get(_messages_url(inbox), params={"since": str(stamp - 3600)}).json()
        assert by_seconds["count"] == 2
        for bad in [{"since": "not-a-time"}, {"wait": "-1"}, {"wait": "soon"}, {"unseen": "maybe"}]:
            refused = client.get(_messages_url(inbox), params=bad)
            assert refused.status_code == 400, bad
            assert refused.json()["error"] == "bad_request"


def test_many_waiters_and_disconnects_leave_nothing_behind(server: RunningServer) -> None:
    inbox = create_inbox(server)
    results: list[int] = []

    def waiter() -> None:
        with server.client(inbox["token"]) as client:
            results.append(client.get(_messages_url(inbox), params={"wait": 30}).json()["count"])

    threads = [threading.Thread(target=waiter) for _ in range(20)]
    for thread in threads:
        thread.start()
    # Clients that give up early must not leave subscriptions behind.
    for _ in range(5):
        with pytest.raises(httpx.ReadTimeout), server.client(inbox["token"]) as client:
            client.get(_messages_url(inbox), params={"wait": 30}, timeout=0.3)
    time.sleep(0.5)
    send_mail(server, inbox["address"], make_message(inbox["address"], "for everyone"))
    for thread in threads:
        thread.join(timeout=30)
    assert results == [1] * 20
    hub = server.run(_hub(server))
    deadline = time.monotonic() + 10
    while hub.watcher_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hub.watcher_count() == 0


async def _hub(server: RunningServer) -> Any:
    assert server.runtime.hub is not None
    return server.runtime.hub


def test_long_poll_ends_with_the_inbox(server: RunningServer) -> None:
    inbox = create_inbox(server)

    def delete() -> None:
        with server.client(inbox["token"]) as client:
            client.delete(f"/api/v1/inboxes/{inbox['inbox_id']}")

    deleter = _later(0.3, delete)
    with server.client(inbox["token"]) as client:
        started = time.monotonic()
        response = client.get(_messages_url(inbox), params={"wait": 30})
        assert time.monotonic() - started < 25
    deleter.join()
    assert response.json()["count"] == 0


def test_chosen_addresses(server: RunningServer) -> None:
    with server.client() as client:
        chosen = client.post("/api/v1/inboxes", json={"local_part": "Signup.Test-1"})
        assert chosen.status_code == 201
        assert chosen.json()["address"] == "signup.test-1@localhost"
        taken = client.post("/api/v1/inboxes", json={"local_part": "signup.test-1"})
        assert taken.status_code == 409
        assert taken.json()["error"] == "conflict"
        for local_part, status in [
            ("postmaster", 409),
            ("ADMIN", 409),
            ("ab", 422),
            ("x" * 65, 422),
            ("with space", 422),
            ("double..dot", 422),
            (".leading", 422),
            ("plus+tag", 422),
            ("ünïcode", 422),
        ]:
            response = client.post("/api/v1/inboxes", json={"local_part": local_part})
            assert response.status_code == status, local_part
            assert "local_part" in response.json()["message"] or status == 409
        wrong_domain = client.post("/api/v1/inboxes", json={"domain": "elsewhere.example"})
        assert wrong_domain.status_code == 422
        assert "localhost" in wrong_domain.json()["message"]
    inbox = chosen.json()
    send_mail(server, inbox["address"], make_message(inbox["address"], "to a chosen address"))
    with server.client(inbox["token"]) as client:
        assert client.get(_messages_url(inbox)).json()["count"] == 1


def test_ended_addresses_are_quarantined(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        {"TEMPMAIL_INBOX_QUARANTINE_HOURS": "0.0003", "TEMPMAIL_INBOX_BLOCKED_LOCAL_PARTS": "ceo"},
    )
    try:
        with server.client() as client:
            assert client.post("/api/v1/inboxes", json={"local_part": "ceo"}).status_code == 409
            first = client.post("/api/v1/inboxes", json={"local_part": "reused"}).json()
            with server.client(first["token"]) as holder:
                holder.delete(f"/api/v1/inboxes/{first['inbox_id']}")
            # Right after deletion nobody may take it over ...
            assert client.post("/api/v1/inboxes", json={"local_part": "reused"}).status_code == 409
            time.sleep(1.3)
            # ... and once the quarantine has run out, it is free again.
            assert client.post("/api/v1/inboxes", json={"local_part": "reused"}).status_code == 201
    finally:
        server.stop()


def test_expired_addresses_are_quarantined_by_the_sweep(server: RunningServer) -> None:
    with server.client() as client:
        short = client.post(
            "/api/v1/inboxes", json={"local_part": "brief", "ttl_hours": 0.0002}
        ).json()
        time.sleep(0.9)
        assert server.runtime.expirer is not None
        assert server.run(server.runtime.expirer.run_once()) == 1
        again = client.post("/api/v1/inboxes", json={"local_part": "brief"})
        assert again.status_code == 409
    assert short["address"] == "brief@localhost"


def test_domains_and_multiple_domains(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_DOMAINS": "first.example,second.example"})
    try:
        with server.client() as client:
            assert client.get("/api/v1/domains").json() == {
                "domains": ["first.example", "second.example"],
                "default": "first.example",
            }
            default = client.post("/api/v1/inboxes", json={}).json()
            assert default["address"].endswith("@first.example")
            second = client.post("/api/v1/inboxes", json={"domain": "Second.Example"}).json()
            assert second["address"].endswith("@second.example")
        for inbox in (default, second):
            send_mail(server, inbox["address"], make_message(inbox["address"]))
            with server.client(inbox["token"]) as client:
                assert client.get(_messages_url(inbox)).json()["count"] == 1
    finally:
        server.stop()


def test_plus_addressing_keeps_the_tag(server: RunningServer) -> None:
    with server.client() as client:
        inbox = client.post("/api/v1/inboxes", json={"local_part": "dev"}).json()
    send_mail(server, "dev+github@localhost", make_message("dev+github@localhost", "tagged"))
    with server.client(inbox["token"]) as client:
        message = client.get(_messages_url(inbox)).json()["messages"][0]
        detail = client.get(f"/api/v1/messages/{message['id']}").json()
    assert detail["delivered_to"] == ["dev+github@localhost"]
    assert detail["to"] == ["dev+github@localhost"]


def test_seen_and_unseen_filter(server: RunningServer) -> None:
    inbox = create_inbox(server)
    send_mail(server, inbox["address"], make_message(inbox["address"], "one"))
    send_mail(server, inbox["address"], make_message(inbox["address"], "two"))
    with server.client(inbox["token"]) as client:
        listing = client.get(_messages_url(inbox)).json()["messages"]
        assert [m["seen"] for m in listing] == [False, False]
        # Listing and downloading do not mark as read; the detail route does.
        client.get(f"/api/v1/messages/{listing[0]['id']}/raw")
        assert client.get(_messages_url(inbox), params={"unseen": "true"}).json()["count"] == 2
        assert client.get(f"/api/v1/messages/{listing[0]['id']}").json()["seen"] is True
        unseen = client.get(_messages_url(inbox), params={"unseen": "true"}).json()["messages"]
        assert [m["subject"] for m in unseen] == ["one"]
        assert [m["seen"] for m in client.get(_messages_url(inbox)).json()["messages"]] == [
            True,
            False,
        ]


def test_extending_the_lifetime(server: RunningServer) -> None:
    inbox = create_inbox(server, ttl_hours=1)
    created = datetime.fromisoformat(inbox["expires_at"].replace("Z", "+00:00"))
    with server.client(inbox["token"]) as client:
        longer = client.patch(f"/api/v1/inboxes/{inbox['inbox_id']}", json={"ttl_hours": 48})
        assert longer.status_code == 200
        expires = datetime.fromisoformat(longer.json()["expires_at"].replace("Z", "+00:00"))
        assert 46.9 < (expires - created).total_seconds() / 3600 < 47.1
        capped = client.patch(
            f"/api/v1/inboxes/{inbox['inbox_id']}", json={"ttl_hours": 10_000}
        ).json()
        capped_at = datetime.fromisoformat(capped["expires_at"].replace("Z", "+00:00"))
        assert 166.9 < (capped_at - created).total_seconds() / 3600 < 168.1
        assert client.get("/api/v1/inbox").json()["expires_at"] == capped["expires_at"]
        for body in [b"", b"{}", b'{"ttl_hours": 0}', b'{"ttl_hours": "x"}']:
            refused = client.patch(f"/api/v1/inboxes/{inbox['inbox_id']}", content=body)
            assert refused.status_code in (400, 422), body
    other = create_inbox(server)
    with server.client(other["token"]) as client:
        assert (
            client.patch(f"/api/v1/inboxes/{inbox['inbox_id']}", json={"ttl_hours": 2}).status_code
            == 404
        )
        mine = client.get("/api/v1/inbox").json()
        assert mine["inbox_id"] == other["inbox_id"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tempmail", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_inbox_commands_end_to_end(server: RunningServer) -> None:
    created = _cli("inbox", "new", "--url", server.http_url, "--local-part", "ci-run")
    assert created.returncode == 0, created.stderr
    inbox = json.loads(created.stdout)
    assert inbox["address"] == "ci-run@localhost" and inbox["token"]
    base = ("--url", server.http_url, "--token", inbox["token"])

    timed_out = _cli("inbox", "wait", *base, "--timeout", "0.5")
    assert timed_out.returncode == 1
    assert "no matching mail" in timed_out.stderr

    html = (
        '<p>Welcome! Confirm your account: <a href="https://app.example/verify?t=abc123">'
        "Verify email</a></p><p>Your verification code is <b>482913</b>.</p>"
        '<p><a href="https://app.example/unsubscribe">Unsubscribe</a></p>'
    )
    message = make_message(
        inbox["address"],
        "Your Example verification code",
        "Your verification code is 482913.",
        html=html,
    )
    sender = _later(0.5, lambda: send_mail(server, inbox["address"], message))
    code = _cli("inbox", "wait", *base, "--timeout", "30", "--code")
    sender.join()
    assert code.returncode == 0, code.stderr
    assert code.stdout.strip() == "482913"

    send_mail(server, inbox["address"], message)
    link = _cli("inbox", "wait", *base, "--timeout", "30", "--link")
    assert link.stdout.strip() == "https://app.example/verify?t=abc123"

    send_mail(
        server, inbox["address"], make_message(inbox["address"], "plain note", "no code here")
    )
    whole = _cli("inbox", "wait", *base, "--timeout", "30")
    assert json.loads(whole.stdout)["subject"] == "plain note"

    refused = _cli("inbox", "wait", "--url", server.http_url, "--token", "wrong", "--timeout", "1")
    assert refused.returncode == 2 and "401" in refused.stderr
    unreachable = _cli("inbox", "new", "--url", "http://127.0.0.1:1")
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr


def test_codes_and_links_in_message_detail(server: RunningServer) -> None:
    inbox = create_inbox(server)
    html = (
        '<p>Reset your password: <a href="https://id.example/reset/9f8e7d">Reset password</a></p>'
        '<p>Order #20261124 total $49.99 on 24/11/2026. <a href="https://shop.example/">Shop</a></p>'
    )
    send_mail(
        server, inbox["address"], make_message(inbox["address"], "Password reset", "", html=html)
    )
    with server.client(inbox["token"]) as client:
        message = client.get(_messages_url(inbox)).json()["messages"][0]
        detail = client.get(f"/api/v1/messages/{message['id']}").json()
    assert detail["codes"] == []
    assert detail["links"][0] == {
        "url": "https://id.example/reset/9f8e7d",
        "text": "Reset password",
        "verification": True,
    }
    assert {"url": "https://shop.example/", "text": "Shop", "verification": False} in detail[
        "links"
    ]
