"""`tempmail serve` as a child process, as the nodes of a cluster run: for multi-node tests.

Each node has its own ports and data directory and logs JSON lines to a file; the caller gives
what the nodes share (storage URL, keys, Redis, proxy settings) as environment variables.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port

START_SECONDS = 60
# Generous request budgets: tests that measure limits set their own.
UNLIMITED = {
    "TEMPMAIL_LIMITS_REQUESTS_PER_MINUTE": "100000",
    "TEMPMAIL_LIMITS_REQUESTS_PER_HOUR": "1000000",
    "TEMPMAIL_LIMITS_INBOX_CREATIONS_PER_HOUR": "100000",
    "TEMPMAIL_LIMITS_AUTH_FAILURES_PER_MINUTE": "100000",
}


@dataclass
class Node:
    """One `tempmail serve` process, logging JSON lines to a file."""

    process: subprocess.Popen[bytes]
    http_url: str
    smtp_port: int
    log: Path
    domain: str = "localhost"
    smtp_host: str = "127.0.0.1"

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.http_url, headers=headers, timeout=30)

    def records(self) -> list[dict[str, Any]]:
        return [
            json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")
        ]

    def events(self) -> list[str]:
        return [str(record["event"]) for record in self.records()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_node(directory: Path, environ: Mapping[str, str]) -> Node:
    """Start a node in `directory` (created here) and return once it reports itself ready."""
    directory.mkdir()
    http_port, smtp_port = free_port(), free_port()
    variables = {
        **{key: value for key, value in os.environ.items() if not key.startswith("TEMPMAIL_")},
        "TEMPMAIL_DATA_DIR": str(directory / "data"),
        "TEMPMAIL_HTTP_PORT": str(http_port),
        "TEMPMAIL_SMTP_PORT": str(smtp_port),
        **UNLIMITED,
        **environ,
    }
    log = directory / "log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tempmail", "serve", "--log-format", "json"],
            env=variables,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    node = Node(process, f"http://127.0.0.1:{http_port}", smtp_port, log)
    deadline = time.monotonic() + START_SECONDS
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{node.http_url}/health/ready", timeout=5).status_code == 200:
                return node
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "node did not start: " + log.read_text()[-2000:]
        time.sleep(0.1)
