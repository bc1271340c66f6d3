"""Rate limits shared by every node through Redis, with this node's own buckets as a fallback.

Each bucket is one Redis key holding its GCRA "theoretical arrival time" (TAT): the moment the
bucket will be full again, in microseconds of Redis's own clock. A bucket of `capacity` tokens
refilled over `period` has an emission interval T = period / capacity; a request may spend one
token while TAT + T - now <= period, and spending moves TAT to max(TAT, now) + T. That is the
same token bucket `ratelimit.RateLimiter` keeps in memory (tokens = (now + period - TAT) / T),
so the answers, the rule that ran out and the Retry-After are the same.

Every decision is one Lua script run atomically inside Redis with Redis's `TIME`: nodes never
read, compute and write back, so two nodes cannot both spend the last token, and their clocks
do not matter. A key expires when its bucket is full again, so idle clients cost nothing.

When Redis cannot be reached (or answers with an error), the node decides on its own buckets,
logs that once, counts every such decision, and tries Redis again in the background every
`RETRY_SECONDS`; the first good answer switches it back and is logged once too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from tempmail.metrics import Metrics
from tempmail.ratelimit import Denied, LocalLimits, Rule
from tempmail.settings import redact_url

log = logging.getLogger(__name__)

KEY_PREFIX = "tempmail:limit:"
RETRY_SECONDS = 1.0
# Generous for a script that runs in microseconds, short enough that a Redis that stops
# answering costs one slow request before the node switches to its own buckets.
TIMEOUT_SECONDS = 0.5
POOL_SIZE = 32
_PROBE_CLIENT = "probe"

# KEYS: the gate bucket's key when ARGV[2] is 1, then the buckets to spend from (or, for
# "charge", the one bucket to charge). ARGV: mode ("take" or "charge"), the number of gate
# keys (0 or 1), then per key its period and emission interval, in microseconds.
# Returns {index of the key that ran out (0 if none), microseconds until it would allow}.
# TATs are written with %.17g: Lua's own number-to-string keeps 14 digits, which would round
# a microsecond timestamp.
GCRA_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local mode = ARGV[1]
local gates = tonumber(ARGV[2])
local spent = {}
local worst, worst_wait = 0, 0
for i = 1, #KEYS do
  local period = tonumber(ARGV[1 + 2 * i])
  local interval = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or 0)
  if tat < now then tat = now end
  if mode == 'charge' then
    local charged = math.min(tat + interval, now + period)
    redis.call('SET', KEYS[i], string.format('%.17g', charged),
               'PX', math.max(1, math.ceil((charged - now) / 1000)))
    return {0, 0}
  end
  local wait = tat + interval - now - period
  if i <= gates then
    if wait > 0 then return {i, math.ceil(wait)} end
  elseif wait > worst_wait then
    worst, worst_wait = i, wait
  end
  spent[i] = tat + interval
end
if worst > 0 then return {worst, math.ceil(worst_wait)} end
for i = gates + 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.17g', spent[i]),
             'PX', math.max(1, math.ceil((spent[i] - now) / 1000)))
end
return {0, 0}
"""


def _micros(seconds: float) -> str:
    return repr(seconds * 1_000_000)


class RedisLimits:
    """`Limits` kept in Redis, so every node spends from the same buckets."""

    def __init__(
        self,
        url: str,
        rules: Mapping[str, Rule],
        local: LocalLimits,
        metrics: Metrics,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._rules = dict(rules)
        self._local = local
        self._metrics = metrics
        self._retry_seconds = retry_seconds
        self._where = redact_url(url)
        # One immediate retry on a dropped connection (a pooled connection Redis closed while
        # idle, or a restart); none on timeouts, which would only double the wait.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=TIMEOUT_SECONDS,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 1, (RedisConnectionError,)),
        )
        self._redis = Redis.from_pool(pool)
        self._script = self._redis.register_script(GCRA_SCRIPT)
        self._up = True
        self._probe: asyncio.Task[None] | None = None
        metrics.rate_limit_redis_up.set(1)

    @property
    def shared(self) -> bool:
        """Whether decisions are being made in Redis right now."""
        return self._up

    async def take(
        self, client: str, names: Sequence[str], gate: str | None = None
    ) -> Denied | None:
        if self._up:
            keys = [gate, *names] if gate is not None else list(names)
            try:
                index, wait = await self._run(client, "take", keys, 1 if gate else 0)
            except _FAILURES as error:
                self._lost(error)
            else:
                return None if index == 0 else Denied(keys[index - 1], wait / 1_000_000)
        self._metrics.rate_limit_local_decisions.inc()
        return await self._local.take(client, names, gate)

    async def charge(self, client: str, name: str) -> None:
        if self._up:
            try:
                await self._run(client, "charge", [name], 0)
            except _FAILURES as error:
                self._lost(error)
            else:
                return
        self._metrics.rate_limit_local_decisions.inc()
        await self._local.charge(client, name)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        await self._redis.aclose()

    async def _run(
        self, client: str, mode: str, names: Sequence[str], gates: int
    ) -> tuple[int, int]:
        # The client in braces is a Redis Cluster hash tag: one request's keys share a slot.
        keys = [f"{KEY_PREFIX}{{{client}}}:{name}" for name in names]
        arguments: list[Any] = [mode, gates]
        for name in names:
            rule = self._rules[name]
            arguments += [_micros(rule.period), _micros(rule.period / rule.capacity)]
        reply = await self._script(keys=keys, args=arguments)
        index, wait = reply
        return int(index), int(wait)

    def _lost(self, error: BaseException) -> None:
        self._metrics.rate_limit_redis_errors.inc()
        if not self._up:
            return
        self._up = False
        self._metrics.rate_limit_redis_up.set(0)
        log.warning(
            "rate limits: Redis at %s failed (%s); using this node's own buckets until it is back",
            self._where,
            type(error).__name__,
        )
        self._probe = asyncio.get_running_loop().create_task(
            self._return_when_back(), name="tempmail-redis-probe"
        )

    async def _return_when_back(self) -> None:
        while True:
            await asyncio.sleep(self._retry_seconds)
            try:
                # A real decision on a key of its own: it proves the script runs and writes.
                await self._run(_PROBE_CLIENT, "charge", [next(iter(self._rules))], 0)
            except _FAILURES:
                self._metrics.rate_limit_redis_errors.inc()
                continue
            break
        self._up = True
        self._metrics.rate_limit_redis_up.set(1)
        log.info("rate limits: Redis at %s answers again; limits are shared again", self._where)


_FAILURES = (RedisError, OSError, asyncio.TimeoutError)
