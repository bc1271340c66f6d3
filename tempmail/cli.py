"""The `tempmail` command: `serve` runs the server, `keygen` prints fresh keys.

The only importer of uvicorn. Configuration and key problems are found before anything listens
and end the process with status 2 and one line saying what is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from tempmail import keys, settings
from tempmail.app import DATABASE_FILE, Runtime, create_app
from tempmail.errors import ConfigError, StorageError
from tempmail.storage import SQLiteStore

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
GRACEFUL_SHUTDOWN_SECONDS = 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tempmail", description="Self-hosted temporary email.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the SMTP server, the web API and expiry")
    serve.add_argument("--config", metavar="PATH", help="TOML configuration file")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    commands.add_parser("keygen", help="print a fresh set of server keys as environment lines")
    return parser


def prepare_data_dir(path: Path) -> None:
    """Create the data directory, private to the server's user."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create data_dir {path}: {error.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"data_dir {path} is not writable")


async def preflight(config: settings.Settings, environ: Mapping[str, str]) -> keys.ServerKeys:
    """Open and migrate the database, then load (or on first start create) the keys."""
    prepare_data_dir(config.data_path)
    try:
        store = await SQLiteStore.open(config.data_path / DATABASE_FILE)
    except StorageError as error:
        raise ConfigError(f"cannot open the database in {config.data_path}: {error}") from None
    try:
        return await keys.prepare(config.data_path, store, environ)
    finally:
        await store.close()


def configure_logging(level: str) -> None:
    """Set up logging once; libraries that would log mail content or SQL are held back."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiosmtpd logs every DATA line at DEBUG, aiosqlite every statement with its parameters.
    logging.getLogger("mail.log").setLevel(logging.INFO)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)


def server_config(app: Starlette, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """uvicorn's settings for tempmail.

    uvicorn's own proxy-header handling stays off: it would trust X-Forwarded-For from any
    loopback peer, and `clients.py` decides which proxies to believe from `http.trusted_proxies`.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _serve(arguments: argparse.Namespace) -> int:
    configure_logging(arguments.log_level)
    try:
        config = settings.load(arguments.config)
        server_keys = asyncio.run(preflight(config, os.environ))
    except ConfigError as error:
        print(f"tempmail: error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    app = create_app(config, server_keys, Runtime())
    server = uvicorn.Server(
        server_config(app, config.http.host, config.http.port, arguments.log_level)
    )
    server.run()
    return 0 if server.started else 1


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "keygen":
        for name, value in keys.generate().items():
            print(f"{name}={value}")
        return 0
    return _serve(arguments)


def console() -> None:
    """Entry point of the `tempmail` console script."""
    sys.exit(main())
