"""The code and link extractor: corpus precision and recall, exclusions, hostile input, shape."""

from __future__ import annotations

import random
import time
import tomllib
from pathlib import Path
from urllib.parse import quote

import msgspec
import pytest

from tempmail.extract import MAX_CODES, MAX_LINK_TEXT, MAX_LINKS, Extracted, Link, extract

# Fullwidth digits and CJK punctuation in the inputs are the point of those cases.
# ruff: noqa: RUF001

CORPUS = Path(__file__).parent / "fixtures" / "verification"
RENDERED = Path(__file__).parent / "fixtures" / "rendered"
LANGUAGES = {"en", "de", "fr", "es", "pt", "zh", "ja", "ko", "ru"}

# Set-based, micro-averaged over the corpus: a returned code (or flagged link) is a true
# positive when the fixture expects it. Measured on the 74 messages: codes P 1.00 R 1.00,
# links P 1.00 R 1.00; messages 01-49 were written before the extractor and tuned on.
# Held out, before any tuning on them: 50-64 scored codes P 0.88 R 0.78, links P 1.00 R 0.50
# (fixed with general rules: same-sentence weighting, Slack-style codes, more vocabulary),
# then 65-74 scored 1.00 throughout. Expect lower figures on real mail than on this corpus.
CODE_PRECISION_FLOOR = 0.95
CODE_RECALL_FLOOR = 0.90
LINK_PRECISION_FLOOR = 0.90
LINK_RECALL_FLOOR = 0.90
FIRST_CODE_FLOOR = 0.90


class Fixture(msgspec.Struct, forbid_unknown_fields=True):
    lang: str
    note: str
    subject: str
    text: str
    html: str
    expected_codes: list[str]
    expected_verification_links: list[str]


class Rendered(msgspec.Struct, forbid_unknown_fields=True):
    source: str
    lang: str
    subject: str
    text: str
    html: str
    expected_codes: list[str]
    expected_verification_links: list[str]


# Floors for the rendered corpus (fixtures/rendered/README.md): other projects' real templates
# and translations, split by project before the extractor ran on them.
# - Before any tuning: dev codes P 1.00 R 0.64, links P 0.93 R 0.55; heldout codes P 0.72
#   R 0.37, links P 0.65 R 0.63.
# - Tuned on dev only, then heldout measured once, blind: codes P 0.58 R 0.80, links P 0.67
#   R 0.96 (dev: codes 1.00/1.00, links 1.00/1.00).
# - Its misses were then studied (so "heldout" is no longer unseen): general fixes (notice
#   words in more languages, a number named an order anywhere is no code, the subject and a
#   code alone on its line, account-settings paths, Latin code words inside CJK text) give
#   heldout codes P 0.97 R 0.94, links P 0.98 R 0.98; dev codes 1.00/1.00, links 1.00/1.00.
# - "heldout2" (django-registration-redux, 66 mails in 33 languages) was rendered after that
#   and measured once, blind, with the same rules: links P 1.00 R 1.00, no code returned.
# - h17-links (tuned on all three as development material): heldout codes P 0.97 R 0.97,
#   links P 1.00 R 0.98; dev and heldout2 1.00 throughout.
RENDERED_FLOORS = {
    "dev": {
        "code precision": 0.97,
        "code recall": 0.97,
        "link precision": 0.97,
        "link recall": 0.97,
    },
    "heldout": {
        "code precision": 0.95,
        "code recall": 0.95,
        "link precision": 0.98,
        "link recall": 0.97,
    },
    "heldout2": {
        "code precision": 0.98,
        "code recall": 0.98,
        "link precision": 0.95,
        "link recall": 0.95,
    },
}
HALVES = ("dev", "heldout", "heldout2")


def load_corpus() -> dict[str, Fixture]:
    return {
        path.name: msgspec.convert(tomllib.loads(path.read_text("utf-8")), Fixture)
        for path in sorted(CORPUS.glob("*.toml"))
    }


