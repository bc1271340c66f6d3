"""The tempmail JSON API calls the bench makes (httpx, loopback only, no proxies)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class InboxCredentials:
    inbox_id: str
    address: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def http_client(base_url: str, connections: int = 32, timeout: float = 60.0) -> httpx.AsyncClient:
    """A pooled client; `trust_env=False` so no proxy setting can send traffic off the host."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        trust_env=False,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


async def bounded_map(
    function: Callable[[T], Awaitable[R]], items: Sequence[T], concurrency: int
) -> list[R]:
    """`function` over `items` with at most `concurrency` calls in flight; results in order."""
    results: list[R | None] = [None] * len(items)
    cursor = iter(range(len(items)))

    async def worker() -> None:
        for index in cursor:
            results[index] = await function(items[index])

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return [result for result in results if result is not None]


async def create_inbox(
    client: httpx.AsyncClient, ttl_hours: float | None = None
) -> InboxCredentials:
    body: dict[str, Any] = {} if ttl_hours is None else {"ttl_hours": ttl_hours}
    response = await client.post("/api/v1/inboxes", json=body)
    response.raise_for_status()
    created = response.json()
    return InboxCredentials(created["inbox_id"], created["address"], created["token"])


async def create_inboxes(
    client: httpx.AsyncClient, count: int, concurrency: int = 16
) -> list[InboxCredentials]:
    return await bounded_map(lambda _: create_inbox(client), range(count), concurrency)


async def list_messages(client: httpx.AsyncClient, inbox: InboxCredentials) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/inboxes/{inbox.inbox_id}/messages", headers=inbox.auth)
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def raw_message(client: httpx.AsyncClient, inbox: InboxCredentials, message_id: str) -> bytes:
    response = await client.get(f"/api/v1/messages/{message_id}/raw", headers=inbox.auth)
    response.raise_for_status()
    return response.content


async def set_ttl(client: httpx.AsyncClient, inbox: InboxCredentials, ttl_hours: float) -> None:
    response = await client.patch(
        f"/api/v1/inboxes/{inbox.inbox_id}", json={"ttl_hours": ttl_hours}, headers=inbox.auth
    )
    response.raise_for_status()


async def admin_expire(client: httpx.AsyncClient, api_key: str) -> int:
    response = await client.post(
        "/api/v1/admin/expire", headers={"X-API-Key": api_key}, timeout=600
    )
    response.raise_for_status()
    return int(response.json()["expired"])


async def admin_stats(client: httpx.AsyncClient, api_key: str) -> dict[str, Any]:
    response = await client.get("/api/v1/admin/stats", headers={"X-API-Key": api_key})
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


async def metric_sum(client: httpx.AsyncClient, name: str) -> float | None:
    """The value of one sample (e.g. `tempmail_expiry_pass_seconds_sum`) from /metrics."""
    response = await client.get("/metrics")
    if response.status_code != 200:
        return None
    for line in response.text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None
