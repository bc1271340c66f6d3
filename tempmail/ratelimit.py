"""Rate limits: the interface the HTTP middleware spends from, and this node's own buckets.

Each client has one bucket per rule. Buckets of clients not seen for a while are dropped (least
recently seen first, and any that have refilled completely, since those are indistinguishable
from a fresh one), so memory stays bounded however many distinct clients appear. `redislimits`
keeps the same buckets in Redis, shared by every node, with the same answers.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, Protocol

import msgspec


class Rule(msgspec.Struct, frozen=True):
    """`capacity` requests, refilled evenly over `period` seconds."""

    capacity: int
    period: float

    @property
    def rate(self) -> float:
        return self.capacity / self.period


class Denied(NamedTuple):
    """A refusal: the rule that ran out, and the seconds until the request would be allowed."""

    rule: str
    wait: float


class Limits(Protocol):
    """Where the middleware spends: this node's buckets, or buckets shared through Redis."""

    async def take(
        self, client: str, names: Sequence[str], gate: str | None = None
    ) -> Denied | None:
        """Refuse while `gate` holds less than one token (taking none from it); else take one
        from every named bucket if all have it, or take nothing and say which ran out."""

    async def charge(self, client: str, name: str) -> None:
        """Take one token from the named bucket after the fact (never below empty)."""

    async def close(self) -> None:
        """Release connections and background tasks."""


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class RateLimiter:
    """Token buckets keyed by (client, rule name)."""

    def __init__(
        self,
        rules: Mapping[str, Rule],
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rules = dict(rules)
        self._max_clients = max_clients
        self._clock = clock
        self._clients: OrderedDict[str, dict[str, _Bucket]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._clients)

    def _refill(self, bucket: _Bucket, rule: Rule, now: float) -> None:
        bucket.tokens = min(rule.capacity, bucket.tokens + (now - bucket.updated) * rule.rate)
        bucket.updated = now

    def _buckets(self, client: str, now: float) -> dict[str, _Bucket]:
        buckets = self._clients.get(client)
        if buckets is None:
            self._evict(now)
            buckets = {}
            self._clients[client] = buckets
        else:
            self._clients.move_to_end(client)
        return buckets

    def _idle(self, buckets: dict[str, _Bucket], now: float) -> bool:
        for name, bucket in buckets.items():
            rule = self._rules[name]
            if bucket.tokens + (now - bucket.updated) * rule.rate < rule.capacity:
                return False
        return True

    def _evict(self, now: float) -> None:
        while self._clients:
            oldest, buckets = next(iter(self._clients.items()))
            if len(self._clients) < self._max_clients and not self._idle(buckets, now):
                return
            del self._clients[oldest]

    def take(self, client: str, names: Sequence[str], gate: str | None = None) -> Denied | None:
        """`Limits.take` on this node's buckets."""
        if gate is not None:
            wait = self.peek(client, gate)
            if wait:
                return Denied(gate, wait)
        now = self._clock()
        buckets = self._buckets(client, now)
        worst: Denied | None = None
        chosen: list[_Bucket] = []
        for name in names:
            rule = self._rules[name]
            bucket = buckets.get(name)
            if bucket is None:
                bucket = buckets[name] = _Bucket(rule.capacity, now)
            self._refill(bucket, rule, now)
            if bucket.tokens < 1:
                wait = (1 - bucket.tokens) / rule.rate
                if worst is None or wait > worst.wait:
                    worst = Denied(name, wait)
            chosen.append(bucket)
        if worst is not None:
            return worst
        for bucket in chosen:
            bucket.tokens -= 1
        return None

    def peek(self, client: str, name: str) -> float:
        """Seconds until the named bucket holds a whole token (0 if it does now); takes none."""
        now = self._clock()
        rule = self._rules[name]
        bucket = self._buckets(client, now).setdefault(name, _Bucket(rule.capacity, now))
        self._refill(bucket, rule, now)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / rule.rate

    def charge(self, client: str, name: str) -> None:
        """Take one token from the named bucket after the fact (never below empty)."""
        now = self._clock()
        rule = self._rules[name]
        bucket = self._buckets(client, now).setdefault(name, _Bucket(rule.capacity, now))
        self._refill(bucket, rule, now)
        bucket.tokens = max(0.0, bucket.tokens - 1)


def retry_after(seconds: float) -> str:
    """A `Retry-After` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class LocalLimits:
    """`Limits` over this node's own buckets: the default, and Redis's stand-in while it is away."""

    def __init__(self, buckets: RateLimiter) -> None:
        self.buckets = buckets

    async def take(
        self, client: str, names: Sequence[str], gate: str | None = None
    ) -> Denied | None:
        return self.buckets.take(client, names, gate)

    async def charge(self, client: str, name: str) -> None:
        self.buckets.charge(client, name)

    async def close(self) -> None:
        return None
