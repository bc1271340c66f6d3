"""Inboxes: creating them, finding one by its token, and opening what is sealed inside.

This is where a bearer token turns into access: the token selects the inbox (by its HMAC) and
unwraps the inbox's private key for the length of one request. No SQL and no MIME here.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
import uuid
from collections.abc import Callable

import msgspec

from tempmail import crypto, records
from tempmail.clock import now_ms
from tempmail.errors import IntegrityError, NotFound, Unauthorized, Unavailable
from tempmail.events import Event, EventHub
from tempmail.keys import Keyring
from tempmail.metrics import Metrics
from tempmail.settings import Settings
from tempmail.storage import AddressTaken, Inbox, MessageRow, MessageSummaryRow, Store

log = logging.getLogger(__name__)

ADDRESS_ALPHABET = string.ascii_lowercase + string.digits
HOUR_MS = 3_600_000


class CreatedInbox(msgspec.Struct, frozen=True):
    inbox: Inbox
    token: str


class Access(msgspec.Struct, frozen=True):
    """A request's proof of holding an inbox's token."""

    inbox: Inbox
    token: str


class Inboxes:
    """Inbox lifecycle and access, over any `Store`."""

    def __init__(
        self,
        store: Store,
        keys: Keyring,
        settings: Settings,
        hub: EventHub,
        metrics: Metrics,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self._keys = keys
        self._settings = settings
        self._hub = hub
        self._clock = clock

    def _new_address(self, domain: str) -> str:
        length = self._settings.inbox.address_length
        local = secrets.choice(string.ascii_lowercase) + "".join(
            secrets.choice(ADDRESS_ALPHABET) for _ in range(length - 1)
        )
        return f"{local}@{domain}"

    async def create(self, ttl_hours: float | None = None) -> CreatedInbox:
        """Make a new inbox on the default domain; the token is returned here and never again."""
        limits = self._settings.inbox
        hours = min(
            limits.default_ttl_hours if ttl_hours is None else ttl_hours, limits.max_ttl_hours
        )
        for _ in range(5):
            inbox_id = str(uuid.uuid4())
            token = crypto.new_token()
            key_set = self._keys.current_set
            public_key, wrapped_key = crypto.new_inbox_keys(token, key_set.encryption_key, inbox_id)
            created = self._clock()
            inbox = Inbox(
                id=inbox_id,
                address=self._new_address(self._settings.domains[0]),
                token_digest=crypto.token_digest(key_set.secret_key, token),
                public_key=public_key,
                wrapped_key=wrapped_key,
                key_id=key_set.id,
                created_at=created,
                expires_at=created + round(hours * HOUR_MS),
            )
            try:
                await self._store.create_inbox(inbox)
            except AddressTaken:
                continue
            self._metrics.inboxes_created.inc()
            log.info(
                "inbox %s created, expires in %.2f h",
                inbox_id,
                hours,
                extra={"inbox_id": inbox_id, "ttl_hours": hours},
            )
            return CreatedInbox(inbox, token)
        raise Unavailable("Could not allocate a free address; try again.")

    async def authenticate(self, token: str | None) -> Access:
        """The live inbox this token opens; 401 for no or an unknown token, 404 once expired."""
        if not token:
            raise Unauthorized("This route needs an inbox token: Authorization: Bearer <token>.")
        digests = {
            key_id: crypto.token_digest(key_set.secret_key, token)
            for key_id, key_set in self._keys.sets.items()
        }
        inbox = await self._store.inbox_by_token(list(digests.values()))
        # The row must have been found by the digest of its own key set.
        if inbox is None or digests.get(inbox.key_id) != inbox.token_digest:
            raise Unauthorized("The inbox token is not valid.")
        if inbox.expires_at <= self._clock():
            raise NotFound("Inbox not found.")
        return Access(inbox, token)

    def is_live(self, inbox: Inbox) -> bool:
        return inbox.expires_at > self._clock()

    def private_key(self, access: Access) -> crypto.InboxPrivateKey:
        try:
            return crypto.unwrap_inbox_key(
                access.token,
                self._keys.sets[access.inbox.key_id].encryption_key,
                access.inbox.id,
                access.inbox.wrapped_key,
            )
        except IntegrityError:
            log.error("inbox %s: private key does not unwrap with a valid token", access.inbox.id)
            raise

    def open_summary(
        self, private: crypto.InboxPrivateKey, inbox_id: str, row: MessageSummaryRow
    ) -> records.Summary:
        plain = crypto.open_sealed(private, inbox_id, row.id, records.SUMMARY_PART, row.summary)
        return records.decode_summary(plain)

    async def list_messages(
        self, access: Access
    ) -> list[tuple[MessageSummaryRow, records.Summary]]:
        rows = await self._store.list_messages(access.inbox.id)
        private = self.private_key(access)
        return [(row, self._checked_summary(private, access.inbox.id, row)) for row in rows]

    def _checked_summary(
        self, private: crypto.InboxPrivateKey, inbox_id: str, row: MessageSummaryRow
    ) -> records.Summary:
        try:
            return self.open_summary(private, inbox_id, row)
        except IntegrityError:
            log.error("inbox %s message %s: summary fails to authenticate", inbox_id, row.id)
            raise

    async def get_row(self, access: Access, message_id: str) -> MessageRow:
        row = await self._store.get_message(access.inbox.id, message_id)
        if row is None:
            raise NotFound("Message not found.")
        return row

    async def open_content(self, access: Access, row: MessageRow) -> records.Content:
        private = self.private_key(access)

        def work() -> records.Content:
            plain = crypto.open_sealed(
                private, access.inbox.id, row.id, records.CONTENT_PART, row.content
            )
            return records.decode_content(plain)

        try:
            return await asyncio.to_thread(work)
        except IntegrityError:
            log.error("inbox %s message %s: content fails to authenticate", access.inbox.id, row.id)
            raise

    async def message_count(self, access: Access) -> int:
        return await self._store.message_count(access.inbox.id)

    async def delete_message(self, access: Access, message_id: str) -> None:
        if not await self._store.delete_message(access.inbox.id, message_id):
            raise NotFound("Message not found.")
        log.info("inbox %s: message %s deleted", access.inbox.id, message_id)

    async def delete(self, access: Access) -> None:
        if not await self._store.delete_inbox(access.inbox.id):
            raise NotFound("Inbox not found.")
        self._metrics.inboxes_deleted.inc()
        log.info("inbox %s deleted by its holder", access.inbox.id)
        self._hub.publish(access.inbox.id, Event("deleted", {}))
