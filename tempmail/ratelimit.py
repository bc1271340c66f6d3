"""In-memory token buckets per client, with a hard cap on how many clients are remembered.

Each client has one bucket per rule. Buckets of clients not seen for a while are dropped (least
recently seen first, and any that have refilled completely, since those are indistinguishable
from a fresh one), so memory stays bounded however many distinct clients appear.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

import msgspec


class Rule(msgspec.Struct, frozen=True):
    """`capacity` requests, refilled evenly over `period` seconds."""

    capacity: int
    period: float

    @property
    def rate(self) -> float:
        return self.capacity / self.period


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

    def acquire(self, client: str, names: Iterable[str], cost: float = 1.0) -> float:
        """Take `cost` from each named bucket if all have it; else take nothing.

        Returns 0 when allowed, or the seconds until the request would be allowed.
        """
        now = self._clock()
        buckets = self._buckets(client, now)
        wait = 0.0
        chosen: list[_Bucket] = []
        for name in names:
            rule = self._rules[name]
            bucket = buckets.get(name)
            if bucket is None:
                bucket = buckets[name] = _Bucket(rule.capacity, now)
            self._refill(bucket, rule, now)
            if bucket.tokens < cost:
                wait = max(wait, (cost - bucket.tokens) / rule.rate)
            chosen.append(bucket)
        if wait:
            return wait
        for bucket in chosen:
            bucket.tokens -= cost
        return 0.0

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
