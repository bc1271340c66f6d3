"""The server's secret keys: where they come from, and the check that they fit the data.

Keys come from the environment (`TEMPMAIL_ENCRYPTION_KEY`, `TEMPMAIL_SECRET_KEY`,
`TEMPMAIL_API_KEY`, hex) or from `keys.json` in the data directory, created with mode 0600 on
first start. The database remembers a fingerprint of each key; a server started with other keys
than the ones its stored inboxes were made with refuses to start instead of orphaning that mail.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from tempmail import crypto
from tempmail.errors import ConfigError
from tempmail.storage import Store

log = logging.getLogger(__name__)

KEY_FILE = "keys.json"
_FINGERPRINTS = {
    "encryption_key": "fingerprint.encryption_key",
    "secret_key": "fingerprint.secret_key",
}


class ServerKeys(msgspec.Struct, frozen=True):
    encryption_key: bytes
    secret_key: bytes
    api_key: str | None = None

    def __repr__(self) -> str:
        return "ServerKeys(<redacted>)"


def _from_hex(name: str, value: str) -> bytes:
    try:
        key = bytes.fromhex(value.strip())
    except ValueError:
        raise ConfigError(f"{name} is not valid hex") from None
    if len(key) != crypto.KEY_BYTES:
        raise ConfigError(
            f"{name} must be {crypto.KEY_BYTES} bytes ({crypto.KEY_BYTES * 2} hex digits)"
        )
    return key


def _read_key_file(path: Path) -> dict[str, bytes] | None:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"key file {path} cannot be read: {error.strerror}") from None
    try:
        document = json.loads(text)
        return {name: _from_hex(f"{path}: {name}", document[name]) for name in _FINGERPRINTS}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(f"key file {path} is damaged; restore it from your backup") from None


def _write_key_file(path: Path, keys: dict[str, bytes]) -> None:
    document = json.dumps({name: key.hex() for name, key in keys.items()}, indent=2) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as key_file:
        key_file.write(document)
        key_file.flush()
        os.fsync(key_file.fileno())


def generate() -> dict[str, str]:
    """A fresh set of keys as environment assignments, for `tempmail keygen`."""
    return {
        "TEMPMAIL_ENCRYPTION_KEY": crypto.new_key().hex(),
        "TEMPMAIL_SECRET_KEY": crypto.new_key().hex(),
        "TEMPMAIL_API_KEY": crypto.new_key().hex(),
    }


async def prepare(data_dir: Path, store: Store, environ: Mapping[str, str]) -> ServerKeys:
    """Load the server keys, creating them on first start, and check they fit the stored data."""
    api_key = environ.get("TEMPMAIL_API_KEY") or None
    from_environment = {
        name: _from_hex(f"TEMPMAIL_{name.upper()}", environ[f"TEMPMAIL_{name.upper()}"])
        for name in _FINGERPRINTS
        if environ.get(f"TEMPMAIL_{name.upper()}")
    }
    if from_environment and len(from_environment) != len(_FINGERPRINTS):
        raise ConfigError("set both TEMPMAIL_ENCRYPTION_KEY and TEMPMAIL_SECRET_KEY, or neither")
    key_path = data_dir / KEY_FILE
    keys = from_environment or _read_key_file(key_path)
    stored_inboxes = await store.count_inboxes()
    if keys is None:
        if stored_inboxes:
            raise ConfigError(
                f"{key_path} is missing but the database holds {stored_inboxes} inbox(es); "
                "restore the key file (or set TEMPMAIL_ENCRYPTION_KEY and TEMPMAIL_SECRET_KEY) "
                "instead of starting with new keys that could not read them"
            )
        keys = {name: crypto.new_key() for name in _FINGERPRINTS}
        _write_key_file(key_path, keys)
        log.warning("created new server keys in %s; back this file up", key_path)
    for name, meta_key in _FINGERPRINTS.items():
        fingerprint = crypto.key_fingerprint(keys[name])
        stored = await store.get_meta(meta_key)
        if stored is not None and not hmac.compare_digest(stored, fingerprint):
            if stored_inboxes:
                raise ConfigError(
                    f"the {name} does not match the one this database's {stored_inboxes} "
                    "inbox(es) were created with; start with the original keys"
                )
            log.warning("server %s changed; no inboxes were stored under the old one", name)
        if stored != fingerprint:
            await store.set_meta(meta_key, fingerprint)
    return ServerKeys(keys["encryption_key"], keys["secret_key"], api_key)
