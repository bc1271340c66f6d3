"""Property-based tests: the parser on arbitrary bytes, and the API against its own spec."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tempmail.parsing import ParsedMessage, parse
from tests.helpers import RunningServer, create_inbox, start_server

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


@pytest.fixture(scope="module")
def spec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path_factory.mktemp("schemathesis") / "data", {"TEMPMAIL_API_KEY": "k"}
    )
    try:
        yield server
    finally:
        server.stop()


def _exercise(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
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
