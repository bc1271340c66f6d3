"""Configuration: the TOML file, environment overrides and their validation.

Every key has an embedded default, so `tempmail serve` runs with no file at all. Any key can be
overridden by an environment variable named `TEMPMAIL_<SECTION>_<KEY>` (`TEMPMAIL_<KEY>` for the
top-level keys). Secrets come only from the environment or the key file in the data directory.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

from tempmail.errors import ConfigError

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Host = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Domain = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
    ),
]
Positive = Annotated[int, msgspec.Meta(ge=1)]

SECRET_VARIABLES = ("TEMPMAIL_ENCRYPTION_KEY", "TEMPMAIL_SECRET_KEY", "TEMPMAIL_API_KEY")


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


Origin = Annotated[str, msgspec.Meta(pattern=r"^https?://[^/\s]+$")]
PublicURL = Annotated[str, msgspec.Meta(pattern=r"^(https?://[^\s]+)?$")]


class HTTPSettings(_Section):
    host: Host = "127.0.0.1"
    port: Port = 8000
    public_url: PublicURL = ""
    cors_origins: list[Origin] = msgspec.field(default_factory=list)
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    proxy_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    # A client that has not sent a request's headers (its body) this long after starting it
    # gets 408 and is disconnected: slow senders cannot hold connections open for ever.
    header_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 10
    body_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30
    # Open connections in all (503 beyond) and per client address or IPv6 /64 (429 beyond;
    # not counted for trusted proxies, whose clients the rate limits tell apart).
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1000
    max_connections_per_ip: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 100

    def __post_init__(self) -> None:
        _check_networks("http.trusted_proxies", self.trusted_proxies)


class SMTPSettings(_Section):
    host: Host = "127.0.0.1"
    port: Port = 8025
    hostname: Domain = "localhost"
    # The greeting's text after the host name: printable ASCII, no version fingerprint.
    banner: Annotated[str, msgspec.Meta(pattern=r"^[!-~][ -~]{0,199}$")] = "ESMTP ready"
    max_message_size_mb: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 10
    data_memory_mb: Annotated[int, msgspec.Meta(ge=2, le=65536)] = 64
    max_recipients: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 100
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=100000)] = 500
    max_connections_per_ip: Annotated[int, msgspec.Meta(ge=1, le=100000)] = 20
    idle_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 120
    max_commands_per_session: Annotated[int, msgspec.Meta(ge=10, le=1000000)] = 1000
    tls_cert: str = ""
    tls_key: str = ""
    # Behind a TCP load balancer: every connection starts with a PROXY v1/v2 header naming the
    # real client, accepted only from trusted_proxies.
    proxy_protocol: bool = False
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    proxy_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10

    def __post_init__(self) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("smtp.tls_cert and smtp.tls_key must be set together")
        _check_networks("smtp.trusted_proxies", self.trusted_proxies)
        if self.proxy_protocol and not self.trusted_proxies:
            raise ValueError("smtp.proxy_protocol needs smtp.trusted_proxies (the balancers)")
        if self.data_memory_mb <= self.max_message_size_mb:
            raise ValueError("smtp.data_memory_mb must be larger than smtp.max_message_size_mb")


class InboxSettings(_Section):
    default_ttl_hours: Annotated[float, msgspec.Meta(gt=0, le=87_600)] = 24
    max_ttl_hours: Annotated[float, msgspec.Meta(gt=0, le=87_600)] = 168
    max_messages: Positive = 50
    address_length: Annotated[int, msgspec.Meta(ge=8, le=64)] = 24
    min_local_part_length: Annotated[int, msgspec.Meta(ge=1, le=64)] = 3
    quarantine_hours: Annotated[float, msgspec.Meta(ge=0, le=87_600)] = 168
    blocked_local_parts: list[str] = msgspec.field(default_factory=list)


RedisURL = Annotated[str, msgspec.Meta(pattern=r"^((redis|rediss|unix)://\S+)?$")]


class LimitSettings(_Section):
    requests_per_minute: Positive = 60
    requests_per_hour: Positive = 1000
    inbox_creations_per_hour: Positive = 10
    auth_failures_per_minute: Positive = 10
    # Empty: each node keeps its own buckets in memory; redis://...: every node shares them.
    redis_url: RedisURL = ""
    # Event streams and long polls open at once, per client and per inbox (429 beyond).
    streams_per_client: Positive = 50
    streams_per_inbox: Positive = 10


class LoggingSettings(_Section):
    # Write the client's address in the HTTP access log. Off: nothing in the logs ties an
    # address to a request (route templates, status and duration only).
    client_addresses: bool = False


def _check_networks(key: str, values: list[str]) -> None:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{key}: {value!r} is not an IP address or network") from None


class MetricsSettings(_Section):
    enabled: bool = True
    allow_from: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    listen: Annotated[str, msgspec.Meta(pattern=r"^(.+:\d{1,5})?$")] = ""

    def __post_init__(self) -> None:
        _check_networks("metrics.allow_from", self.allow_from)


StorageURL = Annotated[str, msgspec.Meta(pattern=r"^((postgresql|postgres)://\S+)?$")]


class StorageSettings(_Section):
    url: StorageURL = ""
    """Empty: the SQLite file in data_dir. postgresql://user@host:port/db: PostgreSQL."""


