"""The message's links, deduplicated, and which of them is the verification link.

Owns `Link` and the verdict on each occurrence that `mailtext.py` finds. Its anchor text, the
path and query of its URL, the clause just before it and the one just after it are weighed
together; the host name never decides (a site called `mastodon.online` sends real confirm
links). The mail's purpose is the last word: in a notice that something already happened
("your password was changed", "this address already has an account"), a "reset your
password" link is a remedy, not the link the reader is waiting for.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import unquote

import msgspec

from tempmail.extract import wording
from tempmail.extract.vocabulary import Vocabulary
from tempmail.mailtext import BLOCK_MARK, URL, RawLink

MAX_LINKS = 50
MAX_RAW_LINKS = 500
LINK_THRESHOLD = 3
# A mail says what it is for in its subject and first lines.
OPENING = 400
# At most this many occurrences are judged, in document order (HTML before the text part);
# links after them are listed as plain links. A verification mail's link comes among its
# first: after a view-in-browser link, a logo and a navigation bar at most. In the 3,098
# labelled mails under tests/fixtures it is at most the 5th distinct URL (2,825 the first).
MAX_JUDGED = 12
# A mail asks to open one link (every labelled mail under tests/fixtures has at most one):
# once this many are found, the rest are listed as plain links, unjudged.
MAX_VERIFICATION = 3
# How much of the clause, and of the paragraph, before a link is read.
_CLAUSE = 100
_WINDOW = 200

_URL_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}+")
# A shorter value with a digit: a one-use id or code ("/c/aB3dE9x2").
_URL_VALUE = re.compile(r"[A-Za-z0-9_-]{8,}+")
_URL_TICKET = re.compile(r"/[0-9]{12,}+(?:[/?#]|$)")
# A query parameter that names a one-use value ("?code=5tLas4unci9K", "&mail_token=...",
# "?oobCode=..."): 8 characters or more, with a digit or in mixed case, are enough when the
# site says what they are. Read in the URL as written: case is what tells "WHgBVrJEKdcw"
# from a word.
_URL_NAMED = re.compile(
    r"[?&;][A-Za-z_]{0,20}?(?:code|Code|token|Token|key|Key|hash|otp|nonce|ticket|secret|sig)"
    r"=([A-Za-z0-9_-]{8,}+)"
)
_CAMPAIGN = re.compile(r"[?&]utm_[a-z]++=[^&#]*+")
_LINK_WORDS = Vocabulary.build(
    [
        *wording.LINK_NOT_TERMS,
        *wording.LINK_UNDO_TERMS,
        *wording.LINK_ORDER_TERMS,
        *wording.LINK_ACTION_TERMS,
    ],
    [*wording.LINK_TERMS, *wording.LINK_RESET_TERMS],
    wording.LINK_HINT_TERMS,
)


def _in_paths(terms: Iterable[str]) -> list[str]:
    """Terms as a path spells them: "e-mail bestätigen" also as "e-mail_bestätigen" (wiki
    page names) and "e-mail-bestätigen"."""
    return [
        spelled
        for term in terms
        for spelled in {term, term.replace(" ", "_"), term.replace(" ", "-")}
    ]


# Paths are read percent-decoded, so a localized page name ("Spezial:E-Mail_bestätigen",
# "Служебная:Подтверждение") is read with the words of link texts. Of the English-only
# link words only the URL tables' own are used: "help" and "terms" are in URL_NOT_TERMS as
# path segments, and "aide" would be found inside "/braided".
_URL_WORDS = Vocabulary.build(
    _in_paths(
        [
            *wording.URL_NOT_TERMS,
            *wording.URL_ORDER_TERMS,
            *wording.LINK_UNDO_TERMS,
            *(term for term in wording.LINK_NOT_TERMS if not term.isascii()),
        ]
    ),
    _in_paths(
        [
            *wording.URL_TERMS,
            *wording.URL_RESET_TERMS,
            *wording.LINK_TERMS,
            *wording.LINK_RESET_TERMS,
        ]
    ),
    _in_paths(
        [
            *wording.URL_HINT_TERMS,
            *(term for term in wording.LINK_HINT_TERMS if not term.isascii()),
        ]
    ),
)
# What the clauses around a link say: the link words, phrases that lead to a reset link but,
# as a link's own text ("Forgot password?"), are the login form's help link, and remedies
# ("if this wasn't you, reset your password here:").
_CONTEXT_WORDS = Vocabulary.build(
    [
        *(term for term in wording.LINK_NOT_TERMS if term not in wording.LINK_INFO_TERMS),
        *wording.LINK_UNDO_TERMS,
        *wording.LINK_ORDER_TERMS,
    ],
    [*wording.LINK_TERMS, *wording.LINK_RESET_TERMS],
    wording.LINK_HINT_TERMS,
    others={
        "info": wording.LINK_INFO_TERMS,
        "remedy": wording.LINK_REMEDY_TERMS,
        "lead": wording.LINK_LEAD_TERMS,
        "ignore": wording.LINK_IGNORE_TERMS,
    },
)
# What a subject asks for. Only undo and order words veto it: a subject names the site
# ("Confirm reset of password for Support"), and "support" or "help" there is no link's text.
# A subject that names signing in ("Riverside Wiki login") or a password asks as much for the
# mail's only one-use link.
_SUBJECT_WORDS = Vocabulary.build(
    [*wording.LINK_UNDO_TERMS, *wording.LINK_ORDER_TERMS],
    [*wording.LINK_TERMS, *wording.LINK_RESET_TERMS],
    [
        *(term for term in wording.LINK_HINT_TERMS if not term.startswith("continu")),
        *wording.SUBJECT_INVITE_TERMS,
    ],
)
_INVITE_WORDS = Vocabulary.build((), (), wording.SUBJECT_INVITE_TERMS)
# Only the verify / confirm / activate words, for links in notices.
_CONFIRM_WORDS = Vocabulary.build((), [*wording.LINK_TERMS, *wording.URL_TERMS], ())
_NOTICE_WORDS = Vocabulary.build(
    (), wording.NOTICE_TERMS, (), others={"modal": wording.NOTICE_MODAL_TERMS}
)
_ASSETS = (".png", ".gif", ".jpg", ".jpeg", ".webp", ".svg", ".css", ".js", ".ico")


class Link(msgspec.Struct, frozen=True):
    """An http(s) link in the message; `verification` marks the likely verify/confirm link."""

    url: str
    text: str
    verification: bool


def is_notice(opening: str) -> bool:
    """Whether a mail's subject and opening say something already happened (a password
    changed, an account that already exists or does not exist)."""
    return "yes" in _NOTICE_WORDS.kinds(opening.lower())


def collect_links(
    occurrences: Iterable[RawLink], subject: str = "", codes: Iterable[str] = ()
) -> list[Link]:
    """Links deduplicated by URL, verification links first, each group in document order.

    A URL counts as verification if any of its occurrences does (a button and the same URL
    written out below it); its text is the first non-empty anchor text. The mail's purpose
    is read in the subject and in what it says before its first verification link: a notice
    there ("your password was changed") keeps only links that confirm something. What comes
    after the link ("if you did not ask, your password will not be changed") is no purpose.
    A link that carries one of the mail's codes as a parameter value ("...?code=ZCBHT2") is
    as one-use as a long token.
    """
    codes = tuple(codes)
    values = tuple(f"={code.lower()}" for code in codes if len(code) >= 6)
    # The first judged occurrence of each URL, for the subject's last word below.
    judged_links: dict[str, RawLink] = {}
    texts: dict[str, str] = {}
    shown: dict[str, str] = {}
    passed: dict[str, RawLink] = {}
    # Later occurrences of passed URLs: a notice keeps a URL if any of them confirms.
    again: dict[str, list[RawLink]] = {}
    # Per part (HTML, text): the first occurrence of a verification link.
    firsts: dict[int, RawLink] = {}
    judged = 0
    for count, occurrence in enumerate(occurrences):
        done = judged >= MAX_JUDGED or len(passed) >= MAX_VERIFICATION
        if count >= MAX_RAW_LINKS or (done and len(texts) >= MAX_LINKS):
            break
        # The same address written percent-encoded in one part and plainly in the other
        # ("Sp%C3%A9cial:..." and "Spécial:..."), or with "&amp;" in a text part that a
        # template escaped, is one link, shown as first written.
        url = occurrence.url
        if "&" in url and ";" in url:
            url = html.unescape(url)  # "&amp;", or a template's "token&#x3D;..."
        if "%" in url:
            url = unquote(url)
        first = shown.setdefault(url, occurrence.url)
        if first is not occurrence.url and _plainer(occurrence.url, first):
            shown[url] = occurrence.url
        if not texts.get(url):
            texts[url] = occurrence.text
        if url not in passed and not done:
            judged += 1
            judged_links.setdefault(url, occurrence)
            if _is_verification(occurrence, values):
                passed[url] = occurrence
        if url in passed:
            firsts.setdefault(id(occurrence.source), occurrence)
            if passed[url] is not occurrence:
                again.setdefault(url, []).append(occurrence)
    asks = _subject_asks(subject) if not passed and not codes else ""
    if not asks and not passed and not codes and any(map(_invites, _lasts(judged_links))):
        asks = "hint"  # an invitation said in the body, under a subject in another language
    if asks:
        sole = _sole_one_use(judged_links, values, leads=asks == "hint")
        if sole is not None:
            passed[sole] = judged_links[sole]
            firsts[id(judged_links[sole].source)] = judged_links[sole]
    if passed and _is_notice_mail(subject, firsts.values()):
        passed = {
            url: link
            for url, link in passed.items()
            if any(map(_confirms, [link, *again.get(url, ())]))
        }
    links = [Link(url=shown[url], text=texts[url], verification=url in passed) for url in texts]
    links.sort(key=lambda link: not link.verification)
    return links[:MAX_LINKS]


def _subject_asks(subject: str) -> str:
    """Whether a subject asks to verify, confirm, activate or reset ("Bestätige deine
    E-Mail-Adresse") and names no order, cancellation or notice."""
    if not subject:
        return ""
    kinds = _SUBJECT_WORDS.kinds(subject.lower())
    if "no" in kinds or is_notice(subject):
        return ""
    return "yes" if "yes" in kinds else "hint" if "hint" in kinds else ""


def _lasts(links: dict[str, RawLink]) -> Iterable[RawLink]:
    """The last of the links in each part (HTML, text): what it says before its last link
    holds what it says before any other (`_opening` reads only the first `OPENING`)."""
    lasts: dict[int, RawLink] = {}
    for link in links.values():
        last = lasts.get(id(link.source))
        if last is None or link.position > last.position:
            lasts[id(link.source)] = link
    return lasts.values()


def _invites(link: RawLink) -> bool:
    """Whether the mail's opening, before the link, says that the reader is invited."""
    return "hint" in _INVITE_WORDS.kinds(_opening(link).lower())


def _sole_one_use(
    judged: dict[str, RawLink], values: tuple[str, ...], leads: bool = False
) -> str | None:
    """The only link with a one-use value among those judged, if there is exactly one and
    neither its text nor its URL rules it out: a mail whose subject asks to confirm, with no
    code and one such link, sends it to be opened, whatever language its sentences are in.
    A subject that only names signing in or a password (`leads`) needs the link's own clause
    to say as much ("To log into the wiki, open the following link:"): a pull request titled
    "Rate limit for the login form" sends no sign-in link."""
    found = None
    for url, link in judged.items():
        path = _path(link.url)
        if path.split("?", 1)[0].endswith(_ASSETS) or "no" in _url_kinds(path):
            continue
        text = link.text.lower()
        if text.strip(" .:!>»→") in wording.SOCIAL_ANCHORS or "no" in _LINK_WORDS.kinds(text):
            continue
        if _one_use(link, path, values):
            said = _CONTEXT_WORDS.kinds(link.before().lower()[-_CLAUSE:])
            if said & {"no", "remedy"} or (leads and not said & {"yes", "hint", "lead"}):
                continue
            if found is not None:
                return None
            found = url
    return found


def _is_notice_mail(subject: str, firsts: Iterable[RawLink]) -> bool:
    """Whether the subject, or what a part (HTML, text) says before its first verification
    link, tells of something already done; either part may say it first.

    A subject alone is overruled by a body that says nothing of the kind before a one-use
    link its own sentence asks to open: translation catalogs often render the subject
    "Password reset" as "Password has been reset" ("密码已重置。", "Passwort wurde
    zurückgesetzt") over "Click the link below to reset your password"."""
    firsts = list(firsts)
    if any(is_notice(_opening(link)) for link in firsts):
        return True
    return is_notice(subject) and not any(_asks_for(link) for link in firsts)


def _asks_for(link: RawLink) -> bool:
    """Whether a link carries a one-use value and its text, or the clause before or after
    it, has a verify, confirm or reset word, with no remedy before it."""
    if not _one_use(link, _path(link.url)):
        return False
    kinds = _CONTEXT_WORDS.kinds(_said(link))
    return "yes" in kinds and not kinds & {"no", "remedy"}


def _opening(link: RawLink) -> str:
    """What the mail says before a link, at most its first `OPENING` characters (of text:
    an HTML part's indentation and block marks do not count)."""
    opening = link.source[: min(link.position, 8 * OPENING)]
    return " ".join(opening.replace(BLOCK_MARK, " ").split())[:OPENING]


def _confirms(link: RawLink) -> bool:
    """Whether a link's text or clauses speak of confirming (not the path: reset pages are
    often named ".../reset/confirm/...")."""
    return "yes" in _CONFIRM_WORDS.kinds(_said(link))


def _said(link: RawLink) -> str:
    """A link's text and the clauses just before and after it, lower-cased."""
    return f"{link.text}\n{link.before()[-_CLAUSE:]}\n{link.after()[:80]}".lower()


def _is_verification(link: RawLink, values: tuple[str, ...] = ()) -> bool:
    """Whether one occurrence of a link looks like the verify/confirm/reset/magic link."""
    path = _path(link.url)
    if path.split("?", 1)[0].endswith(_ASSETS):
        return False
    url_kinds = _url_kinds(path)
    if link.text and link.text.lower().strip(" .:!>»→") in wording.SOCIAL_ANCHORS:
        return False
    generic = is_generic(link.text)
    # A URL shown as its own text says what its path says, once.
    text = "" if generic else link.text.lower()
    text_kinds = _LINK_WORDS.kinds(text) if text else frozenset()
    if "no" in url_kinds or "no" in text_kinds:
        return False
    token = _one_use(link, path, values)
    # A URL that says nothing and carries no one-use value is a page anyone can open (a
    # lookup, a form, a home page): whatever its text says, nothing is verified by opening it.
    if not url_kinds and not token and not _has_value(path):
        return False
    score = 3 if "yes" in text_kinds else 1 if "hint" in text_kinds else 0
    score += 2 if "yes" in url_kinds else 1 if "hint" in url_kinds else 0
    if token:
        # A one-use token under a sign-in or auth path is a magic link.
        score += 2 if url_kinds == {"hint"} else 1
    # A text that only hints ("Log in") on a link with a one-use value is read with its
    # clauses too ("your sign-in link"); a sign-in page ("/login") is anyone's.
    reads_context = generic or not text_kinds or (token and text_kinds == {"hint"})
    # The clauses around a link add at most 2: skip reading them when that cannot reach the
    # threshold, as for most links in a newsletter.
    if score + (2 if reads_context else 0) < LINK_THRESHOLD:
        return False
    # The clause before the link and the one after are read in one pass for every kind of
    # word: link words, leads ("Forgot your password?") and remedies ("if this wasn't you").
    clause = link.before().lower()
    after = link.after().lower()[:80] if reads_context else ""
    found = _CONTEXT_WORDS.find(f"{clause} \n {after}")
    # An information page's name is no veto of a link with a one-use value (see wording).
    words = [
        ("no" if kind == "info" else kind, start - len(clause))
        for kind, start, _ in found
        if kind != "info" or not token
    ]
    # "If this wasn't you, reset your password:" is a remedy; "if you did not ask, ignore
    # this" tells the reader to do nothing, and the link after it is the one asked for.
    said_before = {kind for kind, at in words if at < 0}
    if "remedy" in said_before and "ignore" not in said_before:
        return False
    if not reads_context:
        return score >= LINK_THRESHOLD
    # Positions from the link: negative before it, counted from the clause's end.
    if generic and any(kind == "no" and -40 <= at <= 43 for kind, at in words):
        return False
    # A lead ("Forgot your password?") says as much as a verb when the link is one-use, and
    # only hints before a form anyone can open ("/password/forgot").
    lead = "yes" if token else "hint"
    context_kinds = {lead if kind == "lead" else kind for kind, at in words if at >= -_CLAUSE}
    # A clause that also names an order, a cancellation or help gives nothing.
    if "no" in context_kinds:
        return score >= LINK_THRESHOLD
    # Sentences further up count only for a link with a one-use value or a verify word of
    # its own: a sign-in page ("/login") under "your account has been activated" is none.
    if "yes" not in context_kinds and (token or "yes" in url_kinds):
        paragraph = link.paragraph_before().lower()[-_WINDOW:]
        if not paragraph and generic and len(clause[-_CLAUSE:].split()) <= 3:
            paragraph = link.lead().lower()
        if paragraph and _CONTEXT_WORDS.kinds(paragraph) & {"yes", "lead"}:
            context_kinds = {"yes"}
    score += 2 if "yes" in context_kinds else 1 if "hint" in context_kinds else 0
    return score >= LINK_THRESHOLD


def _url_kinds(path: str) -> frozenset[str]:
    """The kinds of word in a path and its query. A query's negative words count only when
    the path itself says nothing: "/api/auth/callback?callbackUrl=https://x/settings" is a
    sign-in link that returns to the settings page, while a tracker's "/r?u=https://x/
    unsubscribe" is the unsubscribe link it wraps."""
    found = list(_URL_WORDS.find(path))
    if any(kind == "no" for kind, _, _ in found):
        found = _outside_tokens(path, found)
    query = path.find("?")
    if query < 0:
        return frozenset(kind for kind, _, _ in found)
    own = {kind for kind, start, _ in found if start < query}
    asked = {kind for kind, start, _ in found if start >= query}
    if own - {"no"}:
        asked.discard("no")
    return frozenset(own | asked)


def _outside_tokens(path: str, found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The words found, less the negative ones inside a random token ("faq" in
    ".eJxVkD1LA0EQhhMUkru...FaQ..."): a word at a token's start ("unsubscribe_8f7a...") stays."""
    inside = [
        (match.start(), match.end())
        for match in _URL_TOKEN.finditer(path)
        if not match.group().replace("-", "").replace("_", "").isalpha()
    ]
    return [
        (kind, start, end)
        for kind, start, end in found
        if kind != "no" or not any(first < start and end <= last for first, last in inside)
    ]


_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})++")
# Characters a mailer may escape that mean the same written plainly, in a host, path or query.
_SAFE_PLAIN = frozenset("/:@-._~!$'()*+,;")


