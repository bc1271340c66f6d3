"""The expiry pass's WAL checkpoint: a reader that blocks it is logged, counted and retried."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from tempmail.events import EventHub
from tempmail.expiry import CHECKPOINT_ATTEMPTS, Expirer
from tempmail.metrics import Metrics
from tempmail.storage import SQLiteStore


def _busy_count(metrics: Metrics) -> float:
    value = metrics.registry.get_sample_value("tempmail_wal_checkpoint_busy_total")
    return value or 0.0


def test_blocked_checkpoint_is_logged_counted_retried_then_completes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tempmail.sqlite3"

    async def scenario() -> tuple[float, float, int]:
        store = await SQLiteStore.open(path, busy_timeout_ms=50)
        metrics = Metrics()
        expirer = Expirer(store, EventHub(), metrics)
        expirer.checkpoint_retry_seconds = 0.01
        try:
            await store.set_meta("probe", b"one")
            # A reader in the middle of a transaction pins the WAL as it was.
            reader = sqlite3.connect(path)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
            await store.set_meta("probe", b"two")
            with caplog.at_level(logging.WARNING, logger="tempmail.expiry"):
                await expirer.run_once()
            blocked = _busy_count(metrics)
            reader.rollback()
            reader.close()
            await expirer.run_once()
            after = _busy_count(metrics)
            wal = path.with_name(path.name + "-wal")
            return blocked, after, wal.stat().st_size if wal.exists() else 0
        finally:
            await store.close()

    blocked, after, wal_size = asyncio.run(scenario())
    assert blocked == CHECKPOINT_ATTEMPTS
    assert after == blocked  # the second pass finished at the first attempt
    assert wal_size == 0
    warnings = [record.getMessage() for record in caplog.records]
    assert any("WAL checkpoint attempt 1 of" in text for text in warnings)
    assert any("still blocked" in text for text in warnings)
