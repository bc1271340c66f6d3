"""The `Vocabulary` matcher: which negative, positive and hint terms a text holds, and where.

It knows no words of its own; `codecontext.py` and `links.py` build theirs from `wording.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

_Tree: TypeAlias = dict[str, "_Tree"]
# Scripts written without spaces: a Latin word inside them still stands alone.
_CJK_OR_KANA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff66-\uff9f]")


@dataclass(frozen=True)
class Vocabulary:
    """Negative, positive and hint terms compiled into one prefix-tree pattern.

    re tries the branches of a flat alternation one after another at every position; with
    hundreds of terms a tree of shared prefixes is about seven times faster. At any position
    the longest term wins, so "zip code" is found as itself and not as "code".
    """

    pattern: re.Pattern[str]
    negative: frozenset[str]
    positive: frozenset[str]
    whole_words: frozenset[str]

    @classmethod
    def build(
        cls,
        negative: Iterable[str],
        positive: Iterable[str],
        hints: Iterable[str],
        whole_words: Iterable[str] = (),
    ) -> Vocabulary:
        negative, positive, hints = frozenset(negative), frozenset(positive), frozenset(hints)
        tree: _Tree = {}
        for term in negative | positive | hints:
            node = tree
            for char in term:
                node = node.setdefault(char, {})
            node[""] = {}  # the end of a term
        return cls(re.compile(_tree_pattern(tree)), negative, positive, frozenset(whole_words))

    def find(self, text: str) -> Iterator[tuple[str, int, int]]:
        """(kind, start, end) of each term in text, kind being "no", "yes" or "hint"."""
        for match in self.pattern.finditer(text):
            term, start, end = match.group(), match.start(), match.end()
            if term in self.whole_words and not _stands_alone(text, start, end):
                continue
            kind = "no" if term in self.negative else "yes" if term in self.positive else "hint"
            yield kind, start, end

    def kinds(self, text: str) -> frozenset[str]:
        """The kinds of term text holds."""
        if self.whole_words:
            return frozenset(kind for kind, _, _ in self.find(text))
        terms = set(self.pattern.findall(text))
        return frozenset(
            kind
            for kind, present in (
                ("no", not terms.isdisjoint(self.negative)),
                ("yes", not terms.isdisjoint(self.positive)),
                ("hint", not terms <= self.negative | self.positive),
            )
            if present
        )


def _tree_pattern(node: _Tree) -> str:
    branches = [
        re.escape(char) + _tree_pattern(child) for char, child in sorted(node.items()) if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body


def _stands_alone(text: str, start: int, end: int) -> bool:
    """No letter or digit of the same script touches the term: "PIN" stands alone in
    "your PIN:" and in "あなたのOTPは", not in "shopping"."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (_joins(before) or _joins(after))


def _joins(char: str) -> bool:
    return char.isalnum() and (char.isascii() or not _CJK_OR_KANA.match(char))
