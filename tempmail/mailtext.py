"""What a message shows: the visible text of its HTML, and where its links occur.

A link occurrence (`RawLink`) is an anchor in the HTML or a URL written out in text, with the
words just before it when its own text says nothing ("click here", the URL itself);
`extract/links.py` judges them. HTML is read by a small linear tag scanner, not `html.parser` or nh3:
on 200 KB of crafted markup the first takes minutes (`"<a " * n`) and the second seconds
(deeply nested elements).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from heapq import merge
from itertools import accumulate, compress, repeat

MAX_LINK_TEXT = 200
# How far before and after a link its clauses are looked for.
_WINDOW = 200
_LEAD = 160
# A clause ends at a line or block break or at a sentence's end.
_CLAUSE_MARK = re.compile("[\n\ue000\u3002\uff01\uff1f]|[.!?] |\\.[\n\ue000]")
# The last mark of a window: a greedy run, then the mark (bounded windows: linear).
_LAST_CLAUSE_MARK = re.compile("(?s:.*)([\n\ue000\u3002\uff01\uff1f]|[.!?] )")
_PARAGRAPH_END = re.compile(r"\n[ \t\r]*+\n")
# The last paragraph break of a window (a blank line or a block's end).
_LAST_PARAGRAPH_MARK = re.compile("(?s:.*)(?:\n[ \t\r]*+\n|\ue000)")
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
BLOCK_MARK = "\ue000"

# A tag: its name ("/p" for a closing one; "!" or "?" for a declaration) and attributes.
_SPLIT = re.compile(r"<(/?[A-Za-z][A-Za-z0-9]*+|[!?])([^<>]*+)>")
# Where a comment or a hidden element starts: what follows is not shown up to its end.
_HIDDEN_START = re.compile(
    r"<(?:!--|({})(?![A-Za-z0-9])[^<>]*+>)".format("(?i:" + "|".join(_HIDDEN_TAGS) + ")")
)
_HIDDEN_OPENERS = ("<!--", *(f"<{name}" for name in _HIDDEN_TAGS))
_HIDDEN_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _HIDDEN_TAGS}
_ATTRIBUTE = re.compile(r"""(?i)\b(href|alt)\s*+=\s*+(?:"([^"]*+)"|'([^']*+)'|([^\s"'>]++))""")
# What each tag leaves in the text: a block mark for blocks, a space for cells, else nothing.
_STAND_IN = {
    **{f"{slash}{name}": BLOCK_MARK for name in _BLOCK_TAGS for slash in ("", "/")},
    **{f"{slash}{name}": " " for name in _CELL_TAGS for slash in ("", "/")},
}
_ANCHOR_TAGS = frozenset({"a", "/a"})
_IMAGE_TAGS = frozenset({"img", "/img"})
# A URL written out in text; `extract/codes.py` masks the same matches before looking for codes.
# Latin and Cyrillic letters count (internationalised host names and paths); CJK does not, as
# CJK text runs on right after a URL.
# It opens with a character class, not `\b`, so that re skips ahead to the next "h" quickly.
# A letter glued before it ends no URL, except the "n" of a backslash-n that a translation
# catalog left escaped ("...пошти:\nhttps://..."): the URL starts after it.
URL = re.compile(
    r"[hH](?:(?<!\w[hH])|(?<=\\[nrt][hH]))(?i:ttps?://)"
    r"[!#-;=?-\[\]-~\u00c0-\u024f\u0400-\u04ff]++"
)
# What ends a URL's scheme: URLs are found from it, as `str.find` skips to the next "://"
# at once where a pattern that opens with "[hH]" is tried at every "h" of the text.
_SCHEME_END = "://"
_URL_TRAILER = ".,;:!?'\"*>]}"
_GLUED_WORD = re.compile(r"[a-z0-9]\.([^\W\d_]{2,20}+)$")


@dataclass(slots=True)
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
        # A full stop right before the link ends the clause that leads to it ("...下記のURL
        # を開いてください。\nURL"), as "." before a line break does.
        window = window.rstrip(_SPACE_OR_MARK).rstrip("\u3002\uff01\uff1f")
        last = _LAST_CLAUSE_MARK.match(window)
        return " ".join(window[last.start(1) + 1 if last else 0 :].split())

    def paragraph_before(self) -> str:
        """The paragraph leading up to a link that starts its own line: the instruction is
        often a sentence before the last ("Open the link to confirm. It expires in a day.")."""
        window = self.source[max(0, self.position - _WINDOW) : self.position]
        if window.rstrip(" \t\r")[-1:] not in ("\n", BLOCK_MARK, ""):
            return ""
        window = window.rstrip(_SPACE_OR_MARK)
        last = _LAST_PARAGRAPH_MARK.match(window)
        return " ".join(window[last.end() if last else 0 :].split())

    def lead(self) -> str:
        """The text just before a link, across lines and blocks: what leads to a link
        whose own clause is a bare "Or click" ("Enter this code: 581930. Or click <a>this
        link</a>")."""
        window = self.source[max(0, self.position - _LEAD) : self.position]
        return " ".join(window.replace(BLOCK_MARK, " ").split())

    def after(self) -> str:
        """The clause from the link on ("... to reset your password.")."""
        window = self.source[self.end : self.end + _WINDOW].lstrip(" \t\r")
        if window.startswith(BLOCK_MARK) or _PARAGRAPH_END.match(window):
            return ""  # the link ends its paragraph: what follows is another one
        window = window.lstrip(_SPACE_OR_MARK)
        if self.source[self.end : self.end + 1] in ("\n", "\r") and window[:1].isupper():
            return ""  # the link ends its line and a new sentence starts on the next
        first = _CLAUSE_MARK.search(window)
        return " ".join(window[: first.start() + 1 if first else len(window)].split())


