"""The mail.tm-compatible API, driven by client libraries nobody here wrote (npm's
@cemalgnlts/mailjs and PyPI's mailtm-unofficial), unchanged but for their base URL."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mailtm  # type: ignore[import-untyped]
import pytest

from tempmail import crypto
from tempmail.errors import ConfigError
from tempmail.keys import read_file
from tempmail.settings import load
from tests.helpers import (
    SMTP_POLICY,
    RunningServer,
    make_message,
    send_mail,
    send_raw,
    start_server,
)
from tests.npm import installed

PASSWORD = "correct horse battery"
HTML = '<p>Confirm: <a href="https://app.example/verify?t=1">verify</a></p><script>x()</script>'


def _mailtm_server(data_dir: Path, **overrides: str) -> RunningServer:
    environ = {
        "TEMPMAIL_MAILTM_ENABLED": "true",
        **{f"TEMPMAIL_{name.upper()}": value for name, value in overrides.items()},
    }
    return start_server(data_dir, environ)


@pytest.fixture
def mailtm_server(tmp_path: Path) -> Iterator[RunningServer]:
    running = _mailtm_server(tmp_path / "data")
    try:
        yield running
    finally:
        running.stop()


def _base(server: RunningServer) -> str:
    return server.http_url + "/mailtm"


def _mail(server: RunningServer, address: str, subject: str) -> bytes:
    """Send a message with HTML and an attachment; returns the bytes sent (the raw source)."""
    message = make_message(
        address,
        subject,
        "Your code is 482913.",
        html=HTML,
        attachments=[("report.txt", "text/plain", b"attached bytes")],
    )
    message["Message-ID"] = "<flow-1@example.com>"
    raw = message.as_bytes(policy=SMTP_POLICY)
    assert raw.endswith(b"\r\n")
    send_raw(server, address, raw)
    return raw


def test_mailjs_from_npm_through_the_whole_flow(mailtm_server: RunningServer) -> None:
    clients = installed()
    address = f"mailjs-user@{mailtm_server.domain}"
    process = subprocess.Popen(
        [shutil.which("node") or "node", str(clients / "mailjs-flow.mjs"), _base(mailtm_server),
         address, PASSWORD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=clients,
    )  # fmt: skip
    steps: dict[str, Any] = {}
    raw = b""
    # However the flow goes wrong, the client is stopped and its output ends.
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            record = json.loads(line)
            steps[record["step"]] = record["data"]
            assert record["step"] != "failed", record
            if record["step"] == "listening":
                raw = _mail(mailtm_server, address, "Welcome from mailjs")
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert steps["domains"] == [mailtm_server.domain]
    assert steps["register"] == {"statusCode": 201, "address": address}
    assert steps["register-again"]["statusCode"] == 422
    assert "already used" in steps["register-again"]["message"]
    assert steps["login-wrong"] == {
        "status": False,
        "statusCode": 401,
        "message": "Invalid credentials.",
    }
    assert steps["me"]["address"] == address and steps["me"]["id"] == steps["me"]["loginId"]
    assert steps["arrive"]["subject"] == "Welcome from mailjs"
    assert steps["arrive"]["from"] == {"address": "alice@example.com", "name": "Alice Example"}
    detail = steps["message"]
    assert detail["subject"] == "Welcome from mailjs"
    assert "482913" in detail["text"]
    assert "https://app.example/verify?t=1" in detail["html"][0]
    assert "<script" not in detail["html"][0]
    assert detail["attachments"] == ["report.txt"]
    assert detail["msgid"] == "<flow-1@example.com>"
    assert steps["source"]["data"].encode() == raw
    assert steps["seen"] == {"status": True, "seen": True}
    assert steps["messages"] == [{"id": steps["arrive"]["id"], "seen": True}]
    assert steps["delete-message"] == {"statusCode": 204}
    assert steps["message-gone"]["statusCode"] == 404
    assert steps["delete-account"] == {"statusCode": 204}
    assert steps["token-after-delete"] == {"statusCode": 401}


def test_python_client_from_pypi_through_the_whole_flow(mailtm_server: RunningServer) -> None:
    client = mailtm.MailTM(base_url=_base(mailtm_server), timeout=30)
    domain = client.get_random_domain()
    assert domain.domain == mailtm_server.domain and domain.is_active
    assert client.get_domain(domain.id).domain == mailtm_server.domain
    address = f"pypi-user@{domain.domain}"
    account = client.create_account(address, PASSWORD)
    assert account.address == address and client.account.id == account.id
    with pytest.raises(mailtm.ValidationError) as taken:
        client.create_account(address, PASSWORD, autologin=False)
    assert taken.value.status_code == 422
    with pytest.raises(mailtm.AuthenticationError):
        client.get_token(address, "not the password")

    raw = _mail(mailtm_server, address, "Hello from PyPI")
    found = client.wait_for_message(subject="hello from", timeout=30, interval=0.2)
    assert found.from_.address == "alice@example.com"
    message = client.get_message(found.id)
    assert message.subject == "Hello from PyPI" and "482913" in (message.text or "")
    assert [item.filename for item in message.attachments] == ["report.txt"]
    assert client.download_attachment(message.attachments[0]) == b"attached bytes"
    assert client.download_message(found.id) == raw
    assert client.get_source(found.id)["data"].encode() == raw
    assert client.mark_seen(found.id) is True
    assert client.get_messages().total == 1
    client.delete_message(found.id)
    assert client.get_messages().total == 0
    assert client.me().address == address
    client.delete_account()
    with pytest.raises(mailtm.AuthenticationError):
        client.login(address, PASSWORD)


def test_zero_access_nothing_stored_opens_mail(mailtm_server: RunningServer) -> None:
    address = f"private@{mailtm_server.domain}"
    with httpx.Client(base_url=_base(mailtm_server), timeout=30) as http:
        assert (
            http.post("/accounts", json={"address": address, "password": PASSWORD}).status_code
            == 201
        )
        bearer = http.post("/token", json={"address": address, "password": PASSWORD}).json()[
            "token"
        ]
    send_mail(mailtm_server, address, make_message(address, "Sealed-MARKER", "Body-MARKER"))
    # The bearer is the inbox token scrypt derives from the password; it opens the native API too.
    found = read_file(mailtm_server.data_dir)
    assert found is not None
    current, sets = found
    secret = sets[current].secret_key
    assert crypto.password_token(PASSWORD, secret, address) == bearer
    assert crypto.password_token(PASSWORD + "!", secret, address) != bearer
    with mailtm_server.client(bearer) as client:
        assert client.get("/api/v1/inbox").json()["address"] == address
    mailtm_server.stop()
    stored = b"".join(
        path.read_bytes() for path in mailtm_server.data_dir.iterdir() if path.is_file()
    )
    for secret_text in (PASSWORD, bearer, "Sealed-MARKER", "Body-MARKER"):
        assert secret_text.encode() not in stored


def test_json_ld_and_plain_json(mailtm_server: RunningServer) -> None:
    with httpx.Client(base_url=_base(mailtm_server), timeout=30) as http:
        ld = http.get("/domains", headers={"Accept": "application/ld+json"})
        assert ld.headers["content-type"].startswith("application/ld+json")
        body = ld.json()
        assert body["@type"] == "hydra:Collection" and body["hydra:totalItems"] == 1
        assert body["hydra:member"][0]["@id"] == f"/domains/{body['hydra:member'][0]['id']}"
        plain = http.get("/domains", headers={"Accept": "application/json"})
        assert plain.headers["content-type"].startswith("application/json")
        assert plain.json() == [
            {k: v for k, v in body["hydra:member"][0].items() if not k.startswith("@")}
        ]
        missing = http.get("/me", headers={"Accept": "application/ld+json"})
        assert missing.status_code == 401
        assert missing.json()["message"] == "JWT Token not found"
        assert missing.json()["hydra:description"] == "JWT Token not found"
        invalid = http.get("/me", headers={"Authorization": "Bearer nope"})
        assert (invalid.status_code, invalid.json()["message"]) == (401, "Invalid JWT Token")
        unknown = http.get("/domains/ffff")
        assert (unknown.status_code, unknown.json()["detail"]) == (404, "Not Found")
        assert http.post("/domains").status_code == 405


def test_many_messages_are_paged(mailtm_server: RunningServer) -> None:
    address = f"paged@{mailtm_server.domain}"
    with httpx.Client(base_url=_base(mailtm_server), timeout=30) as http:
        http.post("/accounts", json={"address": address, "password": PASSWORD})
        bearer = http.post("/token", json={"address": address, "password": PASSWORD}).json()[
            "token"
        ]
        for number in range(33):
            send_mail(mailtm_server, address, make_message(address, f"n{number}", "body"))
        headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/ld+json"}
        first = http.get("/messages", headers=headers).json()
        assert first["hydra:totalItems"] == 33 and len(first["hydra:member"]) == 30
        assert first["hydra:member"][0]["subject"] == "n32"
        assert first["hydra:view"]["hydra:next"] == "/messages?page=2"
        second = http.get("/messages", params={"page": 2}, headers=headers).json()
        assert [m["subject"] for m in second["hydra:member"]] == ["n2", "n1", "n0"]
        assert "hydra:next" not in second["hydra:view"]
        assert (
            http.get("/messages", params={"page": 9}, headers=headers).json()["hydra:member"] == []
        )


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"address": "x@unknown.example", "password": PASSWORD}, 422, "address"),
        ({"address": "no-at-sign", "password": PASSWORD}, 422, "address"),
        ({"address": "ab@localhost", "password": PASSWORD}, 422, "address"),
        ({"address": "admin@localhost", "password": PASSWORD}, 422, "address"),
        ({"address": "short@localhost", "password": "1234567"}, 422, "password"),
        ({"address": "long@localhost", "password": "p" * 1025}, 422, "password"),
        ({"address": "long@localhost", "password": "é" * 513}, 422, "password"),
        ({"address": "x@localhost"}, 422, "body"),
        ({"address": 5, "password": PASSWORD}, 422, "body"),
    ],
)
def test_bad_account_requests(
    mailtm_server: RunningServer, body: dict[str, Any], status: int, field: str
) -> None:
    with httpx.Client(base_url=_base(mailtm_server), timeout=30) as http:
        response = http.post("/accounts", json=body)
    assert response.status_code == status
    assert response.json()["violations"][0]["propertyPath"] == field
    assert response.json()["error"] == "invalid"


def test_hostile_sizes_are_bounded(mailtm_server: RunningServer) -> None:
    with httpx.Client(base_url=_base(mailtm_server), timeout=30) as http:
        for size in (20_000, 1_000_000, 8_000_000):
            huge = http.post(
                "/token",
                content=b'{"address": "a@localhost", "password": "' + b"p" * size + b'"}',
            )
            assert huge.status_code == 413, size
            # The unread rest of the body never reaches the next request on this connection.
            assert huge.headers["connection"] == "close"
        # Within the body limit, a long password is refused before scrypt sees it.
        long = http.post("/token", json={"address": "a@localhost", "password": "p" * 4_000})
        assert long.status_code == 401
        assert http.post("/token", content=b"{not json").status_code == 400
        for page in ("0", "-1", "abc", "9" * 50):
            response = http.get("/messages", params={"page": page})
            assert response.status_code == 400, page


def test_wrong_passwords_spend_the_auth_budget(tmp_path: Path) -> None:
    server = _mailtm_server(tmp_path / "data", limits_auth_failures_per_minute="3")
    try:
        address = f"guarded@{server.domain}"
        with httpx.Client(base_url=_base(server), timeout=30) as http:
            http.post("/accounts", json={"address": address, "password": PASSWORD})
            for _ in range(3):
                wrong = http.post("/token", json={"address": address, "password": "guess-guess"})
                assert wrong.status_code == 401
            refused = http.post("/token", json={"address": address, "password": PASSWORD})
            assert refused.status_code == 429 and "Retry-After" in refused.headers
        with server.client() as client:
            assert client.get("/api/v1/inbox").status_code == 429
    finally:
        server.stop()


def test_off_by_default_and_prefix_checked(server: RunningServer) -> None:
    with server.client() as client:
        assert client.get("/mailtm/domains").status_code == 404
    with pytest.raises(ConfigError, match=r"mailtm\.prefix"):
        load(None, {"TEMPMAIL_MAILTM_PREFIX": "/api/mailtm"})
    with pytest.raises(ConfigError, match=r"mailtm\.prefix"):
        load(None, {"TEMPMAIL_MAILTM_PREFIX": "no-slash"})
    assert load(None, {"TEMPMAIL_MAILTM_PREFIX": "/v1/mail"}).mailtm.prefix == "/v1/mail"
