"""The tempmail server under test, started as `python -m tempmail serve` in a fresh data dir."""

from __future__ import annotations

import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import processes

DATABASE_GLOB = "tempmail.sqlite3*"

# Never through a proxy from the environment: every request stays on the loopback interface.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Limits raised so the load measures throughput, not the abuse controls.
BENCH_SETTINGS = {
    "TEMPMAIL_LIMITS_REQUESTS_PER_MINUTE": "1000000",
    "TEMPMAIL_LIMITS_REQUESTS_PER_HOUR": "10000000",
    "TEMPMAIL_LIMITS_INBOX_CREATIONS_PER_HOUR": "1000000",
    "TEMPMAIL_SMTP_MAX_CONNECTIONS_PER_IP": "1000",
    "TEMPMAIL_SMTP_MAX_CONNECTIONS": "2000",
    # The stall probe sends one NOOP per millisecond on a single session.
    "TEMPMAIL_SMTP_MAX_COMMANDS_PER_SESSION": "1000000",
    "TEMPMAIL_INBOX_MAX_MESSAGES": "100000",
    # Expiry passes run only when the bench asks for one (the first runs at start-up).
    "TEMPMAIL_EXPIRY_INTERVAL_SECONDS": "86400",
}


@dataclass
class TempmailServer:
    process: subprocess.Popen[bytes]
    data_dir: Path
    http_port: int
    smtp_port: int
    api_key: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def database_bytes(self) -> int:
        """The database file with its WAL and shared-memory files."""
        return processes.files_size(self.data_dir, DATABASE_GLOB)

    def healthy(self) -> bool:
        try:
            with _DIRECT.open(self.base_url + "/health", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False


def launch(
    data_dir: Path, extra: dict[str, str] | None = None, command: Sequence[str] | None = None
) -> TempmailServer:
    """Start the server on free ports in `data_dir` (without waiting for it); `extra` adds
    settings (storage.url, shared keys for a cluster), `command` replaces `python -m tempmail`
    (`traced_node.py`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    http_port, smtp_port = processes.free_port(), processes.free_port()
    api_key = secrets.token_hex(16)
    env = processes.clean_environment() | BENCH_SETTINGS
    env |= {
        "TEMPMAIL_DATA_DIR": str(data_dir / "data"),
        "TEMPMAIL_HTTP_PORT": str(http_port),
        "TEMPMAIL_SMTP_PORT": str(smtp_port),
        "TEMPMAIL_API_KEY": api_key,
    }
    env |= extra or {}
    argv = [*(command or [sys.executable, "-m", "tempmail"]), "serve", "--log-format", "json"]
    argv += ["--log-level", "warning"]
    log_path = data_dir / "server.log"
    process = processes.spawn(argv, env, log_path)
    return TempmailServer(process, data_dir / "data", http_port, smtp_port, api_key, log_path)


async def start(
    data_dir: Path,
    ready_within: float = 60.0,
    extra: dict[str, str] | None = None,
    command: Sequence[str] | None = None,
) -> TempmailServer:
    """Start the server and wait until /health answers 200."""
    server = launch(data_dir, extra, command)
    try:
        await processes.wait_until(server.healthy, server.process, ready_within, server.log_path)
    except BaseException:
        processes.stop(server.process)
        raise
    return server
