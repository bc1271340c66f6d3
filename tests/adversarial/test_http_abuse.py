"""Rate limits, client identification, CORS, security headers and the admin API under attack."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tempmail.clients import ClientResolver, bucket_key
from tempmail.ratelimit import RateLimiter, Rule
from tests.helpers import RunningServer, create_inbox, make_message, send_mail, start_server

ADMIN_KEY = "correct-horse-battery-staple"


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path / "data",
        {
            "TEMPMAIL_LIMITS_REQUESTS_PER_MINUTE": "20",
            "TEMPMAIL_LIMITS_REQUESTS_PER_HOUR": "1000",
            "TEMPMAIL_LIMITS_INBOX_CREATIONS_PER_HOUR": "3",
            "TEMPMAIL_LIMITS_AUTH_FAILURES_PER_MINUTE": "4",
            "TEMPMAIL_HTTP_TRUSTED_PROXIES": "127.0.0.1",
            "TEMPMAIL_API_KEY": ADMIN_KEY,
        },
    )
    try:
        yield server
    finally:
        server.stop()


def _as(client_ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": client_ip}


def test_requests_per_minute_gives_429_with_retry_after(limited: RunningServer) -> None:
    with limited.client() as client:
        statuses = [
            client.get("/api/v1/inboxes/x", headers=_as("198.51.100.1")).status_code
            for _ in range(25)
        ]
        assert statuses.count(429) == 5
        refused = client.get("/api/v1/inboxes/x", headers=_as("198.51.100.1"))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["error"] == "rate_limited"
        # Another client is unaffected, and non-API routes are not limited.
        assert client.get("/api/v1/inboxes/x", headers=_as("198.51.100.2")).status_code == 401
        assert client.get("/health", headers=_as("198.51.100.1")).status_code == 200


def test_inbox_creations_per_hour(limited: RunningServer) -> None:
    with limited.client() as client:
        created = [
            client.post("/api/v1/inboxes", headers=_as("203.0.113.9")).status_code for _ in range(4)
        ]
        assert created == [201, 201, 201, 429]
        refused = client.post("/api/v1/inboxes", headers=_as("203.0.113.9"))
        assert "new inboxes" in refused.json()["message"]
        assert int(refused.headers["retry-after"]) > 60
        assert client.post("/api/v1/inboxes", headers=_as("203.0.113.10")).status_code == 201


def test_repeated_bad_tokens_are_limited(limited: RunningServer) -> None:
    inbox = create_inbox(limited)
    with limited.client() as client:
        for attempt in range(4):
            bad = client.get(
                f"/api/v1/inboxes/{inbox['inbox_id']}",
                headers={**_as("192.0.2.77"), "Authorization": f"Bearer guess-{attempt}"},
            )
            assert bad.status_code == 401
        # Now even the right token waits: guessing costs the guesser, not the inbox holder.
        blocked = client.get(
            f"/api/v1/inboxes/{inbox['inbox_id']}",
            headers={**_as("192.0.2.77"), "Authorization": f"Bearer {inbox['token']}"},
        )
        assert blocked.status_code == 429
        assert "invalid token" in blocked.json()["message"]
        fine = client.get(
            f"/api/v1/inboxes/{inbox['inbox_id']}",
            headers={**_as("192.0.2.78"), "Authorization": f"Bearer {inbox['token']}"},
        )
        assert fine.status_code == 200


def test_ipv6_clients_share_a_bucket_per_64(limited: RunningServer) -> None:
    with limited.client() as client:
        for host in range(20):
            client.get("/api/v1/inboxes/x", headers=_as(f"2001:db8:1:2::{host + 1:x}"))
        same_64 = client.get("/api/v1/inboxes/x", headers=_as("2001:db8:1:2:ffff::1"))
        assert same_64.status_code == 429
        other_64 = client.get("/api/v1/inboxes/x", headers=_as("2001:db8:1:3::1"))
        assert other_64.status_code == 401


def test_forwarded_headers_from_untrusted_peers_are_ignored(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_LIMITS_REQUESTS_PER_MINUTE": "5"})
    try:
        with server.client() as client:
            statuses = [
                client.get(
                    "/api/v1/inboxes/x",
                    headers={"X-Forwarded-For": f"10.0.0.{n}", "Forwarded": f"for=10.1.0.{n}"},
                ).status_code
                for n in range(8)
            ]
        # Every request counted against the real peer despite a new forwarded address each time.
        assert statuses == [401] * 5 + [429] * 3
    finally:
        server.stop()


def test_flood_of_distinct_clients_keeps_memory_bounded(limited: RunningServer) -> None:
    with limited.client() as client:
        for n in range(1500):
            address = ipaddress.ip_address("100.64.0.0") + n
            assert client.get("/api/v1/inboxes/x", headers=_as(str(address))).status_code == 401
        assert client.get("/health").status_code == 200
    assert limited.runtime.limiter is not None
    assert len(limited.runtime.limiter) <= 1501


def test_rate_limiter_evicts_idle_and_oldest_clients() -> None:
    now = [0.0]
    limiter = RateLimiter({"minute": Rule(2, 60)}, max_clients=3, clock=lambda: now[0])
    for client in "abcdef":
        limiter.take(client, ["minute"])
    assert len(limiter) == 3
    assert limiter.take("f", ["minute"]) is None
    assert limiter.take("f", ["minute"]) == ("minute", pytest.approx(30))
    now[0] += 60
    # Everyone has refilled: idle buckets are dropped as new clients arrive.
    limiter.take("g", ["minute"])
    assert len(limiter) == 1
    assert limiter.peek("g", "minute") == 0
    limiter.charge("g", "minute")
    assert limiter.peek("g", "minute") == pytest.approx(30)


def test_client_resolver_chain_rules() -> None:
    resolver = ClientResolver(["10.0.0.0/8", "::1"])
    assert str(resolver.resolve("203.0.113.5", [], ["198.51.100.1"])) == "203.0.113.5"
    assert str(resolver.resolve("10.0.0.2", [], ["198.51.100.1, 10.0.0.9"])) == "198.51.100.1"
    assert str(resolver.resolve("10.0.0.2", [], ["spoof, 198.51.100.1"])) == "198.51.100.1"
    assert str(resolver.resolve("10.0.0.2", [], ["garbage"])) == "10.0.0.2"
    # Only the configured header counts: a Forwarded header sent by the client is ignored.
    assert str(resolver.resolve("10.0.0.2", ["for=127.0.0.1"], ["198.51.100.1"])) == "198.51.100.1"
    rfc7239 = ClientResolver(["10.0.0.0/8", "::1"], "forwarded")
    assert str(rfc7239.resolve("::1", ['for="[2001:db8::7]:4711"'], [])) == "2001:db8::7"
    forwarded = ["for=192.0.2.60;proto=https"]
    assert str(rfc7239.resolve("::ffff:10.0.0.3", forwarded, [])) == "192.0.2.60"
    assert str(rfc7239.resolve("10.0.0.2", [], ["198.51.100.1"])) == "10.0.0.2"
    assert resolver.resolve(None, [], []) is None
    assert bucket_key(None) == "unknown"
    assert bucket_key(ipaddress.ip_address("2001:db8::1")) == "2001:db8::/64"


def test_cors_only_for_listed_origins(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"TEMPMAIL_HTTP_CORS_ORIGINS": "https://app.example"})
    try:
        with server.client() as client:
            allowed = client.options(
                "/api/v1/inboxes",
                headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
            )
            assert allowed.headers["access-control-allow-origin"] == "https://app.example"
            assert "access-control-allow-credentials" not in allowed.headers
            other = client.get("/health", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers
    finally:
        server.stop()


def test_no_cors_by_default_and_hsts_only_for_https(server: RunningServer, tmp_path: Path) -> None:
    with server.client() as client:
        response = client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in response.headers
        assert "strict-transport-security" not in response.headers
    secure = start_server(tmp_path / "secure", {"TEMPMAIL_HTTP_PUBLIC_URL": "https://mail.example"})
    try:
        with secure.client() as client:
            for path in ["/health", "/api/v1/inboxes/x", "/openapi.json", "/"]:
                headers = client.get(path).headers
                assert headers["strict-transport-security"].startswith("max-age="), path
                assert headers["x-content-type-options"] == "nosniff"
                assert headers["referrer-policy"] == "no-referrer"
    finally:
        secure.stop()


def test_admin_api(limited: RunningServer) -> None:
    inbox = create_inbox(limited)
    send_mail(limited, inbox["address"], make_message(inbox["address"], "Private subject"))
    short = create_inbox(limited, ttl_hours=0.00001)
    routes = [
        ("GET", "/api/v1/admin/stats"),
        ("GET", "/api/v1/admin/inboxes"),
        ("DELETE", f"/api/v1/admin/inboxes/{inbox['inbox_id']}"),
        ("POST", "/api/v1/admin/expire"),
    ]
    with limited.client() as client:
        for number, (method, path) in enumerate(routes):
            # A different client per probe so the failed-auth budget is not what answers.
            headers = _as(f"192.0.2.{number + 10}")
            assert client.request(method, path, headers=headers).status_code == 401
            wrong = client.request(method, path, headers={**headers, "X-API-Key": "wrong"})
            assert wrong.status_code == 401
            assert wrong.json()["error"] == "unauthorized"
        key = {"X-API-Key": ADMIN_KEY}
        stats = client.get("/api/v1/admin/stats", headers=key).json()
        assert stats["inboxes_stored"] == 2
        assert stats["messages_stored"] == 1
        assert stats["messages_received"] == 1
        assert stats["bytes_stored"] > 0
        assert stats["database_bytes"] > 0
        page = client.get("/api/v1/admin/inboxes", headers=key, params={"limit": 1}).json()
        assert page["total"] == 2 and page["limit"] == 1 and len(page["inboxes"]) == 1
        listing = client.get("/api/v1/admin/inboxes", headers=key)
        assert "Private subject" not in listing.text
        entry = next(i for i in listing.json()["inboxes"] if i["inbox_id"] == inbox["inbox_id"])
        assert entry["message_count"] == 1 and entry["address"] == inbox["address"]
        assert (
            client.get("/api/v1/admin/inboxes", headers=key, params={"limit": 0}).status_code == 400
        )
        time.sleep(0.05)  # `short` lives 36 ms; a fast run gets here sooner
        assert client.post("/api/v1/admin/expire", headers=key).json() == {"expired": 1}
        deleted = client.delete(f"/api/v1/admin/inboxes/{inbox['inbox_id']}", headers=key)
        assert deleted.status_code == 200
        assert (
            client.delete(f"/api/v1/admin/inboxes/{inbox['inbox_id']}", headers=key).status_code
            == 404
        )
        assert client.get("/api/v1/admin/stats", headers=key).json()["inboxes_stored"] == 0
    assert short["inbox_id"]


def test_admin_api_disabled_without_key(server: RunningServer) -> None:
    with httpx.Client(base_url=server.http_url) as client:
        response = client.get("/api/v1/admin/stats", headers={"X-API-Key": ""})
        assert response.status_code == 403
        assert "TEMPMAIL_API_KEY" in response.json()["message"]
