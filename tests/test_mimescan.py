"""`mimescan` must read mail as the stdlib does: the delivery-time glance must report what the
full parse reports, and the full parse over `mimescan` must equal the `policy.default` one."""

from __future__ import annotations

import datetime as dt
import email.header
import email.utils
import tomllib
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tempmail import mimescan, parsing, records
from tempmail.parsing import UNREADABLE_NOTE, Glance, glance, parse, parse_with_stdlib
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


def assert_parses_alike(raw: bytes) -> None:
    assert parse(raw) == parse_with_stdlib(raw)


def scanned(raw: bytes) -> bool:
    """Whether `parse` reads this message itself rather than leaving it to the stdlib."""
    try:
        parsing._scan(raw)
    except (mimescan.Unusual, mimescan.TooComplex):
        return False
    return True


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
    "blank filename": (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b'Content-Type: text/plain; name=" "\r\n\r\nbody, not a file\r\n--b--\r\n'
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


@pytest.mark.parametrize("raw", HAND_PICKED.values(), ids=HAND_PICKED.keys())
def test_parse_agrees_with_the_stdlib(raw: bytes) -> None:
    assert_parses_alike(raw)


def test_parse_reads_usual_mail_itself() -> None:
    unusual = {"rfc 2231 filename"}
    for name, raw in HAND_PICKED.items():
        assert scanned(raw) == (name not in unusual), name
    for raw in (
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nx\r\n",
        b"Content-Type: text/plain; charset=utf-8 (comment)\r\n\r\nx\r\n",
        b"Content-Type: text/plain; name==?utf-8?q?a?=\r\n\r\nx\r\n",
        b"Content-Type: text/plain/x\r\n\r\nx\r\n",
        b"Subject: bare\rCR\r\n\r\nx\r\n",
    ):
        assert not scanned(raw)
        assert_parses_alike(raw)


def test_parse_reads_what_a_reader_sees() -> None:
    parsed = parse(HAND_PICKED["related"])
    assert parsed.text.startswith("Text version")
    assert parsed.html == "<p>HTML <img src='cid:logo'></p>\n"
    assert [(item.filename, item.content_type, item.content_id, item.data) for item in
            parsed.attachments] == [
        ("attachment-1.png", "image/png", "logo", b"\x89PNG"),
        ("a.pdf", "application/pdf", None, b"%PDF-1.4"),
    ]  # fmt: skip
    encoded = parse(HAND_PICKED["encoded"])
    assert encoded.text.startswith("Grüße Grüße") and encoded.html == "<p>Größe</p>\n"


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
        raw = msg.as_bytes(policy=SMTP_POLICY)
        assert_agrees(raw)
        assert_parses_alike(raw)
        assert scanned(raw)


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


_FILENAMES = st.sampled_from(
    [None, "f.txt", "my report.pdf", "naïve.txt", "a;b.txt", " spaced ", "x" * 90 + ".bin"]
)
_RECIPIENTS = st.sampled_from(
    [
        "",
        "b@example.com",
        "Bea <b@example.com>, c@example.com",
        '"Doe, Jane" <jane@example.com>',
        "Jörg <j@example.com>",
        "undisclosed-recipients:;",
    ]
)
Attachments = list[tuple[str, str | bytes, str | None, str | None]]
MessageSpec = tuple[str, str, str, str, str, str | None, Attachments, str, str]


@st.composite
def message_specs(draw: st.DrawFn) -> MessageSpec:
    """What to build: sender, subject, text with its charset and encoding, HTML, attachments
    (with file names and content ids), To and Cc."""
    text, charset = draw(_WORDS), draw(_CHARSETS)
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    attachments: Attachments = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(_PART_TYPES)
        cid = draw(st.sampled_from([None, "<logo@x>", "part1"]))
        if kind.startswith("text/"):
            attachments.append((kind, draw(_WORDS), draw(_FILENAMES), cid))
        else:
            attachments.append((kind, draw(st.binary(max_size=300)), draw(_FILENAMES), cid))
    return (
        draw(st.sampled_from(["a@example.com", "Ann Example <ann@example.com>"])),
        draw(_WORDS).replace("\n", " ")[:100],
        text,
        charset,
        draw(st.sampled_from(["quoted-printable", "base64", "8bit"])),
        draw(st.none() | _WORDS.map(lambda words: f"<p>{words}</p>")),
        attachments,
        draw(_RECIPIENTS),
        draw(_RECIPIENTS),
    )


def build(spec: MessageSpec) -> bytes:
    """The stdlib's bytes for a spec (built here: its boundaries use `random`)."""
    sender, subject, text, charset, cte, html, attachments, to, cc = spec
    msg = EmailMessage()
    msg["From"], msg["Subject"] = sender, subject
    msg.set_content(text, charset=charset, cte=cte)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for kind, content, filename, cid in attachments:
        main, sub = kind.split("/")
        if isinstance(content, str):
            msg.add_attachment(content, subtype=sub, filename=filename, cid=cid)
        else:
            msg.add_attachment(content, maintype=main, subtype=sub, filename=filename, cid=cid)
    if to:
        msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Date"] = email.utils.format_datetime(dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC))
    return msg.as_bytes(policy=SMTP_POLICY)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message_specs())