def read_html(markup: str) -> tuple[str, list[RawLink]]:
    """The visible text of HTML (blocks on their own lines, cells apart) and its links,
    anchors and written-out URLs alike, in document order."""
    page = _Page(markup)
    return page.visible(), list(page.links())


def html_view(markup: str, shown: int) -> tuple[str, Iterator[RawLink]]:
    """What `read_html` reads, for a reader who needs only the first `shown` characters of
    the visible text and may stop early in the links: both are made only as far as read (a
    newsletter's 90th link, or its last 15 KB of text, cost nothing)."""
    page = _Page(markup)
    return page.visible(shown), page.links()


class _Page:
    """HTML cut at its tags: the text with each tag's stand-in (`raw`), and the tags."""

    __slots__ = ("attributes", "joined", "names", "raw")

    def __init__(self, markup: str) -> None:
        # The markup is cut at its tags by one `re.split`, and each tag's stand-in (a block
        # mark, a space, nothing) is looked up with `map`, so that no Python code runs per
        # tag but for anchors and images: a loop over each tag cost ~3 us a tag here, 2 ms
        # for a newsletter.
        parts: list[str] = []
        for segment in _shown_segments(markup):
            pieces = _SPLIT.split(segment)
            if "&" in segment:
                pieces[0::3] = [html.unescape(t) if "&" in t else t for t in pieces[0::3]]
            if parts:
                parts[-1] += pieces[0]
                parts += pieces[1:]
            else:
                parts = pieces
        if len(parts) > 3 * MAX_TAGS:
            parts = [*parts[: 3 * MAX_TAGS], ""]  # what follows the last tag looked at is dropped
        texts = parts[0::3]
        names = parts[1::3]
        # Lower-cased one by one only when some tag is not written in small letters already.
        written = "".join(names)
        self.names = names if written == written.lower() else list(map(str.lower, names))
        self.attributes = parts[2::3]
        self.joined: list[str] = [""] * (len(texts) + len(self.names))
        self.joined[0::2] = texts
        self.joined[1::2] = map(_STAND_IN.get, self.names, repeat(""))
        self.raw = "".join(self.joined)

    def visible(self, shown: int | None = None) -> str:
        """The visible text, or its first `shown` characters: whitespace is collapsed in a
        stretch of `raw` a quarter longer than needed, and in one three times as long if that
        was not enough (markup indented deep is mostly whitespace)."""
        raw = self.raw
        if shown is not None:
            stretch = shown + shown // 4
            while stretch < len(raw):
                text = _collapse_lines(raw[:stretch])
                # Past `shown` characters, a prefix of `raw` reads as the whole does.
                if len(text) > shown:
                    return text[:shown]
                stretch *= 3
        return _collapse_lines(raw)

    def links(self) -> Iterator[RawLink]:
        """Anchors and, when there are any, URLs written out in text, in document order."""
        anchors = _anchors(self.raw, self.joined, self.names, self.attributes)
        if "://" not in self.raw:
            return anchors
        return _outside_anchors(merge(anchors, bare_links(self.raw), key=_document_order))


def _outside_anchors(links: Iterator[RawLink]) -> Iterator[RawLink]:
    """Written-out URLs but those that are an anchor's own text: a template that shows a long
    address shortened ("https://x/comments/confirm/.eJxVkL9...") links the whole of it."""
    shown_until = -1
    for link in links:
        if link.anchor:
            shown_until = link.end
            yield link
        elif link.position >= shown_until:
            yield link


def _document_order(link: RawLink) -> tuple[int, bool]:
    return link.position, not link.anchor


def _collapse_lines(raw: str) -> str:
    lines = " ".join(raw.split()).split(BLOCK_MARK)
    return "\n".join(filter(None, map(str.strip, lines)))


