"""What a waiting client asks of a message: who sent it, what its subject says, a code in it.

`Criteria` come from the query string of a list or a long poll (`from`, `subject`, `has_code`).
The sender and subject are tested against the sealed summary the request unwraps anyway;
`has_code` needs the codes found in the full parse, which the first read makes and seals.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from tempmail.errors import BadRequest
from tempmail.records import Summary

MAX_CRITERION_CHARS = 256


class Criteria(msgspec.Struct, frozen=True):
    """Substrings to look for (case-insensitive) and whether a one-time code must be present."""

    sender: str = ""
    subject: str = ""
    has_code: bool = False

    @property
    def any(self) -> bool:
        return bool(self.sender or self.subject or self.has_code)

    def matches(self, summary: Summary) -> bool:
        """Whether the summary's sender and subject contain what was asked for."""
        return self.sender in summary.sender.casefold() and self.subject in (
            summary.subject.casefold()
        )


def flag(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter: true/1/yes or false/0/no (400 otherwise)."""
    value = query.get(name, "false").lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    raise BadRequest(f"Query parameter {name} must be true or false.")


def _substring(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "")
    if len(value) > MAX_CRITERION_CHARS:
        raise BadRequest(
            f"Query parameter {name} must be at most {MAX_CRITERION_CHARS} characters."
        )
    return value.strip().casefold()


def from_query(query: Mapping[str, str]) -> Criteria:
    """The criteria named in a query string; empty ones match everything."""
    return Criteria(
        sender=_substring(query, "from"),
        subject=_substring(query, "subject"),
        has_code=flag(query, "has_code"),
    )
