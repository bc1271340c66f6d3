"""The server's secret keys: a keyring of key sets with ids, where it lives, and its checks.

A key set is an encryption key (salt for wrapping inbox keys) and a secret key (for token
HMACs). New inboxes use the current set; each inbox records the id of the set it was made with,
so `tempmail keys rotate` can add a new current set while older sets keep serving their inboxes
until none is left, when they are retired automatically.

The keyring comes from the environment (`TEMPMAIL_ENCRYPTION_KEY` + `TEMPMAIL_SECRET_KEY`, hex:
one set with id `k1`, rotated by changing the environment only once no inbox uses it) or from
`keys.json` in the data directory, created with mode 0600 on first start. The database keeps a
fingerprint of every set; a server whose keys do not match the stored inboxes refuses to start
instead of orphaning that mail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hmac
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import msgspec

from tempmail import crypto
from tempmail.errors import ConfigError
from tempmail.storage import Store

log = logging.getLogger(__name__)

KEY_FILE = "keys.json"
FIRST_ID = "k1"
_PARTS = ("encryption_key", "secret_key")


class KeySet(msgspec.Struct, frozen=True):
    id: str
    encryption_key: bytes
    secret_key: bytes
    created_at: str = ""

    def __repr__(self) -> str:
        return f"KeySet({self.id!r}, <redacted>)"


class Keyring(msgspec.Struct, frozen=True):
    """Every key set the server may need, the current one, and the admin API key."""

    current: str
    sets: dict[str, KeySet]
    api_key: str | None = None
    source: Literal["file", "environment"] = "file"

    @property
    def current_set(self) -> KeySet:
        return self.sets[self.current]

    def __repr__(self) -> str:
        return f"Keyring(current={self.current!r}, ids={sorted(self.sets)}, <redacted>)"


def _from_hex(name: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a hex string")
    try:
        key = bytes.fromhex(value.strip())
    except ValueError:
        raise ConfigError(f"{name} is not valid hex") from None
    if len(key) != crypto.KEY_BYTES:
        raise ConfigError(
            f"{name} must be {crypto.KEY_BYTES} bytes ({crypto.KEY_BYTES * 2} hex digits)"
        )
    return key


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_set(key_id: str) -> KeySet:
    return KeySet(key_id, crypto.new_key(), crypto.new_key(), _now())


def _parse_file(path: Path, text: str) -> tuple[str, dict[str, KeySet]]:
    try:
        document = json.loads(text)
        entries = document["keys"]
        sets = {
            entry["id"]: KeySet(
                entry["id"],
                _from_hex(f"{path}: {entry['id']}.encryption_key", entry["encryption_key"]),
                _from_hex(f"{path}: {entry['id']}.secret_key", entry["secret_key"]),
                str(entry.get("created_at", "")),
            )
            for entry in entries
        }
        current = document["current"]
        if current not in sets:
            raise KeyError(current)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(f"key file {path} is damaged; restore it from your backup") from None
    return current, sets


def _render(current: str, sets: Mapping[str, KeySet]) -> str:
    entries = [
        {
            "id": key_set.id,
            "encryption_key": key_set.encryption_key.hex(),
            "secret_key": key_set.secret_key.hex(),
            "created_at": key_set.created_at,
        }
        for key_set in sets.values()
    ]
    return json.dumps({"version": 2, "current": current, "keys": entries}, indent=2) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as key_file:
        key_file.write(text)
        key_file.flush()
        os.fsync(key_file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Serialise changes to the key file between the server and `tempmail keys` commands."""
    descriptor = os.open(data_dir / (KEY_FILE + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def read_file(data_dir: Path) -> tuple[str, dict[str, KeySet]] | None:
    path = data_dir / KEY_FILE
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"key file {path} cannot be read: {error.strerror}") from None
    return _parse_file(path, text)


def from_environment(environ: Mapping[str, str]) -> KeySet | None:
    values = {part: environ.get(f"TEMPMAIL_{part.upper()}", "") for part in _PARTS}
    if not any(values.values()):
        return None
    if not all(values.values()):
        raise ConfigError("set both TEMPMAIL_ENCRYPTION_KEY and TEMPMAIL_SECRET_KEY, or neither")
    return KeySet(
        FIRST_ID,
        _from_hex("TEMPMAIL_ENCRYPTION_KEY", values["encryption_key"]),
        _from_hex("TEMPMAIL_SECRET_KEY", values["secret_key"]),
    )


def generate() -> dict[str, str]:
    """A fresh set of keys as environment assignments, for `tempmail keygen`."""
    return {
        "TEMPMAIL_ENCRYPTION_KEY": crypto.new_key().hex(),
        "TEMPMAIL_SECRET_KEY": crypto.new_key().hex(),
        "TEMPMAIL_API_KEY": crypto.new_key().hex(),
    }


def _meta_key(key_id: str, part: str) -> str:
    return f"fingerprint.{key_id}.{part}"


async def _check(store: Store, sets: Mapping[str, KeySet], origin: str) -> None:
    in_use = await store.key_ids_in_use()
    missing = sorted(in_use - set(sets))
    if missing:
        raise ConfigError(
            f"stored inboxes use key set(s) {', '.join(missing)} that {origin} does not have; "
            "restore the key file (or the environment keys) they were created with"
        )
    for key_set in sets.values():
        for part in _PARTS:
            fingerprint = crypto.key_fingerprint(getattr(key_set, part))
            stored = await store.claim_meta(_meta_key(key_set.id, part), fingerprint)
            if hmac.compare_digest(stored, fingerprint):
                continue
            if key_set.id in in_use:
                raise ConfigError(
                    f"the {part} of key set {key_set.id} in {origin} does not match the one "
                    "this database's inboxes were created with; start with the original keys"
                )
            if store.shared:
                # Another node may be creating inboxes with the recorded keys right now.
                raise ConfigError(
                    f"the {part} of key set {key_set.id} in {origin} does not match the one "
                    f"recorded in the shared {store.name} database by the nodes using it; start every node with "
                    "the same keys"
                )
            log.warning("key set %s changed; no inbox was stored under the old one", key_set.id)
            await store.set_meta(_meta_key(key_set.id, part), fingerprint)


async def prepare(data_dir: Path, store: Store, environ: Mapping[str, str]) -> Keyring:
    """Load the keyring, creating it on first start, and check it fits the stored inboxes."""
    api_key = environ.get("TEMPMAIL_API_KEY") or None
    environment_set = from_environment(environ)
    if environment_set is not None:
        sets = {FIRST_ID: environment_set}
        await _check(store, sets, "TEMPMAIL_ENCRYPTION_KEY/TEMPMAIL_SECRET_KEY")
        return Keyring(FIRST_ID, sets, api_key, "environment")
    key_path = data_dir / KEY_FILE
    with _locked(data_dir):
        loaded = read_file(data_dir)
        if loaded is None:
            stored = await store.count_inboxes()
            if stored:
                raise ConfigError(
                    f"{key_path} is missing but the database holds {stored} inbox(es); "
                    "restore the key file (or set TEMPMAIL_ENCRYPTION_KEY and TEMPMAIL_SECRET_KEY) "
                    "instead of starting with new keys that could not read them"
                )
            loaded = FIRST_ID, {FIRST_ID: _new_set(FIRST_ID)}
            _write_atomically(key_path, _render(*loaded))
            log.warning("created new server keys in %s; back this file up", key_path)
    current, sets = loaded
    await _check(store, sets, str(key_path))
    keyring = Keyring(current, sets, api_key, "file")
    await retire_unused(data_dir, store, keep=current)
    return keyring


def rotate(data_dir: Path) -> KeySet:
    """Add a new key set to `keys.json` and make it current; returns it."""
    with _locked(data_dir):
        loaded = read_file(data_dir)
        if loaded is None:
            raise ConfigError(f"{data_dir / KEY_FILE} does not exist; start the server once first")
        _, sets = loaded
        number = max((int(key_id[1:]) for key_id in sets if key_id[1:].isdigit()), default=0) + 1
        new_set = _new_set(f"k{number}")
        sets[new_set.id] = new_set
        _write_atomically(data_dir / KEY_FILE, _render(new_set.id, sets))
    log.info("added key set %s as the current one", new_set.id)
    return new_set


async def retire_unused(data_dir: Path, store: Store, keep: str) -> list[str]:
    """Drop from `keys.json` every key set no stored inbox uses, except the current one and
    `keep` (the set a running server makes new inboxes with, which may predate a rotation)."""
    in_use = await store.key_ids_in_use() | {keep}
    with _locked(data_dir):
        loaded = read_file(data_dir)
        if loaded is None:
            return []
        current, sets = loaded
        retired = [key_id for key_id in sets if key_id != current and key_id not in in_use]
        if retired:
            for key_id in retired:
                del sets[key_id]
            _write_atomically(data_dir / KEY_FILE, _render(current, sets))
    for key_id in retired:
        for part in _PARTS:
            await store.delete_meta(_meta_key(key_id, part))
        log.info("retired key set %s: no inbox uses it any more", key_id)
    return retired
