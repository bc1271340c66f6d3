"""What a message shows: the visible text of its HTML, and where its links occur.

A link occurrence (`RawLink`) is an anchor in the HTML or a URL written out in text, with the
words just before it when its own text says nothing ("click here", the URL itself);
`links.py` judges them. HTML is read by a small linear tag scanner, not `html.parser` or nh3:
on 200 KB of crafted markup the first takes minutes (`"<a " * n`) and the second seconds
(deeply nested elements).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tempmail.wording import GENERIC_ANCHORS

MAX_LINK_TEXT = 200
# How far before and after a link its clauses are looked for.
_WINDOW = 200
# A clause ends at a line or block break or at a sentence's end.
_CLAUSE_MARKS = ("\n", "\ue000", ". ", "! ", "? ", "。", "\uff01", "\uff1f", ".\n", ".\ue000")
_SPACE_OR_MARK = " \t\r\n\ue000"
MAX_URL = 2048
MAX_TAGS = 20_000

_BLOCK_TAGS = frozenset({
    "p", "div", "br", "tr", "table", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "blockquote", "section", "article", "header", "footer", "center", "pre", "dl",
    "dt", "dd", "tbody", "thead", "tfoot", "body", "html", "form",
})  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
_HIDDEN_TAGS = ("script", "style", "title", "template", "xml", "noscript")
# Stands for a block boundary in raw HTML text until whitespace is collapsed into lines.
_BLOCK_MARK = "\ue000"

_TAG = re.compile(r"<(?:(!--)|[!?][^<>]*+>|(/?)([A-Za-z][A-Za-z0-9]*+)([^<>]*+)>)")
_HIDDEN_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _HIDDEN_TAGS}
_ATTRIBUTE = re.compile(r"""(?i)\b(href|alt)\s*+=\s*+(?:"([^"]*+)"|'([^']*+)'|([^\s"'>]++))""")
_SPACES = re.compile(r"\s++")
_BLOCKS = re.compile(f" ?+(?:{_BLOCK_MARK} ?+)++")
# A URL written out in text; `codes.py` masks the same matches before looking for codes.
# Latin and Cyrillic letters count (internationalised host names and paths); CJK does not, as
# CJK text runs on right after a URL.
# It opens with a character class, not `\b`, so that re skips ahead to the next "h" quickly.
URL = re.compile(r"[hH](?<!\w[hH])(?i:ttps?://)[!#-;=?-\[\]-~\u00c0-\u024f\u0400-\u04ff]++")
_URL_TRAILER = ".,;:!?'\"*>]}"


@dataclass
class RawLink:
    """One occurrence of a URL: an anchor, or a URL written out in text (`text` is "").

    `source` is the text the link stands in (the HTML's text with block marks, or the text
    part) and `position`/`end` where; `before()` and `after()` read the clauses around it
    only when a judge asks, as most links are decided by their own text and URL."""

    url: str
    text: str
    position: int
    anchor: bool
    end: int = 0
    source: str = ""

    def before(self) -> str:
        """The clause leading up to the link ("Please go to the following page:")."""
        window = self.source[max(0, self.position - _WINDOW) : self.position]
        window = window.rstrip(_SPACE_OR_MARK)
        cut = max(window.rfind(mark) for mark in _CLAUSE_MARKS)
        return " ".join(window[cut + 1 :].split())

    def after(self) -> str:
        """The clause from the link on ("... to reset your password.")."""
        window = self.source[self.end : self.end + _WINDOW].lstrip(_SPACE_OR_MARK)
        ends = [index for index in map(window.find, _CLAUSE_MARKS) if index >= 0]
        return " ".join(window[: min(ends) + 1 if ends else len(window)].split())


@dataclass
class _Anchor:
    href: str
    start: int
    first_piece: int
    alts: list[str] = field(default_factory=list)


