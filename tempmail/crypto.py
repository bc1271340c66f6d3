"""Tokens, inbox key pairs and message sealing: the only importer of `cryptography`.

The scheme (README "Encryption" has the threat model):

* An inbox token is 256 random bits. The database keeps only HMAC-SHA256(secret_key, token).
* Each inbox has an X25519 key pair. The private key is wrapped with AES-256-GCM under
  HKDF-SHA256(ikm=token, salt=encryption_key, info=WRAP_INFO), with the inbox id as associated
  data. The HMAC kept for lookup uses a different key and construction, so it cannot derive it.
* A message is sealed to the inbox public key as an age / libsodium sealed box: an ephemeral
  X25519 key, HKDF-SHA256 over the shared secret with salt = ephemeral public || inbox public,
  AES-256-GCM with a random nonce, and associated data binding the format version, the inbox id,
  the message id and which part of the message this is. One exchange serves an inbox's mail for
  up to a minute (`SealingKeys`); its private half is never kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tempmail.errors import IntegrityError

KEY_BYTES = 32
TOKEN_BYTES = 32
NONCE_BYTES = 12
SEAL_VERSION = 1
WRAP_INFO = b"tempmail/v1 inbox private key wrap"
SEAL_INFO = b"tempmail/v1 message seal"
CHECK_LABEL = b"tempmail/v1 key check"
_ZERO = bytes(KEY_BYTES)

InboxPrivateKey = X25519PrivateKey
DerivedKeys = dict[bytes, AESGCM]
"""Opening keys by ephemeral public key, kept while opening many messages of one inbox."""
_SEAL_HEADER = 1 + KEY_BYTES + NONCE_BYTES


def new_key() -> bytes:
    """A fresh 256-bit server key."""
    return secrets.token_bytes(KEY_BYTES)


def new_token() -> str:
    """A fresh inbox token: 256 random bits, URL-safe base64 without padding.

    Never one that starts with `-` (1 in 64 would): a command line such as
    `tempmail inbox wait --token "$TOKEN"` would take it for an option.
    """
    while (token := secrets.token_urlsafe(TOKEN_BYTES)).startswith("-"):
        pass
    return token


# scrypt for mail.tm account passwords, sized for a small VPS: 128 * r * n = 32 MiB and about
# 0.1 s of one core per derivation (callers bound how many run at once).
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
PASSWORD_SALT_LABEL = b"tempmail/v1 mail.tm password salt\x00"


def password_token(password: str, secret_key: bytes, address: str) -> str:
    """The inbox token of a mail.tm account: scrypt over its password.

    The salt is an HMAC of the address under the server's secret key: unique per address and
    not computable without the server's keys, so nothing per account needs storing. The token
    then finds the inbox and unwraps its key as any inbox token does.
    """
    salt = hmac.new(secret_key, PASSWORD_SALT_LABEL + address.encode("utf-8"), hashlib.sha256)
    derived = hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt.digest(),
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=SCRYPT_MAXMEM,
        dklen=TOKEN_BYTES,
    )
    return base64.urlsafe_b64encode(derived).rstrip(b"=").decode("ascii")


def token_digest(secret_key: bytes, token: str) -> bytes:
    """The value stored to find an inbox by its token."""
    return hmac.new(secret_key, token.encode("utf-8"), hashlib.sha256).digest()


def key_fingerprint(key: bytes) -> bytes:
    """A value that identifies a server key without revealing it, stored to detect key mix-ups."""
    return hmac.new(key, CHECK_LABEL, hashlib.sha256).digest()


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(ikm)


def _wrap_key(token: str, encryption_key: bytes) -> AESGCM:
    return AESGCM(_hkdf(token.encode("utf-8"), encryption_key, WRAP_INFO))


def new_inbox_keys(token: str, encryption_key: bytes, inbox_id: str) -> tuple[bytes, bytes]:
    """Make an inbox key pair; return (public key, wrapped private key)."""
    private = X25519PrivateKey.generate()
    nonce = os.urandom(NONCE_BYTES)
    wrapped = _wrap_key(token, encryption_key).encrypt(
        nonce, private.private_bytes_raw(), inbox_id.encode("utf-8")
    )
    return private.public_key().public_bytes_raw(), nonce + wrapped


def unwrap_inbox_key(
    token: str, encryption_key: bytes, inbox_id: str, wrapped: bytes
) -> X25519PrivateKey:
    """Recover an inbox's private key with its token; IntegrityError if anything mismatches."""
    nonce, ciphertext = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
    try:
        raw = _wrap_key(token, encryption_key).decrypt(nonce, ciphertext, inbox_id.encode("utf-8"))
    except InvalidTag:
        raise IntegrityError("inbox key does not unwrap") from None
    return X25519PrivateKey.from_private_bytes(raw)


def _associated_data(inbox_id: str, message_id: str, part: str) -> bytes:
    return b"\x00".join(
        (
            b"tempmail-seal",
            str(SEAL_VERSION).encode(),
            inbox_id.encode("utf-8"),
            message_id.encode("utf-8"),
            part.encode("utf-8"),
        )
    )


def _open_key(private: X25519PrivateKey, ephemeral_public: bytes) -> AESGCM:
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    except ValueError:
        # cryptography refuses low-order points itself on some backends.
        raise IntegrityError("invalid ephemeral key") from None
    return AESGCM(_seal_key(shared, ephemeral_public, private.public_key().public_bytes_raw()))