def _shown_segments(markup: str) -> Iterator[str]:
    """The markup less its comments and hidden elements (style sheets, scripts...)."""
    # Where each kind of hidden start may next be is found by `str.find` in the lower-cased
    # markup, and looked for again only once passed (each find runs over the markup once):
    # the pattern alone, tried at every "<", cost as much as cutting the markup at its tags.
    lowered = markup.lower()
    nexts = {opener: lowered.find(opener) for opener in _HIDDEN_OPENERS}
    if len(lowered) != len(markup):
        # A letter whose lower case is longer: offsets differ, and the pattern looks at every "<".
        lowered, nexts = markup, {"<": 0}
    position = 0
    while True:
        for opener, at in nexts.items():
            if 0 <= at < position:
                nexts[opener] = lowered.find(opener, position)
        first = min((at for at in nexts.values() if at >= 0), default=-1)
        match = None if first < 0 else _HIDDEN_START.search(markup, first)
        if match is None:
            yield markup[position:]
            return
        yield markup[position : match.start()]
        if match.group(1) is None:  # a comment
            close = markup.find("-->", match.end())
            position = len(markup) if close < 0 else close + 3
        else:
            hidden_end = _HIDDEN_END[match.group(1).lower()].search(markup, match.end())
            position = len(markup) if hidden_end is None else hidden_end.end()


def _anchors(
    raw: str, joined: list[str], names: list[str], attributes: list[str]
) -> Iterator[RawLink]:
    """The anchors with a web URL, where they start and end in `raw`; an anchor ends at the
    next `<a>` or `</a>`, and its images' alt texts stand in for text it lacks."""
    marks = list(compress(range(len(names)), map(_ANCHOR_TAGS.__contains__, names)))
    if not marks:
        return
    # offsets[2 * i + 1] is where tag i stood in `raw`; one past the last tag, its end.
    offsets = [0, *accumulate(map(len, joined))]
    opened = -1  # the open anchor's tag
    marks.append(len(names))
    for index in marks:
        if opened >= 0:
            # Less a sentence's closing mark: an autolinker that took the full stop into
            # the link ("...?token=Ab12.") made a broken URL.
            href = _attribute(attributes[opened], "href").rstrip(".,;:!?")
            if _is_web_url(href):
                start, end = offsets[2 * opened + 1], offsets[2 * index + 1]
                text = _collapse(raw[start:end]) or _alt_text(names, attributes, opened, index)
                yield RawLink(href, text[:MAX_LINK_TEXT], start, True, end, raw)
            opened = -1
        if index < len(names) and names[index] == "a":
            opened = index


def _alt_text(names: list[str], attributes: list[str], opened: int, closed: int) -> str:
    """The alt texts of the images between two tags, for an anchor that shows only images."""
    alts = (
        _attribute(attributes[index], "alt")
        for index in range(opened + 1, closed)
        if names[index] in _IMAGE_TAGS
    )
    return " ".join(alt for alt in alts if alt)


def _attribute(attributes: str, name: str) -> str:
    # Most anchors start with their href, quoted: read without the pattern.
    if attributes.startswith(f' {name}="'):
        close = attributes.find('"', len(name) + 3)
        if close >= 0:
            value = attributes[len(name) + 3 : close]
            return html.unescape(value).strip() if "&" in value else value.strip()
    match = _ATTRIBUTE.search(attributes)
    while match is not None:
        if match.group(1).lower() == name:
            value = match.group(2) or match.group(3) or match.group(4) or ""
            return html.unescape(value).strip() if "&" in value else value.strip()
        match = _ATTRIBUTE.search(attributes, match.end())
    return ""


def _collapse(text: str) -> str:
    return " ".join(text.replace(BLOCK_MARK, " ").split())


def find_urls(text: str) -> Iterator[re.Match[str]]:
    """What `URL.finditer` finds, found from each "://" and read back to its "http"/"https"."""
    at = text.find(_SCHEME_END)
    while at >= 0:
        match = None
        if at >= 5 and text[at - 5 : at].lower() == "https":
            match = URL.match(text, at - 5)
        elif at >= 4 and text[at - 4 : at].lower() == "http":
            match = URL.match(text, at - 4)
        if match is not None:
            yield match
            at = text.find(_SCHEME_END, match.end())
        else:
            at = text.find(_SCHEME_END, at + 3)


def mask_urls(text: str, mask: str) -> str:
    """The text with each URL replaced by `mask` (what `URL.sub` does)."""
    pieces: list[str] = []
    done = 0
    for match in find_urls(text):
        pieces += [text[done : match.start()], mask]
        done = match.end()
    return "".join(pieces) + text[done:] if pieces else text


def bare_links(text: str) -> Iterator[RawLink]:
    """URLs written out in text, trailing punctuation removed."""
    for match in find_urls(text):
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
    url = url[:end]
    # A Markdown link in a text part ("[https://x/reset?t=1](https://x/reset?t=1)"): the URL
    # ends before the bracket, and what the parentheses hold is the same address again.
    markdown = url.find("](http")
    if markdown > 0:
        url = url[:markdown]
    # A sentence that follows the URL with no space ("...?key=9af27.Thank you"): its first
    # word, capitalized, is not part of the address.
    glued = _GLUED_WORD.search(url)
    if (
        glued is not None
        and glued.group(1)[0].isupper()
        and glued.group(1)[1:].islower()
        and 0 <= url.find("/", url.find("//") + 2) < glued.start()
    ):
        return url[: glued.start(1) - 1]
    return url


def _is_web_url(url: str) -> bool:
    return (
        url[:8].lower().startswith(("http://", "https://"))
        and len(url) <= MAX_URL
        and url.isprintable()
        and " " not in url
    )