class POP3Settings(_Section):
    enabled: bool = False
    host: Host = "127.0.0.1"
    port: Port = 8110
    # Implicit TLS (POP3S) on its own port, with the certificate of smtp.tls_cert / tls_key.
    implicit_tls: bool = False
    tls_port: Port = 8995
    # Where USER/PASS and AUTH PLAIN are allowed without TLS: only from loopback addresses,
    # never, or from anywhere (development only).
    plaintext_login: Literal["loopback", "never", "always"] = "loopback"
    idle_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 600
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=100000)] = 200
    max_connections_per_ip: Annotated[int, msgspec.Meta(ge=1, le=100000)] = 10
    max_commands_per_session: Annotated[int, msgspec.Meta(ge=10, le=1000000)] = 10000
    # Memory all sessions together may hold for messages being sent (RETR/TOP: the opened
    # message and its dot-stuffed copy); past it a RETR gets `-ERR [SYS/TEMP]`.
    reply_memory_mb: Annotated[int, msgspec.Meta(ge=1, le=65536)] = 128


class MailTMSettings(_Section):
    enabled: bool = False
    # Where the mail.tm-compatible API is served (a reverse proxy can map a host's root to it).
    prefix: Annotated[str, msgspec.Meta(pattern=r"^/[a-z0-9_-]+(/[a-z0-9_-]+)*$")] = "/mailtm"

    def __post_init__(self) -> None:
        if self.prefix.split("/")[1] in ("api", "docs", "health", "metrics", "openapi.json"):
            raise ValueError(f"mailtm.prefix {self.prefix} would hide tempmail's own routes")


class ExpirySettings(_Section):
    interval_seconds: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 300


class Settings(_Section):
    """The whole configuration; `load()` builds it."""

    domains: Annotated[list[Domain], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["localhost"]
    )
    data_dir: Annotated[str, msgspec.Meta(min_length=1)] = "tempmail-data"
    http: HTTPSettings = msgspec.field(default_factory=HTTPSettings)
    smtp: SMTPSettings = msgspec.field(default_factory=SMTPSettings)
    inbox: InboxSettings = msgspec.field(default_factory=InboxSettings)
    limits: LimitSettings = msgspec.field(default_factory=LimitSettings)
    expiry: ExpirySettings = msgspec.field(default_factory=ExpirySettings)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    metrics: MetricsSettings = msgspec.field(default_factory=MetricsSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    pop3: POP3Settings = msgspec.field(default_factory=POP3Settings)
    mailtm: MailTMSettings = msgspec.field(default_factory=MailTMSettings)

    def __post_init__(self) -> None:
        self.domains = [domain.lower() for domain in self.domains]
        if self.inbox.default_ttl_hours > self.inbox.max_ttl_hours:
            raise ValueError("inbox.default_ttl_hours must not exceed inbox.max_ttl_hours")
        if self.pop3.enabled and self.pop3.implicit_tls and not self.smtp.tls_cert:
            raise ValueError("pop3.implicit_tls needs smtp.tls_cert and smtp.tls_key")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def max_message_bytes(self) -> int:
        return self.smtp.max_message_size_mb * 1024 * 1024


_SECTIONS: dict[str, type[_Section]] = {
    "http": HTTPSettings,
    "smtp": SMTPSettings,
    "inbox": InboxSettings,
    "limits": LimitSettings,
    "expiry": ExpirySettings,
    "storage": StorageSettings,
    "metrics": MetricsSettings,
    "logging": LoggingSettings,
    "pop3": POP3Settings,
    "mailtm": MailTMSettings,
}
_TOP_LEVEL = {"domains": list, "data_dir": str}


def redact_url(url: str) -> str:
    """The URL with its password (if any) replaced by `***`, for logs and `check-config`."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}").geturl()


def _env_value(raw: str, is_list: bool) -> Any:
    if not is_list:
        return raw
    text = raw.strip()
    if text.startswith("["):
        try:
            return msgspec.json.decode(text)
        except msgspec.DecodeError:
            return raw
    return [item.strip() for item in text.split(",") if item.strip()]


def _environment_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the overrides as a nested dict and, per dotted key, the variable that set it."""
    overrides: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, raw in environ.items():
        if not name.startswith("TEMPMAIL_") or name in SECRET_VARIABLES:
            continue
        key = name.removeprefix("TEMPMAIL_").lower()
        if key in _TOP_LEVEL:
            overrides[key] = _env_value(raw, _TOP_LEVEL[key] is list)
            origins[key] = name
            continue
        section, _, field = key.partition("_")
        struct = _SECTIONS.get(section)
        if struct is None or field not in struct.__struct_fields__:
            raise ConfigError(f"{name}: unknown setting (no key {section}.{field})")
        default = getattr(struct(), field)
        overrides.setdefault(section, {})[field] = _env_value(raw, isinstance(default, list))
        origins[f"{section}.{field}"] = name
    return overrides, origins


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _describe(error: msgspec.ValidationError, origins: dict[str, str]) -> str:
    text = str(error)
    message, _, path = text.rpartition(" - at `$.")
    if not path:
        return text
    dotted = path.rstrip("`").split("[", 1)[0]
    source = origins.get(dotted)
    where = f"{dotted} (from {source})" if source else dotted
    return f"invalid setting {where}: {message}"


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from defaults, the optional TOML file and the environment.

    Raises ConfigError with a one-line description naming the key at fault.
    """
    environ = os.environ if environ is None else environ
    document: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as config_file:
                document = tomllib.load(config_file)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
        except OSError as error:
            raise ConfigError(f"config file {path} cannot be read: {error.strerror}") from None
    overrides, origins = _environment_overrides(environ)
    try:
        return msgspec.convert(_merge(document, overrides), Settings, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(_describe(error, origins)) from None
