"""Fixtures: a real tempmail server on loopback with a real SQLite file in a temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import RunningServer, start_server
from tests.redis_server import RedisServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "data")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session; tests that stop or break Redis start their own."""
    service = RedisServer(tmp_path_factory.mktemp("redis"))
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def redis_url(redis_service: RedisServer) -> str:
    """The shared redis-server, emptied for this test."""
    with redis_service.client() as client:
        client.flushall()
    return redis_service.url
