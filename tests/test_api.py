"""The JSON API end to end: real server, real SMTP delivery, real HTTP."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tests.helpers import (
    SMTP_POLICY,
    RunningServer,
    create_inbox,
    make_message,
    send_mail,
    send_raw,
)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def _messages(server: RunningServer, inbox: dict[str, Any]) -> list[dict[str, Any]]:
    with server.client(inbox["token"]) as client:
        response = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["messages"])
    messages: list[dict[str, Any]] = body["messages"]
    return messages


def test_full_flow(server: RunningServer) -> None:
    inbox = create_inbox(server)
    assert set(inbox) == {"inbox_id", "address", "token", "expires_at"}
    assert inbox["address"].endswith("@localhost")
    assert inbox["expires_at"].endswith("Z")

    send_mail(server, inbox["address"], make_message(inbox["address"], "Plain one", "First body"))
    html = '<p>Hello <b>world</b> <img src="cid:logo@x"> <img src="https://t.example/p.gif"></p>'
    alternative = make_message(inbox["address"], "Grüße aus Köln ☃", "Text part", html=html)
    alternative.get_payload()[1].add_related(PNG, "image", "png", cid="<logo@x>")
    send_mail(server, inbox["address"], alternative)
    with_file = make_message(
        inbox["address"],
        "Report",
        "See attached",
        attachments=[("report.pdf", "application/pdf", b"%PDF-1.4 data")],
    )
    send_mail(server, inbox["address"], with_file)

    messages = _messages(server, inbox)
    assert [m["subject"] for m in messages] == ["Report", "Grüße aus Köln ☃", "Plain one"]
    assert messages[0]["has_attachments"] is True
    assert messages[2]["has_attachments"] is False
    assert messages[2]["preview"] == "First body"
    assert messages[2]["from"] == "Alice Example <alice@example.com>"
    assert set(messages[0]) == {
        "id",
        "from",
        "subject",
        "preview",
        "received_at",
        "has_attachments",
        "seen",
    }

    with server.client(inbox["token"]) as client:
        info = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}").json()
        assert info == {
            "inbox_id": inbox["inbox_id"],
            "address": inbox["address"],
            "expires_at": inbox["expires_at"],
            "message_count": 3,
        }

        detail = client.get(f"/api/v1/messages/{messages[1]['id']}")
        assert detail.status_code == 200
        assert detail.headers["cache-control"] == "no-store"
        body = detail.json()
        assert body["subject"] == "Grüße aus Köln ☃"
        assert body["to"] == [inbox["address"]]
        assert body["body_text"] == "Text part\n"
        assert "<b>world</b>" in body["body_html"]
        assert "data:image/png;base64," in body["body_html"]
        assert "t.example" not in body["body_html"]
        assert body["remote_images_blocked"] == 1
        remote = client.get(
            f"/api/v1/messages/{messages[1]['id']}", params={"remote_images": "true"}
        )
        assert 'src="https://t.example/p.gif"' in remote.json()["body_html"]
        assert remote.json()["remote_images_blocked"] == 0

        report = client.get(f"/api/v1/messages/{messages[0]['id']}").json()
        assert report["attachments"] == [
            {"id": "1", "filename": "report.pdf", "content_type": "application/pdf", "size": 13}
        ]
        download = client.get(f"/api/v1/messages/{messages[0]['id']}/attachments/1")
        assert download.status_code == 200
        assert download.content == b"%PDF-1.4 data"
        assert download.headers["content-disposition"].startswith(
            'attachment; filename="report.pdf"'
        )
        assert download.headers["x-content-type-options"] == "nosniff"
        missing = client.get(f"/api/v1/messages/{messages[0]['id']}/attachments/9")
        assert missing.status_code == 404

        raw = client.get(f"/api/v1/messages/{messages[2]['id']}/raw")
        assert raw.status_code == 200
        assert raw.headers["content-type"].startswith("message/rfc822")
        assert b"Subject: Plain one\r\n" in raw.content

        deleted = client.delete(f"/api/v1/messages/{messages[2]['id']}")
        assert deleted.json() == {"message": "Message deleted successfully"}
        assert client.get(f"/api/v1/messages/{messages[2]['id']}").status_code == 404
        assert client.delete(f"/api/v1/messages/{messages[2]['id']}").status_code == 404
        assert len(_messages(server, inbox)) == 2

        gone = client.delete(f"/api/v1/inboxes/{inbox['inbox_id']}")
        assert gone.json() == {"message": "Inbox deleted successfully"}
        assert client.get(f"/api/v1/inboxes/{inbox['inbox_id']}").status_code == 401


def test_active_attachment_types_are_served_opaque(server: RunningServer) -> None:
    inbox = create_inbox(server)
    files = [
        ("page.html", "text/html", b"<script>alert(1)</script>"),
        ("PLACEHOLDER.svg", "image/svg+xml", b"<svg onload='alert(1)'/>"),
    ]
    raw = make_message(inbox["address"], attachments=files).as_bytes(policy=SMTP_POLICY)
    # RFC 2231 lets a name carry what a quoted string cannot: path parts, quotes and CR/LF.
    tricky = b"filename*=utf-8''..%2F..%2Fetc%2Fpa%22ss%0D%0Awd.svg"
    send_raw(server, inbox["address"], raw.replace(b'filename="PLACEHOLDER.svg"', tricky))
    message = _messages(server, inbox)[0]
    with server.client(inbox["token"]) as client:
        detail = client.get(f"/api/v1/messages/{message['id']}").json()
        names = [item["filename"] for item in detail["attachments"]]
        assert names[0] == "page.html"
        assert names[1] == "pa_ss_wd.svg"
        for item in detail["attachments"]:
            response = client.get(f"/api/v1/messages/{message['id']}/attachments/{item['id']}")
            assert response.headers["content-type"] == "application/octet-stream"
            assert "sandbox" in response.headers["content-security-policy"]
            disposition = response.headers["content-disposition"]
            assert disposition.startswith("attachment;")
            assert "\r" not in disposition and "\n" not in disposition


def test_ttl_is_capped_and_validated(server: RunningServer) -> None:
    capped = create_inbox(server, ttl_hours=10_000)
    with server.client() as client:
        for body, status, field in [
            (b"{not json", 400, None),
            (b'{"ttl_hours": "soon"}', 422, "ttl_hours"),
            (b'{"ttl_hours": -1}', 422, "ttl_hours"),
            (b'{"unexpected": 1}', 422, "unexpected"),
            (b"[]", 422, None),
        ]:
            response = client.post(
                "/api/v1/inboxes", content=body, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == status, body
            error = response.json()
            assert set(error) == {"error", "message"}
            if field:
                assert field in error["message"]
        huge = client.post("/api/v1/inboxes", content=b"{" + b" " * 20_000 + b"}")
        assert huge.status_code == 413
        assert huge.headers["connection"] == "close"  # its unread body is no next request
        empty = client.post("/api/v1/inboxes")
        assert empty.status_code == 201
    from datetime import datetime

    created = datetime.fromisoformat(capped["expires_at"].replace("Z", "+00:00"))
    hours = (created - datetime.now(created.tzinfo)).total_seconds() / 3600
    assert 167 < hours <= 168


def _routes(inbox: dict[str, Any], message_id: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/api/v1/inboxes/{inbox['inbox_id']}"),
        ("GET", f"/api/v1/inboxes/{inbox['inbox_id']}/messages"),
        ("GET", f"/api/v1/inboxes/{inbox['inbox_id']}/events"),
        ("GET", f"/api/v1/messages/{message_id}"),
        ("GET", f"/api/v1/messages/{message_id}/raw"),
        ("GET", f"/api/v1/messages/{message_id}/attachments/1"),
        ("DELETE", f"/api/v1/messages/{message_id}"),
        ("DELETE", f"/api/v1/inboxes/{inbox['inbox_id']}"),
    ]


def test_auth_and_idor_on_every_route(server: RunningServer) -> None:
    victim = create_inbox(server)
    attacker = create_inbox(server)
    send_mail(
        server,
        victim["address"],
        make_message(victim["address"], attachments=[("a.txt", "text/plain", b"secret")]),
    )
    message_id = _messages(server, victim)[0]["id"]
    for method, path in _routes(victim, message_id):
        with server.client() as anonymous:
            missing = anonymous.request(method, path)
            assert missing.status_code == 401, path
            assert missing.headers["www-authenticate"].startswith("Bearer")
            assert missing.json()["error"] == "unauthorized"
            wrong = anonymous.request(method, path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401, path
            basic = anonymous.request(method, path, headers={"Authorization": "Basic Zm9vOmJhcg=="})
            assert basic.status_code == 401, path
            in_query = anonymous.request(method, path, params={"token": victim["token"]})
            assert in_query.status_code == 400, path
        with server.client(attacker["token"]) as client:
            other = client.request(method, path)
            assert other.status_code == 404, path
            assert other.json() == {"error": "not_found", "message": other.json()["message"]}
    with server.client(attacker["token"]) as client:
        unknown = client.get("/api/v1/messages/does-not-exist")
        foreign = client.get(f"/api/v1/messages/{message_id}")
        assert unknown.json() == foreign.json()
    # The victim still has everything.
    assert len(_messages(server, victim)) == 1


def test_swapped_ciphertexts_fail_closed(server: RunningServer) -> None:
    inbox = create_inbox(server)
    send_mail(server, inbox["address"], make_message(inbox["address"], "one"))
    send_mail(server, inbox["address"], make_message(inbox["address"], "two"))
    first, second = (m["id"] for m in _messages(server, inbox))  # newest ("two") first
    database = sqlite3.connect(server.data_dir / "tempmail.sqlite3")
    with database:
        row = database.execute("SELECT content FROM messages WHERE id = ?", (second,)).fetchone()
        database.execute("UPDATE messages SET content = ? WHERE id = ?", (row[0], first))
    database.close()
    with server.client(inbox["token"]) as client:
        response = client.get(f"/api/v1/messages/{first}")
        assert response.status_code == 500
        assert response.json() == {
            "error": "internal_error",
            "message": "The server could not read this item.",
        }
        assert client.get(f"/api/v1/messages/{second}").json()["subject"] == "one"


def test_service_routes_and_headers(server: RunningServer) -> None:
    with server.client() as client:
        health = client.get("/health")
        assert health.json() == {"status": "ok"}
        spec = client.get("/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        for path in [
            "/api/v1/inboxes",
            "/api/v1/inboxes/{inbox_id}",
            "/api/v1/inboxes/{inbox_id}/messages",
            "/api/v1/inboxes/{inbox_id}/events",
            "/api/v1/messages/{message_id}",
            "/api/v1/messages/{message_id}/raw",
            "/api/v1/messages/{message_id}/attachments/{attachment_id}",
            "/health",
        ]:
            assert path in spec["paths"]
        assert "MessageDetail" in spec["components"]["schemas"]
        assert "from" in spec["components"]["schemas"]["MessageDetail"]["properties"]
        missing = client.get("/api/v1/nothing-here")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        wrong_method = client.put("/api/v1/inboxes")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error"] == "method_not_allowed"
        for response in (health, missing):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_bad_flag_is_rejected(server: RunningServer, value: str) -> None:
    inbox = create_inbox(server)
    send_mail(server, inbox["address"], make_message(inbox["address"]))
    message_id = _messages(server, inbox)[0]["id"]
    with server.client(inbox["token"]) as client:
        response = client.get(f"/api/v1/messages/{message_id}", params={"remote_images": value})
    assert response.status_code == 400
    assert "remote_images" in response.json()["message"]


def test_reads_alike_on_the_loop_and_in_a_worker_thread(server: RunningServer) -> None:
    """Small reads are finished on the event loop, long HTML and large messages in a worker
    thread (see `Inboxes.open_reading`); a reader cannot tell which, on first or later reads."""
    inbox = create_inbox(server)
    filler = "<p>" + "Thanks for signing up with Example. " * 300 + "</p>"
    cases = {
        "small": make_message(inbox["address"], "small", "Your code is 481516"),
        "long html": make_message(
            inbox["address"],
            "long html",
            "Your code is 481516",
            html=f"<p>Your code is <b>481516</b></p>{filler}<img src='https://t.example/p.gif'>",
        ),
        "large": make_message(
            inbox["address"],
            "large",
            "Your code is 481516",
            attachments=[("big.bin", "application/octet-stream", bytes(range(256)) * 400)],
        ),
    }
    for message in cases.values():
        send_mail(server, inbox["address"], message)
    listed = {message["subject"]: message for message in _messages(server, inbox)}
    assert len(filler) > 8 * 1024
    with server.client(inbox["token"]) as client:
        for subject in cases:
            first = client.get(f"/api/v1/messages/{listed[subject]['id']}").json()
            again = client.get(f"/api/v1/messages/{listed[subject]['id']}").json()
            assert first == again
            assert first["codes"] == ["481516"], subject
            assert first["body_text"] == "Your code is 481516\n"
            assert first["seen"] is True
        long_html = client.get(f"/api/v1/messages/{listed['long html']['id']}").json()
        assert "<b>481516</b>" in long_html["body_html"]
        assert "t.example" not in long_html["body_html"]
        assert long_html["remote_images_blocked"] == 1
        large = client.get(f"/api/v1/messages/{listed['large']['id']}").json()
        assert large["attachments"] == [
            {
                "id": "1",
                "filename": "big.bin",
                "content_type": "application/octet-stream",
                "size": 102400,
            }
        ]
    assert all(message["seen"] for message in _messages(server, inbox))
