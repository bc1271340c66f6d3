"""What the text around a code candidate says: exclusions, nearby words, a line of its own.

A candidate next to a date, time, price, phone number, numbered reference or address is no
code. Otherwise it gains points for code words nearby (more in the same sentence) and for
standing alone on its line, and loses them for order, money, phone, address and quantity
words nearer than any code word.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from tempmail.extract import wording
from tempmail.extract.vocabulary import Vocabulary

# The patterns hold Cyrillic and a multiplication sign on purpose; ruff would flag them as
# look-alikes.
# ruff: noqa: RUF001

_CODE_WORDS = Vocabulary.build(
    [*wording.NOT_CODE_TERMS, *wording.NOT_CODE_TERMS_MORE, *wording.NOT_CODE_WORDS],
    [*wording.CODE_TERMS, *wording.CODE_WORDS],
    [*wording.CODE_HINT_TERMS, *wording.CODE_HINT_WORDS],
    whole_words=[*wording.NOT_CODE_WORDS, *wording.CODE_WORDS, *wording.CODE_HINT_WORDS],
)
_LONGEST = max(map(len, _CODE_WORDS.terms))
_SENTENCE_END = re.compile(r"[.!?。]\s|\n")
_STRIP_AROUND_CODE = " \t[](){}<>\"'*_.:|-"
# Right after a number: an amount, a size, a date part or a year, not a code.
_AFTER_NUMBER = re.compile(
    r"\s?(?:%|#|px\b|kb\b|mb\b|gb\b|mm\b|cm\b|km\b|kg\b|ml\b|[x×]\s?\d|[$€£¥₹₽₩円元원년월일年月日時分秒号]"
    r"|eur\b|usd\b|gbp\b|chf\b|jpy\b|cny\b|rmb\b|krw\b|rub\b|brl\b|руб|г\.)"
)
# A few words after a number: a street ("2200 Mission Street") or a promotion ("at checkout").
_AFTER_NOT_CODE = re.compile(
    r" (?:\w+ ){0,3}?(?:street|st|avenue|ave|road|rd|lane|blvd|drive|suite|checkout|off)\b"
)
# Right before a number: money, "No.", "#", a phone's "+" or area code, a postal mark, a size.
_BEFORE_NUMBER = re.compile(
    r"(?:[$€£¥₹₽₩#№〒+)]|\b(?:usd|eur|gbp|chf|jpy|cny|rmb|krw|rub|brl|r\$|us\$|nr\.?|no\.|n[°º]\.?)"
    r"|\d\s?[x×])\s?$"
)
_STATE_ZIP = re.compile(r"\b[A-Z]{2} $")


def is_excluded(text: str, lowered: str, start: int, end: int) -> bool:
    """Part of a date, time, decimal, IP, price, size, phone, numbered reference or address."""
    before, after = text[max(0, start - 2) : start], text[end : end + 2]
    if len(before) == 2 and before[1] in "./:,_@" and before[0].isdigit():
        return True
    if len(after) == 2 and after[0] in "./:,_@" and after[1].isdigit():
        return True
    if _AFTER_NUMBER.match(lowered, end):
        return True
    if _BEFORE_NUMBER.search(lowered[max(0, start - 6) : start]):
        return True
    return end - start == 5 and _STATE_ZIP.search(text[max(0, start - 4) : start]) is not None


# What `context_score` gives a number named as something else right before it.
NAMED = -1000.0


class Words:
    """The code, hint and not-a-code words of the stretches (`spans`, in order) of a
    lower-cased text that candidates' surroundings cover, and where their sentences end,
    found once so that each candidate looks them up instead of reading its surroundings
    again. Overlapping stretches are read as one; the text between distant candidates (a
    code at the top, a price in the footer) is not read at all."""

    def __init__(self, lowered: str, spans: list[tuple[int, int]]) -> None:
        self.found: list[tuple[str, int, int]] = []
        self.sentence_starts: list[int] = []
        self.sentence_ends: list[int] = []
        merged: list[list[int]] = []
        for first, last in spans:
            # Read a little more on each side, so that a word cut by a stretch's ends
            # ("verification" as "...ication" or "verifi...") is read whole.
            first, last = max(0, first - _LONGEST), last + _LONGEST
            if merged and first <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        for first, last in merged:
            self.found += [
                (kind, start + first, end + first)
                for kind, start, end in _CODE_WORDS.find(lowered[first:last])
            ]
            for match in _SENTENCE_END.finditer(lowered, first, last):
                self.sentence_starts.append(match.start())
                self.sentence_ends.append(match.end())
        _join_compounds(lowered, self.found)
        self.starts = [start for _, start, _ in self.found]

    def before(self, start: int, reach: int) -> list[tuple[str, int, int]]:
        """The words that start at most `reach` before `start` and end by it."""
        first = bisect_left(self.starts, start - reach)
        last = bisect_left(self.starts, start)
        return [word for word in self.found[first:last] if word[2] <= start]

    def after(self, end: int, reach: int) -> list[tuple[str, int, int]]:
        """The words that start at or after `end` and end within `reach` of it."""
        first = bisect_left(self.starts, end)
        last = bisect_left(self.starts, end + reach)
        return [word for word in self.found[first:last] if word[2] <= end + reach]

    def same_sentence(self, position: int, end: int) -> bool:
        """No sentence ends between `position` and `end`."""
        index = bisect_left(self.sentence_starts, position)
        return index == len(self.sentence_starts) or self.sentence_ends[index] > end


# A not-a-code word joined to a code word, before it ("order code", "Bestellcode") or after
# it by a short link word ("code de commande", "codice ordine", "код заказа"), names another
# kind of code: the pair counts as the not-a-code word.
_JOINERS = frozenset({"", " ", "-", " de ", " di ", " del ", " da ", " do ", " du ", " of "})


def _join_compounds(lowered: str, found: list[tuple[str, int, int]]) -> None:
    for index in range(1, len(found)):
        (first, start, end), (second, next_start, next_end) = found[index - 1], found[index]
        joiner = lowered[end:next_start]
        # "codeorder" is no compound; "bestellcode" is.
        if {first, second} == {"no", "yes"} and joiner in _JOINERS and (first == "no" or joiner):
            found[index - 1] = ("no", start, end)
            found[index] = ("no", next_start, next_end)


def context_score(words: Words, lowered: str, start: int, end: int) -> float:
    """Points for code words nearby (more in the same sentence), minus points for order,
    money, phone, address and quantity words when they are nearer than any code word;
    `NAMED` when such a word stands right before it."""
    nearest: dict[str, tuple[int, bool]] = {}
    # Nearest first, and only the nearest of each kind is placed in its sentence.
    for kind, _, word_end in reversed(words.before(start, 160)):
        if kind not in nearest:
            nearest[kind] = (start - word_end, words.same_sentence(word_end, start))
    before = max(
        _near(
            nearest.get("yes"),
            same=((40, 5.0), (100, 4.5), (160, 3.5)),
            other=((40, 4.0), (100, 3.0), (160, 2.0)),
        ),
        _near(nearest.get("hint"), same=((60, 2.5), (160, 1.5)), other=((60, 1.5), (160, 1.0))),
    )
    after, after_penalty = _after_context(words, lowered, end)
    closest_yes = min(
        (nearest[kind][0] for kind in ("yes", "hint") if kind in nearest), default=None
    )
    penalty = 0.0
    if "no" in nearest and (closest_yes is None or nearest["no"][0] <= closest_yes):
        # A word in an earlier sentence or line ("... the cancellation form:" above a code
        # shown on its own) weighs less than one naming the number in its own sentence.
        penalty = _near(nearest["no"], same=((30, 6.0), (60, 3.0)), other=((30, 3.0), (60, 1.5)))
    if penalty >= 6.0:
        # Named as something else right here ("order 332880"): not a code, wherever else
        # the same number appears.
        return NAMED
    bonus = max(before, after) + (0.5 if before and after else 0.0)
    return bonus - penalty - after_penalty


def _after_context(words: Words, lowered: str, end: int) -> tuple[float, float]:
    """Points for a code word just after ("482913 is your code"), and a penalty for a street
    or a promotion just after ("2200 Mission Street", "SPRING30 at checkout")."""
    bonus = 0.0
    for kind, word_start, _ in words.after(end, 60):
        if not words.same_sentence(end, word_start):
            break  # "L10N.\n\nKlik på bekræftelsesknappen": another sentence's word
        if kind == "no":
            break
        if kind == "yes":
            bonus = 4.0 if word_start - end <= 40 else 3.0
            break
        # A verb after the code, as languages that put it last write it ("482913を入力").
        bonus = 2.5 if word_start - end <= 40 else 2.0
    return bonus, 4.0 if _AFTER_NOT_CODE.match(lowered[end : end + 60]) else 0.0


def _near(
    found: tuple[int, bool] | None,
    same: tuple[tuple[int, float], ...],
    other: tuple[tuple[int, float], ...],
) -> float:
    """Points for a word found at (distance, in the same sentence), by distance steps."""
    if found is None:
        return 0.0
    distance, in_sentence = found
    for limit, points in same if in_sentence else other:
        if distance <= limit:
            return points
    return 0.0


def is_word(text: str, letters: str) -> bool:
    """Whether capitals are a word: one of the code words, or written in small letters
    elsewhere in the text ("WELCOME" next to "Welcome")."""
    lowered = letters.lower()
    if any(True for _ in _CODE_WORDS.find(lowered)):
        return True
    # Written so elsewhere: a token in small letters ("bodojama") is not a word for being
    # itself.
    capitalized = lowered.capitalize()
    written = text.count(lowered) + (text.count(capitalized) if capitalized != lowered else 0)
    return written > (1 if letters in (lowered, capitalized) else 0)


def names_code(word: str) -> bool:
    """Whether one word is a code or confirm word ("confirm", "conferma", "bestätigen")."""
    kinds = {kind for kind, _, _ in _CODE_WORDS.find(word.lower())}
    return bool(kinds & {"yes", "hint"}) and "no" not in kinds


def announces_code(lowered: str) -> float:
    """How strongly a short text (a subject) speaks of a code: 2 for a code word ("Your
    verification code"), 1 for a hint ("Sign-in to Acme"), 0 for none or for an order."""
    kinds = {kind for kind, _, _ in _CODE_WORDS.find(lowered[:300])}
    if "no" in kinds:
        return 0.0
    return 2.0 if "yes" in kinds else 1.0 if "hint" in kinds else 0.0


def ends_label(text: str, start: int, end: int) -> bool:
    """The token is the value after a label's colon and ends its line or sentence
    ("Code de connexion: MMB4QQ"), the way codes are laid out in templates."""
    before = text[max(0, start - 2) : start].rstrip(" \t")
    if not before.endswith((":", "：")):
        return False
    after = text[end : end + 2]
    return not after or after[0] in "\n.!。" or after.startswith(("\r", " \n"))


def alone_on_line(text: str, start: int, end: int) -> bool:
    """The token fills its line, as codes shown large on their own do."""
    line_start = text.rfind("\n", max(0, start - 40), start)
    if line_start < 0 and start > 40:
        return False
    line_end = text.find("\n", end, end + 40)
    if line_end < 0 and end + 40 < len(text):
        return False
    line = text[line_start + 1 : line_end if line_end >= 0 else len(text)]
    return line.strip(_STRIP_AROUND_CODE) == text[start:end].strip(_STRIP_AROUND_CODE)


# Elements that set their text apart, and styles that make it large, bold, spaced or fixed.
_EMPHASIS_TAGS = frozenset(
    {"b", "strong", "h1", "h2", "h3", "h4", "code", "kbd", "pre", "tt", "samp", "big", "mark"}
)
_EMPHASIS_STYLE = re.compile(
    r"(?i)letter-spacing|monospace|font-weight\s*+:\s*+(?:bold|[6-9]00)"
    r"|font-size\s*+:\s*+(?:(?:1[89]|[2-9]\d)(?:\.\d+)?px|(?:1[4-9]|[2-9]\d)(?:\.\d+)?pt"
    r"|(?:[2-9]|1\.[3-9])\d*+r?em|x*-?large)"
)
_SHOWN = 3  # occurrences of a code looked at in the markup
_ENCLOSING = 3  # elements around it looked at


def shown_large(markup: str, code: str) -> bool:
    """Whether the HTML shows `code` as the whole text of an element set apart: bold, a
    heading, code type, or a style with a large size, letter spacing or a fixed-width font
    (`<td style="font-size:32px;letter-spacing:6px">482913</td>`), as code mails do."""
    at = markup.find(code)
    for _ in range(_SHOWN):
        if at < 0:
            return False
        end = at + len(code)
        if markup[end : end + 200].lstrip()[:1] == "<" and _emphasised(markup, at):
            return True
        at = markup.find(code, end)
    return False


def _emphasised(markup: str, at: int) -> bool:
    """Whether one of the elements that open right before `at` sets its text apart."""
    close = at
    for _ in range(_ENCLOSING):
        if markup[max(0, close - 200) : close].rstrip()[-1:] != ">":
            return False
        close = markup.rfind(">", 0, close)
        open_ = markup.rfind("<", max(0, close - 2000), close)
        tag = markup[open_ + 1 : close]
        if open_ < 0 or tag.startswith("/"):
            return False
        name = tag.split(None, 1)[0].lower() if tag.strip() else ""
        if name in _EMPHASIS_TAGS or _EMPHASIS_STYLE.search(tag):
            return True
        close = open_
    return False