def test_generated_messages_agree(spec: MessageSpec) -> None:
    raw = build(spec)
    assert_agrees(raw)
    assert_parses_alike(raw)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(HAND_PICKED.values())) | st.binary(max_size=300), max_size=8))
def test_glance_never_raises_and_always_encodes(pieces: list[bytes]) -> None:
    seen = glance(b"".join(pieces))
    records.encode(records.Summary(seen.sender, seen.subject, seen.preview, seen.has_attachments))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(HAND_PICKED.values())) | st.binary(max_size=300), max_size=8))
def test_parse_agrees_on_spliced_and_broken_mail(pieces: list[bytes]) -> None:
    assert_parses_alike(b"".join(pieces))


_HEADER_TEXT = st.text(st.sampled_from(list('aZ09 \t.,;:<>@"()=?*\\/öé\r\n-')), max_size=40)
_MIME_HEADERS = st.sampled_from(
    ["Content-Type", "Content-Disposition", "Content-Transfer-Encoding", "Content-ID", "To", "Cc"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(HAND_PICKED.values())), st.lists(st.tuples(_MIME_HEADERS, _HEADER_TEXT))
)
def test_parse_agrees_with_odd_mime_headers(raw: bytes, extra: list[tuple[str, str]]) -> None:
    """Odd values in the headers the scan reads, in front of the message or of a part."""
    added = "".join(f"{name}: {value}\r\n" for name, value in extra).encode()
    assert_parses_alike(added + raw)
    assert_parses_alike(raw.replace(b"\r\n\r\n", b"\r\n" + added + b"\r\n", 2))


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


def _report(kind: bytes, body: bytes) -> bytes:
    return (
        b"From: MAILER-DAEMON@example.com\r\nSubject: Undelivered Mail\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--r\r\nContent-Type: " + kind + b"\r\n\r\n" + body + b"\r\n"
        b"--r\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: hi\r\n--r--\r\n"
    )


_DSN_FIELDS = (
    b"Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; gone@example.org\r\n"
    b"Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n unknown user"
)
_PARTS = (
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\nthe text\r\n--b\r\n'
    b"Content-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--b--\r\n"
)
ONE_READING = {
    # Reports are shown as text, their fields as written; other message/* types are attachments.
    "delivery status": (_report(b"message/delivery-status", _DSN_FIELDS),
                        "Action: failed", ["attachment-1"]),
    "global delivery status": (_report(b"message/global-delivery-status", _DSN_FIELDS),
                               "Status: 5.1.1", ["attachment-1"]),
    "read receipt": (_report(b"message/disposition-notification",
                             b"Reporting-UA: mail.example.com\r\nDisposition: manual-action/"
                             b"MDN-sent-manually; displayed"), "Disposition: manual", ["attachment-1"]),
    "abuse report": (_report(b"message/feedback-report",
                             b"Feedback-Type: abuse\r\nUser-Agent: x/1\r\nVersion: 1"),
                     "Feedback-Type: abuse", ["attachment-1"]),
    "report with a file name": (_report(b"message/delivery-status; name=dsn.txt", _DSN_FIELDS),
                                "could not be delivered.", ["dsn.txt", "attachment-2"]),
    "partial": (_report(b"message/partial; id=x; number=1", b"Subject: half\r\n\r\nfirst half"),
                "could not be delivered.", ["attachment-1", "attachment-2"]),
    "external body": (_report(b"message/external-body; access-type=x-mail-server",
                              b"Content-Type: text/plain\r\n\r\nget the file"),
                      "could not be delivered.", ["attachment-1", "attachment-2"]),
    "message/global walked into": (
        b"Content-Type: message/global\r\n\r\nSubject: inner\r\n\r\nthe inner text\r\n",
        "the inner text", []),
    "cte with trailing blanks": (
        _PARTS.replace(b"\r\n\r\nthe text", b"\r\nContent-Transfer-Encoding: base64 \t\r\n\r\n"
                       b"dGhlIHRleHQ="), "the text", ["a.pdf"]),
    "unquoted boundary with =": (
        _PARTS.replace(b'boundary="b"', b"boundary=----=_Part_1").replace(b"--b", b"------=_Part_1"),
        "the text", ["a.pdf"]),
    "rfc 2231 boundary": (_PARTS.replace(b'boundary="b"', b"boundary*=us-ascii''b"),
                          "the text", ["a.pdf"]),
    "close delimiter only": (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b--\r\nepilogue\r\n",
        "", ["attachment-1"]),
    "nested boundary reused": (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n\r\n--b\r\n\r\nthe text\r\n--b--\r\n",
        "the text", ["attachment-1"]),
    "missing boundary": (b"Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
                         "", ["attachment-1"]),
    "empty boundary": (_PARTS.replace(b'boundary="b"', b'boundary=""'), "", ["attachment-1"]),
}  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "text", "files"), ONE_READING.values(), ids=list(ONE_READING.keys())
)
def test_one_message_one_reading(raw: bytes, text: str, files: list[str]) -> None:
    """The decision for each shape the two paths used to read differently, held on both."""
    assert_parses_alike(raw)
    parsed = assert_agrees(raw) and parse(raw)
    assert text in parsed.text
    assert [attachment.filename for attachment in parsed.attachments] == files
