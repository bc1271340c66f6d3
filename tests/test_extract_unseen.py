"""The second rendered corpus (fixtures/unseen/): well-formed labels, real MIME, split by project.

It is the measuring stick for the code and link extractor on mail nobody tuned it for; its
figures are measured with `tests/test_extract.py`'s `measure`; held-out floors are added only
after the final measurement (see fixtures/unseen/README.md). Nothing here runs the extractor.
"""

from __future__ import annotations

import email
import email.policy
import tomllib
from email.message import EmailMessage
from pathlib import Path

import msgspec
import pytest

UNSEEN = Path(__file__).parent / "fixtures" / "unseen"
HALVES = ("dev", "heldout")


class Rendered(msgspec.Struct, forbid_unknown_fields=True):
    source: str
    lang: str
    subject: str
    text: str
    html: str
    expected_codes: list[str]
    expected_verification_links: list[str]


def load(half: str) -> dict[str, Rendered]:
    return {
        path.name: msgspec.convert(tomllib.loads(path.read_text("utf-8")), Rendered)
        for path in sorted((UNSEEN / half).glob("*.toml"))
    }


def split() -> dict[str, str]:
    """Project -> half, as SOURCES states it (written and committed before any measurement)."""
    halves: dict[str, str] = {}
    for line in (UNSEEN / "SOURCES").read_text("utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("|")]
        for package in cells[0].split(","):
            halves[package.strip()] = cells[-1]
    return halves


def project(mail: Rendered) -> str:
    return mail.source.split(":")[0]


def lines(text: str) -> list[str]:
    """A body as its lines: the MIME round trip may change line ends and trailing blanks."""
    return [line.rstrip() for line in text.strip().splitlines()]


def as_mime(mail: Rendered) -> bytes:
    message = EmailMessage()
    message["From"] = "Sender <noreply@sender.example>"
    message["To"] = "someone@inbox.example"
    message["Subject"] = mail.subject.strip()
    if mail.text:
        message.set_content(mail.text)
    if mail.html:
        if mail.text:
            message.add_alternative(mail.html, subtype="html")
        else:
            message.set_content(mail.html, subtype="html")
    return message.as_bytes(policy=email.policy.SMTP)


def test_corpus_is_split_by_project_as_sources_says() -> None:
    stated = split()
    halves = {half: load(half) for half in HALVES}
    seen: dict[str, set[str]] = {half: set() for half in HALVES}
    for half, mails in halves.items():
        for name, mail in mails.items():
            package = {"fief": "fief-server", "supertokens": "supertokens-node"}.get(
                project(mail), project(mail)
            )
            assert stated.get(package) == half, (name, package)
            seen[half].add(project(mail))
    assert not seen["dev"] & seen["heldout"]
    for half, mails in halves.items():
        assert len(seen[half]) >= 3, half
        languages = {m.lang.replace("-", "_").split("_")[0].lower() for m in mails.values()}
        assert len(languages) >= 15, (half, sorted(languages))
        assert sum(bool(m.expected_codes) for m in mails.values()) >= 50, half
        assert sum(bool(m.expected_verification_links) for m in mails.values()) >= 100, half
        negatives = [m for m in mails.values() if not m.expected_codes]
        assert sum(not m.expected_verification_links for m in negatives) >= 150, half


@pytest.mark.parametrize("half", HALVES)
def test_labels_are_well_formed(half: str) -> None:
    for name, mail in load(half).items():
        assert name.split("-", 1)[1].startswith(project(mail).replace(" ", "-")), name
        assert mail.subject.strip() and (mail.text or mail.html), name
        assert mail.lang and mail.lang == mail.lang.strip(), name
        assert len(set(mail.expected_codes)) == len(mail.expected_codes), name
        unescaped = mail.html.replace("&amp;", "&")
        for code in mail.expected_codes:
            assert code and code == code.strip(), name
            assert code in mail.text or code in mail.html, name
        for url in mail.expected_verification_links:
            assert url.startswith("https://"), name
            assert url in mail.text or url in unescaped, name


@pytest.mark.parametrize("half", HALVES)
def test_every_mail_is_a_real_mime_message(half: str) -> None:
    """Each fixture becomes an RFC 5322 message that the standard parser reads back whole."""
    for name, mail in load(half).items():
        raw = as_mime(mail)
        assert all(len(line) <= 998 for line in raw.split(b"\r\n")), name
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        assert not parsed.defects, (name, parsed.defects)
        # Compared without white space: the stdlib's encoder may drop the space between two
        # RFC 2047 encoded words it writes for a long non-ASCII subject.
        assert "".join(parsed["Subject"].split()) == "".join(mail.subject.split()), name
        parts = {
            part.get_content_type(): part.get_content()
            for part in parsed.walk()
            if not part.is_multipart()
        }
        if mail.text:
            assert lines(parts["text/plain"]) == lines(mail.text), name
        if mail.html:
            assert lines(parts["text/html"]) == lines(mail.html), name
