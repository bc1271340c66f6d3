PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

CHROMIUM ?= /usr/bin/chromium

.PHONY: venv serve test lint browser services bench clean

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

test: $(TEST_STAMP) browser services
	$(BIN)/ruff check tempmail tests bench
	$(BIN)/mypy
	$(BIN)/pytest --cov=tempmail --cov-report=term-missing:skip-covered --cov-fail-under=90

# The benchmark (see bench/README.md); BENCH="--all" adds MailDev and the scale run.
bench: $(TEST_STAMP)
	$(BIN)/python bench/run.py $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage test-artifacts
