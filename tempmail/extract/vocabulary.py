"""The `Vocabulary` matcher: which negative, positive and hint terms a text holds, and where.

It knows no words of its own; `codecontext.py` and `links.py` build theirs from `wording.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import ahocorasick_rs

# Scripts written without spaces: a Latin word inside them still stands alone.
_CJK_OR_KANA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff66-\uff9f]")


@dataclass(frozen=True)
class Vocabulary:
    """Negative, positive and hint terms compiled into one Aho-Corasick automaton.

    The automaton reads a text once whatever the number of terms: re, even with the terms
    in a tree of shared prefixes, tries its branches at every position and took ~65 us per
    KB here against ~2.5 us. Matches are leftmost-longest and do not overlap, so "zip code"
    is found as itself and not as "code".
    """

    automaton: ahocorasick_rs.AhoCorasick
    terms: tuple[str, ...]
    # Per term: "no", "yes" or "hint", and whether it must stand alone.
    kind_of: tuple[str, ...]
    alone: tuple[bool, ...]

    @classmethod
    def build(
        cls,
        negative: Iterable[str],
        positive: Iterable[str],
        hints: Iterable[str],
        whole_words: Iterable[str] = (),
        others: dict[str, Iterable[str]] | None = None,
    ) -> Vocabulary:
        """`others` names further kinds of term ({"remedy": [...]}), matched in the same pass."""
        negative, positive, hints = frozenset(negative), frozenset(positive), frozenset(hints)
        whole = frozenset(whole_words)
        kind_of_term = {term: kind for kind, group in (others or {}).items() for term in group}
        kind_of_term.update(dict.fromkeys(hints, "hint"))
        kind_of_term.update(dict.fromkeys(positive, "yes"))
        kind_of_term.update(dict.fromkeys(negative, "no"))
        terms = tuple(sorted(kind_of_term))
        kinds = tuple(kind_of_term[term] for term in terms)
        automaton = ahocorasick_rs.AhoCorasick(
            terms, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
        )
        return cls(automaton, terms, kinds, tuple(term in whole for term in terms))

    def matches(self, text: str) -> list[tuple[int, int, int]]:
        """(term index, start, end) of each term in text, in order."""
        try:
            found = self.automaton.find_matches_as_indexes(text)
        except UnicodeEncodeError:  # a lone surrogate: one "?" for each keeps the offsets
            found = self.automaton.find_matches_as_indexes(
                text.encode("utf-8", "replace").decode("utf-8")
            )
        if not found:
            return found
        alone = self.alone
        return [
            match
            for match in found
            if not alone[match[0]] or _stands_alone(text, match[1], match[2])
        ]

    def find(self, text: str) -> Iterator[tuple[str, int, int]]:
        """(kind, start, end) of each term in text, kind being "no", "yes" or "hint"."""
        kind_of = self.kind_of
        for index, start, end in self.matches(text):
            yield kind_of[index], start, end

    def kinds(self, text: str) -> frozenset[str]:
        """The kinds of term text holds."""
        kind_of = self.kind_of
        return frozenset(kind_of[match[0]] for match in self.matches(text))


def _stands_alone(text: str, start: int, end: int) -> bool:
    """No letter or digit of the same script touches the term: "PIN" stands alone in
    "your PIN:" and in "あなたのOTPは", not in "shopping"."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (_joins(before) or _joins(after))


def _joins(char: str) -> bool:
    return char.isalnum() and (char.isascii() or not _CJK_OR_KANA.match(char))
