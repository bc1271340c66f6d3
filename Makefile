PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv serve test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

serve: $(STAMP)
	$(BIN)/tempmail serve

lint: $(STAMP)
	$(BIN)/ruff check tempmail tests
	$(BIN)/ruff format --check tempmail tests
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/ruff check tempmail tests
	$(BIN)/mypy
	$(BIN)/pytest --cov=tempmail --cov-report=term-missing:skip-covered --cov-fail-under=90

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage test-artifacts
