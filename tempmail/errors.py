"""Exceptions that carry their HTTP status and a stable error code.

Endpoints raise these; one handler in `app.py` renders them as
`{"error": code, "message": text}`. Messages are written for the client: they never contain
exception text, paths or secrets.
"""

from __future__ import annotations

from typing import ClassVar


class TempmailError(Exception):
    """Base of every error a client may see."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    headers: ClassVar[dict[str, str] | None] = None

    def __init__(self, message: str = "The server could not complete the request.") -> None:
        super().__init__(message)
        self.message = message


class BadRequest(TempmailError):
    status = 400
    code = "bad_request"


class Invalid(TempmailError):
    status = 422
    code = "invalid"


class Unauthorized(TempmailError):
    status = 401
    code = "unauthorized"
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": 'Bearer realm="tempmail"'}


class Forbidden(TempmailError):
    status = 403
    code = "forbidden"


class NotFound(TempmailError):
    status = 404
    code = "not_found"


class Conflict(TempmailError):
    status = 409
    code = "conflict"


class PayloadTooLarge(TempmailError):
    status = 413
    code = "payload_too_large"
    # The rest of the body is never read: the connection must not carry another request, whose
    # "headers" would be the unread body (seen as a 431 on a busy machine).
    headers: ClassVar[dict[str, str] | None] = {"Connection": "close"}


class TooManyStreams(TempmailError):
    """Too many event streams or long polls open at once, for one client or one inbox."""

    status = 429
    code = "too_many_streams"
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "5"}


class Unavailable(TempmailError):
    """Storage is failing (disk full, database locked); retrying later may work."""

    status = 503
    code = "unavailable"
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "5"}


class StorageError(Exception):
    """A database operation failed for a reason the caller may retry later."""

    def __init__(self, message: str, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


class CheckpointBusy(StorageError):
    """A WAL checkpoint could not finish: a reader held an old snapshot."""


class ConfigError(Exception):
    """The configuration or the key material is unusable; `tempmail` exits with status 2."""


class IntegrityError(Exception):
    """Sealed data failed to authenticate: tampered, swapped between rows, or a wrong key."""