def _seal_key(shared: bytes, ephemeral_public: bytes, inbox_public: bytes) -> bytes:
    if hmac.compare_digest(shared, _ZERO):
        raise IntegrityError("all-zero X25519 shared secret")
    return _hkdf(shared, ephemeral_public + inbox_public, SEAL_INFO)


def seal(inbox_public: bytes, inbox_id: str, message_id: str, part: str, plaintext: bytes) -> bytes:
    """Encrypt `plaintext` so that only the holder of the inbox private key can read it."""
    return seal_parts(inbox_public, inbox_id, message_id, {part: plaintext})[part]


class _Exchange:
    """One ephemeral X25519 exchange with an inbox public key: the AES key and the blob header."""

    __slots__ = ("header", "key", "made_at", "uses")

    def __init__(self, inbox_public: bytes, made_at: float) -> None:
        ephemeral = X25519PrivateKey.generate()
        ephemeral_public = ephemeral.public_key().public_bytes_raw()
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(inbox_public))
        # The raw key, not an AESGCM object: that holds ~2.5 KB of cipher state, and
        # SealingKeys keeps thousands of these.
        self.key = _seal_key(shared, ephemeral_public, inbox_public)
        self.header = bytes([SEAL_VERSION]) + ephemeral_public
        self.made_at = made_at
        self.uses = 0

    def seal(self, inbox_id: str, message_id: str, parts: dict[str, bytes]) -> dict[str, bytes]:
        self.uses += 1
        cipher = AESGCM(self.key)
        sealed = {}
        for part, plaintext in parts.items():
            nonce = os.urandom(NONCE_BYTES)
            associated = _associated_data(inbox_id, message_id, part)
            sealed[part] = self.header + nonce + cipher.encrypt(nonce, plaintext, associated)
        return sealed


def seal_parts(
    inbox_public: bytes, inbox_id: str, message_id: str, parts: dict[str, bytes]
) -> dict[str, bytes]:
    """Seal several parts of one message with one ephemeral key exchange.

    Each part gets its own random nonce, and its name is in the associated data, so parts
    cannot be swapped for one another; one exchange instead of one per part halves the cost.
    """
    return _Exchange(inbox_public, 0.0).seal(inbox_id, message_id, parts)


class SealingKeys:
    """Sealing keys per inbox, each from one ephemeral exchange, reused for a short while.

    The exchange (a key generation and a scalar multiplication, ~85 µs) is most of the cost of
    sealing a message. Mail to one inbox often comes in bursts (a test suite, a newsletter), so
    the derived AES key is reused for that inbox's messages for at most `max_age` seconds and
    `max_uses` messages. It lives only in this process's memory (where the messages themselves
    pass in plaintext); the ephemeral private key is dropped at once, and each blob still names
    the ephemeral public key, so the stored format and what it takes to open it do not change.
    Every message and part keeps its own random nonce and associated data.
    """

    def __init__(
        self,
        max_age: float = 60.0,
        max_uses: int = 10_000,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age = max_age
        self._max_uses = max_uses
        self._capacity = capacity
        self._clock = clock
        self._exchanges: OrderedDict[bytes, _Exchange] = OrderedDict()
        # Large messages are sealed in worker threads.
        self._lock = threading.Lock()

    def seal_parts(
        self, inbox_public: bytes, inbox_id: str, message_id: str, parts: dict[str, bytes]
    ) -> dict[str, bytes]:
        """As `seal_parts`, with this inbox's current key."""
        return self._exchange(inbox_public).seal(inbox_id, message_id, parts)

    def _exchange(self, inbox_public: bytes) -> _Exchange:
        now = self._clock()
        with self._lock:
            exchange = self._exchanges.pop(inbox_public, None)
            if (
                exchange is None
                or now - exchange.made_at >= self._max_age
                or exchange.uses >= self._max_uses
            ):
                exchange = _Exchange(inbox_public, now)
            self._exchanges[inbox_public] = exchange
            while len(self._exchanges) > self._capacity:
                self._exchanges.popitem(last=False)
            return exchange

    def __len__(self) -> int:
        return len(self._exchanges)


def open_sealed(
    private: X25519PrivateKey,
    inbox_id: str,
    message_id: str,
    part: str,
    sealed: bytes,
    derived: DerivedKeys | None = None,
) -> bytes:
    """Decrypt what `seal` produced; IntegrityError when it was tampered with or moved.

    `derived` caches keys by ephemeral public key across calls (opening a whole list), since
    messages sealed close together share one (see `SealingKeys`).
    """
    if len(sealed) < _SEAL_HEADER + 16 or sealed[0] != SEAL_VERSION:
        raise IntegrityError("sealed data has an unknown format")
    ephemeral_public = sealed[1 : 1 + KEY_BYTES]
    nonce = sealed[1 + KEY_BYTES : _SEAL_HEADER]
    key = derived.get(ephemeral_public) if derived is not None else None
    if key is None:
        key = _open_key(private, ephemeral_public)
        if derived is not None:
            derived[ephemeral_public] = key
    try:
        return key.decrypt(
            nonce, sealed[_SEAL_HEADER:], _associated_data(inbox_id, message_id, part)
        )
    except InvalidTag:
        raise IntegrityError("sealed data does not authenticate") from None
