"""One-time codes: the candidates in a text, how code-like their shapes are, and which to keep.

Every number-like token is a candidate, and a run of digit groups ("482 913") is one. Its
shape gives it a first score, `codecontext.py` adds what the text around it says, and what
reaches `CODE_THRESHOLD` is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import ahocorasick_rs

from tempmail.extract.codecontext import (
    NAMED,
    Words,
    alone_on_line,
    announces_code,
    context_score,
    ends_label,
    is_excluded,
    is_word,
    names_code,
    shown_large,
)
from tempmail.extract.wording import (
    CODE_TERMS,
    CODE_WORDS,
    PASSWORD_ADJECTIVES,
    PASSWORD_TERMS,
    TECHNICAL_NAMES,
    USER_LABELS,
)
from tempmail.mailtext import mask_urls
from tempmail.reading.normalize import normalize

# A comment quotes CJK punctuation on purpose; ruff would flag it as a look-alike.
# ruff: noqa: RUF003

MAX_CODES = 5
MAX_TOKENS = 2_000
# Candidates looked at per text (subject, text part, HTML): in the 660 development mails a
# text holds at most 6 and the code is at most the 4th; each costs ~10 us.
MAX_CANDIDATES = 16
# Codes are looked for in the first `CODE_SCAN` characters of the subject and of each body.
# Templates put the code at the top: in the 4,772 mails of the corpora under tests/fixtures
# (all but the never-studied unseen/heldout) the code starts at most 512 characters into the
# text or the HTML's visible text (a Mailman confirmation); a mail service's layout (a
# preheader padded with invisible spacers, logo, navigation, greeting) adds a few hundred more.
# Each pattern costs ~10 ns a character on a slow machine, so the bound is most of the cost.
CODE_SCAN = 3_000
CODE_THRESHOLD = 5.0
# How far before and after a candidate `codecontext` looks for words.
_BEFORE, _AFTER = 160, 60

# An address is found from its "@" (a pattern that starts with the local part would be
# tried at every position of the text), then its local part is taken from just before it.
# A domain ends with a top-level label of letters (or an IDN's "xn--"): "a@d.A6+9" is a
# generated password, not an address.
_EMAIL_DOMAIN = re.compile(
    r"@[\w-]{1,63}+(?:\.[\w-]{1,63})*\.(?:[^\W\d_]{2,63}|xn--[A-Za-z0-9-]{1,59})(?![\w-])"
)
_LOCAL_PART = re.compile(r"[\w.+-]{1,64}+$")
# A token with a digit, or an upper-case word or group of words of letters only: RFC 8628
# user codes ("HZNZ-GDWH") and letter codes ("KXQMZT") have no digit.
# The pattern opens with a character class so that re skips quickly to the next digit or
# capital instead of trying every position; codes never start with a small letter.
# Parts of dates, times, decimals and IP addresses ("12.01.2026", "19.99", "14:05") are no
# tokens: `is_excluded` would drop them, and a newsletter is full of them.
_TOKEN = re.compile(
    r"[0-9A-Z](?<![A-Za-z0-9].)(?<![0-9][./:,].)"
    r"(?:(?<=\d)|(?=[A-Za-z-]{0,12}\d)|(?=[A-Z]{3,7}+(?:-[A-Z]{3,8}+)?+(?![A-Za-z0-9-])))"
    r"[A-Za-z0-9]*+(?:-[A-Za-z0-9]++)*+(?![./:,][0-9])"
)
# A long random value on a line of its own ("c95f2bfcbf507c8c...", "bb355119095dce4d"): the
# key or token a mail asks to type or paste into a form when its link does not work.
# Mailing-list managers ask for the key as a command line to send back ("confirm 24fbff48...",
# Mailman, whose catalogs translate the command: "conferma 789ccbb8..."): a confirm word
# before it on the line names what the key is.
# Or groups of small letters and digits joined by dashes, as some services draw their login
# codes ("mqdfb-okusy-qgjpy-qqyfq"): of one length, and not mostly vowels.
# Found from the line break before it ("\n" is a literal re skips to at once; "^" is tried at
# every position): the text is read with a line break put before its first line.
_KEY_LINE = re.compile(
    r"\n[ \t]*+(?:(\w{2,12}+) )?+([A-Za-z0-9]{10,80}+|[a-z0-9]{3,8}+(?:-[a-z0-9]{3,8}+){2,7}+)"
    r"[ \t\r]*+$",
    re.MULTILINE,
)
_GROUPED_KEY = 1.0
MAX_KEYS = 4
# A key that is also a parameter value of one of the mail's links ("...&token=<key>") is
# the same one-use value offered twice: a link, and a code to type.
_CARRIED_KEY = 2.0
_COMMAND_KEY = 2.5
# A value after a label that names it ("Verification Token: oAhbzxG0", "Code: x7Kp-2qZ"): random
# letters and digits (mixed case, or letters with digits), as a URL-safe token is written.
# Found from its colon (re skips to the next ":" quickly), the label read back to its line's start.
# A generated password has symbols too ("4ApG9bJ+emb4", "o@p1aNHx6o8s"): the ones password
# generators draw from, less those that end a sentence or a URL.
# A full stop inside counts ("nYvle-Ri.3p5", LDAP Account Manager); one at the end is the
# sentence's (the pattern backtracks at most 80 characters, from a colon or a word).
_VALUE = r"([A-Za-z0-9!#$%&*()+=?@^_~.-]{5,79}[A-Za-z0-9!#$%&*()+=?@^_~-])"
# After a label the value fills the rest of its line, a final full stop included ("O#Ca-7s.").
_LINE_VALUE = r"([A-Za-z0-9!#$%&*()+=?@^_~.-]{6,80}+)"
_LABEL_VALUE = re.compile(r":[ \t]*+" + _LINE_VALUE + r"[ \t\r]*+$", re.MULTILINE)
# A password on the line after its label ("Your new password is:" then "  bodojama"): a
# generator of pronounceable passwords makes it look like a word, so a password's label lets
# small letters alone count.
_NEXT_LINE_VALUE = re.compile(r":[ \t\r]*+\n[ \t]*+" + _LINE_VALUE + r"[ \t\r]*+$", re.MULTILINE)
# The same value stated in a sentence that ends with it: "Your temporary password is
# 4ApG9bJ+emb4" (Cognito's invitation), "the code is PzvnHkLy..." (Sydent).
_STATED_VALUE = re.compile(
    r" (?:is|lautet|ist|est|es|é|è|är|er|on|jest|je) " + _VALUE + r"[.!]?[ \t\r]*+$", re.MULTILINE
)
_SYMBOLS = str.maketrans("", "", "!#$%&*()+=?@^_~.-")
# A value right after a password word, in a sentence ("use username kim with password
# YxYW4GuD to sign in", django-SHOP).
# The word may be inflected ("hasła", "geslom") and followed by an adjective.
_PASSWORD_VALUE = re.compile(
    "(?i:" + "|".join(map(re.escape, PASSWORD_TERMS)) + r")[^\W\d_]*+"
    "(?:[ \t]++(?i:" + "|".join(map(re.escape, PASSWORD_ADJECTIVES)) + r"))?+"
    r"[ \t]++" + _VALUE + r"(?=[\s.,;!?]|$)"
)
_PASSWORD_WORDS = ahocorasick_rs.AhoCorasick(PASSWORD_TERMS)
# A value stated in a sentence is read only in a text that has a code or password word at all
# (one automaton pass; the pattern is tried at every space).
_STATED_WORDS = ahocorasick_rs.AhoCorasick([*CODE_TERMS, *CODE_WORDS, *PASSWORD_TERMS])
# What a credentials block adds: a password labelled on the line after a user name's label.
_CREDENTIALS = 1.0
_LABELLED_KEY = 1.0
# A link's parameter value ("...?token=PzvnHkLy6ME8...&sid=...") that the text also shows
# outside any link ("If your client requires a code, the code is PzvnHkLy6ME8..."): the same
# one-use value, offered to type. Found from the "=" (re skips to the next one at once).
_PARAMETER_VALUE = re.compile(r"=([A-Za-z0-9_-]{10,80}+)(?![A-Za-z0-9_-])")
MAX_VALUES = 8
_VOWELS = frozenset("AEIOUY")
_AROUND = " \t\r\n[](){}<>\"'*_.:|-"
_LEADING_LETTERS = re.compile(r"[A-Z]*+")


@dataclass
class _Candidate:
    code: str
    start: int
    end: int
    shape: float
    # Read with its label ("Password: ...", "... password is ..."): vouched for as a code
    # alone on its line is.
    labelled: bool = False


def find_codes(subject: str, bodies: Iterable[str], markup: str = "") -> list[str]:
    """Codes scoring at least `CODE_THRESHOLD`, best first, deduplicated; a code seen in
    several places (subject and body) gains a little, but one that is a date part or is named
    an order (or price, phone...) in any of them is none. A subject that speaks of a code
    ("Your verification code") vouches for a code shown on its own in the body, and so, a
    little, does the HTML when it shows the code as an element of its own in bold, large or
    spaced-out type."""
    best: dict[str, float] = {}
    seen: dict[str, int] = {}
    announced = announces_code(_prepare(subject).lower()) if subject else 0.0
    scored: list[tuple[_Candidate, float]] = []
    lonely: set[str] = set()
    # Codes that are all a body says (a text part that is nothing but "GYTEV9").
    whole: set[str] = set()
    bodies = list(bodies)
    values = _link_values([*bodies, markup])
    for index, text in enumerate([subject, *bodies]):
        if not text:
            continue
        prepared = _prepare(text[:CODE_SCAN])
        lowered = prepared.lower()
        if len(lowered) != len(prepared):
            lowered = prepared
        candidates = list(islice(_candidates(prepared), MAX_CANDIDATES))
        keys = []
        if index:
            if "\n" in prepared:
                keys = list(islice(_key_candidates(prepared, text, markup), MAX_KEYS))
            # A label and its value may be all an HTML part's one line says.
            keys += islice(_label_candidates(prepared, lowered, text, markup), MAX_KEYS)
            keys += _shown_values(prepared, values)
        if keys:
            # A key read with its label replaces the tokens found inside it ("8C7G" of
            # "jvaYT7P-8C7G").
            keys = list({key.start: key for key in keys}.values())
            candidates = [
                c for c in candidates if not any(k.start <= c.start < k.end for k in keys)
            ]
            candidates = sorted([*candidates, *keys], key=lambda c: c.start)
        if not candidates:
            continue
        # Words are read once, over the stretch the candidates' surroundings cover.
        words = Words(lowered, [(c.start - _BEFORE, c.end + _AFTER) for c in candidates])
        for candidate in candidates:
            score = _score(prepared, lowered, words, candidate, announced if index else 0.0)
            scored.append((candidate, score))
            if index and alone_on_line(prepared, candidate.start, candidate.end):
                lonely.add(candidate.code)
                if len(candidates) == 1 and _is_whole(prepared, candidate):
                    whole.add(candidate.code)
    vetoed: set[str] = set()
    for candidate, score in scored:
        seen[candidate.code] = seen.get(candidate.code, 0) + 1
        best[candidate.code] = max(best.get(candidate.code, score), score)
        if NAMED - 100 < score <= NAMED + 100:
            vetoed.add(candidate.code)
    for code in vetoed:
        best[code] = float("-inf")
    # The only code-shaped token of the message, shown on a line of its own under a subject
    # that speaks of signing in, needs no more words around it.
    if len(best) == 1 and announced and lonely:
        code = next(iter(best))
        best[code] += 2.0 if code in whole else 1.0
    elif len(best) == 1 and announced >= 2.0:
        # The only code-shaped token under a subject that names a code ("Verify your
        # email": "Enter 482913 in the app").
        best[next(iter(best))] += 1.0
    totals = {code: score + 0.5 * min(seen[code] - 1, 2) for code, score in best.items()}
    for code, score in totals.items():
        if CODE_THRESHOLD - 1.0 <= score < CODE_THRESHOLD and shown_large(markup, code):
            totals[code] = score + 1.0
    kept = [code for code, score in totals.items() if score >= CODE_THRESHOLD]
    kept.sort(key=lambda code: -totals[code])
    return kept[:MAX_CODES]


def _is_whole(text: str, candidate: _Candidate) -> bool:
    """Whether the candidate is all the text shows, but for marks around it."""
    return text.strip(_AROUND) == text[candidate.start : candidate.end].strip(_AROUND)


def _prepare(text: str) -> str:
    """Text with URLs and email addresses masked and width variants folded (fullwidth digits become ASCII)."""
    # NFKC would turn the ideographic comma in "628491，5分钟" into a decimal comma.
    if not text.isascii():
        text = text.replace("\uff0c", "\u3001").replace("\u0130", "I")
        text = normalize("NFKC", text)
    text = mask_urls(text, " | ")
    return _mask_addresses(text) if "@" in text else text


def _mask_addresses(text: str) -> str:
    pieces: list[str] = []
    done = 0
    for match in _EMAIL_DOMAIN.finditer(text):
        at = match.start()
        local = _LOCAL_PART.search(text, max(done, at - 64), at)
        if local is None:
            continue
        pieces += [text[done : local.start()], " | "]
        done = match.end()
    return "".join(pieces) + text[done:] if pieces else text


def _candidates(text: str) -> Iterator[_Candidate]:
    """Code-shaped tokens; a run of digit groups ("482 913") is one candidate and a run that
    is no code ("+1 212 555 0147", "DE89 3704 0044") yields none."""
    run: list[re.Match[str]] = []
    for count, match in enumerate(_TOKEN.finditer(text)):
        if count >= MAX_TOKENS:
            break
        if run and text[run[-1].end() : match.start()] != " ":
            yield from _run_candidates(run)
            run = []
        run.append(match)
    yield from _run_candidates(run)


def _key_candidates(text: str, original: str, markup: str) -> Iterator[_Candidate]:
    """Long random values (letters and digits, 10 to 80) that fill a line, and that no
    other shape takes; worth more when a link of the mail carries the same value."""
    for match in _KEY_LINE.finditer("\n" + text):
        key = match.group(2)
        grouped = "-" in key
        if grouped:
            # Drawn groups are of one length; digit groups are the tokens' to find.
            letters = key.replace("-", "")
            if len(set(map(len, key.split("-")))) > 1 or letters.isdigit():
                continue
            if sum(map(letters.count, "aeiou")) > 0.5 * len(letters):
                continue  # words
        elif key.isalpha() or _shape(key) is not None:
            continue
        carried = _carries(original, key) or _carries(markup, key)
        # A long number is a key only when a link carries it too (django-nopassword's
        # 38-78 digit login codes); alone it is a tracking or account number.
        if key.isdigit() and (len(key) < 16 or not carried):
            continue
        command = match.group(1)
        if command and not names_code(command):
            continue
        shape = _COMMAND_KEY if command else _CARRIED_KEY if carried else 0.0
        start, end = match.start(2) - 1, match.end(2) - 1  # less the line break put before
        yield _Candidate(key, start, end, shape + (_GROUPED_KEY if grouped else 0.0))


def _label_candidates(text: str, lowered: str, original: str, markup: str) -> Iterator[_Candidate]:
    """Random-looking values at the end of a line, after a label's colon or stated in a
    sentence ("... is <value>"), whose label is a code word ("Verification Token", "Your
    temporary password"), or right after a password word ("with password YxYW4GuD"), that
    no other shape takes; worth more when a link of the mail carries the same value, or when
    the line before names the user (a credentials block)."""
    patterns = [_LABEL_VALUE, _NEXT_LINE_VALUE]
    if _STATED_WORDS.find_matches_as_indexes(lowered):
        patterns.append(_STATED_VALUE)
    if _PASSWORD_WORDS.find_matches_as_indexes(lowered):
        patterns.append(_PASSWORD_VALUE)
    for pattern in patterns:
        for match in pattern.finditer(text):
            at = match.start() if pattern is not _PASSWORD_VALUE else match.start(1)
            line = text.rfind("\n", max(0, at - 41), at) + 1
            if pattern is not _LABEL_VALUE:
                # The sentence's own last words: "Hello, you are invited! Your password is
                # ...", "Your username is kim and temporary password is ...".
                line = max(line, at - 40, *(text.rfind(mark, line, at) + 1 for mark in ".!?"))
            label = text[line:at].strip(" \t\xa0")
            if not 2 <= len(label) <= 60 or ":" in label:
                continue
            value = match.group(1)
            core = value.translate(_SYMBOLS)
            if not core or core.isdigit():
                continue
            # Mixed case is a capital after the first letter: "Intranet" is a word.
            mixed = not core.isupper() and any(map(str.isupper, core[1:]))
            # Codes alone on their line are the tokens' and keys' to find; here, passwords.
            pronounceable = pattern is _NEXT_LINE_VALUE
            if pronounceable and not _names_password(label):
                continue
            if core.isalpha() and (not (mixed or pronounceable) or is_word(text, core)):
                continue  # a word
            if not names_code(label):
                continue
            carried = _carries(original, value) or _carries(markup, value)
            shape = _LABELLED_KEY + (_CARRIED_KEY if carried else 0.0)
            if pattern is _LABEL_VALUE and _after_user_label(text, line, label):
                shape += _CREDENTIALS
            yield _Candidate(value, match.start(1), match.end(1), shape, labelled=True)


def _names_password(label: str) -> bool:
    return bool(_PASSWORD_WORDS.find_matches_as_indexes(label.lower()))


def _after_user_label(text: str, line: int, label: str) -> bool:
    """Whether a password's label ("Password") follows a line labelled with a user name."""
    if line < 2 or not _names_password(label):
        return False
    previous = text[text.rfind("\n", max(0, line - 120), line - 1) + 1 : line - 1]
    name, colon, _ = previous.partition(":")
    return bool(colon) and name.strip(" \t*-").lower() in USER_LABELS


def _link_values(texts: Iterable[str]) -> list[str]:
    """Random-looking parameter values of the links in the texts (letters with digits, or
    mixed case; a number of 16 digits or more), at most `MAX_VALUES`."""
    values: dict[str, None] = {}
    for text in texts:
        if "=" not in text:
            continue
        for match in islice(_PARAMETER_VALUE.finditer(text), MAX_VALUES * 3):
            value = match.group(1)
            core = value.replace("-", "").replace("_", "")
            if len(core) < 16 and core.isdigit():
                continue
            if core.isalpha() and (core.islower() or core.isupper()):
                continue
            values[value] = None
            if len(values) >= MAX_VALUES:
                return list(values)
    return list(values)


def _shown_values(text: str, values: list[str]) -> Iterator[_Candidate]:
    """Link parameter values that the text (its links masked) shows as a word of its own."""
    for value in values:
        if _shape(value) is not None:
            continue  # a code-shaped value is found and scored as the code it is
        at = text.find(value)
        while at >= 0:
            end = at + len(value)
            # After "=" or "/" it is a link's own, on a line a mailer wrapped ("...example/
            # accounts/?code=<value>"), which the URL mask did not reach.
            before = text[at - 1] if at else " "
            if not (before.isalnum() or before in "=/?&#%" or text[end : end + 1].isalnum()):
                yield _Candidate(value, at, end, _CARRIED_KEY)
                break
            at = text.find(value, end)


def _carries(text: str, key: str) -> bool:
    """Whether `key` is a whole parameter value of a URL in `text` ("?token=<key>&...")."""
    at = text.find("=" + key)
    end = at + 1 + len(key)
    return at >= 0 and (end == len(text) or not text[end].isalnum())


def _run_candidates(run: list[re.Match[str]]) -> Iterator[_Candidate]:
    if len(run) == 1:
        shaped = _shape(run[0].group())
        if shaped is not None:
            yield _Candidate(shaped[0], run[0].start(), run[0].end(), shaped[1])
        return
    groups = [match.group() for match in run]
    if not all(group.isdigit() for group in groups):
        return
    joined = "".join(groups)
    lengths = {len(group) for group in groups}
    grouped = lengths <= {2, 3, 4} and not any(_is_year(group) for group in groups)
    spelled = lengths == {1}
    if (grouped or spelled) and 4 <= len(joined) <= 8:
        yield _Candidate(joined, run[0].start(), run[-1].end(), _digit_shape(joined))


def _shape(token: str) -> tuple[str, float] | None:
    """The code a token stands for and how code-like its shape is, or None for no code."""
    if token.upper() in TECHNICAL_NAMES:
        return None
    parts = token.split("-")
    joined = "".join(parts)
    if joined.isalpha():
        return _letters_shape(token, parts)
    if len(parts) == 1:
        if token.isdigit():
            return (token, _digit_shape(token)) if 4 <= len(token) <= 8 else None
        if _is_upper_alnum(token) and 4 <= len(token) <= 10:
            return token, _alnum_shape(token)
        return None
    if len(parts) > 4:
        return None
    if joined.isdigit():
        if not all(2 <= len(part) <= 4 for part in parts) or not 4 <= len(joined) <= 8:
            return None
        if any(_is_year(part) for part in parts):
            return None
        phone_like = [len(part) for part in parts] in ([3, 4], [4, 4])
        return joined, _digit_shape(joined) - (1.5 if phone_like else 0.0)
    # A word then a number ("INV-2025-0193", "SKU-4821") is a reference, not a code.
    if (
        _is_upper_alnum(joined)
        and all(2 <= len(part) <= 5 for part in parts)
        and 5 <= len(joined) <= 12
        and not (parts[0].isalpha() and "".join(parts[1:]).isdigit())
    ):
        return token, 1.0
    return None


def _letters_shape(token: str, parts: list[str]) -> tuple[str, float] | None:
    """Letter-only codes: groups of capitals, most convincing without vowels, as in the
    RFC 8628 user-code alphabet; a single run of capitals must be six letters or more with at
    most two vowels, as shouted words ("ACCOUNT", "WELCOME") have more."""
    if not token.isascii():
        return None
    vowels = sum(char in _VOWELS for char in token)
    if len(parts) == 2:
        if not (3 <= len(parts[0]) <= 5 and 3 <= len(parts[1]) <= 5) or vowels > 2:
            return None
        return token, 1.5 if vowels == 0 else 0.5
    if len(token) < 6 or vowels > 2:
        return None
    return token, 0.5 if vowels <= 1 else -0.5


def _digit_shape(digits: str) -> float:
    return {4: 0.5, 6: 1.5}.get(len(digits), 1.0) - (4.0 if _is_year(digits) else 0.0)


def _alnum_shape(token: str) -> float:
    # A word then an amount ("SPRING30", "WELCOME10") is how promotions are spelled; five
    # letters and one digit ("GYTEV9") is a code's random draw.
    letters = _LEADING_LETTERS.match(token)
    digits = token[letters.end() :] if letters is not None else ""
    wordy = (
        letters is not None and len(letters.group()) >= 4 and digits.isdigit() and len(digits) >= 2
    )
    return (1.0 if 6 <= len(token) <= 8 else 0.5) - (2.0 if wordy else 0.0)


def _is_upper_alnum(token: str) -> bool:
    return (
        token.isascii()
        and token.isalnum()
        and token.upper() == token
        and any(char.isdigit() for char in token)
        and any(char.isalpha() for char in token)
    )


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and digits[:2] in ("19", "20")


def _in_shouted_line(text: str, start: int, end: int) -> bool:
    """Whether letters stand among three or more words in capitals on their line: a heading
    written in capitals ("VERIFY YOUR EMAIL AT HARBOR CRM"), whose words are no codes."""
    line_start = text.rfind("\n", max(0, start - 200), start) + 1
    line_end = text.find("\n", end, end + 200)
    words = text[line_start : line_end if line_end >= 0 else end + 200].split()
    return sum(word.isupper() and word.isalpha() for word in words) >= 3


def _score(text: str, lowered: str, words: Words, candidate: _Candidate, announced: float) -> float:
    """How likely the candidate is the message's one-time code: its shape, the words around
    it and where it stands (alone on its line, or as the value after a label's colon)."""
    start, end = candidate.start, candidate.end
    if is_excluded(text, lowered, start, end):
        return float("-inf")
    if candidate.code.isalpha() and (
        is_word(text, candidate.code) or _in_shouted_line(text, start, end)
    ):
        return float("-inf")
    score = candidate.shape + context_score(words, lowered, start, end)
    if alone_on_line(text, start, end):
        score += 1.5 + announced
    elif candidate.labelled or ends_label(text, start, end):
        # The value after a label ("Password: lmbcoLmf") under a subject that speaks of it
        # ("Account password reset") is vouched for as a code shown on its own line is.
        score += 1.0 + announced
    return score
