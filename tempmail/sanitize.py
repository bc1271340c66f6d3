"""Making untrusted HTML mail safe to show: pure functions over strings.

Rewrites happen inside the sanitizer (never by string replacement afterwards, see Roundcube
CVE-2024-42009): the attribute filter decides every `src`, `href` and `style`, and returns only
values it has checked or built itself, because nh3 does not re-check what a filter returns.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

import nh3

from tempmail.mailtext import read_html
from tempmail.reading.markup import measure

INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Every use of an inline image is charged its `data:` URI against one budget per read: this
# much, plus four times the message's size (so a read's output stays linear in the message).
INLINE_IMAGE_FLOOR = 2 * 1024 * 1024
MAX_INLINE_OUTPUT = 16 * 1024 * 1024
TOO_COMPLEX_NOTE = (
    "This message's formatting is too deeply nested or malformed to show safely; here is its text."
)

_EXTRA_GENERIC = {"style", "align", "valign", "bgcolor", "width", "height", "dir", "lang", "title"}
_EXTRA_ATTRIBUTES = {
    "table": {"border", "cellpadding", "cellspacing", "summary"},
    "td": {"nowrap"},
    "font": {"color", "face", "size"},
    "img": {"src", "alt", "width", "height", "align", "border"},
    "a": {"href", "hreflang"},
}
_STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
    "font-variant", "line-height", "letter-spacing", "text-align", "text-decoration",
    "text-transform", "text-indent", "vertical-align", "white-space", "word-break", "word-spacing",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color",
    "border-style", "border-width", "border-radius", "border-collapse", "border-spacing",
    "width", "min-width", "max-width", "height", "min-height", "max-height",
    "display", "table-layout", "overflow", "list-style-type", "direction", "opacity",
}  # fmt: skip
_DANGEROUS_STYLE = re.compile(
    r"url\s*\(|image-set|expression|@import|\\|javascript:|behavior", re.I
)
_BLOCK_TAG = re.compile(
    r"<(?=/?(?:p|div|br|hr|h[1-6]|li|ul|ol|dd|dt|tr|td|th|table|blockquote|pre|section|"
    r"article|header|footer|center)\b)",
    re.I,
)
_REMOTE = re.compile(r"^https?://[^\s]+$", re.I)
_LINK = re.compile(r"^(https?://|mailto:)[^\s]*$", re.I)
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp);base64,[A-Za-z0-9+/=\s]+$", re.I)


@dataclass
class _Pass:
    """What one sanitizing pass knows and learns: inline images, the remote-image choice."""

    inline_images: Mapping[str, tuple[str, bytes]]
    allow_remote: bool
    inline_budget: int
    remote_blocked: int = 0
    inline_omitted: int = 0
    cache: dict[str, str] = field(default_factory=dict)


_current: ContextVar[_Pass] = ContextVar("tempmail_sanitize_pass")


def inline_budget(message_size: int) -> int:
    """The characters of inline-image `data:` URIs one read of a message may return."""
    return min(MAX_INLINE_OUTPUT, INLINE_IMAGE_FLOOR + 4 * max(0, message_size))


def _data_uri_length(content_type: str, data: bytes) -> int:
    return len("data:;base64,") + len(content_type) + (len(data) + 2) // 3 * 4


def _inline_image(state: _Pass, content_id: str) -> str | None:
    """The `data:` URI for one use of an inline image, charged to the read's budget."""
    found = state.inline_images.get(content_id)
    if found is None or found[0] not in INLINE_IMAGE_TYPES:
        return None
    # A use past the budget loses its source (its alt text stays) and is counted.
    if _data_uri_length(*found) > state.inline_budget:
        state.inline_omitted += 1
        return None
    uri = state.cache.get(content_id)
    if uri is None:
        uri = f"data:{found[0]};base64,{base64.b64encode(found[1]).decode('ascii')}"
        state.cache[content_id] = uri
    state.inline_budget -= len(uri)
    return uri


def _image_source(state: _Pass, value: str) -> str | None:
    if value[:4].lower() == "cid:":
        return _inline_image(state, value[4:].strip().strip("<>"))
    if _DATA_IMAGE.match(value):
        return value
    if _REMOTE.match(value):
        if state.allow_remote:
            return value
        state.remote_blocked += 1
    return None


def _filter(tag: str, attribute: str, value: str) -> str | None:
    state = _current.get()
    value = value.strip()
    if attribute == "style":
        return None if _DANGEROUS_STYLE.search(value) else value
    if attribute == "src":
        return _image_source(state, value) if tag == "img" else None
    if attribute == "href":
        return value if _LINK.match(value) else None
    return value


class Sanitizer:
    """An nh3 cleaner built once; `clean` runs one pass with the message's own inline images."""

    def __init__(self) -> None:
        attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
        for tag, names in _EXTRA_ATTRIBUTES.items():
            attributes.setdefault(tag, set()).update(names)
        attributes["*"] = set(_EXTRA_GENERIC)
        for names in attributes.values():
            names.discard("cite")
        self._cleaner = nh3.Cleaner(
            tags=set(nh3.ALLOWED_TAGS) | {"font"},
            clean_content_tags={"script", "style", "title", "head", "svg", "math", "template"},
            attributes=attributes,
            attribute_filter=_filter,
            link_rel="noopener noreferrer",
            set_tag_attribute_values={"a": {"target": "_blank"}},
            url_schemes={"http", "https", "mailto", "cid", "data"},
            url_relative="deny",
            filter_style_properties=_STYLE_PROPERTIES,
        )

    def clean(
        self,
        markup: str,
        inline_images: Mapping[str, tuple[str, bytes]] | None = None,
        allow_remote: bool = False,
        image_budget: int = INLINE_IMAGE_FLOOR,
    ) -> Cleaned:
        """Safe HTML for `markup`, with at most `image_budget` characters of inline images.

        Markup that nh3 could not clean in time linear in its length (see `reading.markup`)
        is shown as its visible text under a note instead.
        """
        if measure(markup).hostile:
            markup = _as_text(markup)
        state = _Pass(inline_images or {}, allow_remote, image_budget)
        token = _current.set(state)
        try:
            cleaned = self._cleaner.clean(markup)
        finally:
            _current.reset(token)
        return Cleaned(cleaned, state.remote_blocked, state.inline_omitted)


@dataclass(frozen=True)
class Cleaned:
    """One sanitizing pass's result."""

    html: str
    remote_blocked: int
    inline_omitted: int


def _as_text(markup: str) -> str:
    """Markup too complex to clean, as HTML showing only its visible text and a note."""
    visible = read_html(markup)[0]
    return (
        f"<p><em>{html.escape(TOO_COMPLEX_NOTE)}</em></p>"
        f'<div style="white-space: pre-wrap">{html.escape(visible)}</div>'
    )


def html_to_text(markup: str, limit: int | None = None) -> str:
    """Visible text of HTML (one-off use; servers keep a `Sanitizer`), from at most `limit`
    characters of nh3's escaped output (unescaping a flood of entities is slow)."""
    if not markup:
        return ""
    # Block boundaries separate words on screen; keep them apart once the tags are gone.
    spaced = _BLOCK_TAG.sub(" <", markup)
    text = nh3.clean(spaced, tags=set(), clean_content_tags={"script", "style", "title", "head"})
    return html.unescape(text[:limit])
