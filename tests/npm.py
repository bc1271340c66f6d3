"""The npm packages the tests drive (tests/clients/package.json), installed on first use with
`npm ci` from the committed lock file into tests/clients/node_modules (ignored by git)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CLIENTS = Path(__file__).resolve().parent / "clients"


def installed() -> Path:
    """tests/clients with its node_modules present; raises if npm is missing or fails."""
    if not (CLIENTS / "node_modules" / ".package-lock.json").is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed for these tests: apt-get install nodejs npm")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(CLIENTS)],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return CLIENTS
