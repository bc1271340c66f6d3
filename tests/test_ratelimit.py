"""Rate limits: one behaviour suite run against this node's own buckets and against Redis.

Both backends must give the same answers (which rule ran out, how long to wait), the same 429
with Retry-After over HTTP, and Redis must make several nodes allow together what one allows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from tempmail import settings
from tempmail.cli import main
from tempmail.errors import ConfigError
from tempmail.metrics import Metrics
from tempmail.ratelimit import Denied, Limits, LocalLimits, RateLimiter, Rule
from tempmail.redislimits import RedisLimits
from tests import servers
from tests.helpers import RunningServer, start_server

T = TypeVar("T")
BACKENDS = ["memory", "redis"]
RULES = {
    "minute": Rule(5, 60),
    "hour": Rule(100, 3600),
    "create": Rule(2, 3600),
    "auth": Rule(2, 60),
    "fast": Rule(2, 1),
}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_limits(backend: str, request: pytest.FixtureRequest) -> Callable[[], Limits]:
    """Builds the backend under test; Redis ones on the session's emptied redis-server."""
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""

    def make() -> Limits:
        local = LocalLimits(RateLimiter(RULES))
        return RedisLimits(url, RULES, local, Metrics()) if url else local

    return make


def run(make: Callable[[], Limits], scenario: Callable[[Limits], Awaitable[T]]) -> T:
    async def main() -> T:
        limits = make()
        try:
            return await scenario(limits)
        finally:
            await limits.close()

    return asyncio.run(main())


def test_capacity_then_the_wait_for_one_token(make_limits: Callable[[], Limits]) -> None:
    async def scenario(limits: Limits) -> list[Denied | None]:
        return [await limits.take("198.51.100.1", ["minute"]) for _ in range(6)]

    answers = run(make_limits, scenario)
    assert answers[:5] == [None] * 5
    denied = answers[5]
    assert denied is not None and denied.rule == "minute"
    # 5 per minute refill one every 12 s; a little of it has passed since the first take.
    assert 10 < denied.wait <= 12


def test_all_or_nothing_and_the_longest_wait_is_named(make_limits: Callable[[], Limits]) -> None:
    async def scenario(limits: Limits) -> list[Denied | None]:
        client = "198.51.100.2"
        answers = [await limits.take(client, ["minute", "hour", "create"]) for _ in range(3)]
        # The refused creation took nothing: three of five minute tokens are still there.
        answers += [await limits.take(client, ["minute", "hour"]) for _ in range(4)]
        return answers

    answers = run(make_limits, scenario)
    assert answers[:2] == [None, None]
    refused = answers[2]
    assert refused is not None and refused.rule == "create"
    assert 1790 < refused.wait <= 1800
    assert answers[3:6] == [None, None, None]
    last = answers[6]
    assert last is not None and last.rule == "minute"


def test_gate_refuses_without_spending(make_limits: Callable[[], Limits]) -> None:
    async def scenario(limits: Limits) -> list[Denied | None]:
        client = "198.51.100.3"
        for _ in range(5):  # never below empty: five charges on a bucket of two
            await limits.charge(client, "auth")
        gated = [await limits.take(client, ["minute"], gate="auth") for _ in range(3)]
        other = [await limits.take("198.51.100.4", ["minute"], gate="auth")]
        ungated = [await limits.take(client, ["minute"]) for _ in range(6)]
        return gated + other + ungated

    answers = run(make_limits, scenario)
    for denied in answers[:3]:
        assert denied is not None and denied.rule == "auth"
        # Empty, not 1.5 tokens in debt: one token is 30 s away, not 120.
        assert 28 < denied.wait <= 30
    assert answers[3] is None
    # The gated refusals spent nothing from the minute bucket.
    assert answers[4:9] == [None] * 5
    assert answers[9] is not None and answers[9].rule == "minute"


def test_waiting_the_stated_time_is_enough(make_limits: Callable[[], Limits]) -> None:
    async def scenario(limits: Limits) -> list[Denied | None]:
        client = "198.51.100.5"
        answers = [await limits.take(client, ["fast"]) for _ in range(3)]
        denied = answers[2]
        assert denied is not None
        await asyncio.sleep(denied.wait + 0.05)
        answers.append(await limits.take(client, ["fast"]))
        answers.append(await limits.take(client, ["fast"]))
        return answers

    answers = run(make_limits, scenario)
    assert answers[:2] == [None, None]
    assert answers[2] is not None and 0 < answers[2].wait <= 0.5
    assert answers[3] is None
    assert answers[4] is not None and answers[4].rule == "fast"