def ratio(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def test_corpus_is_varied() -> None:
    corpus = load_corpus()
    assert len(corpus) >= 40
    assert {fixture.lang for fixture in corpus.values()} == LANGUAGES
    assert sum(bool(f.html) for f in corpus.values()) >= 15
    assert sum(not f.html for f in corpus.values()) >= 15
    negatives = [
        name
        for name, f in corpus.items()
        if not f.expected_codes and not f.expected_verification_links
    ]
    assert len(negatives) >= 10
    for name, fixture in corpus.items():
        for url in fixture.expected_verification_links:
            assert url in fixture.text or url in fixture.html.replace("&amp;", "&"), name


def test_corpus_precision_and_recall() -> None:
    code_hits = code_returned = code_expected = 0
    link_hits = link_flagged = link_expected = 0
    first_right = first_total = 0
    misses: list[str] = []
    for name, fixture in load_corpus().items():
        found = extract(fixture.subject, fixture.text, fixture.html)
        codes, expected_codes = set(found.codes), set(fixture.expected_codes)
        code_hits += len(codes & expected_codes)
        code_returned += len(codes)
        code_expected += len(expected_codes)
        if fixture.expected_codes:
            first_total += 1
            first_right += found.codes[:1] == fixture.expected_codes[:1]
        flagged = {link.url for link in found.links if link.verification}
        expected_links = set(fixture.expected_verification_links)
        link_hits += len(flagged & expected_links)
        link_flagged += len(flagged)
        link_expected += len(expected_links)
        if codes != expected_codes or flagged != expected_links:
            misses.append(f"{name}: codes {found.codes} links {sorted(flagged)}")
    figures = {
        "code precision": ratio(code_hits, code_returned),
        "code recall": ratio(code_hits, code_expected),
        "first code right": ratio(first_right, first_total),
        "link precision": ratio(link_hits, link_flagged),
        "link recall": ratio(link_hits, link_expected),
    }
    print()
    for label, value in figures.items():
        print(f"{label:>17}: {value:.3f}")
    for miss in misses:
        print("  differs:", miss)
    assert figures["code precision"] >= CODE_PRECISION_FLOOR, figures
    assert figures["code recall"] >= CODE_RECALL_FLOOR, figures
    assert figures["first code right"] >= FIRST_CODE_FLOOR, figures
    assert figures["link precision"] >= LINK_PRECISION_FLOOR, figures
    assert figures["link recall"] >= LINK_RECALL_FLOOR, figures


def measure(mails: dict[str, Rendered]) -> tuple[dict[str, float], list[str]]:
    """Micro-averaged code and link precision and recall, and the mails that differ."""
    counts = dict.fromkeys(
        ("code_hits", "codes", "code_expected", "link_hits", "links", "link_expected"), 0
    )
    misses = []
    for name, mail in mails.items():
        found = extract(mail.subject, mail.text, mail.html)
        codes, expected_codes = set(found.codes), set(mail.expected_codes)
        flagged = {link.url for link in found.links if link.verification}
        expected_links = set(mail.expected_verification_links)
        counts["code_hits"] += len(codes & expected_codes)
        counts["codes"] += len(codes)
        counts["code_expected"] += len(expected_codes)
        counts["link_hits"] += len(flagged & expected_links)
        counts["links"] += len(flagged)
        counts["link_expected"] += len(expected_links)
        if codes != expected_codes or flagged != expected_links:
            misses.append(f"{name}: codes {sorted(codes)} links {sorted(flagged)}")
    figures = {
        "code precision": ratio(counts["code_hits"], counts["codes"]),
        "code recall": ratio(counts["code_hits"], counts["code_expected"]),
        "link precision": ratio(counts["link_hits"], counts["links"]),
        "link recall": ratio(counts["link_hits"], counts["link_expected"]),
    }
    return figures, misses


def load_mails(folder: Path) -> dict[str, Rendered]:
    """A rendered corpus's mails in one folder, by file name."""
    return {
        path.name: msgspec.convert(tomllib.loads(path.read_text("utf-8")), Rendered)
        for path in sorted(folder.glob("*.toml"))
    }


def load_rendered(half: str) -> dict[str, Rendered]:
    return load_mails(RENDERED / half)


def test_rendered_corpus_is_varied_and_split_by_project() -> None:
    halves = {half: load_rendered(half) for half in ("dev", "heldout")}
    projects = {
        half: {m.source.split(":")[0] for m in mails.values()} for half, mails in halves.items()
    }
    assert not projects["dev"] & projects["heldout"]
    languages = {
        m.lang.replace("-", "_").split("_")[0].lower()
        for mails in halves.values()
        for m in mails.values()
    }
    assert len(languages) >= 20
    for mails in halves.values():
        assert len(mails) >= 150
        assert sum(bool(m.expected_codes) for m in mails.values()) >= 15
        assert sum(bool(m.expected_verification_links) for m in mails.values()) >= 100
        assert (
            sum(not m.expected_codes and not m.expected_verification_links for m in mails.values())
            >= 100
        )
        for name, mail in mails.items():
            for url in mail.expected_verification_links:
                assert url in mail.text or url in mail.html.replace("&amp;", "&"), name
            for code in mail.expected_codes:
                assert code in mail.text or code in mail.html, name


@pytest.mark.parametrize("half", HALVES)
def test_rendered_corpus_precision_and_recall(half: str) -> None:
    figures, misses = measure(load_rendered(half))
    print()
    for label, value in figures.items():
        print(f"{half} {label:>14}: {value:.3f}")
    for miss in misses:
        print("  differs:", miss)
    for label, floor in RENDERED_FLOORS[half].items():
        assert figures[label] >= floor, (label, figures)


UNSEEN = Path(__file__).parent / "fixtures" / "unseen"
# Floors for the second rendered corpus (fixtures/unseen/README.md), split by project before
# any extractor ran on it: dev = pretix, Redmine, Fief (758 mails, tuned on); heldout = Ghost,
# WordPress, DokuWiki, SuperTokens, MediaWiki (764 mails), measured once, aggregate only, at
# the end of the tuning (13:20 UTC, 3 Dec 2026):
# - dev before tuning: codes P 1.00 R 0.993, links P 0.888 R 0.983; after: 1.00 throughout.
# - heldout: codes P 1.00 R 1.00 (136 codes), links P 0.858 R 0.832 (399 links); the
#   extractor before this tuning scored codes 1.00/1.00, links P 0.847 R 0.845 there.
# - heldout again after the h17-links tuning (on rendered/, unseen2/dev) and the fixes from
#   unseen2/heldout, none of which looked at it: codes 1.00/1.00, links P 0.954 R 0.892.
# The heldout floors are those figures less a small margin. Its misses are not printed, so
# that it stays unseen for whoever tunes next: measure a new corpus instead.
UNSEEN_FLOORS = {
    "dev": {
        "code precision": 0.97,
        "code recall": 0.97,
        "link precision": 0.97,
        "link recall": 0.97,
    },
    "heldout": {
        "code precision": 0.98,
        "code recall": 0.98,
        "link precision": 0.94,
        "link recall": 0.87,
    },
}


@pytest.mark.parametrize("half", UNSEEN_FLOORS)
def test_unseen_corpus_precision_and_recall(half: str) -> None:
    mails = load_mails(UNSEEN / half)
    assert len(mails) >= 700
    figures, _ = measure(mails)
    for label, floor in UNSEEN_FLOORS[half].items():
        assert figures[label] >= floor, (half, figures)


UNSEEN2 = Path(__file__).parent / "fixtures" / "unseen2"
# The third rendered corpus (fixtures/unseen2/README.md), split by project before any
# extractor ran on it:
# - dev (privacyIDEA, Synapse, Sympa, CKAN, next-auth; 474 mails), tuned on. Before (the
#   extractor of h17-links up to 64cdb7b): codes P 1.00 R 1.00 (30 codes), links P 0.989
#   R 0.790 (229 links); after: codes 1.00/1.00, links 1.00/1.00.
# - heldout (LemonLDAP::NG, PostfixAdmin, djoser, Flask-AppBuilder, Apostrophe, Parse
#   Server; 365 mails), measured blind by the lead, not the tuner: before any tuning on
#   unseen2 (c992600) codes P 1.00 R 0.875 (48 codes), links P 1.00 R 0.729 (192 links);
#   after tuning on dev (c936424) codes P 1.00 R 0.875, links P 1.00 R 0.630. Its misses
#   were then studied and fixed as classes (b18c21a): codes 1.00/1.00, links 1.00/1.00. So
#   it is development material now; fixtures/unseen3/ is the corpus measured blind next.
UNSEEN2_FLOORS = {
    half: {
        "code precision": 0.97,
        "code recall": 0.97,
        "link precision": 0.97,
        "link recall": 0.97,
    }
    for half in ("dev", "heldout")
}


@pytest.mark.parametrize("half", UNSEEN2_FLOORS)
def test_unseen2_precision_and_recall(half: str) -> None:
    mails = load_mails(UNSEEN2 / half)
    assert len(mails) >= 300
    figures, misses = measure(mails)
    for label, floor in UNSEEN2_FLOORS[half].items():
        assert figures[label] >= floor, (figures, misses)


# The fourth rendered corpus (fixtures/unseen3/README.md: Kallithea, Askbot, Tryton web_user,
# Roundup, drfpasswordless, Strapi; 447 mails, all held out), built by a helper who never ran
# the extractor on it, measured blind by the lead at 204f2cd: codes P 1.00 R 0.30 (100
# codes: every 6-digit code found, none of the 70 hex keys that Kallithea and Askbot ask to
# paste when the link fails), links P 0.986 R 0.938 (225 links). Its misses were then
# studied and fixed as classes (keys on their own line, a site named "Support", a French
# "modification" read as "modified", a percent-encoded host): 1.00 throughout. Development
# material from then on; fixtures/unseen4/ and unseen5/ were measured blind after it.
# The fifth and sixth rendered corpora, all held out, built by two helpers at once who never
# ran the extractor on them, measured blind by the lead at a1efc0a (the extractor of
# c7826bf, after the unseen3 fixes):
# - unseen4 (Plone, Weblate, Flask-User, django-mfa2, django-user-accounts,
#   django-magiclink; 423 mails): codes P 0.938 R 1.00 (30 codes), links P 1.00 R 0.959
#   (245 links);
# - unseen5 (Payload, Kiwi TCMS, Spirit, django-helpdesk, Logto, django-newsletter, Vendure;
#   395 mails): codes P 0.815 R 1.00 (44 codes), links P 1.00 R 0.991 (218 links).
# Their misses were then studied and fixed as classes (a code word read only in its own
# sentence after a code, "order code" and its compounds, a notice's confirm button, Serbian,
# Croatian, Hungarian and Kyrgyz wording): codes 1.00/1.00 on both, links R 0.996 / 0.995.
# Left: a Plone admin reset ("Ihr altes Passwort wurde deaktiviert" reads as a notice) and a
# Kiwi catalog of Crowdin placeholders glued to the URL ("crwdnd1004:0https://...").
LATER_FLOORS = {
    "code precision": 0.97,
    "code recall": 0.97,
    "link precision": 0.97,
    "link recall": 0.97,
}


# - unseen6 (Mezzanine, django-rest-registration, django-graphql-auth, django-nopassword,
#   django-mail-auth, flask-praetorian; 308 mails), the last, measured blind at 81d0f35 (the
#   extractor of d5ba360): codes P 1.00 R 0.75 (24 codes: django-nopassword's 38-78 digit
#   login codes missed), links P 0.812 R 0.788 (198 links), or P 1.00 R 0.970 with URLs
#   compared percent-decoded: Mezzanine's HTML writes "?next=%2F" where its text part, and
#   the label, write "?next=/". Then fixed (the plainer spelling of a link is shown; a
#   number of 16 digits or more under a code parameter is one-use, and a key when a link
#   carries it): 1.00 throughout.
# - unseen7 (Mailman, ikiwiki, n8n, django-verify-email, Directus, django-otp-admin; 265
#   mails), the last of all, measured blind at 9200571 (the extractor of 5efc4f8): codes P
#   1.00 R 0.286 (70 codes: Mailman's "confirm <40 hex>" command lines missed), links P
#   0.816 R 0.848 (99 links; n8n's labels were its text part's broken "token&#x3D;..."
#   spelling, relabelled afterwards as the address both parts stand for: README). Then
#   fixed (a confirm command line carries a key; a login subject vouches for the one-use
#   link its clause offers; character references in a text part's URL; "deactivated" is
#   a notice): codes P 1.00 R 0.971, links 1.00/1.00.
# - unseen8 (TracAccountManager, Shuup, django-invitations, django-organizations; 221
#   mails), the last of all, measured blind at a39f30d (the extractor of 4cb0a6d): codes P
#   1.00 R 0.00 (40 codes: Trac's labelled 8-character tokens and mailed passwords), links
#   P 1.00 R 0.459 (122 links: invitation links missed). Then fixed (a random value after a
#   label that names a code; "invit" in a path hints, so an invitation's one-use key is the
#   link; parcel-tracking words in 20 languages): codes P 1.00 R 0.975, links P 1.00 R 0.992.
# - unseen9 (pretalx, loopback, matrix-sydent, django-password-reset, django-rest-authemail,
#   jwt-email-auth; 375 mails), the last of all, measured blind at 50fcf0f (the extractor of
#   d752606): codes P 1.00 R 0.667 (45 codes: Sydent's 32-character token, shown in "the
#   code is <token>" and carried by its link, missed), links P 1.00 R 0.982 (227 links: a
#   Spanish "your password can be changed" read as a notice, a Czech "nastavení hesla" read
#   as a settings page). Then fixed (a link's one-use value shown in the text is a code; a
#   change that can be made is no notice; setting a password in Czech and Slovak): 1.00.
# - unseen10 (Sentry, wger, Mayan EDMS, Cognito's messages in aws-cdk-lib, Unleash; 346
#   mails), measured blind at c09e70d (the extractor of 53e43ec): codes P 0.917 R 0.733 (30
#   codes: Cognito's temporary passwords with symbols, "Your temporary password is
#   4ApG9bJ+emb4", missed; "authenticated by SAML2" taken for a code), links P 1.00 R 0.933
#   (180 links: Sentry's "Join your team" invitations missed). Then fixed (a value stated at
#   a sentence's end after a code word, symbols allowed; "temporary password" in 25
#   languages; names of standards are no codes; joining a team or accepting an invitation
#   is a link's action): 1.00.
# - unseen11 (Zou, Calibre-Web, I Hate Money, django-SHOP; 360 mails), measured blind at
#   44261ce (the extractor of 74beb84): codes P 1.00 R 0.314 (102 codes: Calibre-Web's and
#   django-SHOP's mailed passwords, "Password: a)0Ro$?6R)" in a credentials block and "with
#   password YxYW4GuD"), links P 1.00 R 0.807 (109 links: I Hate Money's invitations to sign
#   in, under subjects in 14 languages). Unleash, also rendered there (P 0.909 R 0.909), was
#   dropped before any study: unseen10 has it. Then fixed (a password labelled after a user
#   name's line, or right after its word, symbols allowed; a mixed-case value is no word for
#   being written as itself; an invitation in the subject or the opening asks for the sole
#   one-use link its clause names signing in by): 1.00.
# - unseen12 (ESP-style HTML: React Email's starter, Reaction Commerce, Constructive's MJML
#   mails, NocoBase; 466 mails), measured blind at ac66d49 (the extractor of the unseen13
#   fixes): codes P 1.00 R 0.50 (60 codes: Notion's "mqdfb-okusy-qgjpy-qqyfq" login codes,
#   groups of small letters), links P 1.00 R 0.942 (276 links: Reaction's tokenless sign-up
#   invitations, see LATER_EXCEPTIONS). Then fixed (dashed groups of one length alone on
#   their line are keys): codes 1.00/1.00; links unchanged.
# - unseen13 (Debian's Devise, Laravel, Request Tracker, Horde, Whups, Tiny Tiny RSS; 303
#   mails), measured blind at 71408e9 (the extractor of the unseen11 fixes): codes P 1.00 R
#   0.506 (81 codes: Request Tracker's pronounceable passwords on the line after "Your new
#   password is:", Horde's passwords in 12 languages whose word for password was not known),
#   links P 0.712 R 0.934 (106 links: a Markdown "[url](url)" in Laravel's text part read as
#   one long URL; Devise served under "/app/" taken for an app store). Then fixed (a password
#   on its label's next line, small letters allowed; password words in 15 more languages;
#   labels up to 60 characters; a token is no word for being written as itself; Markdown
#   links; "/app/" no longer vetoes): 1.00.
# - unseen14 (moin, Review Board, FlaskBB, LinOTP; 452 mails), measured blind at 112becc:
#   codes and links precision and recall 1.00 (40 codes, 262 links), with no change since.
#   unseen15 (accounts-js, strapi-plugin-passwordless, and NocoDB and LinOTP dropped after
#   measuring; 202 mails) was 1.00 blind too; the 76 mails kept are too few for this test.
# - unseen16 (django-comments-xtd, django-drf-otp, django-magicauth, Tryton's core; 302
#   mails), measured blind at 0680bc9 (the extractor of 112becc): codes P 1.00 R 0.739 (92
#   codes: Tryton's "mot de passe temporaire Pxfg0MRm", the adjective after the noun or the
#   noun inflected), links P 0.577 R 0.991 (110 links: a confirm link's address shown cut
#   short as its own text read as a second link; "faq" inside a signed token read as a help
#   page). unseen17 (DAViCal, LDAP Account Manager, Hiki, SOGo; 96 mails, too few for this
#   test) at the same extractor: codes P 1.00 R 0.833 (passwords with "." and "@"). Then
#   fixed (values may hold "." and "@"; an address's domain ends in a letters label; an
#   adjective or an inflection between a password word and its value; a capitalized word is
#   no value; a written-out URL inside an anchor's text is that anchor; negative words inside
#   random tokens are none): 1.00 on both.
# - unseen19 (Stack Auth's default mails; 155 mails, too few for this test), measured blind at
#   the head after the unseen16/17 fixes: codes P 0.938 R 1.00 (30 codes: "HARBOR" in the text
#   part's capitalized heading "VERIFY YOUR EMAIL AT HARBOR CRM"), links 1.00/1.00. Then
#   fixed (a heading in capitals holds no letter code): 1.00.
# - unseen18 (Indico, MediaGoblin; 248 mails in 33 language tags, no code), measured blind at
#   7a7f5b0: codes P 1.00 (no false code), links P 1.00 R 1.00 (158 links), with no change since.
@pytest.mark.parametrize(
    "corpus",
    [
        "unseen3", "unseen4", "unseen5", "unseen6", "unseen7", "unseen8", "unseen9", "unseen10",
        "unseen11", "unseen12", "unseen13", "unseen14", "unseen16", "unseen18",
    ],
)  # fmt: skip
def test_later_corpora_precision_and_recall(corpus: str) -> None:
    mails = load_mails(Path(__file__).parent / "fixtures" / corpus / "heldout")
    assert len(mails) >= (400 if corpus == "unseen3" else 200)
    figures, misses = measure(mails)
    for label, floor in {**LATER_FLOORS, **LATER_EXCEPTIONS.get(corpus, {})}.items():
        assert figures[label] >= floor, (figures, misses)


# unseen12's builder labelled Reaction Commerce's shop-member invitation, a "Get Started"
# button to a plain "/signup" page with no one-use value, a verification link (a judgement
# call its README states). The extractor holds that a page anyone can open verifies nothing,
# so those 16 stay missed: links R 0.942.
LATER_EXCEPTIONS = {"unseen12": {"link recall": 0.94}}


def codes_in(text: str, subject: str = "", html: str = "") -> list[str]:
    return extract(subject, text, html).codes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Your verification code was introduced in 2024.", [], id="year"),
        pytest.param("Verification code 482913. (c) 2025 Acme", ["482913"], id="year-footer"),
        pytest.param("Verification code requested on 2025-03-18.", [], id="iso-date"),
        pytest.param("Bestätigungscode angefordert am 12.03.2025", [], id="dotted-date"),
        pytest.param("Code requested 03/18/2025 from 203.0.113.7", [], id="slash-date-ip"),
        pytest.param("Your code expires at 14:35 today", [], id="time"),
        pytest.param("Security code for your payment of $1499", [], id="price-symbol"),
        pytest.param("Code: payment of 1499 EUR confirmed", [], id="price-currency"),
        pytest.param("Verification code 7712 for 1.250,00 €", ["7712"], id="price-decimal"),
        pytest.param("No code? Call 555-0199 or +1 415 555 0132", [], id="phone"),
        pytest.param("Code sent. Questions: (415) 555-0132", [], id="phone-area-code"),
        pytest.param("Confirmation for order #48213", [], id="order-hash"),
        pytest.param("Order number: 4821930. Verification code: 551204", ["551204"], id="order"),
        pytest.param("Invoice INV-2025-0193, verification code 604381", ["604381"], id="invoice"),
        pytest.param("Tracking code 1Z 999 AA1 0123 4567 84", [], id="tracking"),
        pytest.param("Verify at https://example.com/verify/482913?n=5521", [], id="url-digits"),
        pytest.param("Code sent to user4821@example.com", [], id="email-digits"),
        pytest.param("Your code: 7781. Acme, 2200 Mission Street, CA 94110", ["7781"], id="zip"),
        pytest.param("Theme code colour #4F46E5 and #FF5733", [], id="css-colour"),
        pytest.param("Use code SPRING30 at checkout for 30% off", [], id="promo"),
        pytest.param("Code review is used by more than 4500 teams", [], id="quantity"),
        pytest.param("Screen code 1920x1080", [], id="dimensions"),
    ],
)
def test_exclusions(text: str, expected: list[str]) -> None:
    assert codes_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Your code: 482 913", ["482913"], id="spaced-groups"),
        pytest.param("Your code: 482-913", ["482913"], id="dashed-groups"),
        pytest.param("Your code:\n4 8 2 9 1 3\n", ["482913"], id="spelled-digits"),
        pytest.param("Ihr Code: ４８２９１３", ["482913"], id="fullwidth"),
        pytest.param("Recovery code: A7K-29Q", ["A7K-29Q"], id="alnum-dash-kept"),
        pytest.param("Your one-time code is X3F9QZ", ["X3F9QZ"], id="alnum"),
        pytest.param("Your passcode is 093817", ["093817"], id="leading-zero"),
        pytest.param("您的验证码是：628491，5分钟内有效", ["628491"], id="zh"),
        pytest.param("認証コード：739104", ["739104"], id="ja"),
        pytest.param("인증번호 [582913]를 입력해주세요", ["582913"], id="ko"),
        pytest.param("Ваш код подтверждения: 3817", ["3817"], id="ru"),
        pytest.param("Votre code de vérification est : 902117", ["902117"], id="fr"),
        pytest.param("Tu código de verificación es 371590", ["371590"], id="es"),
        pytest.param("Seu código de verificação é 845123", ["845123"], id="pt"),
        pytest.param("Ihr Bestätigungscode lautet 518204", ["518204"], id="de-compound"),
    ],
)
def test_code_forms(text: str, expected: list[str]) -> None:
    assert codes_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Your sign-in code is HZNZ-GDWH. It expires soon.", ["HZNZ-GDWH"], id="rfc8628"
        ),
        pytest.param("Enter this code:\n\nKXQMZT\n", ["KXQMZT"], id="letters-own-line"),
        pytest.param("IMPORTANT: our TERMS changed. Code of conduct. READ MORE", [], id="shouting"),
        pytest.param("Your code: WELCOME", [], id="word-in-capitals"),
        pytest.param("Use code SPRING at checkout", [], id="promo-word"),
        pytest.param("Kod weryfikacyjny: 482913", ["482913"], id="pl"),
        pytest.param("Il tuo codice di verifica è 482913", ["482913"], id="it"),
        pytest.param("Uw verificatiecode is 482913", ["482913"], id="nl"),
        pytest.param("Doğrulama kodunuz: 482913", ["482913"], id="tr"),
        pytest.param("Ваш код підтвердження: 4829", ["4829"], id="uk"),
        pytest.param("رمز التحقق الخاص بك هو 482913", ["482913"], id="ar"),
        pytest.param("Mã xác minh của bạn là 482913", ["482913"], id="vi"),
        pytest.param("รหัสยืนยันของคุณคือ 482913", ["482913"], id="th"),
        pytest.param("Ο κωδικός επαλήθευσης είναι 482913", ["482913"], id="el"),
        pytest.param("קוד האימות שלך: 482913", ["482913"], id="he"),
        pytest.param("Din verifieringskod är 482913", ["482913"], id="sv"),
        pytest.param("Vahvistuskoodisi on 482913", ["482913"], id="fi"),
        pytest.param("Váš ověřovací kód je 482913", ["482913"], id="cs"),
        pytest.param("Az ellenőrző kódod: 482913", ["482913"], id="hu"),
        pytest.param("Kode verifikasi Anda adalah 482913", ["482913"], id="id"),
        pytest.param("आपका सत्यापन कोड 482913 है", ["482913"], id="hi"),
        pytest.param("کد تأیید شما 482913 است", ["482913"], id="fa"),
        pytest.param("Ihr Einmal-Token ist 980185", ["980185"], id="token"),
        pytest.param("Codi de verificació: 657607", ["657607"], id="ca"),
        pytest.param("あなたのOTPトークンはXVPAGRです", ["XVPAGR"], id="ja-latin-word-in-kana"),
        pytest.param("您的OTP是482913", ["482913"], id="zh-otp"),
        pytest.param("Go shopping for 482913 reasons", [], id="pin-inside-a-word"),
        pytest.param("Invoice number:\n482913\nTotal: 19.99 EUR", [], id="invoice-own-line"),
    ],
)
def test_code_shapes_and_languages(text: str, expected: list[str]) -> None:
    assert codes_in(text) == expected


