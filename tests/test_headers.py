"""`reading.headers`: header values read alike by both parse paths, each field on its own, in
time linear in the value however hostile it is."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tempmail import parsing
from tempmail.parsing import glance, parse, parse_with_stdlib
from tempmail.reading import headers
from tests.helpers import RunningServer, create_inbox, send_raw


def both(raw: bytes) -> parsing.ParsedMessage:
    """What `parse` reads, asserting the stdlib path reads the same."""
    parsed = parse(raw)
    assert parsed == parse_with_stdlib(raw)
    return parsed


def nested_groups(count: int) -> bytes:
    """A To: value of `count` nested group openings, folded so that SMTP carries it."""
    return b"g: g: g: g:\r\n " * (count // 4) + b"victim@example.com;"


def hostile_to(to: bytes) -> bytes:
    return (
        b"From: Shop <shop@example.com>\r\nTo: " + to + b"\r\nSubject: Your code\r\n"
        b"Date: Tue, 24 Nov 2026 09:30:00 +0000\r\n\r\nYour verification code is 482913\r\n"
    )


@pytest.mark.parametrize("count", [1_100, 5_000])
def test_nested_groups_cost_only_the_to_field(count: int) -> None:
    # The stdlib's getaddresses recurses once per group: this To: raised RecursionError.
    with pytest.raises(RecursionError):
        email.utils.getaddresses([headers.unfold_text(nested_groups(count).decode())])
    parsed = both(hostile_to(nested_groups(count)))
    assert parsed.sender == "Shop <shop@example.com>"
    assert parsed.subject == "Your code"
    assert parsed.date == "2026-11-24T09:30:00Z"
    assert parsed.text == "Your verification code is 482913\n"
    assert parsed.to == ["victim@example.com"]
    seen = glance(hostile_to(nested_groups(count)))
    assert (seen.sender, seen.subject) == ("Shop <shop@example.com>", "Your code")


def test_a_field_that_fails_is_lost_alone() -> None:
    def fails(values: list[str]) -> object:
        raise RecursionError

    assert parsing._field(fails, ["x"], []) == []
    fields = parsing._header_fields(lambda name: {"subject": ["Hi"], "to": ["a@b.example"]}.get(
        name, []))  # fmt: skip
    assert fields["subject"] == "Hi" and fields["to"] == ["a@b.example"]


def test_the_detail_of_a_hostile_to_keeps_everything_else(server: RunningServer) -> None:
    inbox = create_inbox(server)
    raw = hostile_to(nested_groups(1_100)).replace(
        b"To: ", b"To: " + inbox["address"].encode() + b", "
    )
    assert send_raw(server, inbox["address"], raw) == {}
    with server.client(inbox["token"]) as client:
        (summary,) = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()["messages"]
        detail = client.get(f"/api/v1/messages/{summary['id']}").json()
    assert detail["from"] == summary["from"] == "Shop <shop@example.com>"
    assert detail["subject"] == summary["subject"] == "Your code"
    assert detail["to"] == [inbox["address"], "victim@example.com"]
    assert detail["body_text"] == "Your verification code is 482913\n"
    assert detail["codes"] == ["482913"]


@pytest.mark.parametrize(
    ("subject", "shown"),
    [
        (b"Hello =?UTF-8?Q?=E2=9C=94?=\r\n (123)", "Hello \u2714 (123)"),
        (b"=?UTF-8?Q?=E2=9C=94?=\r\n\t=?UTF-8?Q?_done?=", "\u2714 done"),
        (b"=?utf-8?q?a?= b =?utf-8?q?c?=  =?utf-8?q?d?=", "a b cd"),
        (b"=?utf-8?q?=C3?= =?utf-8?q?=BC?=ber", "\u00fcber"),  # one character split in two
        (b"=?utf-8?b?w5xiZXI=?= =?iso-8859-1?q?s=FC?=", "\u00dcbers\u00fc"),
        (b"=?utf-8*de?q?Gr=C3=BC=C3=9Fe?=", "Gr\u00fc\u00dfe"),  # RFC 2231 language
        (b"=?utf-8?b?w5xi?", "=?utf-8?b?w5xi?"),  # unterminated: left as written
    ],
)
def test_encoded_words_are_decoded_after_unfolding(subject: bytes, shown: str) -> None:
    raw = b"From: a@example.com\r\nSubject: " + subject + b"\r\n\r\nbody\r\n"
    assert both(raw).subject == glance(raw).subject == shown


@pytest.mark.parametrize(
    ("word", "shown"),
    [
        (b"=?iso-8859-1?Q?Fr\xf6sche?=", "Fr\u00f6sche"),
        (b"=?iso-8859-1?Q?Fr\xc3\xb6sche?=", "Fr\u00c3\u00b6sche"),  # the bytes, as latin-1
        (b"=?utf-8?Q?Fr\xc3\xb6sche?=", "Fr\u00f6sche"),
        (b"=?iso-8859-8-i?b?6+Pn?=", "\u05db\u05d3\u05d7"),
        (b"=?NONE?q?plain_ascii?=", "plain ascii"),
        (b"=?x-unknown?q?caf=C3=A9?=", "caf\u00e9"),
        (b"=?gb2312?b?1tY=?=", "\u79cd"),
        (b"=?gb2312?b?1v8=?=", "\ufffd\ufffd"),  # not GB 18030 either: replacement characters
        (b"=?utf-8?q?=FF?= ok", "\ufffd ok"),
        (b"=?iso-2022-jp?b?GyRCJEskWyQzGyhC?=", "\u306b\u307b\u3053"),
    ],
)
def test_encoded_word_bytes_are_read_in_the_word_charset(word: bytes, shown: str) -> None:
    raw = b"From: a@example.com\r\nSubject: " + word + b"\r\n\r\nbody\r\n"
    parsed = both(raw)
    assert parsed.subject == glance(raw).subject == shown
    assert "\\u" not in parsed.subject and "=?" not in parsed.subject


def test_eight_bit_display_names_and_addresses() -> None:
    raw = (
        b"From: =?iso-8859-1?q?J=FCrgen?= <j\xc3\xbcrgen@example.com>\r\n"
        b"To: J\xc3\xb6rg <j@example.com>, \xff <x@example.com>\r\n\r\nbody\r\n"
    )
    parsed = both(raw)
    assert parsed.sender == "J\u00fcrgen <j\u00fcrgen@example.com>"
    assert parsed.to == ["J\u00f6rg <j@example.com>", "\ufffd <x@example.com>"]


@pytest.mark.parametrize(
    ("value", "pieces"),
    [
        ("a@b.example", ["a@b.example"]),
        ('"Doe, Jane" <j@x.example>, b@y.example', ['"Doe, Jane" <j@x.example>', "b@y.example"]),
        (
            "team: a@x.example, b@x.example;, c@x.example",
            ["a@x.example", "b@x.example", "c@x.example"],
        ),
        ("undisclosed-recipients:;", []),
        (
            "a@x.example (Ann, (the) boss), b@x.example",
            ["a@x.example (Ann, (the) boss)", "b@x.example"],
        ),
        ("<@route:a@x.example>", ["<@route:a@x.example>"]),
        ('"unterminated, a@x.example', ['"unterminated, a@x.example']),
        ("a@x.example (open, b@x.example", ["a@x.example (open, b@x.example"]),
        ("x@y (a\\) b), c@d", ["x@y (a\\) b)", "c@d"]),
    ],
)
def test_address_pieces(value: str, pieces: list[str]) -> None:
    assert [piece.strip() for piece in headers.address_pieces(value)] == pieces


def test_address_lists_are_capped() -> None:
    many = ", ".join(f"user{i}@example.com" for i in range(5_000))
    assert len(list(headers.address_pieces(many))) == headers.MAX_ADDRESSES
    assert len(next(headers.address_pieces("x" * 10_000))) == headers.MAX_ADDRESS_PIECE
    raw = b"From: a@example.com\r\nTo: " + many.encode() + b"\r\n\r\nbody\r\n"
    assert both(raw).to[-1] == f"user{headers.MAX_ADDRESSES - 1}@example.com"


_ATOM = st.text(st.sampled_from(list("aZ09.ö-_+=")), min_size=1, max_size=8)
_PHRASE = st.text(st.sampled_from(list('aZ \t.öé=?-"(),\\')), max_size=16)
_ADDRESS = st.builds("{}@{}".format, _ATOM, _ATOM)
_MAILBOX = st.one_of(
    _ADDRESS,
    st.builds("{} <{}>".format, _PHRASE, _ADDRESS),
    st.builds('"{}" <{}>'.format, _PHRASE, _ADDRESS),
    st.builds("{} ({})".format, _ADDRESS, _PHRASE),
    _PHRASE,  # garbage between commas, unbalanced quotes and comments included
)
_ADDRESS_CHARS = st.lists(_MAILBOX, max_size=5).map(", ".join)


@settings(max_examples=1500, deadline=None)
@given(_ADDRESS_CHARS)
def test_address_lists_without_groups_read_as_the_stdlib_reads_them(value: str) -> None:
    """Without `:` and `;` (groups, which the stdlib reads recursively) splitting first changes
    nothing the display shows: the mailboxes are those `getaddresses` finds in the whole."""
    expected = []
    for name, address in email.utils.getaddresses([value]):
        name, address = parsing._decode_header(name), parsing._clean_header(address)
        if name or address:
            expected.append(f"{name} <{address}>" if name and address else name or address)
    assert parsing._addresses([value]) == expected


def cost(build: Callable[[int], bytes], size: int, read: Callable[[bytes], object]) -> float:
    """The least CPU time of a few runs of `read` over the input `build` makes for `size`."""
    raw = build(size)
    best = float("inf")
    for _ in range(5):
        start = time.thread_time()
        read(raw)
        best = min(best, time.thread_time() - start)
    return best


HOSTILE_HEADERS: dict[str, Callable[[int], bytes]] = {
    "nested groups": lambda n: hostile_to(nested_groups(n)),
    "encoded words": lambda n: b"Subject: " + b"=?utf-8?q?=C3=BC?= " * n + b"\r\n\r\nx\r\n",
    "unterminated encoded words": lambda n: b"Subject: " + b"=?utf-8?q?" * n + b"\r\n\r\nx\r\n",
    "words in charsets that alternate": lambda n: (
        b"Subject: " + b"=?utf-8?q?a?= =?latin1?q?b?= " * n + b"\r\n\r\nx\r\n"
    ),
    "folded header": lambda n: b"Subject: " + b"word\r\n " * n + b"end\r\n\r\nx\r\n",
    "comments": lambda n: b"To: " + b"(a (b \\) c) " * n + b"x@y.example\r\n\r\nx\r\n",
    "addresses": lambda n: b"To: " + b'"N, x" <a@b.example>, ' * n + b"\r\n\r\nx\r\n",
}


@pytest.mark.parametrize("build", HOSTILE_HEADERS.values(), ids=HOSTILE_HEADERS.keys())
def test_hostile_headers_cost_linear_time(build: Callable[[int], bytes]) -> None:
    """Eight times the input costs about eight times the time (a quadratic cost would be 64):
    a ratio of CPU times, with a wide margin for a shared machine."""
    for read in (parse, parse_with_stdlib, glance):
        small, large = cost(build, 1_000, read), cost(build, 8_000, read)
        assert large < 20 * max(small, 1e-4), (read.__name__, small, large)
