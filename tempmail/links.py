"""The message's links, deduplicated, and which of them is the verification link.

Owns `Link` and the verdict on each occurrence that `mailtext.py` finds: its anchor text, its
URL and, when the anchor says nothing, the words just before it are weighed together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import msgspec

from tempmail import wording
from tempmail.mailtext import RawLink, is_generic
from tempmail.vocabulary import Vocabulary

MAX_LINKS = 50
MAX_RAW_LINKS = 500
LINK_THRESHOLD = 3

_URL_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}+")
_LINK_WORDS = Vocabulary.build(wording.LINK_NOT_TERMS, wording.LINK_TERMS, wording.LINK_HINT_TERMS)
_URL_WORDS = Vocabulary.build(wording.URL_NOT_TERMS, wording.URL_TERMS, wording.URL_HINT_TERMS)


class Link(msgspec.Struct, frozen=True):
    """An http(s) link in the message; `verification` marks the likely verify/confirm link."""

    url: str
    text: str
    verification: bool


def collect_links(occurrences: Iterable[RawLink]) -> list[Link]:
    """Links deduplicated by URL, verification links first, each group in document order.

    A URL counts as verification if any of its occurrences does (a button and the same URL
    written out below it); its text is the first non-empty anchor text.
    """
    texts: dict[str, str] = {}
    verified: dict[str, bool] = {}
    for count, occurrence in enumerate(occurrences):
        if count >= MAX_RAW_LINKS:
            break
        url = occurrence.url
        if not texts.get(url):
            texts[url] = occurrence.text
        if not verified.get(url):
            verified[url] = _is_verification(occurrence)
    links = [Link(url=url, text=texts[url], verification=verified[url]) for url in texts]
    links.sort(key=lambda link: not link.verification)
    return links[:MAX_LINKS]


def _is_verification(link: RawLink) -> bool:
    """Whether one occurrence of a link looks like the verify/confirm/reset/magic link."""
    if _is_social_or_asset(link.url):
        return False
    url_kinds = _URL_WORDS.kinds(link.url[link.url.find("//") + 2 :].lower())
    text_kinds = _LINK_WORDS.kinds(link.text.lower())
    if "no" in url_kinds or "no" in text_kinds:
        return False
    score = 3 if "yes" in text_kinds else 1 if "hint" in text_kinds else 0
    score += 2 if "yes" in url_kinds else 1 if "hint" in url_kinds else 0
    if is_generic(link.text):
        context = link.context.lower()
        if "no" in _LINK_WORDS.kinds(context[-40:]):
            return False
        context_kinds = _LINK_WORDS.kinds(context[-100:])
        score += 2 if "yes" in context_kinds else 1 if "hint" in context_kinds else 0
    if _has_token(link.url):
        score += 1
    return score >= LINK_THRESHOLD


def _has_token(url: str) -> bool:
    """Whether the path or query carries a long random-looking value, as one-use links do."""
    rest = url[url.find("//") + 2 :]
    slash = rest.find("/")
    for match in _URL_TOKEN.finditer(rest[slash:] if slash >= 0 else ""):
        value = match.group()
        if any(char.isdigit() for char in value) and any(char.isalpha() for char in value):
            return True
    return False


def _is_social_or_asset(url: str) -> bool:
    rest = url[url.find("//") + 2 :]
    host = re.split(r"[/?#:]", rest, maxsplit=1)[0].lower()
    if any(label in wording.SOCIAL_HOSTS for label in host.split(".")[:-1]):
        return True
    path = rest[len(host) :].split("?", 1)[0].lower()
    return path.endswith((".png", ".gif", ".jpg", ".jpeg", ".webp", ".svg", ".css", ".js"))
