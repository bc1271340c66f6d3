"""Property-based tests: the parser and the read path on arbitrary input, the API against its
own spec (the read path included, over delivered hostile mail)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import nh3
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tempmail.extract import extract
from tempmail.parsing import ParsedMessage, parse
from tempmail.reading.markup import measure
from tempmail.sanitize import Sanitizer, inline_budget
from tests.adversarial import hostile
from tests.helpers import RunningServer, create_inbox, send_raw, start_server

HEADER_LINES = st.sampled_from(
    [
        b"From: a@example.com\r\n",
        b"To: =?utf-8?b?w5w=?= <b@localhost>\r\n",
        b"Subject: =?bogus?q?x?=\r\n",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: text/html; charset=unknown-8bit\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"Content-Disposition: attachment; filename*=utf-8''%FF%FE\r\n",
        b"Date: Mon, 99 Foo 12345 99:99:99 +9999\r\n",
        b"\r\n",
        b"--b\r\n",
        b"--b--\r\n",
    ]
)
MESSAGES = st.one_of(
    st.binary(max_size=4000),
    st.lists(st.one_of(HEADER_LINES, st.binary(max_size=200)), max_size=60).map(b"".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_parse_never_raises_or_hangs(raw: bytes) -> None:
    started = time.monotonic()
    parsed = parse(raw)
    assert isinstance(parsed, ParsedMessage)
    assert isinstance(parsed.subject, str) and isinstance(parsed.text, str)
    assert time.monotonic() - started < 5


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_first_read_never_raises_and_stays_within_budget(raw: bytes) -> None:
    parsed = parse(raw, preview=False)
    found = extract(parsed.subject, parsed.text, parsed.html)
    inline = {item.content_id: (item.content_type, item.data) for item in parsed.attachments}
    cleaned = Sanitizer().clean(parsed.html, inline, False, inline_budget(len(raw)))
    assert len(cleaned.html) <= 8 * len(parsed.html) + inline_budget(len(raw)) + 300
    assert len(found.links) <= 50 and len(found.codes) <= 5


HTML_TAGS = [
    "div",
    "p",
    "b",
    "i",
    "a",
    "font",
    "span",
    "table",
    "tr",
    "td",
    "th",
    "tbody",
    "caption",
    "li",
    "ul",
    "ol",
    "dd",
    "dt",
    "dl",
    "em",
    "strong",
    "u",
    "s",
    "nobr",
    "br",
    "img",
    "hr",
    "object",
    "template",
    "select",
    "option",
    "form",
    "button",
    "h1",
    "h2",
    "pre",
    "code",
    "center",
    "svg",
    "math",
    "title",
    "textarea",
    "applet",
    "marquee",
    "body",
    "html",
]
_VOID_TAGS = {"br", "img", "hr"}
TAG = st.builds(
    lambda closing, name, attribute: f"<{'/' if closing else ''}{name}{attribute}>",
    st.booleans(),
    st.sampled_from(HTML_TAGS),
    st.sampled_from(["", " id=1", " id=2", " class=x", ' title="a>b"', " x"]),
)
TEXT = st.sampled_from(["x", " ", "&amp;", "\xa0", "<!--", "-->", "<", ">", '"', "'", "<!-->"])
MARKUP = st.one_of(
    st.lists(st.one_of(TAG, TAG, TEXT), max_size=400).map("".join),
    # A short pattern repeated: how nesting builds up.
    st.tuples(st.lists(st.one_of(TAG, TEXT), min_size=1, max_size=12), st.integers(1, 80)).map(
        lambda drawn: "".join(drawn[0]) * drawn[1]
    ),
)
# Keeps every tag, so that the serialized tree shows how html5ever nested the markup.
_KEEP_ALL = nh3.Cleaner(tags=set(HTML_TAGS), clean_content_tags=set(), attributes={}, link_rel=None)
_SERIALIZED_TAG = re.compile(r"<(/?)([a-z0-9]+)[^>]*>")


def _tree_depth(serialized: str) -> int:
    depth = deepest = 0
    for closing, name in _SERIALIZED_TAG.findall(serialized):
        if name not in _VOID_TAGS:
            depth += -1 if closing else 1
            deepest = max(deepest, depth)
    return deepest


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MARKUP)
def test_markup_model_never_underestimates_html5ever(markup: str) -> None:
    """`reading.markup` bounds the nesting nh3's tree builder reaches (what keeps it linear)."""
    shape = measure(markup)
    if not shape.hostile:  # hostile markup never reaches nh3
        assert _tree_depth(_KEEP_ALL.clean(markup)) <= shape.depth + shape.reopened + 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MARKUP)
def test_sanitized_html_stays_within_the_output_budget(markup: str) -> None:
    assert len(Sanitizer().clean(markup).html) <= 8 * len(markup) + 300


@pytest.fixture(scope="module")
def spec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path_factory.mktemp("schemathesis") / "data", {"TEMPMAIL_API_KEY": "k"}
    )
    try:
        yield server
    finally:
        server.stop()


def _exercise(
    operation: Any,
    headers: dict[str, str],
    path_parameters: dict[str, str] | None = None,
    examples: int = 30,
) -> None:
    @given(case=operation.as_strategy(path_parameters=path_parameters))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        case.validate_response(response)

    check()


def test_api_matches_its_spec(spec_server: RunningServer) -> None:
    """Schemathesis drives every documented operation: no 500s, every reply as documented."""
    # Schemathesis' pytest plugin does not run on pytest 9 yet, so drive its strategies directly.
    schema = schemathesis.openapi.from_url(f"{spec_server.http_url}/openapi.json")
    token = create_inbox(spec_server)["token"]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        headers = {}
        if operation.path.startswith("/api/v1/admin"):
            headers["X-API-Key"] = "k"
        elif operation.path not in ("/api/v1/inboxes", "/health"):
            headers["Authorization"] = f"Bearer {token}"
        _exercise(operation, headers)


def test_read_path_matches_its_spec(spec_server: RunningServer) -> None:
    """Every message route over delivered hostile mail: no 500s, replies as documented."""
    schema = schemathesis.openapi.from_url(f"{spec_server.http_url}/openapi.json")
    inbox = create_inbox(spec_server)
    for generate in hostile.STAGES.values():
        assert send_raw(spec_server, inbox["address"], generate(20_000)) == {}
    headers = {"Authorization": f"Bearer {inbox['token']}"}
    with spec_server.client(inbox["token"]) as client:
        listed = client.get(f"/api/v1/inboxes/{inbox['inbox_id']}/messages").json()["messages"]
    assert len(listed) == len(hostile.STAGES)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if "{message_id}" in result.ok().path and result.ok().method.upper() == "GET"
    ]
    assert operations
    for message in listed:
        for operation in operations:
            pinned = {"message_id": message["id"]}
            if "{attachment_id}" in operation.path:
                pinned["attachment_id"] = "1"
            _exercise(operation, headers, pinned, examples=3)
