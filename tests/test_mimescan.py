"""The delivery-time glance (over `mimescan`) must report what the full parse reports."""

from __future__ import annotations

import email.header
import email.utils
import tomllib
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tempmail import mimescan, parsing, records
from tempmail.parsing import UNREADABLE_NOTE, Glance, glance, parse
from tests.helpers import SMTP_POLICY, make_message

CORPUS = Path(__file__).parent / "fixtures" / "verification"


def expected_glance(raw: bytes) -> Glance:
    parsed = parse(raw)
    return Glance(parsed.sender, parsed.subject, parsed.preview, bool(parsed.attachments))


def assert_agrees(raw: bytes) -> Glance:
    seen = glance(raw)
    assert seen == expected_glance(raw)
    # What delivery seals must always encode (no lone surrogates from undecodable bytes).
    records.encode(records.Summary(seen.sender, seen.subject, seen.preview, seen.has_attachments))
    return seen


def _forwarded() -> bytes:
    inner = make_message("x@example.com", subject="Inner", text="the forwarded text")
    outer = make_message("y@example.com", subject="Fwd: Inner", text="see below")
    outer.add_attachment(inner)
    return outer.as_bytes(policy=SMTP_POLICY)


def _related() -> bytes:
    msg = make_message("z@example.com", subject="Newsletter", text="Text version " * 40)
    msg.add_alternative("<p>HTML <img src='cid:logo'></p>", subtype="html")
    html = msg.get_payload()[1]  # type: ignore[index]
    html.add_related(b"\x89PNG", "image", "png", cid="<logo>")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    return msg.as_bytes(policy=SMTP_POLICY)


def _encoded_parts() -> bytes:
    msg = EmailMessage()
    msg["From"] = "=?iso-8859-1?q?J=FCrgen_M=FCller?= <jm@example.com>"
    msg["Subject"] = "=?utf-8?b?w5xiZXJzaWNodA==?= und mehr"
    msg.set_content("Grüße " * 50, charset="iso-8859-1", cte="quoted-printable")
    msg.add_alternative("<p>Größe</p>", subtype="html", charset="utf-8", cte="base64")
    return msg.as_bytes(policy=SMTP_POLICY)


HAND_PICKED = {
    "plain": make_message("a@example.com").as_bytes(policy=SMTP_POLICY),
    "alternative": make_message("a@example.com", html="<b>Hi</b>").as_bytes(policy=SMTP_POLICY),
    "attachment": make_message(
        "a@example.com", attachments=[("r.pdf", "application/pdf", b"%PDF" * 500)]
    ).as_bytes(policy=SMTP_POLICY),
    "forwarded": _forwarded(),
    "related": _related(),
    "encoded": _encoded_parts(),
    "html only": (
        b"From: news@example.com\r\nSubject: html\r\nContent-Type: text/html\r\n\r\n"
        b"<html><body><h1>Big news</h1><p>Read &amp; enjoy</p></body></html>\r\n"
    ),
    "raw utf-8 headers": (
        "From: Jörg <jörg@example.com>\r\nSubject: Grüße aus Köln\r\n\r\nHällo\r\n".encode()
    ),
    "latin-1 bytes, no charset": b"From: a@example.com\r\nSubject: caf\xe9\r\n\r\ncaf\xe9\r\n",
    "lf line endings": b"From: a@example.com\nSubject: lf\n\nline one\nline two\n",
    "folded subject": b"From: a@example.com\r\nSubject: one\r\n two\r\n\tthree\r\n\r\nbody\r\n",
    "two from headers": b"From: first@example.com\r\nFrom: second@example.com\r\n\r\nx\r\n",
    "no headers": b"just some text without headers",
    "empty": b"",
    "headers only": b"From: a@example.com\r\nSubject: nothing else\r\n",
    "multipart without boundary": (
        b"From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nbody text\r\n"
    ),
    "boundary never used": (
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\ntext\r\n"
    ),
    "no closing delimiter": (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nfirst\r\n--b\r\n\r\nsecond, never closed\r\n"
    ),
    "lookalike boundaries": (
        b'Content-Type: multipart/mixed; boundary="b b"\r\n\r\n--b b\r\n\r\n'
        b"text with --b b inside and\r\n--b bX\r\nnot a delimiter\r\n--b b  \r\n"
        b"Content-Disposition: attachment\r\n\r\nfile\r\n--b b--\r\nepilogue\r\n"
    ),
    "filename from content-type name": (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhello\r\n--b\r\n"
        b'Content-Type: text/plain; name="notes.txt"\r\n\r\nnotes\r\n--b--\r\n'
    ),
    "rfc 2231 filename": (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhello\r\n--b\r\n"
        b"Content-Type: text/plain\r\nContent-Disposition: inline; filename*=utf-8''n%C3%B6tes\r\n"
        b"\r\nnotes\r\n--b--\r\n"
    ),
    "digest": (
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
        b"Subject: one\r\n\r\nfirst digest entry\r\n--d\r\n\r\nSubject: two\r\n\r\nsecond\r\n--d--\r\n"
    ),
    "bad base64": (
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29yb=GQ\r\n"
    ),
    "unknown charset": (
        b"Subject: x\r\nContent-Type: text/plain; charset=x-unknown-9\r\n\r\nhello\r\n"
    ),
    "uppercase content type": (b"Content-Type: TEXT/HTML; CHARSET=UTF-8\r\n\r\n<p>Upper</p>\r\n"),
}


@pytest.mark.parametrize("raw", HAND_PICKED.values(), ids=HAND_PICKED.keys())
def test_glance_agrees_with_parse(raw: bytes) -> None:
    assert_agrees(raw)


