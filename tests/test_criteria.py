"""Waiting on criteria: `from`, `subject`, `since` and `has_code` on the list and the long poll,
and the same options on `tempmail inbox wait`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

from tests.helpers import RunningServer, create_inbox, make_message, send_mail


def _url(inbox: dict[str, Any]) -> str:
    return f"/api/v1/inboxes/{inbox['inbox_id']}/messages"


def _subjects(listing: dict[str, Any]) -> list[str]:
    return [message["subject"] for message in listing["messages"]]


def _send(
    server: RunningServer, inbox: dict[str, Any], subject: str, text: str, sender: str
) -> None:
    send_mail(
        server, inbox["address"], make_message(inbox["address"], subject, text, sender=sender)
    )


def test_filters_on_a_plain_list(server: RunningServer) -> None:
    inbox = create_inbox(server)
    _send(server, inbox, "Weekly NEWS", "nothing to see", "News <news@paper.example>")
    _send(server, inbox, "Your login code", "Your code is 482913.", "Shop <auth@shop.example>")
    _send(server, inbox, "Welcome to the shop", "Hello and welcome", "Shop <hello@shop.example>")
    with server.client(inbox["token"]) as client:

        def listed(**params: str) -> list[str]:
            response = client.get(_url(inbox), params=params)
            assert response.status_code == 200, response.text
            return _subjects(response.json())

        assert listed(**{"from": "SHOP.example"}) == ["Welcome to the shop", "Your login code"]
        assert listed(subject="news") == ["Weekly NEWS"]
        assert listed(**{"from": "shop", "subject": "welcome"}) == ["Welcome to the shop"]
        assert listed(has_code="true") == ["Your login code"]
        assert listed(has_code="true", subject="welcome") == []
        assert listed(**{"from": "nobody"}) == []
        # has_code parses the message for its first read but does not mark it read.
        assert [m["seen"] for m in client.get(_url(inbox)).json()["messages"]] == [False] * 3
        first = client.get(_url(inbox)).json()["messages"][-1]
        assert listed(since=first["id"], **{"from": "shop"}) == [
            "Welcome to the shop",
            "Your login code",
        ]
        for bad in [{"has_code": "maybe"}, {"from": "x" * 257}, {"subject": "y" * 300}]:
            refused = client.get(_url(inbox), params=bad)
            assert refused.status_code == 400, bad
            assert refused.json()["error"] == "bad_request"
            assert "must" in refused.json()["message"]


def test_long_poll_answers_only_for_a_matching_message(server: RunningServer) -> None:
    inbox = create_inbox(server)
    answer: dict[str, Any] = {}

    def poll() -> None:
        with server.client(inbox["token"]) as client:
            params = {"wait": "30", "from": "bob@", "has_code": "true"}
            answer.update(client.get(_url(inbox), params=params).json())

    waiter = threading.Thread(target=poll)
    waiter.start()
    # Each of these wakes the waiter, and none of them matches: it keeps waiting.
    _send(server, inbox, "from alice", "Your code is 111111.", "alice@example.com")
    _send(server, inbox, "bob without code", "See you at noon", "bob@example.com")
    _send(server, inbox, "bob with code", "Your verification code is 222222.", "bob@example.com")
    waiter.join(timeout=60)
    assert not waiter.is_alive()
    assert _subjects(answer) == ["bob with code"]


def test_long_poll_with_filters_times_out_empty(server: RunningServer) -> None:
    inbox = create_inbox(server)
    _send(server, inbox, "other", "text", "carol@example.com")
    with server.client(inbox["token"]) as client:
        response = client.get(_url(inbox), params={"wait": "0.3", "subject": "absent"})
    assert response.json() == {"messages": [], "count": 0}


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tempmail", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_inbox_wait_options(server: RunningServer) -> None:
    inbox = create_inbox(server)
    base = ("inbox", "wait", "--url", server.http_url, "--token", inbox["token"])
    _send(server, inbox, "Newsletter", "Code of conduct 123456 updated", "news@list.example")
    _send(server, inbox, "Sign-in code", "Your code is 735194.", "auth@app.example")
    _send(server, inbox, "Reminder", "Your code is 990011.", "auth@app.example")

    by_sender = _cli(*base, "--timeout", "10", "--from", "AUTH@app", "--subject", "sign-in")
    assert by_sender.returncode == 0, by_sender.stderr
    assert json.loads(by_sender.stdout)["subject"] == "Sign-in code"

    code = _cli(*base, "--timeout", "10", "--code", "--from", "auth@app")
    assert code.returncode == 0, code.stderr
    assert code.stdout.strip() == "990011"

    with server.client(inbox["token"]) as client:
        newest = client.get(_url(inbox)).json()["messages"][0]
    nothing_newer = _cli(*base, "--timeout", "0.5", "--since", newest["id"])
    assert nothing_newer.returncode == 1
    assert "no matching mail" in nothing_newer.stderr

    _send(server, inbox, "plain", "no digits", "someone@example.com")
    _send(server, inbox, "has one", "Your PIN is 4321.", "someone@example.com")
    with_code = _cli(*base, "--timeout", "10", "--has-code", "--from", "someone")
    assert with_code.returncode == 0, with_code.stderr
    assert json.loads(with_code.stdout)["subject"] == "has one"
    refused = _cli(*base, "--timeout", "1", "--subject", "s" * 300)
    assert refused.returncode == 2 and "400" in refused.stderr