def read_html(markup: str) -> tuple[str, list[RawLink]]:
    """The visible text of HTML (blocks on their own lines, cells apart) and its links,
    anchors and written-out URLs alike, in document order."""
    pieces: list[str] = []
    length = 0
    anchors: list[RawLink] = []
    anchor: _Anchor | None = None
    position = 0
    for _ in range(MAX_TAGS if markup else 0):
        match = _TAG.search(markup, position)
        piece = markup[position : len(markup) if match is None else match.start()]
        if piece:
            pieces.append(html.unescape(piece) if "&" in piece else piece)
            length += len(pieces[-1])
        if match is None:
            break
        comment, closing, name, attributes = match.groups()
        position = match.end()
        name = (name or "").lower()
        if comment:
            close = markup.find("-->", position)
            position = len(markup) if close < 0 else close + 3
        elif name in _HIDDEN_END and not closing:
            hidden_end = _HIDDEN_END[name].search(markup, position)
            position = len(markup) if hidden_end is None else hidden_end.end()
        elif name == "a":
            if anchor is not None:
                anchors.append(_finish_anchor(anchor, pieces))
                anchor = None
            if not closing:
                anchor = _Anchor(_attribute(attributes, "href"), length, len(pieces))
        elif name == "img" and anchor is not None:
            anchor.alts.append(_attribute(attributes, "alt"))
        elif name in _BLOCK_TAGS or name in _CELL_TAGS:
            pieces.append(_BLOCK_MARK if name in _BLOCK_TAGS else " ")
            length += 1
    if anchor is not None:
        anchors.append(_finish_anchor(anchor, pieces))
    raw = "".join(pieces)
    for link in anchors:
        link.source = raw
    links = [link for link in anchors if link.url] + list(bare_links(raw))
    links.sort(key=lambda link: (link.position, not link.anchor))
    visible = _BLOCKS.sub("\n", _SPACES.sub(" ", raw)).strip()
    return visible, links


def _attribute(attributes: str, name: str) -> str:
    for match in _ATTRIBUTE.finditer(attributes):
        if match.group(1).lower() == name:
            value = match.group(2) or match.group(3) or match.group(4) or ""
            return html.unescape(value).strip()
    return ""


def _finish_anchor(anchor: _Anchor, pieces: list[str]) -> RawLink:
    inside = "".join(pieces[anchor.first_piece :])
    text = _collapse(inside)
    if not text:
        text = " ".join(alt for alt in anchor.alts if alt)
    text = text[:MAX_LINK_TEXT]
    url = anchor.href if _is_web_url(anchor.href) else ""
    return RawLink(url, text, anchor.start, anchor=True, end=anchor.start + len(inside))


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text.replace(_BLOCK_MARK, " ")).strip()


def bare_links(text: str) -> Iterator[RawLink]:
    """URLs written out in text, trailing punctuation removed."""
    for match in URL.finditer(text):
        url = _trim_url(match.group())
        if _is_web_url(url):
            start = match.start()
            yield RawLink(url, "", start, anchor=False, end=start + len(url), source=text)


def _trim_url(url: str) -> str:
    """The URL less trailing punctuation, and less trailing `)`s that close nothing in it."""
    # Counted once and kept up to date: recounting per character made this quadratic.
    unmatched = url.count(")") - url.count("(")
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _URL_TRAILER:
            end -= 1
        elif last == ")" and unmatched > 0:
            unmatched -= 1
            end -= 1
        else:
            break
    return url[:end]


def _is_web_url(url: str) -> bool:
    return (
        url[:8].lower().startswith(("http://", "https://"))
        and len(url) <= MAX_URL
        and url.isprintable()
        and " " not in url
    )


def is_generic(anchor_text: str) -> bool:
    """Anchor text that says nothing of its own ("click here", the URL itself, nothing)."""
    text = anchor_text.lower().strip(" .:!>»→")
    return text in GENERIC_ANCHORS or URL.match(text) is not None
