"""Every store test runs against each backend: the embedded SQLite file and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tempmail.storage import PostgresStore, SQLiteStore, Store
from tests.servers import PostgresServer


@dataclass
class Backend:
    """How to open (another handle on) one fresh database of a backend."""

    name: str
    open: Callable[[], Awaitable[Store]]
    url: str = ""


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        path = tmp_path / "tempmail.sqlite3"

        async def open_sqlite() -> Store:
            return await SQLiteStore.open(path)

        return Backend("sqlite", open_sqlite)
    cluster: PostgresServer = request.getfixturevalue("postgres_server")
    url = cluster.new_database()

    async def open_postgres() -> Store:
        return await PostgresStore.open(url)

    return Backend("postgresql", open_postgres, url)
