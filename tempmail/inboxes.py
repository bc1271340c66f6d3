"""Inboxes: creating them, finding one by its token, and opening what is sealed inside.

This is where a bearer token turns into access: the token selects the inbox (by its HMAC) and
unwraps the inbox's private key for the length of one request. No SQL and no MIME here.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import string
import uuid
from collections.abc import Callable
from typing import TypeVar

import msgspec

from tempmail import crypto, records
from tempmail.clock import now_ms
from tempmail.errors import Conflict, IntegrityError, Invalid, NotFound, Unauthorized, Unavailable
from tempmail.events import Event, EventHub
from tempmail.extract import extract
from tempmail.keys import Keyring
from tempmail.metrics import Metrics
from tempmail.parsing import ParsedMessage, parse
from tempmail.settings import Settings
from tempmail.storage import (
    EVERYTHING,
    AddressQuarantined,
    AddressTaken,
    Inbox,
    MessageFilter,
    MessageRow,
    MessageSummaryRow,
    Store,
)

log = logging.getLogger(__name__)

Rendered = TypeVar("Rendered")

ADDRESS_ALPHABET = string.ascii_lowercase + string.digits
HOUR_MS = 3_600_000
# Later reads of messages up to this size (sealed) are opened on the event loop...
INLINE_SEALED_BYTES = 64 * 1024
# ...and rendered there too when their HTML is no longer than this (see `open_reading`).
INLINE_HTML = 8 * 1024
MAX_LOCAL_PART = 64
# Plus is left out on purpose: "name+tag" delivers to "name".
LOCAL_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.))*[A-Za-z0-9]|[A-Za-z0-9]")
# Role mailboxes nobody may claim, compared after `role_name` folds away separators and
# digits (so `no_reply`, `No.Reply`, `post-master` and `hostmaster1` are all reserved):
# RFC 2142's (business, network and service roles), the names certificate authorities
# mail to prove control of a domain, mailer daemons and no-reply senders, mail-system and
# mail-authentication addresses, and names people trust.
RESERVED_LOCAL_PARTS = frozenset(
    {
        # RFC 2142
        "info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster",
        "hostmaster", "usenet", "news", "webmaster", "www", "uucp", "ftp",
        # domain-control validation (CA/Browser Forum) and their usual companions
        "admin", "administrator", "ssladmin", "sslwebmaster", "webadmin", "certadmin",
        "domainadmin", "dnsadmin", "it", "sysadmin", "root",
        # daemons and senders that must not be answered
        "mailerdaemon", "maildaemon", "daemon", "noreply", "donotreply", "dontreply",
        "bounce", "bounces", "nobody", "listmaster", "majordomo", "mailman", "owner",
        # mail systems and mail authentication
        "mail", "email", "smtp", "imap", "pop", "mx", "autoconfig", "autodiscover",
        "dmarc", "dmarcreports", "dkim", "spf", "tlsrpt", "mtasts",
        # names people trust
        "help", "billing", "system", "privacy", "legal", "compliance", "tempmail",
    }
)  # fmt: skip
_ROLE_NOISE = re.compile(r"[0-9._-]+")


def role_name(local_part: str) -> str:
    """`local_part` lower-cased without separators or digits: `Mailer_Daemon2` -> `mailerdaemon`."""
    return _ROLE_NOISE.sub("", local_part.lower())


class CreatedInbox(msgspec.Struct, frozen=True):
    inbox: Inbox
    token: str


class Access(msgspec.Struct, frozen=True):
    """A request's proof of holding an inbox's token."""

    inbox: Inbox
    token: str


def _open(
    private: crypto.InboxPrivateKey,
    inbox_id: str,
    message_id: str,
    part: str,
    sealed: bytes,
    derived: crypto.DerivedKeys | None = None,
) -> bytes:
    """Open one sealed part; a failure is logged (ids only) and raised."""
    try:
        return crypto.open_sealed(private, inbox_id, message_id, part, sealed, derived)
    except IntegrityError:
        log.error("inbox %s message %s: %s fails to authenticate", inbox_id, message_id, part)
        raise


def _content(private: crypto.InboxPrivateKey, inbox_id: str, row: MessageRow) -> records.Content:
    return records.decode_content(
        _open(private, inbox_id, row.id, records.CONTENT_PART, row.content)
    )


def _read(
    inbox: Inbox, message_id: str, parsed: ParsedMessage, sealing: crypto.SealingKeys
) -> tuple[records.Reading, bytes]:
    found = extract(parsed.subject, parsed.text, parsed.html) if parsed.displayable else None
    reading = records.Reading(
        sender=parsed.sender,
        to=parsed.to,
        cc=parsed.cc,
        subject=parsed.subject,
        date=parsed.date,
        text=parsed.text,
        html=parsed.html,
        attachments=parsed.attachments,
        displayable=parsed.displayable,
        codes=found.codes if found else [],
        links=found.links if found else [],
    )
    parts = {records.READING_PART: records.encode(reading)}
    sealed = sealing.seal_parts(inbox.public_key, inbox.id, message_id, parts)
    return reading, sealed[records.READING_PART]


class Inboxes:
    """Inbox lifecycle and access, over any `Store`."""

    def __init__(
        self,
        store: Store,
        keys: Keyring,
        settings: Settings,
        hub: EventHub,
        metrics: Metrics,
        sealing: crypto.SealingKeys,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._metrics = metrics
        # Shared with delivery: a first read seals its parse with the inbox's current key.
        self._sealing = sealing
        self._store = store
        self._keys = keys
        self._settings = settings
        self._hub = hub
        self._clock = clock
        blocked = (role_name(name) for name in settings.inbox.blocked_local_parts)
        self._blocked = frozenset(name for name in blocked if name)

    def _random_local_part(self) -> str:
        length = self._settings.inbox.address_length
        return secrets.choice(string.ascii_lowercase) + "".join(
            secrets.choice(ADDRESS_ALPHABET) for _ in range(length - 1)
        )

    def _chosen_local_part(self, local_part: str) -> str:
        local = local_part.strip().lower()
        limits = self._settings.inbox
        if not limits.min_local_part_length <= len(local) <= MAX_LOCAL_PART:
            raise Invalid(
                f"local_part must be {limits.min_local_part_length} to {MAX_LOCAL_PART} characters."
            )
        if not LOCAL_PART.fullmatch(local):
            raise Invalid(
                "local_part may use only a-z, 0-9, dot, hyphen and underscore, must start and end "
                "with a letter or digit, and may not contain two dots in a row."
            )
        role = role_name(local)
        if role in RESERVED_LOCAL_PARTS or role in self._blocked:
            raise Conflict(f"The address {local} is reserved; choose another.")
        return local

    def _domain(self, domain: str | None) -> str:
        if domain is None:
            return self._settings.domains[0]
        chosen = domain.strip().lower()
        if chosen not in self._settings.domains:
            raise Invalid(f"domain must be one of: {', '.join(self._settings.domains)}.")
        return chosen

    def _lifetime_ms(self, ttl_hours: float | None) -> int:
        limits = self._settings.inbox
        hours = min(
            limits.default_ttl_hours if ttl_hours is None else ttl_hours, limits.max_ttl_hours
        )
        return round(hours * HOUR_MS)

    async def create(
        self,
        ttl_hours: float | None = None,
        local_part: str | None = None,
        domain: str | None = None,
        token: str | None = None,
    ) -> CreatedInbox:
        """Make a new inbox; the token is returned here and never again.

        Without `local_part` the address is random; a chosen one that is taken answers 409,
        one whose inbox ended less than `quarantine_hours` ago answers 409 as well. `token`
        is for callers that derive it (mail.tm accounts); it is random otherwise.
        """
        chosen_domain = self._domain(domain)
        chosen_local = None if local_part is None else self._chosen_local_part(local_part)
        lifetime = self._lifetime_ms(ttl_hours)
        chosen_token = token
        for _ in range(1 if chosen_local else 5):
            inbox_id = str(uuid.uuid4())
            token = chosen_token or crypto.new_token()
            key_set = self._keys.current_set
            public_key, wrapped_key = crypto.new_inbox_keys(token, key_set.encryption_key, inbox_id)
            created = self._clock()
            inbox = Inbox(
                id=inbox_id,
                address=f"{chosen_local or self._random_local_part()}@{chosen_domain}",
                token_digest=crypto.token_digest(key_set.secret_key, token),
                public_key=public_key,
                wrapped_key=wrapped_key,
                key_id=key_set.id,
                created_at=created,
                expires_at=created + lifetime,
            )
            try:
                await self._store.create_inbox(inbox, created)
            except (AddressTaken, AddressQuarantined):
                if chosen_local:
                    raise Conflict(f"The address {inbox.address} is not available.") from None
                continue
            self._metrics.inboxes_created.inc()
            log.info(
                "inbox %s created, expires in %.2f h",
                inbox_id,
                lifetime / HOUR_MS,
                extra={"inbox_id": inbox_id, "ttl_hours": lifetime / HOUR_MS},
            )
            return CreatedInbox(inbox, token)
        raise Unavailable("Could not allocate a free address; try again.")

    async def extend(self, access: Access, ttl_hours: float) -> Inbox:
        """Set the inbox to end `ttl_hours` from now, at most `max_ttl_hours` after creation."""
        inbox = access.inbox
        max_hours = self._settings.inbox.max_ttl_hours
        limit = inbox.created_at + round(max_hours * HOUR_MS)
        # Capped before any arithmetic: 1e308 hours must not overflow into a 500.
        expires_at = min(self._clock() + round(min(ttl_hours, max_hours) * HOUR_MS), limit)
        await self._store.extend_inbox(inbox.id, expires_at)
        log.info("inbox %s lifetime changed", inbox.id, extra={"inbox_id": inbox.id})
        return msgspec.structs.replace(inbox, expires_at=expires_at)

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

    async def list_messages(
        self, access: Access, which: MessageFilter = EVERYTHING
    ) -> list[tuple[MessageSummaryRow, records.Summary]]:
        rows = await self._store.list_messages(access.inbox.id, which)
        return self.open_summaries(access, rows)

    def open_summaries(
        self, access: Access, rows: list[MessageSummaryRow]
    ) -> list[tuple[MessageSummaryRow, records.Summary]]:
        """Each row with its summary unsealed by the inbox's key."""
        private = self.private_key(access)
        # Messages sealed close together share an exchange: open each exchange once.
        derived: crypto.DerivedKeys = {}
        return [
            (
                row,
                records.decode_summary(
                    _open(
                        private, access.inbox.id, row.id, records.SUMMARY_PART, row.summary, derived
                    )
                ),
            )
            for row in rows
        ]

    async def get_row(self, access: Access, message_id: str) -> MessageRow:
        row = await self._store.get_message(access.inbox.id, message_id)
        if row is None:
            raise NotFound("Message not found.")
        return row

    async def open_content(self, access: Access, row: MessageRow) -> records.Content:
        """The raw source and envelope recipients, sealed at delivery."""
        return await asyncio.to_thread(
            lambda: _content(self.private_key(access), access.inbox.id, row)
        )

    async def open_reading(
        self,
        access: Access,
        row: MessageRow,
        render: Callable[[records.Reading], Rendered],
        mark_seen: bool = False,
    ) -> tuple[records.Content, records.Reading, Rendered]:
        """The content, the full parse with codes and links, and `render(parse)`.

        The parse is made and sealed on the first read. It, and with `mark_seen` the fact that
        the message was read, are handed to the store to write with its next commit; the reader
        does not wait for that write.

        The first read (parse, codes and links, cleaning) runs in a worker thread: each step
        is linear in the message's size, but finding codes and links in a few KB of hostile
        text already takes several milliseconds. A later read of a small message is opened
        and rendered on the event loop: that costs well under a millisecond for ordinary
        mail and a few at worst (cleaning is linear, `sanitize` turns markup it cannot clean
        in linear time into text, and inline images are charged to the read's budget), where
        a trip to a worker thread costs a reader several turns of a busy loop and hand-offs
        of the GIL. HTML over INLINE_HTML characters and large messages go to the thread.
        """

        def first() -> tuple[records.Content, records.Reading | ParsedMessage]:
            private = self.private_key(access)
            content = _content(private, access.inbox.id, row)
            if row.reading is None:
                return content, parse(content.raw, preview=False)
            opened = _open(private, access.inbox.id, row.id, records.READING_PART, row.reading)
            return content, records.decode_reading(opened)

        def rest(
            content: records.Content, known: records.Reading | ParsedMessage
        ) -> tuple[records.Content, records.Reading, bytes | None, Rendered]:
            if isinstance(known, records.Reading):
                return content, known, None, render(known)
            reading, sealed = _read(access.inbox, row.id, known, self._sealing)
            return content, reading, sealed, render(reading)

        if row.reading is not None and len(row.content) <= INLINE_SEALED_BYTES:
            content, known = first()
            if len(known.html) <= INLINE_HTML:
                content, reading, sealed, rendered = rest(content, known)
            else:
                content, reading, sealed, rendered = await asyncio.to_thread(rest, content, known)
        else:
            content, reading, sealed, rendered = await asyncio.to_thread(lambda: rest(*first()))
        if sealed is not None or (mark_seen and not row.seen):
            self._store.note_reading(access.inbox.id, row.id, sealed, seen=mark_seen)
        return content, reading, rendered

    async def codes(self, access: Access, message_id: str) -> list[str]:
        """The one-time codes found in a message (parsed and sealed now if never read);
        empty for a message that is gone. It is not marked seen."""
        row = await self._store.get_message(access.inbox.id, message_id)
        if row is None:
            return []
        _, reading, _ = await self.open_reading(access, row, lambda reading: None)
        return reading.codes

    async def has_message(self, access: Access, message_id: str) -> bool:
        return await self._store.has_message(access.inbox.id, message_id)

    async def message_count(self, access: Access) -> int:
        return await self._store.message_count(access.inbox.id)

    async def delete_message(self, access: Access, message_id: str) -> None:
        if not await self._store.delete_message(access.inbox.id, message_id):
            raise NotFound("Message not found.")
        log.info("inbox %s: message %s deleted", access.inbox.id, message_id)

    def quarantine_until(self) -> int:
        return self._clock() + round(self._settings.inbox.quarantine_hours * HOUR_MS)

    async def delete(self, access: Access) -> None:
        if not await self._store.delete_inbox(access.inbox.id, self.quarantine_until()):
            raise NotFound("Inbox not found.")
        self._metrics.inboxes_deleted.inc()
        log.info("inbox %s deleted by its holder", access.inbox.id)
        self._hub.publish(access.inbox.id, Event("deleted", {}))
