"""How much work a piece of HTML makes for an HTML5 tree builder, measured in one linear pass.

nh3 parses with html5ever, whose tree builder spends time per tag in proportion to the depth
of its stack of open elements (scope checks walk it) and to the formatting elements it must
reopen, and per attribute in proportion to the attributes already on the tag (duplicate
checks). Measured here with nh3 0.3.8: 400 KB of nested `<div>`s take 40 s, 400 KB of
`<b id=N>` followed by paragraphs 21 s, one tag with 40,000 attributes 0.6 s. Mail is
written by whoever wants to, so `sanitize` asks this module first and shows markup beyond
the limits as text instead.

The model is conservative: it never closes an element that the tree builder would keep open.
Every `<name` is a tag, even inside comments, `<script>` or quoted attribute values (the tree
builder sees a subset of those); a closing tag closes only what the builder's own rules would
close (scope for special elements, the "any other end tag" walk for the rest); a formatting
element closed implicitly counts as one the builder may reopen, and reopened ones count
against the same limit as nesting, for good: reopening can push them onto the stack outside
whatever closed them. Each step is O(1) amortized, so the pass is linear in the markup's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The tree builder's stack stays below this many elements (ordinary mail: 10-40).
MAX_DEPTH = 200
# Attributes on one tag, counted generously (ordinary tags: under 20).
MAX_ATTRIBUTES = 256


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


_TAG = re.compile(r"<(?:(!--)|(/?)([A-Za-z][^\s/>]*+)([^>]*+))")
# Inside these the tree builder reads text up to their own end tag.
_RAW_TEXT = _names("script style textarea title xmp iframe noembed noframes noscript plaintext")
# ...and in a select, end tags other than these are ignored.
_SELECT_ENDS = _names("select option optgroup")
# In SVG and MathML, HTML start tags break out of them: their end tags close nothing here.
_FOREIGN = _names("svg math")
# Each attribute starts after white space or a slash: an upper bound on the attribute count.
_ATTRIBUTE_START = re.compile(r"[\s/]++[^\s/>]")

_VOID = _names(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param "
    "source track wbr"
)
# Never pushed in a fragment: the tree builder merges their attributes into what exists.
_NOT_PUSHED = _names("html head body")
# Their end tags close nothing above them (`</form>` takes the form out of the stack alone).
_CLOSES_NOTHING = _NOT_PUSHED | {"form"}
_FORMATTING = _names("a b big code em font i nobr s small strike strong tt u")
# Elements the tree builder's "has an element in scope" stops at.
_SCOPE_BOUNDARY = _names(
    "applet caption html table td th marquee object template mi mo mn ms mtext "
    "annotation-xml foreignobject desc title"
)
# The HTML standard's "special" category: an end tag of another element never closes these.
_SPECIAL = _SCOPE_BOUNDARY | _names(
    "address area article aside base basefont bgsound blockquote body br button center col "
    "colgroup dd details dir div dl dt embed fieldset figcaption figure footer form frame "
    "frameset h1 h2 h3 h4 h5 h6 head header hgroup hr iframe img input keygen li link listing "
    "main menu meta nav noembed noframes noscript ol p param plaintext pre script search "
    "section select source style summary tbody textarea tfoot thead tr track ul wbr xmp"
)
# A start tag of one of these closes an open element of the same group on top of the stack.
_SIBLINGS = {"p": "p", "li": "li", "dd": "dt", "dt": "dt", "option": "option"}
# A start tag of a table part closes the open table parts of its level and below it.
_TABLE_LEVELS = {"td": 0, "th": 0, "tr": 1, "tbody": 2, "thead": 2, "tfoot": 2, "caption": 2}
# The end tags of table parts look for their element in "table scope".
_TABLE_SCOPE = frozenset({"html", "table", "template"})
_CLOSES_P = _names(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr main menu nav ol p pre section "
    "summary table ul li dd dt"
)


@dataclass
class Shape:
    """What one pass over the markup found."""

    depth: int = 0
    attributes: int = 0
    reopened: int = 0
    tags: int = 0

    @property
    def hostile(self) -> bool:
        """Beyond what nh3 handles in time linear in the markup's length."""
        return self.depth + self.reopened > MAX_DEPTH or self.attributes > MAX_ATTRIBUTES


