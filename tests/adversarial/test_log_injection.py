"""Log lines cannot be forged or recoloured by what a client sends.

JSON lines escape everything by construction. The text format (`--log-format text`, or a
terminal) writes messages and fields as they are, so a value from a client holding CR/LF, ESC
or a bidi override (a request path in an error line, a PROXY header's error, an address) could
start a line that looks like the server's own. Every such character is escaped; only a
traceback spans lines.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import msgspec
import pytest

from tempmail.logs import JSONFormatter, TextFormatter

HOSTILE = (
    "/api/v1/messages/x\n2026-12-03 12:00:00,000 ERROR tempmail.app: forged\r\x1b[31m\u202eexe.pdf"
)


@pytest.fixture
def written() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tempmail.test_log_injection")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield logger, stream, handler
    finally:
        logger.removeHandler(handler)


def test_text_lines_escape_control_and_format_characters(
    written: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, stream, handler = written
    handler.setFormatter(TextFormatter())
    logger.error("unhandled ValueError on %s", HOSTILE, extra={"peer": "198.51.100.7\r\nx=1"})
    line = stream.getvalue()
    assert line.count("\n") == 1 and line.endswith("\n")
    assert "\r" not in line and "\x1b" not in line and "\u202e" not in line
    assert "x\\n2026-12-03" in line and "\\x1b[31m" in line and "\\u202eexe.pdf" in line
    assert line.rstrip("\n").endswith("peer=198.51.100.7\\r\\nx=1")
    # Ordinary text, spaces and non-ASCII letters stay as they are.
    stream.truncate(0)
    stream.seek(0)
    logger.info("inbox %s: %d messages for Zoë", "abc-123", 3)
    assert stream.getvalue().rstrip("\n").endswith("inbox abc-123: 3 messages for Zoë")


def test_tracebacks_still_span_lines_and_json_stays_one_line(
    written: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, stream, handler = written
    handler.setFormatter(TextFormatter())
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed on %s", HOSTILE)
    text = stream.getvalue()
    assert text.splitlines()[0].endswith("\\u202eexe.pdf")
    assert "Traceback (most recent call last):" in text.splitlines()[1]
    stream.truncate(0)
    stream.seek(0)
    handler.setFormatter(JSONFormatter())
    logger.error("failed on %s", HOSTILE)
    [line] = stream.getvalue().splitlines()
    assert msgspec.json.decode(line)["event"] == f"failed on {HOSTILE}"
