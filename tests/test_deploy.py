"""The files in deploy/: systemd unit, production config, reverse proxies, alerts and dashboard.

The unit and the alert rules are also checked by the tools that will read them, systemd-analyze
and promtool. Without those tools the checks skip on a workstation but fail in CI (CI is set),
where `.ci/run` installs them. nginx and Caddy are only checked when they happen to be installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tempmail import settings
from tempmail.cli import EXIT_CONFIG
from tempmail.metrics import Metrics
from tests.helpers import self_signed_certificate

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNIT = DEPLOY / "tempmail.service"
CONFIG = DEPLOY / "tempmail.toml"
ALERTS = DEPLOY / "prometheus-alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus-alerts.test.yml"
DASHBOARD = DEPLOY / "grafana-dashboard.json"
NGINX = DEPLOY / "nginx.conf"
CADDYFILE = DEPLOY / "Caddyfile"

EXEC_START = "/opt/tempmail/.venv/bin/tempmail serve --config /etc/tempmail/tempmail.toml"
METRIC_NAME = re.compile(r"\btempmail_[a-z_]+")
# The stage of exposure `systemd-analyze security` calls "OK"; the unit scores 1.6 today.
MAX_EXPOSURE = 2.0

Unit = dict[str, dict[str, list[str]]]


def _read_unit_text(text: str) -> Unit:
    """Sections of a unit file, each key with all its values in order (keys may repeat)."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        assert section is not None, f"{line!r} before any section"
        assert not line.endswith("\\"), "continuation lines are not expected in the unit"
        key, separator, value = line.partition("=")
        assert separator, f"{line!r} is not KEY=VALUE"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def _one(unit: Unit, section: str, key: str) -> str:
    values = unit[section].get(key, [])
    assert len(values) == 1, f"[{section}] {key}= should be set once, found {values}"
    return values[0]


def _unit_environment(unit: Unit) -> dict[str, str]:
    environment: dict[str, str] = {}
    for assignments in unit["Service"].get("Environment", []):
        for assignment in assignments.split():
            name, _, value = assignment.partition("=")
            environment[name] = value
    return environment


