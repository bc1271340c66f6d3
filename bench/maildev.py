"""MailDev (npm) as the baseline: installed on demand, started on free loopback ports.

MailDev accepts mail for any recipient. It is started with `--mail-directory` so that it, like
tempmail, keeps every message on disk, and with both listeners on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import processes
from api_client import http_client

PACKAGE = "maildev@3"
INSTALL_TIMEOUT_SECONDS = 600
PAGE = 200


@dataclass
class MailDevServer:
    process: subprocess.Popen[bytes]
    smtp_port: int
    web_port: int
    mail_dir: Path
    version: str

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"


def _entry_point(prefix: Path) -> Path:
    return prefix / "node_modules" / "maildev" / "dist" / "bin" / "maildev.js"


def install(prefix: Path) -> Path:
    """MailDev's entry script, installing it with npm into `prefix` unless already there."""
    entry = _entry_point(prefix)
    if entry.exists():
        return entry
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (apt-get install npm)")
    prefix.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [npm, "install", "--prefix", str(prefix), PACKAGE, "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0 or not entry.exists():
        raise RuntimeError(f"npm install {PACKAGE} failed: {completed.stderr.strip()[-500:]}")
    return entry


def _version(prefix: Path) -> str:
    package = prefix / "node_modules" / "maildev" / "package.json"
    return str(json.loads(package.read_text()).get("version", "?"))


def launch(prefix: Path, work_dir: Path) -> MailDevServer:
    """Install MailDev if needed and start it on free ports (without waiting for it)."""
    entry = install(prefix)
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed")
    smtp_port, web_port = processes.free_port(), processes.free_port()
    mail_dir = work_dir / "mail"
    mail_dir.mkdir(parents=True, exist_ok=True)
    argv = [node, str(entry), "--smtp", str(smtp_port), "--ip", "127.0.0.1"]
    argv += ["--web", str(web_port), "--web-ip", "127.0.0.1"]
    argv += ["--mail-directory", str(mail_dir), "--silent"]
    process = processes.spawn(argv, processes.clean_environment(), work_dir / "maildev.log")
    return MailDevServer(process, smtp_port, web_port, mail_dir, _version(prefix))


async def start(prefix: Path, work_dir: Path, ready_within: float = 60.0) -> MailDevServer:
    """Install if needed, start MailDev, and wait for its SMTP greeting."""
    server = await asyncio.to_thread(launch, prefix, work_dir)
    try:
        await processes.wait_until(
            lambda: processes.smtp_greets(server.smtp_port),
            server.process,
            ready_within,
            work_dir / "maildev.log",
        )
    except BaseException:
        processes.stop(server.process)
        raise
    return server


async def stored_subjects(server: MailDevServer, limit_pages: int = 10_000) -> list[str]:
    """Every stored message's subject, through MailDev's paginated summary API."""
    subjects: list[str] = []
    async with http_client(server.base_url, connections=1) as client:
        for page in range(limit_pages):
            response = await client.get(
                "/api/email/summary", params={"limit": PAGE, "skip": page * PAGE, "sort": "asc"}
            )
            response.raise_for_status()
            items = response.json()["items"]
            subjects += [str(item.get("subject", "")) for item in items]
            if len(items) < PAGE:
                break
    return subjects
