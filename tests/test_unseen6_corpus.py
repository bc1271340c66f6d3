"""The seventh rendered corpus (fixtures/unseen6/): its shape and its labels.

The whole corpus is held out: its figures are measured once by the lead with
`tests/test_extract.py`'s `measure` (see fixtures/unseen6/README.md). Nothing here runs the
extractor.
"""

from __future__ import annotations

import email
import email.policy
import re
import tomllib
from email.message import EmailMessage
from pathlib import Path

import msgspec
import pytest

from tests.test_extract_unseen import Rendered, as_mime, lines

UNSEEN6 = Path(__file__).parent / "fixtures" / "unseen6"
HELDOUT = UNSEEN6 / "heldout"
# Smallest shape the corpus must keep: it is what makes its figures worth reading.
FLOORS = {"mails": 300, "projects": 6, "languages": 30, "codes": 20, "links": 180, "negatives": 100}


def stated_projects() -> dict[str, str]:
    """Project -> half, as SOURCES states it (committed before any mail was rendered)."""
    halves: dict[str, str] = {}
    for line in (UNSEEN6 / "SOURCES").read_text("utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("|")]
        assert len(cells) == 6, line
        license_file = re.search(r"\(([\w.+-]+)", cells[4])
        assert license_file and (UNSEEN6 / "licenses" / license_file[1]).exists(), line
        halves[cells[0]] = cells[-1]
    return halves


def project(mail: Rendered) -> str:
    return mail.source.split(":")[0]


def language(mail: Rendered) -> str:
    return mail.lang.replace("-", "_").split("_")[0].lower()


def negative(mail: Rendered) -> bool:
    return not mail.expected_codes and not mail.expected_verification_links


@pytest.fixture(scope="module")
def corpus() -> dict[str, Rendered]:
    return {
        path.name: msgspec.convert(tomllib.loads(path.read_text("utf-8")), Rendered)
        for path in sorted(HELDOUT.glob("*.toml"))
    }


def test_everything_is_held_out_and_follows_sources(corpus: dict[str, Rendered]) -> None:
    stated = stated_projects()
    assert set(stated.values()) == {"heldout"}
    assert sorted(p.name for p in UNSEEN6.iterdir() if p.is_dir()) == ["heldout", "licenses"]
    assert {project(mail) for mail in corpus.values()} == set(stated)
    # None of the projects of the earlier corpora, nor a reserved one (issue 17).
    earlier = {
        package.strip()
        for name in ("rendered", "unseen", "unseen2", "unseen3", "unseen4", "unseen5")
        for line in (UNSEEN6.parent / name / "SOURCES").read_text("utf-8").splitlines()
        if not line.startswith("#") and line.strip()
        for package in line.split("|")[0].split(",")
    }
    assert {"pretix", "flask-security-too", "ghost", "djoser", "ckan", "askbot"} <= earlier
    assert {"django-spirit", "kiwitcms", "payload"} <= earlier
    for name in stated:
        assert name not in earlier, name
        assert not any(
            word in name
            for word in (
                "allauth",
                "keycloak",
                "mastodon",
                "kratos",
                "gotrue",
                "postmark",
                "dj-rest-auth",
                "weblate",
                "sentry",
                "mayan",
                "indico",
                "user-accounts",
                "flask-user",
                "plone",
                "moin",
                "mailman",
                "trac",
                "ikiwiki",
            )
        ), name


def test_counts(corpus: dict[str, Rendered]) -> None:
    mails = list(corpus.values())
    assert len(mails) >= FLOORS["mails"]
    assert len({project(mail) for mail in mails}) >= FLOORS["projects"]
    assert len(mails) <= 500
    assert len({language(mail) for mail in mails}) >= FLOORS["languages"]
    assert sum(bool(mail.expected_codes) for mail in mails) >= FLOORS["codes"]
    assert sum(bool(mail.expected_verification_links) for mail in mails) >= FLOORS["links"]
    negatives = [mail for mail in mails if negative(mail)]
    assert len(negatives) >= FLOORS["negatives"]
    assert 0.3 <= len(negatives) / len(mails) <= 0.5
    # Codes only from django-nopassword (no other project here mails a code to type), and there
    # always with the login link that carries the same code.
    assert {project(m) for m in mails if m.expected_codes} == {"django-nopassword"}
    assert all(
        m.expected_verification_links and m.expected_codes[0] in m.expected_verification_links[0]
        for m in mails
        if m.expected_codes
    )
    assert len({project(m) for m in mails if m.expected_verification_links}) >= 5
    assert len({project(m) for m in negatives}) >= 2  # Mezzanine, django-rest-registration
    # HTML-only and text-only mails, and mails in non-Latin scripts.
    assert any(not m.text.strip() and m.html.strip() for m in mails)
    assert any(m.text.strip() and not m.html.strip() for m in mails)
    scripts = (
        r"[\u0400-\u04ff]",
        r"[\u3040-\u30ff]",
        r"[\u4e00-\u9fff]",
        r"[\u0600-\u06ff]",
        r"[\uac00-\ud7af]",
    )
    for script in scripts:
        assert any(re.search(script, m.text + m.html) for m in mails), script


def test_code_shapes(corpus: dict[str, Rendered]) -> None:
    """LoginCode.code: a sha256 or md5 hex digest, or its decimal value (NOPASSWORD_NUMERIC_CODES)."""
    codes = [code for mail in corpus.values() for code in mail.expected_codes]
    assert all(re.fullmatch(r"[0-9a-f]{64}|[0-9a-f]{32}|\d{30,78}", code) for code in codes)
    assert {len(code) for code in codes} >= {64, 32}
    assert any(code.isdigit() for code in codes)


def test_link_shapes(corpus: dict[str, Rendered]) -> None:
    """Each project's verification links in the path and token shape its code makes."""
    signed = r"[\w-]+:[0-9A-Za-z]+:[\w-]{43}"  # django.core.signing.dumps
    shapes = {
        "mezzanine": r"/accounts/(password/)?verify/[0-9a-z]+/[0-9a-z]+-[0-9a-f]{32}/\?next=/[\w/]*",
        "django-nopassword": r"/accounts/login/code/\?user=\d+&code=([0-9a-f]{32}|[0-9a-f]{64}|\d+)",
        "django-mail-auth": r"/accounts/login/[0-9A-Za-z]+:[0-9A-Za-z]*:[0-9A-Za-z]+:[\w-]{43}(\?next=[\w/%]+)?",
        "django-rest-registration": r"/(verify-user|reset-password|verify-email)/\?user_id=\d+(&email=[\w.%]+)?&timestamp=\d{10}&signature=[\w-]{43}",
        "django-graphql-auth": r"/(activate|password-set|password-reset)/" + signed,
        "flask-praetorian": r"/[\w/]+\?token=eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{43}",
    }
    for name, mail in corpus.items():
        for url in mail.expected_verification_links:
            assert re.search(shapes[project(mail)] + "$", url), (name, url)
    # Some hosts are internationalised (Mezzanine's come from the Host header, in punycode).
    links = [url for mail in corpus.values() for url in mail.expected_verification_links]
    assert any("xn--" in url for url in links)
    assert any(re.search(r"[^\x00-\x7f]", url) for url in links)


def test_labels_occur_in_their_mail(corpus: dict[str, Rendered]) -> None:
    for name, mail in corpus.items():
        assert name.split("-", 1)[1].startswith(project(mail)), name
        assert mail.subject.strip() and (mail.text.strip() or mail.html.strip()), name
        assert len(set(mail.expected_codes)) == len(mail.expected_codes), name
        unescaped = mail.html.replace("&amp;", "&")
        for code in mail.expected_codes:
            assert code and code == code.strip(), name
            assert code in mail.text or code in mail.html, name
        for url in mail.expected_verification_links:
            # Mezzanine's sign-up template writes http:// itself.
            scheme = "http://" if mail.source == "mezzanine: signup_verify" else "https://"
            assert url.startswith(scheme) and not any(c.isspace() for c in url), name
            assert url in mail.text or url in unescaped, name


def test_every_mail_is_a_real_mime_message(corpus: dict[str, Rendered]) -> None:
    for name, mail in corpus.items():
        raw = as_mime(mail)
        assert all(len(line) <= 998 for line in raw.split(b"\r\n")), name
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        assert not parsed.defects, (name, parsed.defects)
        parts = {
            p.get_content_type(): p.get_content() for p in parsed.walk() if not p.is_multipart()
        }
        if mail.text:
            assert lines(parts["text/plain"]) == lines(mail.text), name
        if mail.html:
            assert lines(parts["text/html"]) == lines(mail.html), name