def test_a_hash_mark_does_not_veto_a_code_named_elsewhere() -> None:
    text = "739201 is your Quillbox login code.\n\n@quillbox.example.com #739201\n"
    assert codes_in(text, subject="739201 is your Quillbox login code") == ["739201"]
    order = "Thanks! We confirm your order 332880.\nWe received 332880 and will ship it soon."
    assert codes_in(order, subject="Confirmation of order 332880") == []


def test_campaign_parameters_say_nothing_about_a_link() -> None:
    html = (
        "<a href='https://example.com/?utm_source=activation'><img alt='Roamly'></a>"
        " <a href='https://example.com/login'>Log in</a>"
    )
    assert [link.verification for link in extract("", "", html).links] == [False, False]


def test_a_code_alone_is_vouched_for_by_the_subject() -> None:
    assert codes_in("\n482913\n", subject="Your verification code") == ["482913"]
    assert codes_in("\n482913\n", subject="Weekly digest") == []
    assert codes_in("Hi,\nthe latest issue\n2026\n", subject="Your verification code") == []


def test_code_in_subject_and_html_cells() -> None:
    assert codes_in("", subject="739201 is your Quillbox login code") == ["739201"]
    cells = "<p>Your code:</p><table><tr><td>3</td><td>0</td><td>5</td><td>7</td></tr></table>"
    assert codes_in("", html=cells) == ["3057"]
    hidden = "<style>.x{}</style><script>var code = 482913;</script><p>Welcome</p>"
    assert codes_in("", html=hidden) == []


def test_codes_are_deduplicated_ranked_and_capped() -> None:
    many = "\n".join(f"Verification code {n}." for n in range(410000, 410010))
    found = codes_in(many, subject="Verification code 410003")
    assert len(found) == MAX_CODES
    assert found[0] == "410003"
    assert len(set(found)) == len(found)


def test_link_shape_and_order() -> None:
    html = (
        "<p><a href='https://example.com/blog'>Our\n   blog</a></p>"
        "<p><a href='https://example.com/verify?t=Ab12Cd34Ef56Gh78&amp;u=1'>Verify email</a></p>"
        "<p><a href='mailto:help@example.com'>Mail us</a> <a href='/relative'>Relative</a>"
        " <a href='javascript:alert(1)'>Script</a></p>"
        f"<p><a href='https://example.com/long'>{'word ' * 100}</a></p>"
        "<p><a href='https://example.com/unsubscribe?u=1'>Unsubscribe</a></p>"
    )
    text = (
        "Or paste https://example.com/verify?t=Ab12Cd34Ef56Gh78&u=1. See (https://example.com/faq)."
    )
    found = extract("", text, html)
    assert isinstance(found, Extracted)
    assert all(type(link) is Link for link in found.links)
    assert [link.url for link in found.links] == [
        "https://example.com/verify?t=Ab12Cd34Ef56Gh78&u=1",
        "https://example.com/blog",
        "https://example.com/long",
        "https://example.com/unsubscribe?u=1",
        "https://example.com/faq",
    ]
    assert [link.verification for link in found.links] == [True, False, False, False, False]
    assert found.links[0].text == "Verify email"
    assert found.links[1].text == "Our blog"
    assert len(found.links[2].text) == MAX_LINK_TEXT
    assert found.links[4].text == ""
    encoded = msgspec.json.decode(msgspec.json.encode(found))
    assert set(encoded) == {"codes", "links"}
    assert set(encoded["links"][0]) == {"url", "text", "verification"}
    with pytest.raises(AttributeError):
        found.links[0].url = "https://example.com/other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("anchor", "href"),
    [
        ("Unsubscribe", "https://example.com/verify/unsubscribe?t=Ab12Cd34Ef56Gh78"),
        ("View in browser", "https://example.com/email/confirm-view?t=Ab12Cd34Ef56Gh78"),
        ("Privacy policy", "https://example.com/privacy"),
        ("Facebook", "https://facebook.example.com/acme"),
        ("Help: why verify?", "https://example.com/help/verify"),
        ("Log in", "https://example.com/login"),
    ],
)
def test_links_that_are_never_verification(anchor: str, href: str) -> None:
    html = f"<p>Please verify your email address.</p><a href='{href}'>{anchor}</a>"
    assert [link.verification for link in extract("", "", html).links] == [False]


def test_host_name_never_disqualifies() -> None:
    html = (
        "<p>Welcome to the federation!</p><a href='https://mastodon.online/auth/confirmation"
        "?confirmation_token=abcDEF123456ghiJKL'>Verify e-mail address</a>"
    )
    assert [link.verification for link in extract("Confirm", "", html).links] == [True]


@pytest.mark.parametrize(
    ("subject", "text", "html"),
    [
        pytest.param(
            "No account found",
            "We could not find an account for this email. Try a different address or sign up:"
            "\nhttps://example.com/password/forgot\n",
            "",
            id="no-account",
        ),
        pytest.param(
            "Account already exists",
            "Someone tried to sign up with this email, but an account already exists. If you "
            "forgot your password, reset it here: https://example.com/password/reset?t=Ab12Cd34Ef56Gh78",
            "",
            id="already-exists",
        ),
        pytest.param(
            "Your password was changed",
            "",
            "<p>Your password was changed.</p><p>If this was not you, <a href="
            "'https://example.com/reset?t=Ab12Cd34Ef56Gh78'>reset your password</a>.</p>",
            id="password-changed",
        ),
        pytest.param(
            "Passwort geändert",
            "Ihr Passwort wurde geändert. Waren Sie das nicht? Setzen Sie es hier zurück:\n"
            "https://example.de/passwort/zuruecksetzen?t=Ab12Cd34Ef56Gh78\n",
            "",
            id="password-changed-de",
        ),
    ],
)
def test_notices_have_no_verification_link(subject: str, text: str, html: str) -> None:
    assert [link.verification for link in extract(subject, text, html).links] == [False]


def test_a_confirm_link_in_a_change_notice_still_counts() -> None:
    text = (
        "You have changed your e-mail address. To confirm this change, click the link below:\n"
        "https://forum.example.org/options/confirm-email-change/Xw81kqPz0a/\n"
    )
    found = extract("Your e-mail address has been changed", text, "")
    assert [link.verification for link in found.links] == [True]


@pytest.mark.parametrize(
    ("anchor", "href", "before"),
    [
        ("Conferma indirizzo email", "https://example.it/a?t=Ab12Cd34Ef56Gh78", ""),
        ("Bevestig je e-mailadres", "https://example.nl/a?t=Ab12Cd34Ef56Gh78", ""),
        ("Potwierdź adres e-mail", "https://example.pl/a?t=Ab12Cd34Ef56Gh78", ""),
        ("E-postamı onayla", "https://example.com.tr/a?t=Ab12Cd34Ef56Gh78", ""),
        ("Підтвердити пошту", "https://example.ua/a?t=Ab12Cd34Ef56Gh78", ""),
        ("Подтвердите адрес", "https://example.ru/a?t=Ab12Cd34Ef56Gh78", ""),
        ("تأكيد البريد الإلكتروني", "https://example.sa/a?t=Ab12Cd34Ef56Gh78", ""),
        ("パスワードをリセット", "https://example.jp/a?t=Ab12Cd34Ef56Gh78", ""),
        ("Bekräfta e-post", "https://example.se/a?t=Ab12Cd34Ef56Gh78", ""),
        ("Xác nhận email", "https://example.vn/a?t=Ab12Cd34Ef56Gh78", ""),
        ("Hier klicken", "https://example.de/a/Ab12Cd34Ef56Gh78", "Um Ihr Konto zu aktivieren,"),
        ("this link", "https://example.com/a/Ab12Cd34Ef56Gh78", "Use"),
    ],
)
def test_verification_links_in_many_languages(anchor: str, href: str, before: str) -> None:
    html = f"<p>{before} <a href='{href}'>{anchor}</a> to reset your password.</p>"
    if before != "Use":
        html = f"<p>{before} <a href='{href}'>{anchor}</a></p>"
    assert [link.verification for link in extract("", "", html).links] == [True]


