PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

CHROMIUM ?= /usr/bin/chromium

.PHONY: venv serve test lint browser clients services bench clean

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

# The POP3 tests drive real clients from Debian (curl, fetchmail); the mail.tm tests drive npm
# packages installed from tests/clients/package-lock.json into tests/clients/node_modules.
CLIENT_TOOLS := curl fetchmail npm
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

# PostgreSQL and Redis tests start throwaway servers from Debian's packages (never a download).
services:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server; \
		else \
			echo "The storage tests need PostgreSQL and Redis: sudo apt-get install postgresql redis-server" >&2; exit 1; \
		fi; \
	fi

test: $(TEST_STAMP) browser clients services
	$(BIN)/ruff check tempmail tests bench
	$(BIN)/mypy
	$(BIN)/pytest --cov=tempmail --cov-report=term-missing:skip-covered --cov-fail-under=90

# The benchmark (see bench/README.md); BENCH="--all" adds MailDev and the scale run.
bench: $(TEST_STAMP)
	$(BIN)/python bench/run.py $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage test-artifacts
