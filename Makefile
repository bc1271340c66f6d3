PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

CHROMIUM ?= /usr/bin/chromium

.PHONY: venv serve test lint browser clients services containers bench clean lock wheels

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

venv: $(TEST_STAMP)

serve: $(RUN_STAMP)
	$(BIN)/tempmail serve

lint: $(TEST_STAMP)
	$(BIN)/ruff check tempmail tests bench
	$(BIN)/ruff format --check tempmail tests bench
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "The browser tests need Debian's Chromium: sudo apt-get install chromium" >&2; exit 1; \
		fi; \
	fi

# The POP3 tests drive real clients from Debian, curl and fetchmail; the SMTP surface tests swaks,
# a pipelining SMTP client; the mail.tm tests drive npm packages installed from
# tests/clients/package-lock.json into tests/clients/node_modules.
CLIENT_TOOLS := curl fetchmail swaks npm
clients:
	@missing=""; for tool in $(CLIENT_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "The client tests need Debian's$$missing: sudo apt-get install$$missing" >&2; exit 1; \
		fi; \
	fi
	@[ -f tests/clients/node_modules/.package-lock.json ] || \
		npm ci --no-audit --no-fund --prefix tests/clients

# PostgreSQL, Redis and HAProxy tests start throwaway servers from Debian's packages (never a
# download, never a system service).
services:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "The scale-out tests need:$$missing (sudo apt-get install$$missing)" >&2; exit 1; \
		fi; \
	fi

# The container tests build and run the image with Debian's podman on a debootstrapped base;
# `podman kube play` of the Kubernetes demo needs catatonit for its pods' pause image.
CONTAINER_TOOLS := podman buildah runc catatonit debootstrap docker-compose haproxy iptables
containers:
	@missing=""; \
	for tool in $(CONTAINER_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	[ -x /usr/lib/cni/bridge ] || missing="$$missing containernetworking-plugins"; \
	[ -x /usr/lib/cni/dnsname ] || missing="$$missing golang-github-containernetworking-plugin-dnsname"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "The container tests skip without:$$missing (sudo apt-get install them)" >&2; \
		fi; \
	fi

test: $(TEST_STAMP) browser clients services containers
	$(BIN)/ruff check tempmail tests bench
	$(BIN)/mypy
	$(BIN)/pytest --cov=tempmail --cov-report=term-missing:skip-covered --cov-fail-under=90

# The benchmark (see bench/README.md); BENCH="--all" adds MailDev and the scale run.
bench: $(TEST_STAMP)
	$(BIN)/python bench/run.py $(BENCH)

# The container image installs exactly these pins, hashes checked (`make serve` keeps the ranges in
# pyproject.toml). A universal resolution keeps the markers, so one lock fits Debian's Python 3.11.2
# as well as the newest 3.11 (redis needs async-timeout before 3.11.3).
UV_COMPILE := UV_NATIVE_TLS=1 $(BIN)/uv pip compile --quiet --universal --python-version 3.11 \
	--generate-hashes --upgrade --custom-compile-command "make lock"
BUILD_REQUIRES := import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")

lock: $(BIN)/python
	$(BIN)/pip install --quiet 'uv>=0.5'
	$(UV_COMPILE) --output-file requirements.lock pyproject.toml
	$(BIN)/python -c '$(BUILD_REQUIRES)' | $(UV_COMPILE) --output-file requirements-build.lock -

# The locked wheels for an offline image build (the Dockerfile then uses no index). pip download
# judges markers by the Python it runs on, so they are dropped: every pin's wheel is fetched for
# the image's Python (WHEELS_PYTHON) and the image's pip picks what its Python needs.
WHEELS_PYTHON ?= 3.11
wheels: $(BIN)/python
	mkdir -p wheels
	sed -E 's/ ;[^\\]*/ /' requirements.lock requirements-build.lock > wheels/requirements.txt
	env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
		$(BIN)/pip download --quiet --require-hashes --no-deps --only-binary=:all: \
		--python-version $(WHEELS_PYTHON) --dest wheels -r wheels/requirements.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage test-artifacts wheels