def test_glance_reads_what_a_list_shows() -> None:
    seen = assert_agrees(HAND_PICKED["encoded"])
    assert seen.sender == "Jürgen Müller <jm@example.com>"
    assert seen.subject == "Übersicht und mehr"
    assert seen.preview.startswith("Grüße Grüße")
    assert assert_agrees(HAND_PICKED["raw utf-8 headers"]).subject == "Grüße aus Köln"
    assert assert_agrees(HAND_PICKED["forwarded"]).preview == "see below the forwarded text"
    assert assert_agrees(HAND_PICKED["related"]).has_attachments
    assert not assert_agrees(HAND_PICKED["alternative"]).has_attachments
    assert assert_agrees(HAND_PICKED["html only"]).preview == "Big news Read & enjoy"


def test_corpus_agrees() -> None:
    for path in sorted(CORPUS.glob("*.toml")):
        fixture = tomllib.loads(path.read_text("utf-8"))
        msg = make_message("a@example.com", subject=fixture["subject"], text=fixture["text"])
        if fixture["html"]:
            msg.add_alternative(fixture["html"], subtype="html")
        assert_agrees(msg.as_bytes(policy=SMTP_POLICY))


def test_too_deep_or_too_many_parts_is_unreadable_but_listed() -> None:
    deep = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(60)
    )
    seen = glance(b"From: a@example.com\r\nSubject: deep\r\n" + deep + b"\r\nx\r\n")
    assert (seen.subject, seen.preview) == ("deep", UNREADABLE_NOTE[:200])
    with pytest.raises(mimescan.TooComplex):
        list(mimescan.leaves(b"Content-Type: message/rfc822\r\n\r\n" * 30))
    many = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\nx\r\n" * 1500
    with pytest.raises(mimescan.TooComplex):
        list(mimescan.leaves(many))


_PART_TYPES = st.sampled_from(["text/plain", "text/html", "application/pdf", "image/png"])
_CHARSETS = st.sampled_from(["utf-8", "iso-8859-1", "us-ascii"])
_WORDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=300).map(
    lambda text: text.replace("\r", " ")
)


MessageSpec = tuple[str, str, str, str, str, str | None, list[tuple[str, str | bytes, str | None]]]


@st.composite
def message_specs(draw: st.DrawFn) -> MessageSpec:
    """What to build: sender, subject, text with its charset and encoding, HTML, attachments."""
    text, charset = draw(_WORDS), draw(_CHARSETS)
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    attachments: list[tuple[str, str | bytes, str | None]] = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(_PART_TYPES)
        if kind.startswith("text/"):
            attachments.append((kind, draw(_WORDS), draw(st.sampled_from([None, "f.txt"]))))
        else:
            attachments.append((kind, draw(st.binary(max_size=300)), "f"))
    return (
        draw(st.sampled_from(["a@example.com", "Ann Example <ann@example.com>"])),
        draw(_WORDS).replace("\n", " ")[:100],
        text,
        charset,
        draw(st.sampled_from(["quoted-printable", "base64", "8bit"])),
        draw(st.none() | _WORDS.map(lambda words: f"<p>{words}</p>")),
        attachments,
    )


def build(spec: MessageSpec) -> bytes:
    """The stdlib's bytes for a spec (built here: its boundaries use `random`)."""
    sender, subject, text, charset, cte, html, attachments = spec
    msg = EmailMessage()
    msg["From"], msg["Subject"] = sender, subject
    msg.set_content(text, charset=charset, cte=cte)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for kind, content, filename in attachments:
        main, sub = kind.split("/")
        if isinstance(content, str):
            msg.add_attachment(content, subtype=sub, filename=filename)
        else:
            msg.add_attachment(content, maintype=main, subtype=sub, filename=filename)
    return msg.as_bytes(policy=SMTP_POLICY)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message_specs())
def test_generated_messages_agree(spec: MessageSpec) -> None:
    assert_agrees(build(spec))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(HAND_PICKED.values())) | st.binary(max_size=300), max_size=8))
def test_glance_never_raises_and_always_encodes(pieces: list[bytes]) -> None:
    seen = glance(b"".join(pieces))
    records.encode(records.Summary(seen.sender, seen.subject, seen.preview, seen.has_attachments))


_ADDRESS_TEXT = st.text(st.sampled_from(list('aZ09 \t."<>@,():;\\öé=?-_+')), max_size=40)
_NAME = st.text(st.sampled_from(list('aZ \t.öé=?-"')), max_size=20)
_ATOMS = st.text(st.sampled_from(list("aZ09.ö-_+=")), min_size=1, max_size=12)
_MAILBOXES = st.one_of(
    _ADDRESS_TEXT,
    st.builds("{}<{}@{}>{}".format, _NAME, _ATOMS, _ATOMS, st.sampled_from(["", " ", "\t"])),
    st.builds("{}@{}".format, _ATOMS, _ATOMS),
)


@settings(max_examples=1500, deadline=None)
@given(_MAILBOXES)
def test_simple_mailbox_shortcut_matches_the_stdlib(value: str) -> None:
    simple = parsing._mailbox(value)
    if simple is not None:
        assert [simple] == email.utils.getaddresses([value])


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60).filter(lambda text: "=?" not in text))
def test_plain_header_shortcut_matches_the_stdlib(value: str) -> None:
    slow = str(email.header.make_header(email.header.decode_header(value)))
    assert parsing._decode_header(value) == parsing._clean_header(slow)
