"""Logging set-up: JSON lines on stdout for machines, readable text on a terminal.

Each JSON line has `time`, `level`, `logger`, `event` and whatever fields the call passed in
`extra=` (peer, inbox_id, code, duration, ...). Libraries that would log mail content or SQL
parameters are held back, whatever the level: logs never carry a body, subject, token or key.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import unicodedata
from typing import Any, Literal

import msgspec

LogFormat = Literal["auto", "json", "text"]
_encoder = msgspec.json.Encoder(enc_hook=str)
# uvicorn adds `color_message`, an ANSI-coloured copy of the message, for its own formatter.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JSONFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode()


def _escaped(text: str) -> str:
    """`text` with control and format characters (CR, LF, ESC, bidi overrides) escaped, so
    that a value from a client (a path, an address) cannot start a forged line or recolour
    the terminal."""
    if text.isprintable():
        return text
    return "".join(
        char
        if char.isprintable() or unicodedata.category(char) == "Zs"
        else char.encode("unicode_escape").decode("ascii")
        if ord(char) < 0x10000
        else f"\\U{ord(char):08x}"
        for char in text
    )


class TextFormatter(logging.Formatter):
    """Human-readable lines, with the structured fields appended as key=value. The message
    and the fields are escaped; only a traceback spans lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = [
            f"{key}={_escaped(str(value))}"
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        ]
        line = super().formatMessage(record)
        head, _, message = line.partition(": ")
        text = f"{head}: {_escaped(message)}"
        return f"{text} {' '.join(fields)}" if fields else text


def configure(level: str = "info", log_format: LogFormat = "auto") -> None:
    """Send logs to stdout in the chosen format; call once, from the CLI."""
    if log_format == "auto":
        log_format = "text" if sys.stdout.isatty() else "json"
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JSONFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "tempmail", False):
            root.removeHandler(existing)
    handler.tempmail = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiosmtpd logs every DATA line at DEBUG, several lines per message at INFO (addresses
    # included) and unknown commands verbatim at WARNING (whatever bytes a client sent);
    # tempmail logs deliveries and refusals itself. aiosqlite logs every statement with its
    # parameters.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
