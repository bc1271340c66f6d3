"""The throwaway PostgreSQL and Redis the other tests rely on really run, and only on loopback."""

from __future__ import annotations

import socket

from tests import servers


def test_postgres_gives_each_test_its_own_database(postgres_server: servers.PostgresServer) -> None:
    first, second = postgres_server.new_database(), postgres_server.new_database()
    assert first != second
    first_name = first.rsplit("/", 1)[1]
    postgres_server.psql("CREATE TABLE marker (n int)", first_name)
    names = postgres_server.psql("SELECT datname FROM pg_database ORDER BY datname").split()
    assert first_name in names and second.rsplit("/", 1)[1] in names
    assert (
        postgres_server.psql(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'marker'", first_name
        )
        == "1"
    )
    settings = postgres_server.psql("SHOW listen_addresses") + postgres_server.psql("SHOW fsync")
    assert settings == "127.0.0.1on"
    assert (postgres_server.data_dir / "PG_VERSION").exists()


def test_postgres_stops_and_starts_again(postgres_server: servers.PostgresServer) -> None:
    postgres_server.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", postgres_server.port)) != 0
    postgres_server.start()
    assert postgres_server.psql("SELECT 1") == "1"


def test_redis_answers_on_loopback(redis_server: servers.RedisServer) -> None:
    with socket.create_connection(("127.0.0.1", redis_server.port), 5) as connection:
        connection.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert connection.recv(64) == b"+PONG\r\n"
    assert redis_server.url.startswith("redis://127.0.0.1:")
