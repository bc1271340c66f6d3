"""Finding the one-time code and the verification link in a message: pure functions over strings.

Codes are found by scoring (`codes.py`, `codecontext.py`). Every number-like token is a
candidate; it gains points for the shapes codes take and for words such as "code",
"Bestätigungscode", "验证码" or "код" nearby (more in the same sentence), and loses them next to
prices, dates, times, phone numbers, order numbers, addresses and quantities. What reaches
`CODE_THRESHOLD` is kept. A link is judged the same way (`links.py`) from its anchor text, the
path of its URL and, for bare URLs and "click here" anchors, the clauses around it, then by
the mail's purpose; unsubscribe, privacy, help and "view in browser" links never count, and a
host name never decides. The words, in over 30 languages, are in `wording.py`.

Digit codes shown in groups ("482 913", "482-913", one digit per table cell) come back joined
("482913"): the separators are typography and forms want the digits. Codes with letters keep
their hyphen as shown ("A7K-29Q").

Work is bounded, because a disposable-mail server receives hostile mail on purpose: each part
is cut to `MAX_SCAN` characters; codes are looked for in the first `CODE_SCAN` characters of
each text, at most `MAX_TOKENS` tokens and `MAX_CANDIDATES` candidates per text; at most
`MAX_TAGS` tags, `MAX_RAW_LINKS` links and `MAX_JUDGED` verdicts are looked at; every pattern is
linear (possessive quantifiers, bounded windows) and keywords are found by an Aho-Corasick
automaton (`vocabulary.py`). HTML is cut at its tags by one `re.split` (`mailtext.py` says why
it is not `html.parser` or nh3). A 20 KB mail takes about a millisecond (`bench/extract.py`).
"""

from __future__ import annotations

from itertools import chain

import msgspec

from tempmail.extract.codes import CODE_SCAN, MAX_CODES, find_codes
from tempmail.extract.links import MAX_LINKS, Link, collect_links
from tempmail.mailtext import MAX_LINK_TEXT, bare_links, html_view

# The limits callers see in results are part of the interface, wherever they are enforced.
__all__ = ["MAX_CODES", "MAX_LINKS", "MAX_LINK_TEXT", "MAX_SCAN", "Extracted", "Link", "extract"]

MAX_SCAN = 200_000


class Extracted(msgspec.Struct, frozen=True):
    """Likely one-time codes (best first) and the message's links (verification links first)."""

    codes: list[str]
    links: list[Link]


def extract(subject: str, text: str, html: str) -> Extracted:
    """Find one-time codes and links in a message's subject, text part and HTML part."""
    subject, text, markup = _bounded(subject), _bounded(text), _bounded(html)
    # Codes are looked for only in the first `CODE_SCAN` characters of the visible text.
    visible, html_links = html_view(markup, CODE_SCAN)
    codes = find_codes(subject, [text, visible], markup)
    # A chain, not a list: collecting stops early in a mail with hundreds of links.
    links = collect_links(chain(html_links, bare_links(text)), subject, codes)
    return Extracted(codes=codes, links=links)


def _bounded(value: str) -> str:
    """The first `MAX_SCAN` characters, lone surrogates replaced so that results encode."""
    value = value[:MAX_SCAN]
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value
