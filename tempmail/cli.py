"""The `tempmail` command and its subcommands; the only importer of uvicorn.

Configuration and key problems are found before anything listens and end the process with
status 2 and one line saying what is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from socket import socket
from types import FrameType
from typing import Any

import msgspec
import uvicorn
from starlette.applications import Starlette

from tempmail import client, keys, logs, sendtest, settings, smtp, storage
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
    serve.add_argument(
        "--log-format",
        default="auto",
        choices=["auto", "json", "text"],
        help="auto (default): text on a terminal, JSON lines otherwise",
    )

    check = commands.add_parser(
        "check-config", help="validate the configuration and keys; print the effective settings"
    )
    check.add_argument("--config", metavar="PATH", help="TOML configuration file")

    commands.add_parser("keygen", help="print a fresh set of server keys as environment lines")

    key_commands = commands.add_parser("keys", help="manage the key file in the data directory")
    key_actions = key_commands.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate = key_actions.add_parser("rotate", help="add a new key set for new inboxes")
    rotate.add_argument("--config", metavar="PATH", help="TOML configuration file")
    listing = key_actions.add_parser("list", help="show key set ids and which is current")
    listing.add_argument("--config", metavar="PATH", help="TOML configuration file")

    backup = commands.add_parser("backup", help="write a consistent copy of the live database")
    backup.add_argument("path", metavar="PATH", help="file to write (must not exist)")
    backup.add_argument("--config", metavar="PATH", help="TOML configuration file")

    inbox = commands.add_parser("inbox", help="create an inbox or wait for mail (for scripts)")
    inbox_actions = inbox.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = inbox_actions.add_parser("new", help="create an inbox; prints address and token as JSON")
    new.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL")
    new.add_argument("--ttl-hours", type=float, help="lifetime in hours")
    new.add_argument("--local-part", help="choose the address instead of a random one")
    new.add_argument("--domain", help="one of the server's domains")
    waiting = inbox_actions.add_parser(
        "wait", help="block until an unread message arrives and print it (exit 1 on timeout)"
    )
    waiting.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL")
    waiting.add_argument("--token", required=True, help="the inbox token")
    waiting.add_argument("--timeout", type=float, default=60, help="seconds (default 60)")
    what = waiting.add_mutually_exclusive_group()
    what.add_argument("--code", action="store_true", help="print only the first one-time code")
    what.add_argument("--link", action="store_true", help="print only the verification link")
    waiting.add_argument(
        "--from", dest="sender", help="only mail whose sender contains this (case-insensitive)"
    )
    waiting.add_argument("--subject", help="only mail whose subject contains this")
    waiting.add_argument("--since", help="only mail newer than this message id or ISO 8601 time")
    waiting.add_argument(
        "--has-code", action="store_true", help="only mail in which a one-time code was found"
    )

    send = commands.add_parser("send-test", help="send a realistic test message over SMTP")
    send.add_argument("address", metavar="ADDRESS", help="recipient, e.g. an inbox address")
    send.add_argument("--host", default="127.0.0.1", help="SMTP server (default 127.0.0.1)")
    send.add_argument("--port", type=int, default=8025, help="SMTP port (default 8025)")
    send.add_argument("--from", dest="sender", default="send-test@tempmail.invalid")
    return parser


def prepare_data_dir(path: Path) -> None:
    """Create the data directory, private to the server's user."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create data_dir {path}: {error.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"data_dir {path} is not writable")


