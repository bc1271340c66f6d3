"""The third rendered corpus (fixtures/unseen2/): its shape, its labels, its split by project.

Its figures are measured once by the lead with `tests/test_extract.py`'s `measure`, who adds the
held-out floors afterwards (see fixtures/unseen2/README.md). Nothing here runs the extractor.
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

UNSEEN2 = Path(__file__).parent / "fixtures" / "unseen2"
HALVES = ("dev", "heldout")
# Smallest shape each half must keep: it is what makes its figures worth reading.
FLOORS = {
    "dev": {"projects": 4, "languages": 12, "codes": 25, "links": 150, "negatives": 150},
    "heldout": {"projects": 4, "languages": 12, "codes": 25, "links": 100, "negatives": 100},
}


def load(half: str) -> dict[str, Rendered]:
    return {
        path.name: msgspec.convert(tomllib.loads(path.read_text("utf-8")), Rendered)
        for path in sorted((UNSEEN2 / half).glob("*.toml"))
    }


def stated_split() -> dict[str, str]:
    """Project -> half, as SOURCES states it (committed before any mail was rendered)."""
    halves: dict[str, str] = {}
    for line in (UNSEEN2 / "SOURCES").read_text("utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("|")]
        assert len(cells) == 6, line
        license_file = re.search(r"\(([\w.+-]+)", cells[4])
        assert license_file and (UNSEEN2 / "licenses" / license_file[1]).exists(), line
        halves[cells[0]] = cells[-1]
    return halves


def project(mail: Rendered) -> str:
    return mail.source.split(":")[0]


def language(mail: Rendered) -> str:
    return mail.lang.replace("-", "_").split("_")[0].lower()


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, Rendered]]:
    return {half: load(half) for half in HALVES}


def test_halves_share_no_project_and_follow_sources(corpus: dict[str, dict[str, Rendered]]) -> None:
    stated = stated_split()
    seen = {half: {project(mail) for mail in corpus[half].values()} for half in HALVES}
    assert not seen["dev"] & seen["heldout"]
    for half in HALVES:
        assert seen[half] == {name for name, where in stated.items() if where == half}, half
    # None of the projects of the two earlier corpora, nor a reserved one (issue 17).
    earlier = {
        package.strip()
        for name in ("rendered", "unseen")
        for line in (UNSEEN2.parent / name / "SOURCES").read_text("utf-8").splitlines()
        if not line.startswith("#") and line.strip()
        for package in line.split("|")[0].split(",")
    }
    assert {"pretix", "flask-security-too", "ghost"} <= earlier
    for name in stated:
        assert name not in earlier, name
        assert not any(
            word in name
            for word in ("allauth", "keycloak", "mastodon", "kratos", "gotrue", "postmark")
        ), name


@pytest.mark.parametrize("half", HALVES)
def test_each_half_has_its_counts(corpus: dict[str, dict[str, Rendered]], half: str) -> None:
    mails = corpus[half].values()
    floors = FLOORS[half]
    assert len({project(mail) for mail in mails}) >= floors["projects"]
    assert len({language(mail) for mail in mails}) >= floors["languages"]
    assert sum(bool(mail.expected_codes) for mail in mails) >= floors["codes"]
    assert sum(bool(mail.expected_verification_links) for mail in mails) >= floors["links"]
    negatives = [m for m in mails if not m.expected_codes and not m.expected_verification_links]
    assert len(negatives) >= floors["negatives"]
    # Both kinds of label and the negatives come from more than one project.
    assert len({project(m) for m in mails if m.expected_verification_links}) >= 3
    assert len({project(m) for m in negatives}) >= 3
    assert sum(len(corpus[h]) for h in HALVES) >= 500


@pytest.mark.parametrize("half", HALVES)
def test_labels_occur_in_their_mail(corpus: dict[str, dict[str, Rendered]], half: str) -> None:
    for name, mail in corpus[half].items():
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


@pytest.mark.parametrize("half", HALVES)
def test_every_mail_is_a_real_mime_message(
    corpus: dict[str, dict[str, Rendered]], half: str
) -> None:
    for name, mail in corpus[half].items():
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