def test_what_follows_the_link_is_not_the_mails_purpose() -> None:
    # "Your password will not be changed" after a reset link is no notice (de, ja, en).
    for closing in (
        "Wenn Sie dies nicht angefordert haben, wird Ihr Passwort nicht geändert.",
        "このメールは無視してください。パスワードは変更されません。",
        "This link can be used once: your password has been changed only when you finish.",
    ):
        text = (
            "We received a request to reset your password. Choose a new one here:\n\n"
            f"https://example.com/forgot/recover?id=30&token=Ab12Cd34Ef56Gh78Ij90\n\n{closing}\n"
        )
        found = extract("Password reset", text, "")
        assert [link.verification for link in found.links] == [True], closing


def test_a_sign_in_page_shown_as_its_own_text_is_no_verification_link() -> None:
    html = (
        "<p>Your account has been activated. You can now log in.</p>"
        "<p>Sign in: <a href='https://tracker.example/login'>https://tracker.example/login</a></p>"
    )
    assert [link.verification for link in extract("Account activated", "", html).links] == [False]


def test_the_clause_after_a_link_ends_with_its_paragraph() -> None:
    # "mit Hilfe" (with the help of) in the next paragraph is no help link's context.
    text = (
        "Benutzen Sie den folgenden Link, um Ihr Passwort zu ändern:\n"
        "https://tracker.example/account/lost_password?token=70fa0a4289288c8421b615a2e1782f84\n\n"
        "Bitte beachten Sie, dass mit Hilfe dieses Links das Passwort nur einmalig geändert "
        "werden kann.\n"
    )
    assert [link.verification for link in extract("Ihr Passwort", text, "").links] == [True]


def test_an_autolinked_full_stop_is_not_part_of_the_link() -> None:
    url = "https://example.cz/account/activate?id=5286&token=03gsPyzlf2pA5Hvns4O70A3pSqgLB"
    html = f"<p>Chcete-li aktivovat svůj účet, klikněte zde: <a href='{url}.'>{url}.</a></p>"
    assert [(link.url, link.verification) for link in extract("", "", html).links] == [(url, True)]


def test_a_link_carrying_the_code_is_the_verification_link() -> None:
    text = (
        "Puedes iniciar sesión con el siguiente código: ZCBHT2\n\n"
        "O puedes utilizar este enlace: "
        "https://shop.example/us-verify-link?email=eva@mail.example&code=ZCBHT2\n"
    )
    found = extract("Código de verificación", text, "")
    assert found.codes == ["ZCBHT2"]
    assert [link.verification for link in found.links] == [True]


def test_a_word_in_the_line_above_does_not_veto_a_code_on_its_own_line() -> None:
    # "afbestillingsformularen" (the cancellation form) holds "bestilling" (order).
    text = (
        "For at bekræfte skal du indsætte følgende kode i afbestillingsformularen:\n\n"
        "    40938358\n\nDel ikke denne kode med nogen.\n"
    )
    assert codes_in(text, subject="Bekræft aflysning") == ["40938358"]
    assert codes_in("Din bestilling:\n\n40938358\n", subject="Ordre") == []


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        pytest.param('<td style="font-size:32px;letter-spacing:6px">482913</td>', ["482913"]),
        pytest.param("<td><strong>482913</strong></td>", ["482913"], id="strong"),
        pytest.param('<td style="color:#333">482913</td>', [], id="plain"),
        pytest.param("<td><b>Order</b> 482913</td>", [], id="not-alone"),
    ],
)
def test_a_code_shown_large_needs_fewer_words(shown: str, expected: list[str]) -> None:
    # Only a weak hint ("log in"), two sentences up: a large or bold code of its own is
    # enough, the same number in plain type is not.
    html = (
        "<p>Welcome back! Enter the number below to log in to Acme.</p><p>Thanks for using "
        f"Acme, the team wishes you a great day and a lot of fun with it.</p><table><tr>{shown}"
        "</tr></table>"
    )
    assert codes_in("", subject="Acme", html=html) == expected


def test_codes_far_down_a_long_mail_are_not_looked_for() -> None:
    filler = "Weekly digest of what happened in your workspace this week.\n" * 120
    assert codes_in(f"Your verification code: 482913\n{filler}") == ["482913"]
    assert codes_in(f"{filler}Your verification code: 482913\n") == []


def test_links_are_capped() -> None:
    html = "".join(f"<a href='https://example.com/p/{n}'>Item {n}</a>" for n in range(200))
    assert len(extract("", "", html).links) == MAX_LINKS


def hostile_inputs() -> list[tuple[str, str]]:
    junk = random.Random(7)
    return [
        ("digits-100k", "7" * 100_000),
        ("digits-300k", "4" * 300_000),
        ("spaced-digits", "1 " * 100_000),
        ("code-words", "code 482913 " * 20_000),
        ("hyphen-chain", "a1-" * 70_000),
        ("nested-html", "<div><span><a href='https://example.com/x'>" * 20_000),
        ("open-tags", "<a " * 70_000),
        ("open-comment", "<!--" + "x" * 200_000),
        ("open-script", "<script>" + "<p>1234</p>" * 20_000),
        (
            "many-anchors",
            "<a href='https://example.com/verify?t=Ab12Cd34Ef56Gh78'>Verify</a>" * 5_000,
        ),
        ("long-url", "https://example.com/" + "a1" * 100_000),
        ("binary", bytes(junk.randrange(256) for _ in range(100_000)).decode("latin-1")),
        ("surrogates", "\ud800code 482913\udfff" * 5_000),
        ("nul", "\x00<a href='https://example.com/\x00'>\x00</a>" * 5_000),
        ("entities", "&#" * 100_000 + "&#x110000;&#99999999999;"),
        ("at-signs", "user.name+tag@mail.example.org " * 6_000 + "@" * 50_000),
        ("capitals", "HZNZ-GDWH BCDFGH " * 12_000),
        ("emphasis", '<td style="font-size:40px"><b>' * 8_000 + "482913</b></td>" * 8_000),
        ("paragraphs", "Reset: https://example.com/r?t=Ab12Cd34Ef56Gh78\n\n" * 4_000),
        (
            "links-with-context",
            "Please confirm: https://example.com/c/Ab12Cd34Ef56Gh78 now. " * 3_000,
        ),
    ]


@pytest.mark.parametrize(("name", "payload"), hostile_inputs(), ids=lambda v: str(v)[:12])
def test_hostile_input_is_handled_quickly(name: str, payload: str) -> None:
    started = time.perf_counter()
    found = extract(payload, payload, payload)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{name} took {elapsed:.2f}s"
    assert len(found.codes) <= MAX_CODES and len(found.links) <= MAX_LINKS
    msgspec.json.encode(found)


def test_random_fragments_never_raise() -> None:
    pieces = [
        "<a href='https://example.com/v?t=Ab12Cd34Ef56Gh78'>", "</a>", "<", ">", "<!--", "-->",
        "&amp;", "&#", "code", "验证码", "код", " ", "\n", "482913", "48-29", "#", "$", "+1 ",
        "https://", "@", "<td>", "<script>", "\ud800", "\x00", "Ａ７", "：", "，", "-", "12:30",
    ]  # fmt: skip
    draw = random.Random(2024)
    for _ in range(500):
        payload = "".join(draw.choice(pieces) for _ in range(draw.randrange(1, 200)))
        found = extract(payload, payload[::-1], payload)
        for link in found.links:
            assert link.url.startswith(("http://", "https://"))
            assert len(link.text) <= MAX_LINK_TEXT
        msgspec.json.encode(found)


def test_typical_message_is_fast() -> None:
    corpus = list(load_corpus().values())
    started = time.perf_counter()
    for fixture in corpus * 5:
        extract(fixture.subject, fixture.text, fixture.html)
    mean = (time.perf_counter() - started) / (len(corpus) * 5)
    # Measured at about 0.12 ms; the bound leaves room for slow CI and coverage tracing.
    assert mean < 0.005, f"{mean * 1000:.2f} ms per message"


def flags(subject: str, text: str, html: str = "") -> dict[str, bool]:
    return {link.url: link.verification for link in extract(subject, text, html).links}


@pytest.mark.parametrize(
    ("page", "context"),
    [
        pytest.param("Spezial:E-Mail_bestätigen", "Öffne diese Seite:", id="de"),
        pytest.param("Служебная:Подтвердить_почту", "Откройте эту страницу:", id="ru"),
        pytest.param("特別:メール確認", "次のページを開いてください:", id="ja"),
        pytest.param("Ειδικό:Επιβεβαίωση", "Ανοίξτε τη σελίδα:", id="el"),
        pytest.param("Speciaal:E-mailadres_bevestigen", "Open de pagina:", id="nl"),
    ],
)
def test_a_percent_encoded_page_name_is_read_in_its_language(page: str, context: str) -> None:
    url = f"https://wiki.example.org/wiki/{quote(page)}/5d41402abc4b2a76b9719d911017c592"
    assert flags("Wiki", f"{context}\n\n{url}\n") == {url: True}


def test_a_tracking_wrapper_is_read_through() -> None:
    target = "https://app.example.com/verify?t=Ab12Cd34Ef56Gh78"
    url = f"https://t.mailer.example/r?u={quote(target, safe='')}"
    assert flags("Acme", f"Open:\n{url}\n") == {url: True}


@pytest.mark.parametrize(
    ("confirm", "cancel"),
    [
        pytest.param(
            "To confirm this address, open:",
            "Not you? Follow this link to cancel the confirmation:",
            id="en",
        ),
        pytest.param(
            "Um die Adresse zu bestätigen, öffne:",
            "Du warst das nicht? Dann brich die Bestätigung hier ab, der Link läuft morgen ab:",
            id="de-verb-in-path",
        ),
        pytest.param(
            "Pour confirmer cette adresse, ouvrez :",
            "Pour annuler la confirmation de l'adresse, ouvrez :",
            id="fr",
        ),
        pytest.param(
            "メールアドレスを確認するには次を開いてください:",
            "確認を取り消すには次を開いてください:",
            id="ja",
        ),
    ],
)
def test_a_cancel_link_is_no_verification_link(confirm: str, cancel: str) -> None:
    good = "https://site.example/account/confirm/9f86d081884c7d659a2feaa0c55ad015"
    bad = "https://site.example/account/invalidate/9f86d081884c7d659a2feaa0c55ad015"
    text = f"{confirm}\n{good}\n\n{cancel}\n{bad}\n\nThe link expires in 7 days.\n"
    assert flags("Confirm your address", text) == {good: True, bad: False}


@pytest.mark.parametrize(
    "anchor", ["Cancel the request", "This wasn't me", "Annuler", "Widerrufen", "Отменить", "取消"]
)
def test_an_undo_button_is_no_verification_link(anchor: str) -> None:
    html = (
        "<p>Confirm your new e-mail address.</p>"
        f"<a href='https://site.example/c?t=Ab12Cd34Ef56Gh78'>{anchor}</a>"
    )
    assert [link.verification for link in extract("", "", html).links] == [False]


@pytest.mark.parametrize(
    "lead",
    [
        pytest.param("If this wasn't you, please reset your password right away:", id="en"),
        pytest.param("Se non sei stato tu a farlo, reimposta subito la tua password:", id="it"),
        pytest.param("Если это были не вы, срочно смените пароль:", id="ru"),
        pytest.param("Si no fuiste tú, restablece tu contraseña ahora:", id="es"),
        pytest.param("如果不是您本人操作，请立即重置密码：", id="zh"),
        pytest.param("Jeśli to nie ty, zresetuj hasło:", id="pl"),
    ],
)
def test_a_remedy_link_is_no_verification_link(lead: str) -> None:
    url = "https://site.example/password/reset/confirm/Q1/ab12cd-34ef56ab78cd90ef12ab"
    assert flags("Hello", f"Hi Ana,\n\n{lead}\n{url}\n\nThanks\n") == {url: False}


@pytest.mark.parametrize(
    ("subject", "opening"),
    [
        pytest.param(
            "Security alert",
            "We noticed a new sign-in to your account from Firefox on Linux.",
            id="en",
        ),
        pytest.param(
            "Sicherheitshinweis",
            "Es gab eine neue Anmeldung bei deinem Konto (Firefox, Linux).",
            id="de",
        ),
        pytest.param(
            "Alerte", "Nouvelle connexion à votre compte depuis Firefox sous Linux.", id="fr"
        ),
        pytest.param(
            "Konto",
            "Twoje konto zostało aktywowane. Możesz się teraz zalogować.",
            id="pl-activated",
        ),
        pytest.param("Cuenta", "Tu cuenta ha sido activada. Ya puedes entrar.", id="es-activated"),
    ],
)
def test_a_notice_of_a_sign_in_or_activation_has_no_verification_link(
    subject: str, opening: str
) -> None:
    url = "https://site.example/password/reset?token=Ab12Cd34Ef56Gh78Ij90"
    text = f"{opening}\n\nReset password: {url}\n"
    assert flags(subject, text) == {url: False}