def test_both_backends_give_the_same_answers(redis_url: str) -> None:
    """The same sequence of calls, side by side: identical rules refused, waits within 1 s."""

    async def sequence(limits: Limits) -> list[tuple[str, float] | None]:
        answers: list[Denied | None] = []
        for n in range(24):
            client = f"203.0.113.{n % 2}"
            if n % 5 == 4:
                await limits.charge(client, "auth")
            names = ["minute", "hour", "create"] if n % 2 else ["minute", "hour"]
            answers.append(await limits.take(client, names, gate="auth"))
        return [None if a is None else (a.rule, a.wait) for a in answers]

    memory = run(lambda: LocalLimits(RateLimiter(RULES)), sequence)
    shared = run(
        lambda: RedisLimits(redis_url, RULES, LocalLimits(RateLimiter(RULES)), Metrics()),
        sequence,
    )
    assert [a and a[0] for a in shared] == [a and a[0] for a in memory]
    assert {a[0] for a in memory if a is not None} == {"minute", "create", "auth"}
    for ours, theirs in zip(shared, memory, strict=True):
        if ours is not None and theirs is not None:
            assert abs(ours[1] - theirs[1]) < 1


# Over HTTP, through the real server.

LIMITED = {
    "TEMPMAIL_LIMITS_REQUESTS_PER_MINUTE": "6",
    "TEMPMAIL_LIMITS_REQUESTS_PER_HOUR": "1000",
    "TEMPMAIL_LIMITS_INBOX_CREATIONS_PER_HOUR": "2",
    "TEMPMAIL_LIMITS_AUTH_FAILURES_PER_MINUTE": "3",
    "TEMPMAIL_HTTP_TRUSTED_PROXIES": "127.0.0.1",
}


def _limited(tmp_path: Path, name: str, redis_url: str = "", **extra: str) -> RunningServer:
    environ = {**LIMITED, **extra}
    if redis_url:
        environ["TEMPMAIL_LIMITS_REDIS_URL"] = redis_url
    return start_server(tmp_path / name, environ)


