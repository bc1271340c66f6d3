"""Attachment file names as they may be shown or sent: without invisible characters.

A name like `invoice\u202efdp.exe` displays as `invoiceexe.pdf`: the right-to-left override
(and the other bidirectional controls, zero-width characters and every Unicode format (Cf) or
control (Cc) character, line and paragraph separators, lone surrogates) lets a sender disguise
what a file is. They are removed wherever a name leaves the server: the message detail's JSON,
the download's Content-Disposition, and the web UI's download name (static/reader.js).
"""

from __future__ import annotations

import unicodedata

_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def clean_filename(name: str) -> str:
    """`name` without control, format and separator characters, trimmed of surrounding spaces."""
    if name.isascii() and name.isprintable():
        return name.strip()
    return "".join(char for char in name if unicodedata.category(char) not in _INVISIBLE).strip()
