"""Starting and stopping the servers under test: free ports, readiness, stop by PID only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

STOP_GRACE_SECONDS = 15.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn(
    argv: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server with its output going to `log_path`."""
    log = log_path.open("wb")
    try:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


def stop(process: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM the process (by its PID), wait, SIGKILL it if it does not go; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_GRACE_SECONDS)
    return process.returncode


def log_tail(log_path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    return ""


async def wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], within: float, log_path: Path
) -> None:
    """Poll `ready` until it is true; fail early if the process exits, or after `within` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with status {process.returncode}:\n{log_tail(log_path)}"
            )
        if await asyncio.to_thread(ready):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server not ready after {within:.0f} s:\n{log_tail(log_path)}")


def smtp_greets(port: int) -> bool:
    """Whether an SMTP server on 127.0.0.1:`port` answers with a 220 greeting."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.settimeout(2)
            return connection.recv(512).startswith(b"220")
    except OSError:
        return False


def files_size(directory: Path, pattern: str) -> int:
    """Bytes used by the files in `directory` matching `pattern`."""
    return sum(path.stat().st_size for path in directory.glob(pattern) if path.is_file())


def tree_size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def clean_environment() -> dict[str, str]:
    """The bench's environment without any TEMPMAIL_ or MAILDEV_ settings of the caller."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEMPMAIL_", "MAILDEV_"))
    }
