"""Starting on PostgreSQL: what a bad setting says, and keys every node must share."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tempmail import settings
from tempmail.cli import preflight
from tempmail.errors import ConfigError
from tests.servers import PostgresServer, free_port

HEX_A = "a1" * 32
HEX_B = "b2" * 32


def _tempmail(*arguments: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("TEMPMAIL_")
    } | environ
    return subprocess.run(
        [sys.executable, "-m", "tempmail", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://root:hunter2secret@127.0.0.1/x", "invalid setting storage.url"),
        ("postgresql://tm:hunter2secret@127.0.0.1:{port}/tempmail", "connection refused"),
    ],
)
def test_bad_or_unreachable_database_exits_2_with_one_line(
    tmp_path: Path, url: str, reason: str
) -> None:
    environ = {
        "TEMPMAIL_DATA_DIR": str(tmp_path / "data"),
        "TEMPMAIL_STORAGE_URL": url.format(port=free_port()),
        "TEMPMAIL_HTTP_PORT": "0",
        "TEMPMAIL_SMTP_PORT": "0",
    }
    done = _tempmail("serve", "--log-format", "text", environ=environ)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tempmail: error: ")
    assert reason in lines[0]
    assert "hunter2secret" not in done.stderr + done.stdout


def test_check_config_hides_the_password(tmp_path: Path, postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    environ = {"TEMPMAIL_DATA_DIR": str(tmp_path / "data"), "TEMPMAIL_STORAGE_URL": url}
    done = _tempmail("check-config", environ=environ)
    assert done.returncode == 0, done.stderr
    assert postgres_server.password not in done.stdout + done.stderr
    assert f'url = "postgresql://postgres@127.0.0.1:{postgres_server.port}/' in done.stdout


def _prepare(data_dir: Path, url: str, keys: dict[str, str]) -> None:
    environ = {"TEMPMAIL_DATA_DIR": str(data_dir), "TEMPMAIL_STORAGE_URL": url, **keys}
    asyncio.run(preflight(settings.load(None, environ), environ))


def test_a_node_with_other_keys_refuses_to_start(tmp_path: Path, postgres_url: str) -> None:
    """The database records the keys the cluster uses, even before any inbox exists."""
    first = {"TEMPMAIL_ENCRYPTION_KEY": HEX_A, "TEMPMAIL_SECRET_KEY": HEX_A}
    _prepare(tmp_path / "a", postgres_url, first)
    _prepare(tmp_path / "b", postgres_url, first)
    other = {"TEMPMAIL_ENCRYPTION_KEY": HEX_A, "TEMPMAIL_SECRET_KEY": HEX_B}
    with pytest.raises(ConfigError, match="start every node with the same keys"):
        _prepare(tmp_path / "c", postgres_url, other)
    # A node with a key file of its own (made on first start) is refused the same way.
    with pytest.raises(ConfigError, match="start every node with the same keys"):
        _prepare(tmp_path / "d", postgres_url, {})