def test_the_notice_is_read_in_the_text_part_as_well() -> None:
    # The HTML part opens with a long header; the text part says what happened.
    url = "https://site.example/password/reset?token=Ab12Cd34Ef56Gh78Ij90"
    html = (
        "<div>" + "<p>Site navigation</p>\n" * 40 + "</div>"
        f"<p><a href='{url}'>Reset password</a></p>"
    )
    text = f"Your password was changed yesterday.\n\nReset password: {url}\n"
    assert flags("Hello", text, html) == {url: False}


@pytest.mark.parametrize(
    "anchor",
    [
        "E-posta adresini doğrula",  # tr
        "Zweryfikuj adres",  # pl
        "Потвърдете имейла си",  # bg
        "Patvirtinkite el. paštą",  # lt
        "Apstipriniet e-pastu",  # lv
        "Potrdite e-naslov",  # sl
        "Aktivirajte račun",  # hr
        "啟用帳戶",  # zh-Hant
        "本登録を完了する",  # ja
        "이메일 인증하기",  # ko
        "ইমেল যাচাই করুন",  # bn
        "Thibitisha barua pepe",  # sw
        "Staðfestu netfangið",  # is
        "Palauta salasana",  # fi, reset
        "重新設定密碼",  # zh-Hant, reset
    ],
)
def test_link_words_in_more_languages(anchor: str) -> None:
    html = f"<p><a href='https://site.example/e/5d41402abc4b2a76b9719d911017c592'>{anchor}</a></p>"
    assert [link.verification for link in extract("", "", html).links] == [True]


@pytest.mark.parametrize(
    "href",
    [
        "https://lookup.example/range/5decf",
        "https://site.example/",
        "https://site.example/account/overview",
    ],
)
def test_a_page_anyone_can_open_is_no_verification_link(href: str) -> None:
    # The text says "verify", but the URL has no word of its own and no one-use value.
    html = f"<p><a href='{href}'>Verify whether the password was leaked</a></p>"
    assert [link.verification for link in extract("", "", html).links] == [False]


def test_a_notice_in_icelandic_keeps_its_reset_link_a_remedy() -> None:
    text = (
        "Lykilorðinu þínu hefur verið breytt.\nEf þú breyttir ekki lykilorðinu þínu, smelltu "
        "hér til að endurstilla það: https://site.example/forgot_password\n"
    )
    assert flags("Lykilorð", text) == {"https://site.example/forgot_password": False}


@pytest.mark.parametrize(
    "paragraph",
    [
        pytest.param(
            "Open the link below to confirm your address. It works for 24 hours.", id="en"
        ),
        pytest.param(
            "Öffne den Link, um deine Adresse zu bestätigen. Er gilt 24 Stunden.", id="de"
        ),
        pytest.param("Abre el enlace para verificar tu correo. Caduca en 24 horas.", id="es"),
        pytest.param(
            "下のリンクを開いてメールアドレスを確認してください。有効期限は24時間です。", id="ja"
        ),
    ],
)
def test_the_instruction_may_be_a_sentence_before_the_last(paragraph: str) -> None:
    url = "https://site.example/e/5d41402abc4b2a76b9719d911017c592"
    assert flags("Hello", f"Hi Ana,\n\n{paragraph}\n\n{url}\n\nThanks\n") == {url: True}


def test_a_sentence_ending_in_an_ideographic_full_stop_leads_to_its_link() -> None:
    url = "https://site.example/e/5d41402abc4b2a76b9719d911017c592"
    assert flags("你好", f"请点击以下链接激活您的账户。\n{url}\n") == {url: True}


@pytest.mark.parametrize(
    "lead",
    [
        pytest.param("To change or check your order details, open:", id="en"),
        pytest.param("注文の詳細の変更と確認は、以下のURLからどうぞ。", id="ja"),
        pytest.param("Um deine Bestellung zu prüfen und zu bestätigen, öffne:", id="de"),
        pytest.param("Para confirmar su pedido, abra:", id="es"),
    ],
)
def test_an_order_link_is_no_verification_link(lead: str) -> None:
    url = "https://shop.example/fest/2026/o/7PJHP/enm60aro4t4fqzjo/"
    assert flags("Thanks", f"Thank you.\n\n{lead}\n{url}\n") == {url: False}
    order = "https://shop.example/fest/order/7PJHP/confirm/enm60aro4t4fqzjo/"
    assert flags("Thanks", f"Thank you.\n\nOpen this:\n{order}\n") == {order: False}


def test_in_order_to_is_no_order() -> None:
    url = "https://site.example/e/5d41402abc4b2a76b9719d911017c592"
    text = f"In order to confirm your address, open:\n{url}\n"
    assert flags("Hello", text) == {url: True}


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        pytest.param("Acme sign-in", "KQWZP7\n", ["KQWZP7"], id="en-letters-digit"),
        pytest.param("Anmeldung bei Acme", "\n  RTXBN4  \n", ["RTXBN4"], id="de"),
        pytest.param("Acme へのログイン", "MZKQT8", ["MZKQT8"], id="ja"),
        pytest.param("Acme newsletter", "KQWZP7\n", [], id="no-sign-in-subject"),
        pytest.param("Acme sign-in", "KQWZP7\nSee you soon at Acme.\n", [], id="not-alone"),
        pytest.param("Acme sign-in", "SPRING30\n", [], id="promo-amount"),
    ],
)
def test_a_code_that_is_the_whole_body(subject: str, body: str, expected: list[str]) -> None:
    # A sign-in subject and a body that is nothing but the token, as an SMS-style mail.
    assert codes_in(body, subject=subject) == expected


def test_the_same_url_percent_encoded_and_plain_is_one_link() -> None:
    plain = (
        "https://wiki.example.fr/wiki/Spécial:ConfirmerCourriel/5d41402abc4b2a76b9719d911017c592"
    )
    encoded = plain.replace("é", "%C3%A9")
    html = f"<p>Pour confirmer votre adresse : <a href='{encoded}'>{plain}</a></p>"
    text = f"Pour confirmer votre adresse :\n{plain}\n"
    found = extract("Confirmation", text, html)
    assert [(link.url, link.verification) for link in found.links] == [(encoded, True)]


def test_the_next_line_is_another_clause_when_it_starts_a_sentence() -> None:
    # "To cancel..." on the next line is not what the confirm link's clause says.
    good = "https://site.example/e/5d41402abc4b2a76b9719d911017c592"
    bad = "https://site.example/x/5d41402abc4b2a76b9719d911017c592"
    text = f"Someone asked to use this address.\nTo confirm, open: {good}\nTo cancel, open: {bad}\n"
    assert flags("Address", text) == {good: True, bad: False}
    wrapped = f"Please open\n{good}\nto confirm your address.\n"
    assert flags("Address", wrapped) == {good: True}


@pytest.mark.parametrize(
    ("lead", "anchor"),
    [
        pytest.param("Here is your sign-in link. It works once.", "Log in", id="en"),
        pytest.param("Hier ist dein Anmeldelink, er gilt einmal.", "Anmelden", id="de"),
        pytest.param("Voici votre lien de connexion, valable une fois.", "Connexion", id="fr"),
        pytest.param("ログインリンクをお送りします。", "ログイン", id="ja"),
    ],
)
def test_a_sign_in_link_named_in_the_sentence(lead: str, anchor: str) -> None:
    url = "https://app.example/m/5d41402abc4b2a76b9719d911017c592"
    html = f"<p>{lead}</p><p><a href='{url}'>{anchor}</a></p>"
    assert flags("Acme", "", html) == {url: True}


def test_or_click_this_link_is_read_with_what_leads_to_it() -> None:
    url = "https://app.example/v/5d41402abc4b2a76b9719d911017c592"
    html = (
        "<p>Confirm your address with this code: <b>581930</b></p>"
        f"<p>Or click <a href='{url}'>this link</a>.</p>"
    )
    found = extract("Acme", "", html)
    assert found.codes == ["581930"]
    assert [(link.url, link.verification) for link in found.links] == [(url, True)]
    # Without a one-use value the page is anyone's: not taken from the sentences above.
    page = "https://app.example/login"
    assert flags("Acme", "", html.replace(url, page)) == {page: False}


@pytest.mark.parametrize(
    "paragraph",
    [
        pytest.param("Forgot your password? No problem.", id="en"),
        pytest.param("Passwort vergessen? Kein Problem.", id="de"),
        pytest.param("¿Olvidaste tu contraseña? No pasa nada.", id="es"),
        pytest.param("Забыли пароль? Ничего страшного.", id="ru"),
        pytest.param("Klik hieronder om je wachtwoord opnieuw in te stellen.", id="nl-separable"),
        pytest.param("Klicke unten, um dein Passwort zurückzusetzen.", id="de-infix"),
    ],
)
def test_a_reset_link_led_to_by_a_forgotten_password(paragraph: str) -> None:
    url = "https://app.example/r/5d41402abc4b2a76b9719d911017c592"
    assert flags("Acme", f"Hi,\n\n{paragraph}\n\n{url}\n\nValid for one hour.\n") == {url: True}
    # As a link's own text it is the login form's help link.
    html = "<p>Welcome back!</p><a href='https://app.example/password/forgot'>Forgot password?</a>"
    assert flags("Acme", "", html) == {"https://app.example/password/forgot": False}


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        pytest.param(
            "Verify your email", "Enter 482913 in the app to continue.", ["482913"], id="en"
        ),
        pytest.param(
            "Código de verificación", "Introduce 482913 en la aplicación.", ["482913"], id="es"
        ),
        pytest.param("Bestätigungscode", "Bitte gib 482913 in der App ein.", ["482913"], id="de"),
        pytest.param("確認コード", "アプリに482913を入力してください。", ["482913"], id="ja"),
        pytest.param(
            "Weekly digest", "Enter 482913 in the app to continue.", [], id="no-code-subject"
        ),
        pytest.param(
            "Verify your email", "Visit our call center, 482913 visitors a year.", [], id="center"
        ),
    ],
)
def test_enter_this_number_under_a_code_subject(
    subject: str, text: str, expected: list[str]
) -> None:
    assert codes_in(text, subject=subject) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Join the meeting: dial-in code 882 193 44#, room 4021.",
        "Meeting ID: 882 1934 4021",
        "Press 482913# to join the call.",
    ],
)
def test_meeting_dial_in_numbers_are_no_codes(text: str) -> None:
    assert codes_in(text, subject="Your code for the meeting") == []


@pytest.mark.parametrize(
    "anchor",
    ["Facebook", "LinkedIn", "Telegram", "Notification settings", "Einstellungen", "Suivez-nous"],
)
def test_profile_and_settings_links_in_a_verification_mail(anchor: str) -> None:
    # Wrapped by a click tracker, so every link carries a long value; the sentence above
    # speaks of confirming.
    verify = "https://click.mailer.example/c/Ab12Cd34Ef56Gh78Ij90"
    other = "https://click.mailer.example/c/Zz98Yy76Xx54Ww32Vv10"
    html = (
        f"<p>Please confirm your address.</p><p><a href='{verify}'>Confirm address</a></p>"
        f"<p>Thanks for confirming.</p><p><a href='{other}'>{anchor}</a></p>"
    )
    assert flags("Confirm", "", html) == {verify: True, other: False}


def test_a_social_network_named_in_a_longer_text_does_not_decide() -> None:
    url = "https://social.example/auth/confirm?t=Ab12Cd34Ef56Gh78"
    html = f"<a href='{url}'>Confirm your Mastodon account</a>"
    assert flags("Mastodon", "", html) == {url: True}


def test_a_remedy_after_the_link_is_the_other_branch() -> None:
    url = "https://site.example/v/5d41402abc4b2a76b9719d911017c592"
    html = f"<p>Click <a href='{url}'>here</a> to verify; if you did not sign up, ignore this.</p>"
    assert flags("Verify", "", html) == {url: True}


def test_an_escaped_ampersand_in_the_text_part_is_the_same_link() -> None:
    url = "https://site.example/reset?uid=Mw&token=5d41402abc4b2a76b9719d911017c592"
    html = f"<p>Reset your password: <a href='{url.replace('&', '&amp;')}'>Reset password</a></p>"
    text = f"Reset your password: {url.replace('&', '&amp;')}\n"
    found = extract("Password reset", text, html)
    assert [(link.url, link.verification) for link in found.links] == [(url, True)]