@pytest.fixture
def limited(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[RunningServer]:
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    server = _limited(tmp_path, "node", url)
    try:
        yield server
    finally:
        server.stop()


def _as(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _guessing(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, "Authorization": "Bearer not-a-token"}


def test_http_429_with_retry_after(limited: RunningServer) -> None:
    with limited.client() as client:
        statuses = [
            client.get("/api/v1/inbox", headers=_guessing("198.51.100.7")).status_code
            for _ in range(5)
        ]
        refused = client.get("/api/v1/inbox", headers=_guessing("198.51.100.7"))
        other = client.get("/api/v1/inbox", headers=_guessing("198.51.100.8"))
        v6_a = [client.get("/api/v1/inbox", headers=_guessing("2001:db8:0:1::a")) for _ in range(4)]
        v6_b = client.get("/api/v1/inbox", headers=_guessing("2001:db8:0:1::b"))
    assert statuses == [401] * 3 + [429] * 2  # three bad tokens close the auth gate
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "rate_limited",
        "message": refused.json()["message"],
    }
    assert "invalid token" in refused.json()["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    assert other.status_code == 401
    # An IPv6 /64 is one client.
    assert [r.status_code for r in v6_a] == [401] * 3 + [429]
    assert v6_b.status_code == 429


def test_http_request_and_creation_budgets(limited: RunningServer) -> None:
    with limited.client() as client:
        created = [
            client.post("/api/v1/inboxes", json={}, headers=_as("198.51.100.9")).status_code
            for _ in range(3)
        ]
        refused = client.post("/api/v1/inboxes", json={}, headers=_as("198.51.100.9"))
        domains = [
            client.get("/api/v1/domains", headers=_as("198.51.100.9")).status_code for _ in range(4)
        ]
        last = client.get("/api/v1/domains", headers=_as("198.51.100.9"))
    assert created == [201, 201, 429]
    assert refused.status_code == 429 and "new inboxes" in refused.json()["message"]
    assert 1700 <= int(refused.headers["retry-after"]) <= 1800
    # Refused creations spent nothing from the request budget: 2 + 4 = 6 per minute.
    assert domains == [200] * 4
    assert last.status_code == 429 and "Too many requests" in last.json()["message"]
    assert 1 <= int(last.headers["retry-after"]) <= 10


def _http_statuses(servers: list[RunningServer], address: str, count: int) -> list[int]:
    clients = [server.client() for server in servers]
    try:
        return [
            clients[n % len(clients)].get("/api/v1/domains", headers=_as(address)).status_code
            for n in range(count)
        ]
    finally:
        for client in clients:
            client.close()


def test_nodes_sharing_redis_allow_together_what_one_allows(tmp_path: Path, redis_url: str) -> None:
    nodes = [_limited(tmp_path, f"node{n}", redis_url) for n in range(3)]
    alone = [_limited(tmp_path, f"alone{n}") for n in range(2)]
    try:
        shared = _http_statuses(nodes, "198.51.100.20", 15)
        separate = _http_statuses(alone, "198.51.100.20", 15)
    finally:
        for server in nodes + alone:
            server.stop()
    assert shared.count(200) == 6 and shared.count(429) == 9
    # Without Redis each node keeps its own buckets: twice the budget for two nodes.
    assert separate.count(200) == 12


# Redis failing under a running node.


def _metric(server: RunningServer, name: str) -> float:
    with server.client() as client:
        text = client.get("/metrics").text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def _keys(admin: redis.Redis) -> list[str]:
    return sorted(key.decode() for key in admin.keys("tempmail:limit:*"))


@pytest.fixture
def own_redis() -> Iterator[servers.RedisServer]:
    """A redis-server of this test's own, to stop, restart and break."""
    with servers.redis() as service:
        yield service


def test_redis_stopped_and_restarted(
    tmp_path: Path, own_redis: servers.RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tempmail.redislimits")
    server = _limited(tmp_path, "node", own_redis.url)
    try:
        with server.client() as client, redis.Redis.from_url(own_redis.url) as admin:
            assert client.get("/api/v1/domains", headers=_as("198.51.100.30")).status_code == 200
            assert _keys(admin) == [
                "tempmail:limit:{198.51.100.30}:hour",
                "tempmail:limit:{198.51.100.30}:minute",
            ]
            own_redis.stop()
            statuses = [
                client.get("/api/v1/domains", headers=_as("198.51.100.31")).status_code
                for _ in range(8)
            ]
            # The node's own buckets hold the same limit while Redis is away.
            assert statuses == [200] * 6 + [429] * 2
            assert _metric(server, "tempmail_rate_limit_redis_up") == 0
            assert _metric(server, "tempmail_rate_limit_local_decisions_total") >= 8
            assert _metric(server, "tempmail_rate_limit_redis_errors_total") >= 1
            own_redis.start()
            _wait_for(lambda: _metric(server, "tempmail_rate_limit_redis_up") == 1)
            assert client.get("/api/v1/domains", headers=_as("198.51.100.32")).status_code == 200
            assert "tempmail:limit:{198.51.100.32}:minute" in _keys(admin)
    finally:
        server.stop()
    lost = [r for r in caplog.records if "using this node's own buckets" in r.getMessage()]
    back = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert len(lost) == 1 and len(back) == 1
    assert own_redis.url.split("//")[1] in lost[0].getMessage()


def test_script_cache_flushed_and_connections_killed(tmp_path: Path, redis_url: str) -> None:
    server = _limited(tmp_path, "node", redis_url)
    try:
        with redis.Redis.from_url(redis_url) as admin:
            assert _http_statuses([server], "198.51.100.40", 2) == [200, 200]
            admin.script_flush()
            assert _http_statuses([server], "198.51.100.40", 2) == [200, 200]
            admin.client_kill_filter(_type="normal", skipme=True)
            assert _http_statuses([server], "198.51.100.40", 3) == [200, 200, 429]
            assert 0 < admin.pttl("tempmail:limit:{198.51.100.40}:minute") <= 60_000
        # NOSCRIPT was answered by loading the script again, a killed connection by one retry.
        assert _metric(server, "tempmail_rate_limit_redis_errors_total") == 0
        assert _metric(server, "tempmail_rate_limit_redis_up") == 1
    finally:
        server.stop()


def test_redis_error_replies_fall_back_then_recover(
    tmp_path: Path, own_redis: servers.RedisServer
) -> None:
    server = _limited(tmp_path, "node", own_redis.url)
    try:
        with redis.Redis.from_url(own_redis.url) as admin:
            admin.config_set("maxmemory-policy", "noeviction")
            admin.config_set("maxmemory", "1")
            # Writes are refused with OOM: requests are still decided, on the node's buckets.
            assert _http_statuses([server], "198.51.100.50", 8) == [200] * 6 + [429] * 2
            assert _metric(server, "tempmail_rate_limit_redis_up") == 0
            admin.config_set("maxmemory", "0")
            _wait_for(lambda: _metric(server, "tempmail_rate_limit_redis_up") == 1)
            assert _http_statuses([server], "198.51.100.51", 1) == [200]
            assert admin.exists("tempmail:limit:{198.51.100.51}:minute") == 1
    finally:
        server.stop()


def test_redis_url_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert settings.load(None, {}).limits.redis_url == ""
    url = "redis://tempmail:s3cret-pass@127.0.0.1:6379/2"
    config = settings.load(None, {"TEMPMAIL_LIMITS_REDIS_URL": url})
    assert config.limits.redis_url == url
    with pytest.raises(ConfigError) as error:
        settings.load(None, {"TEMPMAIL_LIMITS_REDIS_URL": "http://127.0.0.1:6379"})
    assert "limits.redis_url (from TEMPMAIL_LIMITS_REDIS_URL)" in str(error.value)
    config_file = tmp_path / "tempmail.toml"
    config_file.write_text(f'data_dir = "{tmp_path / "data"}"\n[limits]\nredis_url = "{url}"\n')
    assert main(["check-config", "--config", str(config_file)]) == 0
    printed = capsys.readouterr().out
    assert 'redis_url = "redis://tempmail:***@127.0.0.1:6379/2"' in printed
    assert "s3cret" not in printed
