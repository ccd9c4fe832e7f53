# The two commands of the README: `make bench` and `make test`.
# Both bootstrap .venv from the committed lock file when it is missing or stale.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: bench test test-fast lint typecheck pytest lock venv clean system-deps

bench: $(STAMP)
	$(BIN)/bench run --preset quick

test: $(STAMP) system-deps lint typecheck pytest

# While working: lint, types and every test that starts no process (under a minute).
test-fast: $(STAMP) lint typecheck
	$(BIN)/pytest -m "not process" $(PYTEST_ARGS)

system-deps:
	bash scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

venv: $(STAMP)

# The lock is plain requirements syntax with exact versions, written by uv
# (`make lock`) and installed by pip, so bootstrapping needs nothing but Python.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
