"""The two message kinds the load sends, built once with the stdlib `email` package.

Each kind is a template rendered with `policy.SMTP` (CRLF line endings). A message is the
template with its placeholders replaced by the recipient and a unique subject, so building one
costs a few `bytes.replace` calls and every accepted message can later be matched to what the
server stored.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

SENDER = "loadgen@bench.invalid"
_TO = b"ToPlaceholderXq7"
_SUBJECT = b"SubjectPlaceholderXq7"
_SERIAL = b"SerialPlaceholderXq7"
_FIXED_DATE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

KINDS = ("plain", "multipart")


@dataclass(frozen=True)
class Template:
    """A rendered message with placeholders for the recipient, the subject and a serial."""

    kind: str
    raw: bytes

    def render(self, recipient: str, subject: str, serial: str) -> bytes:
        """The message as the server should store it (CRLF, not dot-stuffed)."""
        return (
            self.raw.replace(_TO, recipient.encode())
            .replace(_SUBJECT, subject.encode())
            .replace(_SERIAL, serial.encode())
        )


def _headers(message: EmailMessage) -> None:
    message["From"] = f"Load Generator <{SENDER}>"
    message["To"] = _TO.decode()
    message["Subject"] = _SUBJECT.decode()
    message["Date"] = format_datetime(_FIXED_DATE)
    message["Message-ID"] = f"<{_SERIAL.decode()}@bench.invalid>"


def _filler(words: int, seed: int) -> str:
    vocabulary = [
        "account",
        "order",
        "shipping",
        "invoice",
        "verify",
        "welcome",
        "update",
        "schedule",
        "meeting",
        "report",
        "receipt",
        "delivery",
        "password",
        "review",
        "summary",
        "weekly",
        "project",
        "status",
        "reminder",
        "team",
    ]
    rng = random.Random(seed)
    lines = []
    for start in range(0, words, 8):
        lines.append(" ".join(rng.choice(vocabulary) for _ in range(min(8, words - start))))
    return "\n".join(lines)


def plain_template() -> Template:
    """About 1 KB of text/plain, with a one-time code like real sign-up mail."""
    message = EmailMessage()
    _headers(message)
    message.set_content(
        "Hello,\n\nYour verification code is 482913.\n\n" + _filler(90, 1) + "\n\n-- \nThe Bench\n"
    )
    return Template("plain", message.as_bytes(policy=policy.SMTP))


def multipart_template() -> Template:
    """About 20 KB: multipart/alternative (text and HTML) plus a PDF attachment."""
    message = EmailMessage()
    _headers(message)
    text = _filler(300, 2)
    message.set_content("Your weekly report is attached.\n\n" + text + "\n")
    paragraphs = "".join(f"<p>{line}</p>\n" for line in text.splitlines())
    message.add_alternative(
        "<!doctype html><html><body>\n"
        '<table width="100%"><tr><td><h1>Weekly report</h1>\n'
        f"{paragraphs}"
        '<p><a href="https://example.com/verify?token=abc123">Verify your address</a></p>\n'
        '<img src="https://tracker.example.com/open.gif" width="1" height="1">\n'
        "</td></tr></table></body></html>\n",
        subtype="html",
    )
    attachment = random.Random(3).randbytes(10_000)
    message.add_attachment(attachment, maintype="application", subtype="pdf", filename="report.pdf")
    return Template("multipart", message.as_bytes(policy=policy.SMTP))


def templates() -> dict[str, Template]:
    """Both kinds, by name."""
    return {"plain": plain_template(), "multipart": multipart_template()}


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def dot_stuffed(message: bytes) -> bytes:
    """The DATA payload: leading dots doubled, CRLF-terminated, without the final dot."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return _LEADING_DOT.sub(b"..", message)