async def preflight(config: settings.Settings, environ: Mapping[str, str]) -> keys.Keyring:
    """Open and migrate the database, then load (or on first start create) the keys."""
    prepare_data_dir(config.data_path)
    smtp.tls_context(config)  # an unreadable certificate is a start-up error, not a late one
    try:
        store = await SQLiteStore.open(config.data_path / DATABASE_FILE)
    except StorageError as error:
        raise ConfigError(f"cannot open the database in {config.data_path}: {error}") from None
    try:
        return await keys.prepare(config.data_path, store, environ)
    finally:
        await store.close()


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
        # uvloop when installed (a dependency on Linux): ~35% more SMTP messages per second.
        loop="auto",
        # httptools (a dependency) parses HTTP in C; uvicorn's fallback, h11, is pure Python.
        http="httptools",
        log_config=None,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, which also ends open event streams as soon as a stop is asked for.

    Otherwise uvicorn waits for every open stream until its graceful-shutdown timeout.
    """

    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self._runtime = runtime

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._runtime.begin_shutdown()
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket] | None = None) -> None:
        await super().startup(sockets)
        # Everything made so far (modules, the app, its collaborators) lives as long as the
        # process. Frozen, a full garbage collection no longer walks it: under load those
        # came every ~2.5 s and each held the event loop for 13-20 ms.
        gc.collect()
        gc.freeze()


def _serve(arguments: argparse.Namespace) -> int:
    logs.configure(arguments.log_level, arguments.log_format)
    config = settings.load(arguments.config)
    keyring = asyncio.run(preflight(config, os.environ))
    runtime = Runtime()
    server = _Server(
        server_config(
            create_app(config, keyring, runtime),
            config.http.host,
            config.http.port,
            arguments.log_level,
        ),
        runtime,
    )
    server.run()
    return 0 if server.started else 1


def _toml_value(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _render_settings(config: settings.Settings) -> str:
    lines: list[str] = []
    sections: list[tuple[str, dict[str, Any]]] = []
    for key, value in msgspec.to_builtins(config).items():
        if isinstance(value, dict):
            sections.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, values in sections:
        lines.extend(["", f"[{name}]"])
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
    return "\n".join(lines)


def _check_config(arguments: argparse.Namespace) -> int:
    config = settings.load(arguments.config)
    environment_set = keys.from_environment(os.environ)
    if environment_set is not None:
        key_status = "set from TEMPMAIL_ENCRYPTION_KEY / TEMPMAIL_SECRET_KEY (values hidden)"
    else:
        loaded = keys.read_file(config.data_path)
        key_file = config.data_path / keys.KEY_FILE
        if loaded is None:
            key_status = f"{key_file} does not exist yet; it will be created on first start"
        else:
            current, sets = loaded
            key_status = (
                f"{key_file}: key sets {', '.join(sets)}, current {current} (values hidden)"
            )
    database = config.data_path / DATABASE_FILE
    if database.exists():
        # The same checks as `serve`, so a key mix-up is found before a restart, not during it.
        asyncio.run(preflight(config, os.environ))
    api_key = "set (hidden)" if os.environ.get("TEMPMAIL_API_KEY") else "not set: admin API off"
    print("# effective settings (defaults, config file and TEMPMAIL_* variables)")
    print(_render_settings(config))
    print()
    print(f"# server keys: {key_status}")
    print(f"# admin API key: {api_key}")
    print("# configuration OK")
    return 0


def _keys(arguments: argparse.Namespace) -> int:
    config = settings.load(arguments.config)
    if keys.from_environment(os.environ) is not None:
        raise ConfigError(
            "the keys come from the environment; rotate by deploying a new pair once no "
            "inbox uses the old one (see README)"
        )
    if arguments.action == "rotate":
        new_set = keys.rotate(config.data_path)
        print(f"added key set {new_set.id}; restart the server to create new inboxes with it")
        print("older key sets stay until no inbox uses them; back up keys.json now")
        return 0
    loaded = keys.read_file(config.data_path)
    if loaded is None:
        raise ConfigError(f"{config.data_path / keys.KEY_FILE} does not exist yet")
    current, sets = loaded
    for key_id, key_set in sets.items():
        marker = " (current)" if key_id == current else ""
        print(f"{key_id}{marker} created {key_set.created_at or 'unknown'}")
    return 0


def _backup(arguments: argparse.Namespace) -> int:
    config = settings.load(arguments.config)
    source = config.data_path / DATABASE_FILE
    destination = Path(arguments.path)
    if not source.exists():
        raise ConfigError(f"no database at {source}")
    if destination.exists():
        raise ConfigError(f"{destination} already exists; choose a new file")
    try:
        size = storage.backup(source, destination)
    except (sqlite3.Error, OSError, StorageError) as error:
        print(f"tempmail: error: backup failed: {error}", file=sys.stderr)
        return 1
    print(f"wrote {destination} ({size} bytes)")
    if keys.from_environment(os.environ) is None:
        print(f"keys are not in the backup: keep a copy of {config.data_path / keys.KEY_FILE}")
    return 0


def _send_test(arguments: argparse.Namespace) -> int:
    try:
        code, text = sendtest.send(
            arguments.address, arguments.host, arguments.port, arguments.sender
        )
    except OSError as error:
        print(
            f"tempmail: error: cannot reach {arguments.host}:{arguments.port}: {error}",
            file=sys.stderr,
        )
        return 1
    print(f"{code} {text}")
    return 0 if code == 250 else 1


def _inbox(arguments: argparse.Namespace) -> int:
    try:
        if arguments.action == "new":
            created = client.new_inbox(
                client.Client(arguments.url),
                arguments.ttl_hours,
                arguments.local_part,
                arguments.domain,
            )
            print(json.dumps(created))
            return 0
        want: client.Want = "code" if arguments.code else "link" if arguments.link else "message"
        found = client.wait(
            client.Client(arguments.url, arguments.token),
            arguments.timeout,
            want,
            sender=arguments.sender,
            subject=arguments.subject,
            since=arguments.since,
            has_code=arguments.has_code,
        )
    except client.ClientError as error:
        print(f"tempmail: error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if found is None:
        print(f"tempmail: no matching mail within {arguments.timeout:g} s", file=sys.stderr)
        return 1
    print(found if isinstance(found, str) else json.dumps(found, ensure_ascii=False))
    return 0


def _keygen(arguments: argparse.Namespace) -> int:
    for name, value in keys.generate().items():
        print(f"{name}={value}")
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "check-config": _check_config,
    "keygen": _keygen,
    "keys": _keys,
    "backup": _backup,
    "send-test": _send_test,
    "inbox": _inbox,
}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        return _COMMANDS[arguments.command](arguments)
    except ConfigError as error:
        print(f"tempmail: error: {error}", file=sys.stderr)
        return EXIT_CONFIG


def console() -> None:
    """Entry point of the `tempmail` console script."""
    sys.exit(main())