def _require(tool: str) -> str:
    """The tool's path; without it, skip on a workstation and fail in CI."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed; .ci/run must install it (CI is set)")
        pytest.skip(f"{tool} is not installed (required when CI is set)")
    return path


def _run(
    args: list[str], cwd: Path | None = None, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def _exported_metric_names() -> set[str]:
    """Every series name tempmail exports, as Prometheus stores it (`_total`, `_bucket`, ...)."""
    names = {"up"}
    for family in Metrics().registry.collect():
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            suffixes = ("_bucket", "_sum", "_count", "_created")
            names |= {family.name + suffix for suffix in suffixes}
        else:
            names.add(family.name)
    return names


def _dashboard_expressions() -> Iterator[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield target["expr"]


@pytest.fixture(scope="module")
def unit() -> Unit:
    return _read_unit_text(UNIT.read_text())


def test_unit_runs_the_documented_command_with_the_state_directory(unit: Unit) -> None:
    assert _one(unit, "Service", "ExecStart") == EXEC_START
    assert _one(unit, "Service", "DynamicUser") == "yes"
    assert _one(unit, "Service", "StateDirectory") == "tempmail"
    assert _unit_environment(unit)["TEMPMAIL_DATA_DIR"] == "/var/lib/tempmail"
    assert _one(unit, "Install", "WantedBy") == "multi-user.target"


def test_unit_restarts_on_failure_but_not_on_a_configuration_error(unit: Unit) -> None:
    assert _one(unit, "Service", "Restart") == "on-failure"
    assert _one(unit, "Service", "RestartPreventExitStatus") == str(EXIT_CONFIG)
    assert _one(unit, "Service", "KillSignal") == "SIGTERM"
    assert _one(unit, "Service", "TimeoutStopSec") == "30"


def test_unit_is_hardened(unit: Unit) -> None:
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
        "UMask": "0077",
    }
    for key, value in expected.items():
        assert _one(unit, "Service", key) == value, key
    families = set(_one(unit, "Service", "RestrictAddressFamilies").split())
    assert families == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert "@system-service" in unit["Service"]["SystemCallFilter"]
    assert int(_one(unit, "Service", "LimitNOFILE")) >= 4096
    # A capability inside a user namespace cannot bind port 25 on the host's network.
    assert "PrivateUsers" not in unit["Service"]


def test_unit_environment_is_valid_for_the_server(unit: Unit) -> None:
    # An unknown TEMPMAIL_ variable stops the server, so a typo in the unit would too.
    loaded = settings.load(CONFIG, _unit_environment(unit))
    assert loaded.data_dir == "/var/lib/tempmail"


def _uncomment_starttls(text: str) -> str:
    return re.sub(r"^#((LoadCredential|Environment)=.*tls_.*)$", r"\1", text, flags=re.MULTILINE)


def test_unit_starttls_lines_work_once_uncommented(unit: Unit) -> None:
    enabled = _read_unit_text(_uncomment_starttls(UNIT.read_text()))
    credentials = [value.split(":", 1)[0] for value in enabled["Service"]["LoadCredential"]]
    assert credentials == ["tls_cert", "tls_key"]
    environment = _unit_environment(enabled)
    assert environment["TEMPMAIL_SMTP_TLS_CERT"] == "%d/tls_cert"
    assert environment["TEMPMAIL_SMTP_TLS_KEY"] == "%d/tls_key"
    loaded = settings.load(CONFIG, environment)
    assert (loaded.smtp.tls_cert, loaded.smtp.tls_key) == ("%d/tls_cert", "%d/tls_key")
    assert "LoadCredential" not in unit["Service"], "STARTTLS stays off until certificates exist"


@pytest.mark.parametrize("starttls", [False, True], ids=["as-shipped", "starttls"])
def test_systemd_accepts_the_unit(tmp_path: Path, starttls: bool) -> None:
    systemd_analyze = _require("systemd-analyze")
    text = _uncomment_starttls(UNIT.read_text()) if starttls else UNIT.read_text()
    # verify also checks that ExecStart's program exists: point it at one that does.
    arguments = EXEC_START.split(maxsplit=1)[1]
    text = re.sub(
        r"^ExecStart=.*$",
        f"ExecStart={sys.executable} -m tempmail {arguments}",
        text,
        flags=re.MULTILINE,
    )
    assert f"ExecStart={sys.executable}" in text
    copy = tmp_path / "tempmail.service"
    copy.write_text(text)

    verified = _run([systemd_analyze, "verify", "--man=no", str(copy)])
    # Unknown keys and sections are only warnings (exit status 0): any word about our unit fails.
    ours = [line for line in verified.stderr.splitlines() if "tempmail.service" in line]
    assert verified.returncode == 0 and not ours, verified.stderr

    security = _run([systemd_analyze, "security", "--offline=true", str(copy)])
    found = re.search(r"Overall exposure level for tempmail\.service: ([\d.]+)", security.stdout)
    assert found, security.stdout + security.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, security.stdout


def test_production_config_loads_with_the_documented_values() -> None:
    config = settings.load(CONFIG, {})
    assert config.domains == ["mail.example.org"]
    assert config.data_dir == "/var/lib/tempmail"
    assert (config.smtp.host, config.smtp.port) == ("0.0.0.0", 25)
    assert config.smtp.hostname == "mx.mail.example.org"
    assert (config.http.host, config.http.port) == ("127.0.0.1", 8000)
    assert config.http.public_url == "https://mail.example.org"
    assert config.http.trusted_proxies == ["127.0.0.1", "::1"]
    assert config.metrics.enabled
    assert not config.metrics.listen


def test_the_command_line_accepts_the_unit_and_the_config(tmp_path: Path) -> None:
    program, subcommand, option, _ = EXEC_START.split()
    assert (Path(program).name, subcommand, option) == ("tempmail", "serve", "--config")
    environment = {name: value for name, value in os.environ.items() if "TEMPMAIL_" not in name}
    environment["TEMPMAIL_DATA_DIR"] = str(tmp_path / "data")
    tempmail = [sys.executable, "-m", "tempmail"]

    usage = _run([*tempmail, "serve", "--help"], environment=environment)
    assert usage.returncode == 0 and "--config" in usage.stdout, usage.stderr
    checked = _run([*tempmail, "check-config", "--config", str(CONFIG)], environment=environment)
    assert checked.returncode == 0, checked.stderr
    assert "# configuration OK" in checked.stdout


def test_expiry_alert_matches_the_configured_interval() -> None:
    config = settings.load(CONFIG, {})
    threshold = re.search(
        r"time\(\) - tempmail_expiry_last_success_timestamp_seconds > (\d+)", ALERTS.read_text()
    )
    assert threshold, "TempmailExpiryStalled expression not found"
    # Three passes missed: the last success is four intervals old.
    assert int(threshold.group(1)) == 4 * config.expiry.interval_seconds


def test_alerts_name_only_exported_metrics() -> None:
    text = ALERTS.read_text()
    used = set(METRIC_NAME.findall(text))
    assert used, "no tempmail metric in the alert rules"
    assert used <= _exported_metric_names(), used - _exported_metric_names()
    assert 'up{job="tempmail"} == 0' in text
    for alert in (
        "TempmailDown",
        "TempmailSMTPRejectionSpike",
        "TempmailDeliveryFailures",
        "TempmailDiskNearlyFull",
        "TempmailExpiryStalled",
        "TempmailHTTPErrors",
        "TempmailSlowDeliveries",
        "TempmailRateLimitRedisAway",
    ):
        assert f"- alert: {alert}\n" in text, alert


def test_promtool_accepts_the_alerts_and_their_tests() -> None:
    promtool = _require("promtool")
    checked = _run([promtool, "check", "rules", str(ALERTS)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 8 rules found" in checked.stdout, checked.stdout
    tested = _run([promtool, "test", "rules", ALERT_TESTS.name], cwd=DEPLOY)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_dashboard_is_an_importable_grafana_dashboard() -> None:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    assert dashboard["__inputs"][0]["name"] == "DS_PROMETHEUS"
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
    assert dashboard["schemaVersion"] >= 39
    assert dashboard["id"] is None and dashboard["uid"]
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}


def test_dashboard_names_only_exported_metrics() -> None:
    used = {name for expr in _dashboard_expressions() for name in METRIC_NAME.findall(expr)}
    assert used <= _exported_metric_names(), used - _exported_metric_names()
    families = {name.removesuffix(suffix) for name in used for suffix in ("_bucket", "_total")}
    for shown in (
        "tempmail_messages_accepted",
        "tempmail_messages_rejected",
        "tempmail_delivery_seconds",
        "tempmail_message_size_bytes",
        "tempmail_inboxes_live",
        "tempmail_messages_stored",
        "tempmail_messages_stored_bytes",
        "tempmail_database_bytes",
        "tempmail_data_dir_free_bytes",
        "tempmail_http_requests",
        "tempmail_http_request_seconds",
        "tempmail_rate_limited",
        "tempmail_inboxes_created",
        "tempmail_inboxes_expired",
        "tempmail_inboxes_deleted",
        "tempmail_expiry_pass_seconds",
        "tempmail_expiry_last_success_timestamp_seconds",
    ):
        assert shown in families, f"no panel shows {shown}"


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    promtool = _require("promtool")
    grafana_variables = {"$__rate_interval": "5m", "$instance": ".*"}
    rules = []
    for number, expr in enumerate(_dashboard_expressions()):
        for variable, value in grafana_variables.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{number}", "expr": expr})
    # JSON is YAML, so promtool reads this file as a rules file.
    rules_file = tmp_path / "dashboard-rules.yml"
    rules_file.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = _run([promtool, "check", "rules", str(rules_file)])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_proxies_forward_the_client_and_keep_internal_routes_internal() -> None:
    nginx = re.sub(r"\s*#.*", "", NGINX.read_text())
    assert "proxy_pass http://tempmail_backend;" in nginx
    assert "server 127.0.0.1:8000;" in nginx
    # Set, not appended: a client's own X-Forwarded-For would pick its rate-limit bucket.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "$proxy_add_x_forwarded_for" not in nginx
    # tempmail reads Forwarded first, so the proxy must not pass a client's own.
    assert 'proxy_set_header Forwarded "";' in nginx
    assert "proxy_set_header Host $host;" in nginx
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "client_max_body_size 64k;" in nginx
    assert "proxy_buffering off;" in nginx
    for internal in ("location ^~ /metrics {", "location ^~ /api/v1/admin/ {"):
        block = nginx.split(internal, 1)[1].split("}\n    }", 1)[0]
        assert "return 404;" in block, internal

    caddy = CADDYFILE.read_text()
    assert "reverse_proxy 127.0.0.1:8000" in caddy
    assert "header_up -Forwarded" in caddy
    assert "path /metrics /metrics/* /api/v1/admin/*" in caddy
    assert "respond @private_only 404" in caddy
    assert "max_size 64KiB" in caddy


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    # Debian puts nginx in /usr/sbin, which a user's PATH may lack.
    nginx = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if nginx is None:
        pytest.skip("nginx is not installed (an optional local check)")
    certificate, key = self_signed_certificate(tmp_path, "mail.example.org")
    site = NGINX.read_text().replace(
        "/etc/letsencrypt/live/mail.example.org/fullchain.pem", str(certificate)
    )
    site = site.replace("/etc/letsencrypt/live/mail.example.org/privkey.pem", str(key))
    (tmp_path / "tempmail.conf").write_text(site)
    wrapper = tmp_path / "nginx.conf"
    wrapper.write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"    include {tmp_path}/tempmail.conf;\n"
        "}\n"
    )
    checked = _run([nginx, "-t", "-p", str(tmp_path), "-e", "stderr", "-c", str(wrapper)])
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr and "[emerg]" not in checked.stderr, checked.stderr


def test_caddy_accepts_the_caddyfile(tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (an optional local check)")
    adapted = _run(
        [caddy, "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        environment={**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
    )
    assert adapted.returncode == 0, adapted.stderr
    assert "not formatted" not in adapted.stderr, "run `caddy fmt --overwrite deploy/Caddyfile`"
    config = json.loads(adapted.stdout)
    assert config["apps"]["http"]["servers"]
