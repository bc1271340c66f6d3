"""The fifth rendered corpus (fixtures/unseen4/): its shape and its labels.

The whole corpus is held out: its figures are measured once by the lead with
`tests/test_extract.py`'s `measure` (see fixtures/unseen4/README.md). Nothing here runs the
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

UNSEEN4 = Path(__file__).parent / "fixtures" / "unseen4"
HELDOUT = UNSEEN4 / "heldout"
# Smallest shape the corpus must keep: it is what makes its figures worth reading.
FLOORS = {"mails": 400, "projects": 6, "languages": 20, "codes": 25, "links": 200, "negatives": 120}


def stated_projects() -> dict[str, str]:
    """Project -> half, as SOURCES states it (committed before any mail was rendered)."""
    halves: dict[str, str] = {}
    for line in (UNSEEN4 / "SOURCES").read_text("utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("|")]
        assert len(cells) == 6, line
        license_file = re.search(r"\(([\w.+-]+)", cells[4])
        assert license_file and (UNSEEN4 / "licenses" / license_file[1]).exists(), line
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
    assert sorted(p.name for p in UNSEEN4.iterdir() if p.is_dir()) == ["heldout", "licenses"]
    assert {project(mail) for mail in corpus.values()} == set(stated)
    # None of the projects of the four earlier corpora, nor a reserved one (issue 17).
    earlier = {
        package.strip()
        for name in ("rendered", "unseen", "unseen2", "unseen3")
        for line in (UNSEEN4.parent / name / "SOURCES").read_text("utf-8").splitlines()
        if not line.startswith("#") and line.strip()
        for package in line.split("|")[0].split(",")
    }
    assert {"pretix", "flask-security-too", "ghost", "djoser", "ckan", "askbot"} <= earlier
    for name in stated:
        assert name not in earlier, name
        assert not any(
            word in name
            for word in ("allauth", "keycloak", "mastodon", "kratos", "gotrue", "postmark")
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
    # Links and negatives come from more than one project (codes from django-mfa2 only).
    assert len({project(m) for m in mails if m.expected_codes}) >= 1
    assert len({project(m) for m in mails if m.expected_verification_links}) >= 3
    assert len({project(m) for m in negatives}) >= 2
    # HTML-only and text-only mails, and mails in non-Latin scripts.
    assert any(not m.text.strip() and m.html.strip() for m in mails)
    assert any(m.text.strip() and not m.html.strip() for m in mails)
    for script in (r"[\u0400-\u04ff]", r"[\u3040-\u30ff]", r"[\u4e00-\u9fff]", r"[\u0600-\u06ff]"):
        assert any(re.search(script, m.text + m.html) for m in mails), script


def test_code_shapes(corpus: dict[str, Rendered]) -> None:
    codes = [code for mail in corpus.values() for code in mail.expected_codes]
    # django-mfa2: str(randint(0, 1000000)).zfill(6)
    assert codes and all(re.fullmatch(r"\d{6,7}", code) for code in codes)


def test_link_shapes(corpus: dict[str, Rendered]) -> None:
    shapes = {
        "plone": r"https://\S+/passwordreset/[0-9a-f]{32}(\?userid=[\w.]+)?",
        "flask-user": r"https://\S+/user/(confirm-email|reset-password)/gAAAAA[\w-]+",
        "django-user-accounts": r"https://\S+/(confirm_email/[0-9a-f]{64}|password/reset/"
        r"[0-9a-z]+/[0-9a-z]+-[0-9a-f]{32})/",
        "weblate": r"https://\S+/accounts/complete/email/\?verification_code=[0-9a-f]{32}"
        r"&partial_token=[0-9a-f]{32}",
        "django-magiclink": r"https://\S+/login/verify/\?token=[A-Za-z0-9]{50}&email=\S+",
    }
    for name, mail in corpus.items():
        for url in mail.expected_verification_links:
            assert re.fullmatch(shapes[project(mail)], url), (name, url)


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
            assert url.startswith("https://") and not any(c.isspace() for c in url), name
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