@dataclass
class _Stack:
    names: list[str] = field(default_factory=list)
    # Where each name, each scope boundary and each special element sits in `names`.
    where: dict[str, list[int]] = field(default_factory=dict)
    boundaries: list[int] = field(default_factory=list)
    tables: list[int] = field(default_factory=list)
    specials: list[int] = field(default_factory=list)

    def push(self, name: str) -> None:
        index = len(self.names)
        self.names.append(name)
        self.where.setdefault(name, []).append(index)
        if name in _SCOPE_BOUNDARY:
            self.boundaries.append(index)
        if name in _TABLE_SCOPE:
            self.tables.append(index)
        if name in _SPECIAL:
            self.specials.append(index)

    def pop(self) -> str:
        name = self.names.pop()
        self.where[name].pop()
        index = len(self.names)
        if self.boundaries and self.boundaries[-1] == index:
            self.boundaries.pop()
        if self.tables and self.tables[-1] == index:
            self.tables.pop()
        if self.specials and self.specials[-1] == index:
            self.specials.pop()
        return name

    def top(self) -> str:
        return self.names[-1] if self.names else ""

    def topmost(self, name: str) -> int:
        found = self.where.get(name)
        return found[-1] if found else -1


def measure(markup: str) -> Shape:
    """The deepest nesting, reopened formatting elements and most attributes on one tag."""
    shape = Shape()
    stack = _Stack()
    # End tags in a comment or in raw text are text to the tree builder: until the comment's
    # last possible end, or the raw text element's own end tag, they close nothing here.
    comment_end = -1
    raw_text = ""
    for match in _TAG.finditer(markup):
        comment, closing, name, rest = match.groups()
        if comment:
            if match.start() >= comment_end:
                found = markup.find("-->", match.end())
                comment_end = len(markup) if found < 0 else found
            continue
        name = name.lower()
        shape.tags += 1
        if closing:
            if match.start() < comment_end or (
                raw_text
                and name != raw_text
                and not (raw_text == "select" and name in _SELECT_ENDS)
            ):
                continue
            if name == raw_text:
                raw_text = ""
                if name in _FOREIGN:
                    continue
            closed = _close(stack, name)
            shape.reopened += sum(
                1 for popped in closed if popped in _FORMATTING and popped != name
            )
            continue
        attributes = len(_ATTRIBUTE_START.findall(rest)) if len(rest) > MAX_ATTRIBUTES else 0
        shape.attributes = max(shape.attributes, attributes)
        if (
            (name in _RAW_TEXT or name in _FOREIGN or name == "select")
            and not raw_text
            and match.start() >= comment_end
        ):
            raw_text = name
        if name in _VOID or name in _NOT_PUSHED:
            continue
        level = _TABLE_LEVELS.get(name)
        if level is not None:
            if not stack.tables:
                continue  # outside a table the tree builder ignores it
            while _TABLE_LEVELS.get(stack.top(), 3) <= level:
                stack.pop()
            # The tree builder adds the row and the row group a cell or a row goes in.
            if level < 2 and _TABLE_LEVELS.get(stack.top(), 3) == 3:
                stack.push("tbody")
            if level == 0 and stack.top() != "tr":
                stack.push("tr")
        sibling = _SIBLINGS.get(name)
        top = stack.top()
        if (sibling is not None and _SIBLINGS.get(top) == sibling) or (
            name in _CLOSES_P and top == "p"
        ):
            stack.pop()
        stack.push(name)
        shape.depth = max(shape.depth, len(stack.names))
        if shape.hostile:
            break  # the verdict cannot change
    return shape


def _close(stack: _Stack, name: str) -> list[str]:
    """Pop what the tree builder would pop for `</name>`; nothing when it would ignore it."""
    index = stack.topmost(name)
    if index < 0 or name in _CLOSES_NOTHING:
        return []
    if name in _TABLE_LEVELS or name == "table":
        # In "table scope", and only where a table gives these elements a place at all.
        if not stack.tables or stack.tables[-1] > index:
            return []
    elif name in _SPECIAL:
        # Closes only when in scope: no scope boundary above it.
        if stack.boundaries and stack.boundaries[-1] > index:
            return []
    elif stack.specials and stack.specials[-1] > index:
        # Any other end tag (formatting ones included) stops at a special element.
        return []
    return [stack.pop() for _ in range(len(stack.names) - index)]