def _plainer(url: str, than: str) -> bool:
    """Whether `url` writes the same address as `than` with fewer escapes, none of which
    changes what a client sends: a host a mailer percent-encoded ("librer%C3%ADa-luna.example",
    which clients resolve only as the name it stands for), or "?next=%2F" beside the text
    part's "?next=/", are shown as the other part writes them. An escaped "&", "=", "?", "#"
    or space, and a path's escaped letters ("Sp%C3%A9cial", what a client must send), stay."""
    if url.count("%") >= than.count("%"):
        return False
    after = than[than.find("//") + 2 :]
    cut = min(
        (index for index in (after.find("/"), after.find("?")) if index >= 0), default=len(after)
    )
    host = unquote("".join(_ESCAPES.findall(after[:cut])))
    rest = unquote("".join(_ESCAPES.findall(after[cut:])))
    return all(char in _SAFE_PLAIN or not char.isascii() for char in host) and all(
        char in _SAFE_PLAIN for char in rest
    )


def _path(url: str) -> str:
    """The URL after its host, lower-cased and without campaign parameters: what the site
    chose to say about the link ("utm_source=activation" names a campaign, not the link)."""
    rest = url[url.find("//") + 2 :]
    slash = rest.find("/")
    query = rest.find("?")
    cut = min(index for index in (slash, query, len(rest)) if index >= 0)
    path = rest[cut:]
    path = unquote(path).lower() if "%" in path else path.lower()
    return _CAMPAIGN.sub("", path) if "utm_" in path else path


