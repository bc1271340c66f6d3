"""Unicode normalization in time linear in the text's length.

CPython puts combining marks in canonical order with an insertion sort, so normalizing a run
of n combining marks costs O(n^2): here "a" followed by 100,000 alternating marks (U+0301,
U+0316) takes NFKC 10.5 s. Ordinary text has runs of a few marks at most. `normalize` works
on pieces of about `PIECE` characters, cut before a character that starts a new sequence, so
it gives `unicodedata.normalize`'s result for any text whose combining sequences are shorter
than `SEARCH` characters, and a bounded cost for the rest.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

PIECE = 128
SEARCH = 32

Form = Literal["NFC", "NFKC", "NFD", "NFKD"]


def _joins_previous(char: str) -> bool:
    # A combining mark, or a Hangul vowel or final consonant that composes with what precedes.
    return unicodedata.combining(char) != 0 or "\u1160" <= char <= "\u11ff"


def normalize(form: Form, text: str) -> str:
    """`unicodedata.normalize(form, text)`, piece by piece (see the module's docstring)."""
    if len(text) <= PIECE + SEARCH or text.isascii():
        return unicodedata.normalize(form, text)
    pieces = []
    start = 0
    while start < len(text):
        end = min(len(text), start + PIECE)
        limit = min(len(text), end + SEARCH)
        while end < limit and _joins_previous(text[end]):
            end += 1
        pieces.append(unicodedata.normalize(form, text[start:end]))
        start = end
    return "".join(pieces)
