"""Expiry: deleting inboxes past their time, with all their messages and keys.

`Expirer.run_once` is one pass (tests call it directly); `run_forever` is the loop around it,
which logs a failed pass and carries on. A pass deletes in small batches and yields between them
so SMTP replies keep flowing, then checkpoints the WAL so deleted pages leave no copies behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from tempmail.clock import now_ms
from tempmail.errors import CheckpointBusy, StorageError
from tempmail.events import Event, EventHub
from tempmail.metrics import Metrics
from tempmail.storage import Store

log = logging.getLogger(__name__)

BATCH_SIZE = 200
CHECKPOINT_ATTEMPTS = 3
CHECKPOINT_RETRY_SECONDS = 1.0


class Expirer:
    """Removes expired inboxes; `run_once` is one pass, `run_forever` the loop around it."""

    def __init__(
        self,
        store: Store,
        hub: EventHub,
        metrics: Metrics,
        clock: Callable[[], int] = now_ms,
        after_pass: Callable[[], Awaitable[object]] | None = None,
        quarantine_ms: int = 0,
    ) -> None:
        self._after_pass = after_pass
        self.quarantine_ms = quarantine_ms
        self._metrics = metrics
        self._store = store
        self._hub = hub
        self._clock = clock
        self.passes = 0
        self.last_success: float | None = None
        self.checkpoint_retry_seconds = CHECKPOINT_RETRY_SECONDS

    async def run_once(self) -> int:
        """Delete every inbox that has expired; returns how many."""
        started = time.perf_counter()
        removed = 0
        async with self._store.expiry_pass() as ours:
            while ours:
                expired = await self._store.expire(self._clock(), BATCH_SIZE, self.quarantine_ms)
                for inbox_id in expired:
                    self._hub.publish(inbox_id, Event("expired", {}))
                removed += len(expired)
                self._metrics.inboxes_expired.inc(len(expired))
                if len(expired) < BATCH_SIZE:
                    break
                await asyncio.sleep(0)
        # Also folds in pages freed by deletions made through the API since the last pass.
        await self._checkpoint()
        if removed:
            log.info(
                "expiry pass removed %d inbox(es)",
                removed,
                extra={"removed": removed, "duration": round(time.perf_counter() - started, 6)},
            )
        if self._after_pass is not None:
            await self._after_pass()
        self.passes += 1
        self.last_success = time.time()
        self._metrics.expiry_duration.observe(time.perf_counter() - started)
        self._metrics.expiry_last_success.set(self.last_success)
        return removed

    async def _checkpoint(self) -> bool:
        """Checkpoint the WAL, retrying while readers keep it busy; True once it finished.

        An unfinished checkpoint leaves deleted pages in the WAL until the next pass: logged
        and counted (`tempmail_wal_checkpoint_busy`), never silent, and not a failed pass.
        """
        for attempt in range(1, CHECKPOINT_ATTEMPTS + 1):
            try:
                await self._store.checkpoint()
                return True
            except CheckpointBusy as busy:
                self._metrics.checkpoint_busy.inc()
                log.warning(
                    "WAL checkpoint attempt %d of %d: %s", attempt, CHECKPOINT_ATTEMPTS, busy
                )
            if attempt < CHECKPOINT_ATTEMPTS:
                await asyncio.sleep(self.checkpoint_retry_seconds * attempt)
        log.warning(
            "WAL checkpoint still blocked; deleted pages stay in the WAL until the next pass"
        )
        return False

    async def run_forever(self, interval_seconds: float) -> None:
        while True:
            try:
                await self.run_once()
            except StorageError:
                log.warning("expiry pass failed on storage; retrying in %.0f s", interval_seconds)
            except Exception:
                log.exception("expiry pass failed")
            await asyncio.sleep(interval_seconds)