@pytest.mark.parametrize(
    "lead",
    [
        pytest.param("You may ignore this or open this link to choose your password:", id="en"),
        pytest.param("Öffnen Sie den Link, um Ihr Passwort festzulegen:", id="de"),
        pytest.param("Ouvrez ce lien pour choisir votre mot de passe :", id="fr"),
        pytest.param("Avaa linkki valitaksesi salasanasi:", id="fi"),
        pytest.param("Użyj tego linku, aby zmienić hasło:", id="pl"),
    ],
)
def test_a_ticket_number_link_to_choose_a_password(lead: str) -> None:
    # A long number as the path's last segment is a one-use ticket.
    url = "https://lists.example.org/wws/ticket/62129883851985"
    assert flags(
        "Your account", f"Hello,\n{lead} {url}\n\nHelp: https://lists.example.org/wws/help\n"
    ) == {
        url: True,
        "https://lists.example.org/wws/help": False,
    }
    stamp = "https://lists.example.org/wws/info?t=1701234567890"
    assert flags("Your account", f"{lead} {stamp}\n") == {stamp: False}


def test_a_redirect_target_in_the_query_does_not_veto_a_sign_in_link() -> None:
    url = (
        "https://app.example/api/auth/callback/email?callbackUrl=https%3A%2F%2Fapp.example"
        "%2Fsettings%2Fprofile&token=fe559c5e1f5c0d560f1ec8a6c61880e25b01b4f2"
    )
    html = f"<p>Sign in to app.example</p><a href='{url}'>Sign in</a>"
    assert flags("Sign in to app.example", "", html) == {url: True}
    wrapped = (
        "https://t.mailer.example/r?u=https%3A%2F%2Fapp.example%2Funsubscribe%3Ft%3DAb12Cd34Ef56"
    )
    html = f"<p>Confirm your address.</p><a href='{wrapped}'>Click here</a>"
    assert flags("Confirm", "", html) == {wrapped: False}


def test_an_invitation_in_the_passive_is_no_notice() -> None:
    # "您已被邀請" (you have been invited) is a passive, not "has been changed".
    url = "https://data.example/user/reset/9ba03b14-a788-49e3?key=53a0abac0fcff8d3916e537fb4a66657"
    text = f"您好，您已被邀請加入 Data Portal。\n若您接受此邀請，請點擊後方連結設定密碼：{url} 。\n"
    assert flags("Data Portal 的邀請", text) == {url: True}


def test_a_link_that_says_activate_is_read_with_its_paragraph() -> None:
    # A short key is no token, but the path says what the link does.
    url = "https://forum.example/member.php?mode=activate&u=52&k=9F3KQ2"
    text = (
        "You asked for a new password. To use it you need to activate it. Click the link "
        f"below.\n\n{url}\n\nThen log in with the new password.\n"
    )
    assert flags("New password", text) == {url: True}


@pytest.mark.parametrize("anchor", ["View reply", "Antworten", "Voir le message", "查看回复"])
def test_a_notification_quoting_confirm_has_no_verification_link(anchor: str) -> None:
    url = "https://forum.example/t/123/4?u=a1b2c3d4e5f6a7b8c9d0e1f2"
    html = f"<p>Bob wrote: 'Please confirm the meeting time.'</p><a href='{url}'>{anchor}</a>"
    assert flags("New reply", "", html) == {url: False}


def test_aosp_context_words_are_hints() -> None:
    # "secret", "access" and "validate" are among AOSP's OTP context words: hints, whole words.
    assert codes_in("Please validate your sign-up: 482913") == ["482913"]
    assert codes_in("Please review your sign-up: 482913") == []
    assert codes_in("Accessibility score: 482913 points") == []


@pytest.mark.parametrize(
    "closing",
    [
        "(the link becomes invalid in 24 hours)",
        "(der Link wird in 24 Stunden ungültig)",
        "（链接24小时后无效）",
        "(de link wordt na 24 uur ongeldig)",
    ],
)
def test_a_link_said_to_expire_is_no_undo_link(closing: str) -> None:
    # "Invalid" says when a link stops working; "invalidate" is what an undo link does.
    url = "https://x.example/c/a1b2c3d4e5f6a7b8c9d0e1f2"
    assert flags("Confirm", f"Confirm here: {url} {closing}\n") == {url: True}
    undo = f"Follow this link to invalidate the address: {url}\n"
    assert flags("Confirm", undo) == {url: False}


def test_forgot_password_before_a_form_anyone_can_open_is_no_verification_link() -> None:
    text = (
        "Your account has been created. Log in: https://x.example/login\n"
        "Forgot password? https://x.example/password/forgot\n"
    )
    assert flags("Welcome", text) == {
        "https://x.example/login": False,
        "https://x.example/password/forgot": False,
    }


@pytest.mark.parametrize(
    "lead",
    [
        pytest.param("Click below to confirm. If you did not sign up, ignore this email.", id="en"),
        pytest.param(
            "Bitte bestätigen. Wenn Sie das nicht waren, ignorieren Sie diese E-Mail.", id="de"
        ),
        pytest.param("请确认。如果不是您本人操作，请忽略此邮件。", id="zh"),
    ],
)
def test_if_not_you_ignore_this_leads_to_no_remedy(lead: str) -> None:
    url = "https://x.example/c/a1b2c3d4e5f6a7b8c9d0e1f2"
    html = f"<p>{lead}</p><p><a href='{url}'>Confirm email</a></p>"
    assert flags("Confirm", "", html) == {url: True}


def test_a_confirm_subject_vouches_for_the_only_one_use_link() -> None:
    # The body is in a language no table knows (Amharic); the subject asks to confirm.
    url = "https://x.example/k/a1b2c3d4e5f6a7b8c9d0e1f2"
    text = f"ሰላም፣\nእባክዎ ይህን አገናኝ ይክፈቱ፦\n{url}\n\nhttps://x.example/about\n"
    assert flags("Confirm your email address", text) == {
        url: True,
        "https://x.example/about": False,
    }
    # Not when two links carry one-use values, when a code was sent, or under a notice.
    other = "https://x.example/k/f9e8d7c6b5a4f3e2d1c0b9a8"
    assert flags("Confirm your email address", f"{text}{other}\n")[url] is False
    assert flags("Confirm your email address: 482913", f"482913\n{text}")[url] is False
    assert flags("Your subscription is confirmed", text)[url] is False


@pytest.mark.parametrize(
    ("written", "url"),
    [
        (
            "https://x.example/reset?key=9af2768ad8.Teña un bo día.",
            "https://x.example/reset?key=9af2768ad8",
        ),
        (
            "https://x.example/reset?key=9af2768ad8.Thanks!",
            "https://x.example/reset?key=9af2768ad8",
        ),
        ("https://x.example/files/report.pdf.", "https://x.example/files/report.pdf"),
        ("https://x.example.Com", "https://x.example.Com"),
    ],
)
def test_a_sentence_glued_to_a_url_is_not_part_of_it(written: str, url: str) -> None:
    assert [link.url for link in extract("", f"Open {written}\n", "").links] == [url]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # A parameter named for a code carries a 12-character value: one use, even in letters
        # only when its case is mixed (PostfixAdmin's generate_password()).
        (
            "https://mail.example.org/users/password-change.php?username=a%40b.example&code=5tLas4unci9K",
            True,
        ),
        (
            "https://mail.example.org/users/password-change.php?username=a%40b.example&code=WHgBVrJEKdcw",
            True,
        ),
        ("https://mail.example.org/users/password-change.php?mail_token=Ab3dE6gH9", True),
        # A word, or a short value, under the same names is no one-use value.
        ("https://mail.example.org/users/password-change.php?key=newsletter", False),
        ("https://mail.example.org/users/password-change.php?code=SUMMERSALE", False),
        ("https://mail.example.org/users/password-change.php?code=Ab3d", False),
    ],
)
def test_a_named_one_use_value_makes_a_password_link_one_use(url: str, expected: bool) -> None:
    text = f"Hello,\n\nUse the following link to change your email password :\n{url}\n\nRegards"
    assert flags("Change your login password.", text) == {url: expected}


def test_an_escaped_line_break_before_a_url_does_not_hide_it() -> None:
    # A translation catalog left "\n" escaped; the URL after it is still the reset link.
    url = "https://mail.example.org/users/password-change.php?username=h%40x.example&code=AjzG4XWb7mqc"
    text = (
        "Вітаємо!\\n\\nВикористовуйте наступне посилання для зміни Вашого пароля від "
        f"електронної пошти:\\n{url}\\n\\nЗ повагою,\\n\\nPostmaster"
    )
    assert flags("Зміна Вашого пароля", text) == {url: True}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您好 Noor,\n\n您的登入代碼為\n589996\n\n該郵件已自動寄送", ["589996"]),
        ("您好,\n\n您的登录代码是\n482913\n", ["482913"]),
        ("您好,\n\n您的發票號碼\n482913\n", []),
        ("請參閱源代碼第\n482913\n行", []),
    ],
)
def test_traditional_chinese_is_read_as_simplified_is(text: str, expected: list[str]) -> None:
    assert codes_in(text) == expected


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        # A catalog rendered "Password reset" as "Password has been reset": the body asks.
        ("密码已重置。", "请点击下面的链接来重置密码\n{url}\n", True),
        (
            "Passwort wurde zurückgesetzt",
            "Hallo,\n\nHier klicken, um Ihr Passwort zurückzusetzen:\n{url}\n",
            True,
        ),
        # The body says it too, or the link is a remedy: a notice.
        ("Password was reset", "Your password was reset. To reset it again, open:\n{url}\n", False),
        ("Password changed", "If this was not you, reset your password here:\n{url}\n", False),
        # A subject in the imperative is no notice ("Schimbați parola", change the password).
        (
            "Schimbati parola de conectare",
            "Use the following link to reset your password:\n{url}\n",
            True,
        ),
    ],
)
def test_a_subject_alone_does_not_make_a_notice_of_a_body_that_asks(
    subject: str, body: str, expected: bool
) -> None:
    url = "https://example.org/password/reset/confirm/Mw/jswwxz-68298759bf60bddf6ebbe1fcd9e230a0/"
    assert flags(subject, body.format(url=url)) == {url: expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The token a reset mail asks to type when its link fails, carried by the link too.
        (
            "To set a new password, click the following link:\n"
            "https://hg.example.org/_admin/password_reset_confirmation?email=a%40b.example"
            "&token=c95f2bfcbf507c8c5f9f08b4aecc4085c6f2bd84\n"
            "Should you not be able to use the link above, please type the following code "
            "into the password reset form:\nc95f2bfcbf507c8c5f9f08b4aecc4085c6f2bd84\n",
            ["c95f2bfcbf507c8c5f9f08b4aecc4085c6f2bd84"],
        ),
        (
            "To activate your account, please follow the link below:\n"
            "https://qa.example.org/account/verify-email/?validation_code=bb355119095dce4d\n"
            "If you are unable to follow the link, copy/paste this key into the form:\n"
            "bb355119095dce4d\n",
            ["bb355119095dce4d"],
        ),
        # A commit hash on its own line, and a key no sentence asks for, are none.
        (
            "New comment on changeset\n3fa8c9d1e2f34b5a6c7d8e9f0a1b2c3d4e5f6a7b\nby Ana\n",
            [],
        ),
        ("Your upload finished.\n\n9f86d081884c7d659a2feaa0c55ad015\n", []),
    ],
)
def test_a_key_to_paste_on_its_own_line_is_a_code(text: str, expected: list[str]) -> None:
    assert codes_in(text) == expected


def test_a_site_named_support_asks_no_less() -> None:
    # A tracker named "Support": its name in the subject and in the sentence before a
    # one-use link vetoes nothing; a "Contact support" link with no one-use value stays out.
    url = (
        "https://bugs.example.org/?@action=confrego&otk=saeQlQQwtMI6tMVjEAV_vPxj-n0QLUbVtbagrMhWN5E"
    )
    text = (
        'To complete your registration of the user "min" with\nSupport, please visit the '
        f"following URL:\n\n{url}\n\nQuestions? Contact support: https://bugs.example.org/help\n"
    )
    assert flags("Complete your registration to Support", text) == {
        url: True,
        "https://bugs.example.org/help": False,
    }
    reset = "https://bugs.example.org/user?@template=forgotten&@action=passrst&otk=A3pg4w2AG_cB9lzdmV1uz2VhJwDbMjNnSp1JNQsLVk4"
    text = (
        "Someone, perhaps you, has requested that the password be changed for your\n"
        'username, "hanna". If you wish to proceed with the change, please follow\n'
        f"the link below:\n\n  {reset}\n"
    )
    assert flags("Confirm reset of password for Support", text) == {reset: True}


