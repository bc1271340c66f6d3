"""Fixtures: a real tempmail server on loopback with a real SQLite file in a temp dir, and
throwaway PostgreSQL and Redis servers (session-wide; see `tests/servers.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers
from tests.helpers import RunningServer, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "data")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[servers.PostgresServer]:
    """One PostgreSQL cluster for the whole run; tests take a database each (`postgres_url`)."""
    with servers.postgres() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_server: servers.PostgresServer) -> str:
    """The URL of a fresh, empty database of its own for this test."""
    return postgres_server.new_database()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[servers.RedisServer]:
    with servers.redis() as server:
        yield server
