"""Throwaway PostgreSQL and Redis servers on loopback, for the tests that need real ones.

Both come from Debian's packages (`postgresql`, `redis-server`; `.ci/run` and `make test`
install them). `initdb` refuses to run as root, so when the tests run as root (CI does) the
cluster belongs to the `postgres` user, in a temp dir that user owns. Each server listens on
127.0.0.1 only, on a free port, and keeps nothing once stopped.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "install Debian's postgresql and redis-server packages (make test does it as root)"
START_SECONDS = 60


class ServiceMissing(RuntimeError):
    """A server binary the tests need is not installed."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's server binaries (Debian keeps them off PATH)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise ServiceMissing(f"PostgreSQL is not installed: {INSTALL_HINT}")
    return candidates[-1].parent


def _wait_for_port(port: int, what: str, alive: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"{what} exited with status {alive.returncode} while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {START_SECONDS} s")


@dataclass
class PostgresServer:
    """A PostgreSQL cluster of its own: `url()` for a database in it, `stop()`/`start()`."""

    root: Path
    port: int
    password: str
    bin_dir: Path
    owner: str | None
    """The user the cluster runs as (None: the current user)."""

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sockets"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, command: list[str]) -> list[str]:
        return command if self.owner is None else ["runuser", "-u", self.owner, "--", *command]

    def _pg_ctl(self, *arguments: str) -> None:
        subprocess.run(
            self._as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *arguments]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=START_SECONDS * 2,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
            " -c max_connections=300 -c fsync=on"
        )
        self._pg_ctl(
            "-w", "-t", str(START_SECONDS), "-l", str(self.root / "log"), "-o", options, "start"
        )
        _wait_for_port(self.port, "PostgreSQL")

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster (`immediate` is a crash as far as the server is concerned)."""
        self._pg_ctl("-w", "-m", mode, "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one statement with Debian's psql and return its unaligned output."""
        done = subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
                self.url(database),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout.strip()

    def new_database(self) -> str:
        """A fresh empty database; returns its URL."""
        name = f"t_{secrets.token_hex(6)}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """initdb a cluster in a new temp dir and start it on a free loopback port."""
    bin_dir = postgres_bin_dir()
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="tempmail-pg-"))
    password = secrets.token_hex(16)
    server = PostgresServer(root, free_port(), password, bin_dir, owner)
    try:
        server.socket_dir.mkdir()
        password_file = root / "password"
        password_file.write_text(password + "\n")
        if owner is not None:
            account = pwd.getpwnam(owner)
            for path in (root, server.socket_dir, password_file):
                os.chown(path, account.pw_uid, account.pw_gid)
        subprocess.run(
            server._as_owner(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(server.data_dir),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={password_file}",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=START_SECONDS * 2,
        )
        password_file.unlink()
        server.start()
    except BaseException:
        server.remove()
        raise
    return server


@contextlib.contextmanager
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.remove()


@dataclass
class RedisServer:
    """A redis-server with no persistence: `url` to reach it, `stop()`/`start()`."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceMissing(f"redis-server is not installed: {INSTALL_HINT}")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, "redis-server", self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@contextlib.contextmanager
def redis() -> Iterator[RedisServer]:
    server = RedisServer(Path(tempfile.mkdtemp(prefix="tempmail-redis-")), free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