def _one_use(link: RawLink, path: str, values: tuple[str, ...] = ()) -> bool:
    """Whether a link carries a one-use value: a long random token, a value under a
    parameter named for a code or token, or one of the mail's codes ("=482913")."""
    return (
        _has_token(path)
        or _names_one_use(link.url)
        or any(_carries(path, value) for value in values)
    )


def _carries(path: str, value: str) -> bool:
    """Whether `value` ("=482913") is a whole parameter value in the path's query."""
    at = path.find(value)
    end = at + len(value)
    return at >= 0 and (end == len(path) or path[end] in "&#;")


def _has_token(path: str) -> bool:
    """Whether the path or query carries a long random-looking value, as one-use links do:
    16 characters or more with a letter and a digit, or a path segment of 12 digits or more
    (a ticket number: "/ticket/65506615034152"; a query's "?t=1701234567890" is a time)."""
    if _URL_TICKET.search(path):
        return True
    for value in _URL_TOKEN.findall(path):
        letters_digits = value.replace("-", "").replace("_", "")
        if letters_digits and not letters_digits.isalpha() and not letters_digits.isdigit():
            return True
    return False


def _names_one_use(url: str) -> bool:
    """Whether a query parameter named for a code, token or key carries a value of 8
    characters or more that is not a word (with a digit and a letter, or in mixed case) or a
    number of 16 digits or more."""
    if "=" not in url:
        return False
    for value in _URL_NAMED.findall(url):
        if value.isdigit():
            # A number of 16 digits or more is no time or count: a one-use value
            # (django-nopassword's 38-78 digit codes).
            if len(value) >= 16:
                return True
            continue
        if not value.isalpha() or (not value.islower() and not value.isupper()):
            return True
    return False


def _has_value(path: str) -> bool:
    """Whether the path or query carries a value of 8 characters or more with a digit."""
    for value in _URL_VALUE.findall(path):
        letters_digits = value.replace("-", "").replace("_", "")
        if letters_digits and not letters_digits.isalpha():
            return True
    return False


def is_generic(anchor_text: str) -> bool:
    """Anchor text that says nothing of its own ("click here", the URL itself, nothing)."""
    text = anchor_text.lower().strip(" .:!>»→")
    return text in wording.GENERIC_ANCHORS or URL.match(text) is not None