def test_a_french_modification_not_yet_made_is_no_notice() -> None:
    url = "https://auth.example.org/reset-password?email=k%40b.example&token=ac2e31bdf5ea633a2837b1d5c6011284"
    html = (
        "<p>Nous avons reçu une demande de réinitialisation du mot de passe. Aucune "
        "modification n'a encore été apportée à votre compte.</p><p>Vous pouvez réinitialiser "
        f'votre mot de passe en cliquant sur le lien ci-dessous :</p><p><a href="{url}">'
        "Réinitialiser le mot de passe</a></p>"
    )
    assert flags("Réinitialiser le mot de passe", "", html) == {url: True}


def test_a_percent_encoded_host_is_shown_as_the_other_part_writes_it() -> None:
    encoded = "https://qa.librer%C3%ADa-luna.example/account/verify-email/?validation_code=990114d90ce8b511"
    plain = (
        "https://qa.librería-luna.example/account/verify-email/?validation_code=990114d90ce8b511"
    )
    html = f'<p>To activate your account, please follow the link below:</p><a href="{encoded}">{encoded}</a>'
    text = f"To activate your account, please follow the link below:\n{plain}\n"
    assert flags("Activate your account", text, html) == {plain: True}


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        # A site's name is no code because the next sentence speaks of confirming.
        (
            "[L10N Hub] Din tilmelding på L10N Hub",
            "Dette er en besked om din tilmelding på L10N Hub.\n\nKlik venligst på "
            "bekræftelsesknappen nedenfor.",
            [],
        ),
        # A not-a-code word joined to "code" names another kind of code.
        ("Order confirmation", "Thank you for your order!\nOrder Code\n3R94MP88N6J1Q4Q9\n", []),
        ("Ihre Bestellung", "Ihr Bestellcode:\nK7Q2M9\n", []),
        ("Votre commande", "Votre code de commande :\nK7Q2M9\n", []),
        # The same words apart are still a code with its own word.
        ("Your order", "Your order has shipped.\n\nYour sign-in code:\nK7Q2M9\n", ["K7Q2M9"]),
    ],
)
def test_code_words_read_in_their_own_phrase(subject: str, text: str, expected: list[str]) -> None:
    assert codes_in(text, subject) == expected


def test_a_notice_keeps_a_link_whose_button_confirms() -> None:
    # The URL is written out first (no confirm word near it), then as a "Confirm" button.
    url = "https://translate.example.org/accounts/complete/email/?verification_code=fdef797685404e59a586b7da39ac8b49"
    html = (
        "<h1>Le mot de passe a été réinitialisé pour Translate</h1><p>Au cas où le lien ne serait "
        f"pas cliquable, copiez-le dans la barre d'adresse :</p><p>{url}</p>"
        f'<p><a href="{url}">Confirmez la réinitialisation du mot de passe</a></p>'
    )
    assert flags("Le mot de passe a été réinitialisé", "", html) == {url: True}


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        # Serbian "bude promenjena" asks for a change; "je promenjena" tells of one.
        (
            "Zahtev za promenu lozinke",
            "Neko je tražio da lozinka za Vaš nalog bude promenjena. Ukoliko to niste bili Vi, "
            "možete slobodno da zanemarite ovo obaveštenje. Ako želite da nastavite i promenite "
            "lozinku, molimo da posetite adresu: {url}\n",
            True,
        ),
        (
            "Vaša zaporka je promijenjena",
            "Primili ste ovaj e-mail jer je Vaša zaporka promjenjena.\n\nUkoliko je niste Vi "
            "promijenili, molimo Vas da odmah resetirate vašu zaporku:\n{url}\n",
            False,
        ),
        # Hungarian: "if it was not you, you have nothing further to do" is no remedy.
        (
            "Jelszó-újragenerálás kezdeményezése",
            "Valaki jelszó újragenerálását kérte. Ha nem Ön kérelmezte ezt, akkor Önnek nincs "
            "további teendője, ha azonban valóban szeretne új jelszót kapni, kérjük, látogassa "
            "meg az következő címet: {url}\n",
            True,
        ),
        # Kyrgyz "confirm".
        (
            "Эмейлди которуу",
            "Төмөнкү шилтеме аркылуу өтүп, эмейлиңиздин которулушун ырастаңыз:\n\n{url}\n",
            True,
        ),
    ],
)
def test_requests_notices_and_remedies_in_more_languages(
    subject: str, text: str, expected: bool
) -> None:
    url = "https://example.org/passwordreset/794ddbf7bba74fa88e0ebeebfc3e8868"
    assert flags(subject, text.format(url=url)) == {url: expected}


def test_the_plainer_spelling_of_a_link_is_shown() -> None:
    encoded = "https://w.example.org/accounts/password/verify/2et/dj0rh6-ab5218ce5145b29cc1f2b9c80baaddfd/?next=%2F"
    plain = encoded.replace("%2F", "/")
    html = f'<p>Click the link below to reset your password.</p><a href="{encoded}">{plain}</a>'
    assert flags("Password reset", f"Reset your password:\n{plain}\n", html) == {plain: True}
    # An escaped "&" means something else than a plain one: the first spelling stays.
    amp = "https://w.example.org/verify/Ab12Cd34Ef56Gh78?next=a%26b"
    html = f'<p>Confirm your address:</p><a href="{amp}">Confirm</a>'
    shown = flags("Confirm", f"Confirm:\n{amp.replace('%26', '&')}\n", html)
    assert shown == {amp: True}


def test_a_long_number_carried_by_the_link_is_the_login_code() -> None:
    code = "5196000027372176701538659017109476575918391222914096863619064482365804180261"
    url = f"https://i.example.org/accounts/login/code/?user=7670&code={code}"
    text = f"Here is your login code:\n\n{code}\n\nOr log in with this link:\n{url}\n"
    found = extract("Login code", text, "")
    assert found.codes == [code]
    assert {link.url: link.verification for link in found.links} == {url: True}
    # The same number alone, with no link carrying it, is an account or tracking number.
    assert codes_in(f"Here is your login code:\n\n{code}\n") == []


def test_a_login_subject_vouches_for_the_link_its_clause_offers() -> None:
    url = "https://wiki.example.org/ikiwiki.cgi?e=ivan%40inbox.example&amp;v=1c30cc6936bbf55bf8beeda98458759f"
    text = (
        f"To log into the Wiki, just open the following link:\n\n{url}\n\n"
        "This link can only be used once to log in, and will expire in one day.\n"
    )
    assert flags("Riverside Wiki login | wiki.example.org/", text) == {url: True}
    # A pull request titled after a login form sends no sign-in link.
    change = "https://hg.example.org/api/changeset/ce76eed23c88b4cd3c68806d899586d777bc32aa"
    text = f"Pull request #591 was opened.\n\nChangeset:\n{change}\n"
    assert flags('[Review] PR #591 "Rate limit for the login form"', text) == {change: False}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "confirm 24fbff489e09a92c05ee9e8de68ab876592e0c91",
            ["24fbff489e09a92c05ee9e8de68ab876592e0c91"],
        ),
        (
            "conferma 789ccbb87a5784ce63fd99789d3ca131fb765145",
            ["789ccbb87a5784ce63fd99789d3ca131fb765145"],
        ),
        # Another word before a long value names no code.
        ("commit 789ccbb87a5784ce63fd99789d3ca131fb765145", []),
    ],
)
def test_a_confirm_command_line_carries_the_key(line: str, expected: list[str]) -> None:
    text = (
        "Before you can start using GNU Mailman at this site, you must first confirm that "
        "this is your email address. You can do this by replying to this message.\n\n"
        "Or you should include the following line -- and only the following line -- in a "
        f"message to devel-request@lists.example.org:\n\n    {line}\n"
    )
    assert codes_in(text) == expected


def test_a_text_part_s_character_references_are_the_html_s_link() -> None:
    # A template escaped "=" to "&#x3D;": the HTML's href decodes it, the text part does not.
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3MyJ9.fJ3BanWrWcIH00ZILFPn8dQ2iSs2KAFNJBTLC3l0_M0"
    url = f"https://n8n.example.org/change-password?token={token}&mfaEnabled=false"
    escaped = url.replace("=", "&#x3D;").replace("&mfa", "&amp;mfa")
    html = f'<p>Click the button below to choose a new password.</p><a href="{escaped}">Update your password</a>'
    text = f"Click the button below to choose a new password.\n\nUpdate your password ({url.replace('=', '&#x3D;')})\n"
    assert flags("Reset your n8n password", text, html) == {url: True}


def test_a_deactivated_workflow_is_a_notice() -> None:
    url = "https://n8n.example.org/workflow/rI2GKoQvWM1uPiXq"
    text = f'n8n has automatically deactivated "Nightly backup".\n\nView Workflow  ({url})\n'
    assert flags("n8n has automatically autodeactivated a workflow", text) == {url: False}


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        # A token after a label that names it, carried by the link too (TracAccountManager).
        (
            "[Wiki] Account email verification: amelie",
            "Please visit the following URL to confirm your email address.\n\nVerification URL: "
            "<https://t.example.org/verify_email?token=oAhbzxG0&verify=1>\nUsername: amelie\n"
            "Verification Token: oAhbzxG0\n",
            ["oAhbzxG0"],
        ),
        # A new password under a subject that speaks of resetting it.
        (
            "[Wiki] Account password reset: amelie",
            "Your password has been reset.\n\nUsername: amelie\nPassword: lmbcoLmf\n",
            ["lmbcoLmf"],
        ),
        # A parcel's tracking code, in Finnish and Swedish, is no code to type.
        ("Tilauksesi on lähetetty", "Seurantakoodi: CP061207912DE\n", []),
        ("Din order har skickats", "Spårningskod: 1Z26OETY8VK0BZDGNH\n", []),
        # A label that names no code: a user name is no code.
        ("Welcome", "Your account is ready.\n\nUsername: Ivan_K2\n", []),
    ],
)
def test_labelled_values(subject: str, text: str, expected: list[str]) -> None:
    assert codes_in(text, subject) == expected


def test_an_invitation_link_with_a_one_use_key_is_the_link_to_open() -> None:
    url = "https://c.example.org/invitations/accept-invite/wiix0wvuzxy7ext8nkdoorl4pzztkde7wbzqp4oh"
    text = f"You have been invited to join Acme.\n\nIf you'd like to join, please go to {url}"
    assert flags("[Acme] Invitation to join Acme", text) == {url: True}
    # An "invite your friends" page with no one-use key is no such link.
    page = "https://c.example.org/invite?ref=news"
    assert flags("Our news", f"Invite your friends: {page}\n") == {page: False}


@pytest.mark.parametrize(
    "sentence",
    [
        "Your password can be changed by following the link below:",
        "Ihr Passwort kann geändert werden, indem Sie dem folgenden Link folgen:",
        "Tu contraseña puede ser cambiada con el siguiente enlace:",
        "Votre mot de passe peut être modifié en suivant le lien ci-dessous :",
        "A sua senha pode ser alterada no seguinte endereço:",
    ],
)
def test_a_change_that_can_be_made_is_no_notice(sentence: str) -> None:
    # From unseen9 (django-password-reset's Spanish catalog): "can be changed" tells the
    # reader what to do, it does not say that anything changed.
    url = "https://x.example.org/accounts/reset/Mjc0:1xZQ9r:b-oA5iwYoH_ELqzTH975ocHc/"
    text = f"Someone asked to reset the password of kim.\n\n{sentence}\n\n{url}\n"
    assert flags("Password recovery", text) == {url: True}
    # Changed already, it is a notice still.
    done = "Your password has been changed. If you did not do this, reset it:"
    assert flags("Password recovery", f"{done}\n\n{url}\n") == {url: False}


