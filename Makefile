# keytrade: `make run` starts everything on embedded defaults, `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install install-dev lint fmt migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

var/local.env: | $(BIN)/python
	$(BIN)/python keytrade/localkeys.py

migrate: install var/local.env
	$(BIN)/python manage.py migrate --no-input

run: migrate
	$(BIN)/python manage.py ensure_admin
	@echo "keytrade on http://127.0.0.1:8000 (Ctrl-C stops web, worker and beat)"
	$(BIN)/honcho -f Procfile start

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=keytrade.settings_test
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install-dev var/local.env
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
