"""The `tempmail` command, settings loading and the key files, as an operator meets them."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tempmail import settings
from tempmail.cli import main, preflight
from tempmail.errors import ConfigError
from tests.helpers import create_inbox, start_server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tempmail", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_defaults_match_the_documented_contract() -> None:
    config = settings.load(None, {})
    assert config.domains == ["localhost"]
    assert config.data_dir == "tempmail-data"
    assert (config.http.host, config.http.port) == ("127.0.0.1", 8000)
    assert (config.smtp.host, config.smtp.port, config.smtp.hostname) == (
        "127.0.0.1",
        8025,
        "localhost",
    )
    assert (config.smtp.max_message_size_mb, config.smtp.max_recipients) == (10, 100)
    assert (config.inbox.default_ttl_hours, config.inbox.max_ttl_hours) == (24, 168)
    assert (config.inbox.max_messages, config.inbox.address_length) == (50, 24)
    assert (config.limits.requests_per_minute, config.limits.requests_per_hour) == (60, 1000)
    assert config.limits.inbox_creations_per_hour == 10
    assert config.expiry.interval_seconds == 300


def test_example_file_documents_every_key_with_its_default() -> None:
    example = Path(__file__).resolve().parent.parent / "tempmail.toml.example"
    loaded = settings.load(example, {})
    assert loaded == settings.load(None, {})
    text = example.read_text()
    for section, struct in [
        ("", settings.Settings),
        *[(name, cls) for name, cls in settings._SECTIONS.items()],
    ]:
        for field in struct.__struct_fields__:
            if field in settings._SECTIONS:
                continue
            assert f"\n{field} =" in text, f"{section}.{field} missing from the example"


def test_file_and_environment_overrides(tmp_path: Path) -> None:
    config_file = tmp_path / "tempmail.toml"
    config_file.write_text('domains = ["Mail.Example.org", "b.example"]\n[smtp]\nport = 2525\n')
    loaded = settings.load(
        config_file,
        {
            "TEMPMAIL_SMTP_PORT": "2526",
            "TEMPMAIL_HTTP_CORS_ORIGINS": "https://a.example, https://b.example",
            "TEMPMAIL_DATA_DIR": "/var/lib/tempmail",
            "TEMPMAIL_INBOX_MAX_TTL_HOURS": "48",
            "TEMPMAIL_SECRET_KEY": "ignored-here",
        },
    )
    assert loaded.domains == ["mail.example.org", "b.example"]
    assert loaded.smtp.port == 2526
    assert loaded.http.cors_origins == ["https://a.example", "https://b.example"]
    assert loaded.data_dir == "/var/lib/tempmail"
    assert loaded.inbox.max_ttl_hours == 48


@pytest.mark.parametrize(
    ("document", "environ", "expected"),
    [
        ("[smtp]\nport = 70000\n", {}, "smtp.port"),
        ("[smtp]\nprot = 25\n", {}, "prot"),
        ("", {"TEMPMAIL_SMTP_PORT": "lots"}, "smtp.port (from TEMPMAIL_SMTP_PORT)"),
        ("", {"TEMPMAIL_SMTP_PROT": "25"}, "TEMPMAIL_SMTP_PROT: unknown setting"),
        ("domains = []\n", {}, "domains"),
        ('domains = ["bad domain"]\n', {}, "domains"),
        ("[inbox]\ndefault_ttl_hours = 500\n", {}, "default_ttl_hours"),
        ("this is = not toml [", {}, "not valid TOML"),
    ],
)
def test_invalid_settings_name_the_key(
    tmp_path: Path, document: str, environ: dict[str, str], expected: str
) -> None:
    config_file = tmp_path / "bad.toml"
    config_file.write_text(document)
    with pytest.raises(ConfigError) as error:
        settings.load(config_file, environ)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_invalid_config_exits_2_with_one_line(tmp_path: Path) -> None:
    config_file = tmp_path / "bad.toml"
    config_file.write_text("[smtp]\nport = 70000\n")
    result = _run(["serve", "--config", str(config_file)], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["tempmail: error: invalid setting smtp.port: Expected `int` <= 65535"]
    assert result.stdout == ""
    missing = _run(["serve", "--config", str(tmp_path / "nope.toml")], tmp_path)
    assert missing.returncode == 2
    assert "config file not found" in missing.stderr


def test_keygen_prints_fresh_hex_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen"]) == 0
    first = capsys.readouterr().out
    main(["keygen"])
    second = capsys.readouterr().out
    assert first != second
    names = [line.split("=")[0] for line in first.splitlines()]
    assert names == ["TEMPMAIL_ENCRYPTION_KEY", "TEMPMAIL_SECRET_KEY", "TEMPMAIL_API_KEY"]
    for line in first.splitlines():
        assert len(bytes.fromhex(line.split("=")[1])) == 32


def test_key_file_created_once_private_and_checked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = settings.load(None, {"TEMPMAIL_DATA_DIR": str(data)})
    first = asyncio.run(preflight(config, {}))
    key_file = data / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert first.current == "k1"
    assert asyncio.run(preflight(config, {})) == first
    assert "redacted" in repr(first) and first.current_set.secret_key.hex() not in repr(first)

    server = start_server(data)
    create_inbox(server)
    server.stop()

    original = key_file.read_text()
    key_file.unlink()
    with pytest.raises(ConfigError, match="missing but the database holds 1 inbox"):
        asyncio.run(preflight(config, {}))
    assert not key_file.exists()

    document = json.loads(original)
    document["keys"][0]["secret_key"] = os.urandom(32).hex()
    key_file.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="does not match"):
        asyncio.run(preflight(config, {}))

    document["keys"][0]["id"] = "k9"
    document["current"] = "k9"
    key_file.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="use key set"):
        asyncio.run(preflight(config, {}))

    key_file.write_text("{broken")
    with pytest.raises(ConfigError, match="damaged"):
        asyncio.run(preflight(config, {}))

    key_file.write_text(original)
    stored = json.loads(original)["keys"][0]
    environ = {"TEMPMAIL_ENCRYPTION_KEY": stored["encryption_key"]}
    with pytest.raises(ConfigError, match="both"):
        asyncio.run(preflight(config, environ))
    environ["TEMPMAIL_SECRET_KEY"] = "zz"
    with pytest.raises(ConfigError, match="not valid hex"):
        asyncio.run(preflight(config, environ))
    environ["TEMPMAIL_SECRET_KEY"] = stored["secret_key"][:10]
    with pytest.raises(ConfigError, match="64 hex digits"):
        asyncio.run(preflight(config, environ))
    environ["TEMPMAIL_SECRET_KEY"] = stored["secret_key"]
    from_env = asyncio.run(preflight(config, environ))
    assert from_env.source == "environment"
    assert from_env.current_set.encryption_key == first.current_set.encryption_key


def test_new_keys_allowed_while_no_inbox_is_stored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = settings.load(None, {"TEMPMAIL_DATA_DIR": str(data)})
    asyncio.run(preflight(config, {}))
    environ = {
        "TEMPMAIL_ENCRYPTION_KEY": os.urandom(32).hex(),
        "TEMPMAIL_SECRET_KEY": os.urandom(32).hex(),
        "TEMPMAIL_API_KEY": "admin",
    }
    keyring = asyncio.run(preflight(config, environ))
    assert keyring.current_set.encryption_key.hex() == environ["TEMPMAIL_ENCRYPTION_KEY"]
    assert keyring.api_key == "admin"


def test_serve_starts_and_stops_on_sigterm(tmp_path: Path) -> None:
    http_port, smtp_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "TEMPMAIL_HTTP_PORT": str(http_port),
        "TEMPMAIL_SMTP_PORT": str(smtp_port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tempmail", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{http_port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
        with socket.create_connection(("127.0.0.1", smtp_port), timeout=10) as smtp:
            assert smtp.recv(100).startswith(b"220 localhost")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "created new server keys" in output
    assert "SMTP listener stopped" in output
    assert (tmp_path / "tempmail-data" / "keys.json").exists()
