"""mail.tm accounts: an inbox whose token is derived from the account's password.

`POST /accounts {address, password}` creates an inbox at that address whose token is
scrypt(password) (see `crypto.password_token`); `POST /token` derives it again and hands it back
as the bearer. So the password (through scrypt) or the bearer is needed to open anything, and
nothing is stored besides the inbox itself: zero access holds as for any inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from tempmail import crypto
from tempmail.errors import Invalid, NotFound, TempmailError, Unauthorized, Unavailable
from tempmail.inboxes import Access, CreatedInbox, Inboxes
from tempmail.keys import Keyring

log = logging.getLogger(__name__)

MIN_PASSWORD = 8
# scrypt reads all of it; a bounded password keeps a request's cost bounded.
MAX_PASSWORD_BYTES = 1024
MAX_ADDRESS = 320
# Derivations at once: each holds 32 MiB.
CONCURRENT_DERIVATIONS = 2
# Requests that may wait for a derivation; past this a flood gets 503 at once instead of a
# queue that grows with it (each waiter holds a connection and its request).
QUEUED_REQUESTS = 8


class AddressInvalid(Invalid):
    """The address cannot be an account here (wrong domain, bad or taken local part)."""


class PasswordInvalid(Invalid):
    """The password is too short or too long."""


class Accounts:
    """Creates mail.tm accounts and logs into them."""

    def __init__(self, keys: Keyring, domains: list[str]) -> None:
        self._keys = keys
        self._domains = domains
        self._derivations = asyncio.Semaphore(CONCURRENT_DERIVATIONS)
        self._admitted = 0

    @property
    def in_progress(self) -> int:
        """Requests deriving or waiting to derive."""
        return self._admitted

    @contextlib.contextmanager
    def _admission(self) -> Iterator[None]:
        """One request's place among those deriving or waiting; 503 when they are all taken."""
        if self._admitted >= CONCURRENT_DERIVATIONS + QUEUED_REQUESTS:
            log.warning("mail.tm: password derivation refused, too many in progress")
            raise Unavailable("Too many logins in progress; try again in a few seconds.")
        self._admitted += 1
        try:
            yield
        finally:
            self._admitted -= 1

    async def _derive(self, password: str, secret_key: bytes, address: str) -> str:
        async with self._derivations:
            return await asyncio.to_thread(crypto.password_token, password, secret_key, address)

    def _split(self, address: str) -> tuple[str, str]:
        local, at, domain = address.strip().lower().rpartition("@")
        if not at or not local or len(address) > MAX_ADDRESS:
            raise AddressInvalid("address: This value is not a valid email address.")
        if domain not in self._domains:
            raise AddressInvalid("address: The domain is not valid.")
        return local, domain

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise PasswordInvalid(
                f"password: This value is too short. It should have {MIN_PASSWORD} characters "
                "or more."
            )
        if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
            raise PasswordInvalid(
                f"password: This value is too long. It should have {MAX_PASSWORD_BYTES} bytes "
                "or less."
            )

    async def register(self, inboxes: Inboxes, address: str, password: str) -> CreatedInbox:
        local, domain = self._split(address)
        self._check_password(password)
        key_set = self._keys.current_set
        with self._admission():
            token = await self._derive(password, key_set.secret_key, f"{local}@{domain}")
        try:
            return await inboxes.create(None, local, domain, token=token)
        except TempmailError as error:
            if error.status == 409:
                raise AddressInvalid("address: This value is already used.") from None
            if error.status == 422:
                raise AddressInvalid(f"address: {error.message}") from None
            raise

    async def login(self, inboxes: Inboxes, address: str, password: str) -> Access:
        """The account's access, or Unauthorized for any wrong address or password.

        Every attempt derives as many tokens as there are key sets, whether or not the
        address exists, so the reply's timing does not tell which it was.
        """
        normalized = address.strip().lower()
        if len(normalized) > MAX_ADDRESS or not 0 < len(
            password.encode("utf-8", "surrogatepass")
        ) <= (MAX_PASSWORD_BYTES):
            raise Unauthorized("Invalid credentials.")
        with self._admission():
            for key_set in self._keys.sets.values():
                token = await self._derive(password, key_set.secret_key, normalized)
                try:
                    access = await inboxes.authenticate(token)
                except (Unauthorized, NotFound):
                    continue
                if access.inbox.address == normalized:
                    log.info("mail.tm account %s logged in", access.inbox.id)
                    return access
        raise Unauthorized("Invalid credentials.")