def test_setting_a_password_is_not_the_settings_page() -> None:
    # Czech and Slovak call a settings page and the setting of a password by one noun
    # ("nastavení"); unseen9's pretalx invitation asks for the second.
    url = "https://cfp.example.org/conf/invite/4NUeTH2o0u50WbWPmMD9kK0UXGnY5aP6"
    text = f"Vytvořili jsme pro vás účet – navštivte prosím tento odkaz pro nastavení hesla.\n\n{url}\n"
    assert flags("Pozvánka", text) == {url: True}
    settings = "https://cfp.example.org/conf/me/settings"
    text = f"Změnu e-mailu můžete provést v nastavení účtu.\n\n{settings}\n"
    assert flags("Vaše přihláška", text) == {settings: False}


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # Sydent: the same one-use value in the link and in a sentence, to type.
        ("If your client requires a code, the code is {value}", ["{value}"]),
        ("Falls Ihre App einen Code verlangt, lautet er {value}.", ["{value}"]),
        # The value only in the link (a mailer wrapped its line: no text shows it).
        ("Open https://id.example.org/\naccounts/validate?token={value}", []),
        # A reference carried by a link and shown beside an order word is no code.
        ("Your order {value} has shipped.", []),
    ],
)
def test_a_link_s_one_use_value_shown_in_the_text_is_a_code(
    sentence: str, expected: list[str]
) -> None:
    value = "PzvnHkLy6ME8igl64RU919jL2r9NH9xW"
    url = f"https://id.example.org/validate/email/submitToken?token={value}&sid=2001"
    text = (
        "We received a request to use this address. Use the following link to complete "
        f"the verification of your email address:\n\n{url}\n\n{sentence.format(value=value)}\n"
    )
    assert codes_in(text, "Confirm your email address") == [e.format(value=value) for e in expected]


def test_an_invitation_to_join_the_team_is_the_link_to_open() -> None:
    # From unseen10 (Sentry): "Join your team" on a one-use link, a path that says "accept".
    url = "https://errors.example.org/accept/4702/363173a82efebd6ad6bff0a8bddaf74c22dc289ffbe32956c49972e1298f78b9/"
    html = (
        "<p>Your teammates at Acme are using Sentry to track and debug software errors.</p>"
        f'<p><a href="{url}">Join your team</a></p>'
        '<p><a href="https://sentry.io/">Sentry website</a></p>'
    )
    assert flags("Join Acme in using Sentry", "", html)[url] is True
    # A newsletter's "join" with a tracking token asks for no account.
    track = "https://click.example.com/ls/click?upn=u001.Xk3jd9Qw8LmZ2pRt-2FvB7nY4sE1"
    html = f'<p>Our community meets on Thursdays.</p><p><a href="{track}">Join the webinar</a></p>'
    assert flags("This week at Acme", "", html) == {track: False}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # From unseen10 (Sentry's identity-provider mail): a protocol's name is no code.
        (
            "Sentry received a login attempt for Acme authenticated by SAML2, with the "
            "credentials kim@example.org.\nThis authentication link will expire in 10 minutes.",
            [],
        ),
        ("Your security key (FIDO2) was used to sign in. Verification code: GYTEV9", ["GYTEV9"]),
    ],
)
def test_names_of_standards_are_no_codes(text: str, expected: list[str]) -> None:
    assert codes_in(text, "Sign-in to Acme") == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # From unseen10 (Cognito's invitation): a generated password with symbols, stated in
        # a sentence that ends with it, on the HTML's only line.
        (
            "Hello kim, you have been invited to join our app! Your temporary password is "
            "4ApG9bJ+emb4",
            ["4ApG9bJ+emb4"],
        ),
        (
            "Your username is kim and temporary password is o@p1aNHx6o8s.",
            ["o@p1aNHx6o8s"],
        ),
        # Its digits after a dash are part of it, not a code of their own.
        ("Your temporary password is jvaYT7P-8C7G", ["jvaYT7P-8C7G"]),
        ("Ihr temporäres Passwort lautet Xk4#pQ9mZr2w", ["Xk4#pQ9mZr2w"]),
        # A word, or a sentence that goes on, states no password.
        ("Your temporary password is expired", []),
        ("Your temporary password is valid for 7 days.", []),
    ],
)
def test_a_temporary_password_stated_in_a_sentence(html: str, expected: list[str]) -> None:
    assert codes_in("", "Invite to join our app!", f"<p>{html}</p>") == expected


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        # From unseen11 (Calibre-Web): a generated password with symbols in a credentials
        # block, under a subject that says nothing of it (here in Arabic).
        (
            "ابدأ مع Calibre-Web",
            "Hi kim!\r\nPlease log in using the following information:\r\nUsername: kim\r\n"
            "Password: a)0Ro$?6R)\r\nDon't forget to change your password after your first login.",
            ["a)0Ro$?6R)"],
        ),
        # A mixed-case value is no word for being written as itself ("Yw4w2i3!").
        ("Welcome", "Benutzername: kim\nPasswort: Yw4w2i3!\n", ["Yw4w2i3!"]),
        # From unseen11 (django-SHOP): a password right after its word, in a sentence.
        (
            "Password set on Acme Shop",
            "In the future, please use username kim@example.org with password YxYW4GuD to sign\n"
            "into https://shop.example.org/.",
            ["YxYW4GuD"],
        ),
        # Masked, or a word: no password to type.
        ("Welcome", "Username: kim\nPassword: ********\n", []),
        ("Welcome", "Username: kim\nPassword: the one you chose\n", []),
    ],
)
def test_a_mailed_password_is_a_code_to_type(subject: str, text: str, expected: list[str]) -> None:
    assert codes_in(text, subject) == expected


def test_an_invitation_said_in_the_body_asks_for_its_sign_in_link() -> None:
    # From unseen11 (I Hate Money): the invitation's sign-in link, under a subject in a
    # language the body is not in.
    url = "https://money.example.org/coloc/join/WyJjb2xvYyJd.VDqNkouVgolGfjLNqvczDX7dyXU"
    text = (
        "Hi,\n\nSomeone using the email address kim@example.org invited you to share your "
        f'expenses for "Coloc".\n\nYou can log in using this link: {url}.\n\nOnce logged-in, '
        "you can use the following link which is easier to remember: "
        "https://money.example.org/coloc/\n"
    )
    expected = {url: True, "https://money.example.org/coloc/": False}
    assert flags("Gonbidatu zaituzte gastuak partekatzera Coloc proiektuan", text) == expected
    # Not invited: a sign-in link in a report is no link to wait for.
    report = text.replace("invited you to share your", "shared the")
    assert flags("Coloc: weekly report", report) == dict.fromkeys(expected, False)


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        # From unseen13 (Request Tracker): a pronounceable password on the line after its
        # label: small letters alone, and not a word for being written as itself.
        ("[rt] Password reset", "Your new password is:\n  bodojama\n", ["bodojama"]),
        # From unseen13 (Horde's catalogs): the password's word in more languages.
        ("Vaše geslo je bilo ponastavljeno.", "Vaše nove geslo za Horde je: piriv26", ["piriv26"]),
        (
            "Jūsų slaptažodis pakeistas",
            "Jūsų naujas Portalas slaptažodis yra: divuc12",
            ["divuc12"],
        ),
        (
            "Ο κωδικός σας άλλαξε",
            "Ο νέος σας κωδικός για Αρχική Σελίδα είναι: kylom26",
            ["kylom26"],
        ),
        # A word on the next line under a label that names no password is no code.
        ("Welcome", "Your team is:\n  marketing\n", []),
    ],
)
def test_passwords_on_their_label_s_line_or_the_next(
    subject: str, text: str, expected: list[str]
) -> None:
    assert codes_in(text, subject) == expected


def test_a_path_under_app_is_no_app_store_link() -> None:
    # From unseen13 (Devise, served under /app/): the host and an "/app/" path decide nothing.
    url = "https://intranet.facebook-alumni.example/app/users/confirmation?confirmation_token=FpJzZsUEnBwEPRu9ssPJ"
    html = (
        "<p>Welcome kim@example.org!</p><p>You can confirm your account email through the "
        f'link below:</p><p><a href="{url}">Confirm my account</a></p>'
    )
    assert flags("Confirmation instructions", "", html) == {url: True}


def test_a_markdown_link_in_a_text_part_is_one_url() -> None:
    # From unseen13 (Laravel's mail markdown): "[url](url)" in the text part.
    url = "https://shop.example.org/reset-password/3c93c2af7cfbb4ea4f7e266cbc9cd0936106cfcacab33899769e8ca4035cfad6?email=kim%40example.org"
    text = (
        "You are receiving this email because we received a password reset request for your "
        f"account.\n\nReset Password: {url}\n\nIf you're having trouble clicking the \"Reset "
        f'Password" button, copy and paste the URL below\ninto your web browser: [{url}]({url})\n'
    )
    assert flags("Reset Password Notification", text) == {url: True}


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        # From unseen12 (React Email's Notion template): groups of small letters, to paste.
        (
            "Acme login code",
            "Click here to log in with this magic link.\n\nOr, copy and paste this temporary "
            "login code:\n\nmqdfb-okusy-qgjpy-qqyfq\n\nIf you didn't try to login, ignore this.",
            ["mqdfb-okusy-qgjpy-qqyfq"],
        ),
        # Hyphenated words, or groups of several lengths, are no drawn code.
        ("Our plans", "Pick the plan for you:\n\nlong-term-care\n", []),
        ("Acme login code", "Your login code:\n\nab12-cdefg-hij\n", []),
    ],
)
def test_groups_of_small_letters_alone_on_a_line(
    subject: str, text: str, expected: list[str]
) -> None:
    assert codes_in(text, subject) == expected


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        # From unseen17 (LDAP Account Manager, DAViCal): full stops and "@" inside generated
        # passwords; a final full stop after a label's value is the value's.
        (
            "Your password was reset",
            "Dear Kim,\n\nyour password was reset to: nYvle-Ri.3p5\n",
            ["nYvle-Ri.3p5"],
        ),
        (
            "Access to CalDAV",
            "Temporary Password: a@d.A6+9\n\nThis applies to: kim\n",
            ["a@d.A6+9"],
        ),
        ("Access to CalDAV", "Temporary Password: O#Ca-7s.\n", ["O#Ca-7s."]),
        # From unseen16 (Tryton's catalogs): the adjective after the noun, the noun inflected.
        (
            "Réinitialiser le mot de passe",
            "Vous pouvez vous connecter avec ce mot de passe temporaire Pxfg0MRm à tryton://x/db",
            ["Pxfg0MRm"],
        ),
        (
            "Resetowanie hasła",
            "Możesz połączyć się za pomocą tymczasowego hasła e9trOCO5 z tryton://x/db",
            ["e9trOCO5"],
        ),
        # A capitalized word after an inflected password word is a name, not a value.
        (
            "Salasanan uusimispyyntö",
            "Alla oleva linkki vie sinut sivulle, jossa voit resetoida salasanasi Intranet sivustolle",
            [],
        ),
        # An address is still masked: its domain ends in a label of letters.
        ("Your code", "Your code was sent to kim@mail.example.org: 482913", ["482913"]),
    ],
)
def test_generated_passwords_with_dots_and_at_signs(
    subject: str, text: str, expected: list[str]
) -> None:
    assert codes_in(text, subject) == expected


def test_a_shortened_address_shown_as_its_anchor_s_text_is_that_anchor() -> None:
    # From unseen16 (django-comments-xtd): the anchor shows its address cut with "...".
    url = "http://news.example.org/comments/confirm/.eJxVkL9Ow0AMxluBaJMw9gFuZECRCgyMICbEgMQLRJfEpI.dc7abE81URcNp7qL1nac4u8pZtE/"
    html = (
        "<p>Otherwise click on the link below to confirm the comment.</p>"
        f'<p><a href="{url}">{url[:60]}...</a></p>'
    )
    assert flags("comment confirmation request", "", html) == {url: True}


def test_a_negative_word_inside_a_random_token_is_no_word() -> None:
    # From unseen16 and unseen8: "faq" inside a signed token ("...FaQ...", "...bfaqof...").
    url = "https://x.example.org/comments/confirm/.eJxVkD1LA0EQhhMUkru9ssPJ8b3FaQuVkqGUvDQWmh/"
    text = f"Otherwise click on the link below to confirm the comment.\n\n{url}\n"
    assert flags("comment confirmation request", text) == {url: True}
    # A word that starts the value is a word: an unsubscribe link stays one.
    unsubscribe = "https://x.example.org/unsubscribe_8f7a6b5c4d3e2f1a9b8c"
    assert flags("Confirm your email", f"Confirm below.\n\n{unsubscribe}\n") == {unsubscribe: False}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # From unseen19 (Stack Auth's text part): a heading in capitals holds no letter code.
        ("VERIFY YOUR EMAIL AT HARBOR CRM\n\nHi Kim! Click the button to verify your email.", []),
        # A letter code alone on its line still is one.
        ("YOUR SIGN-IN CODE\n\nKXQMZT\n\nEnter it in the app.", ["KXQMZT"]),
    ],
)
def test_a_heading_in_capitals_holds_no_code(text: str, expected: list[str]) -> None:
    assert codes_in(text, "Verify your email at Harbor CRM") == expected
