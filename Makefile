# The two commands of the README: `make bench` and `make test`.
# Both bootstrap .venv from the committed lock files when it is missing or stale.

# The interpreter of .venv: empty means the first supported one found (CPython 3.11 to
# 3.13, scripts/find-python.sh); `make PYTHON=python3.12 bench` chooses one.
PYTHON ?=
export PYTHON
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bench test test-fast test-docker test-pythons lint typecheck pytest pytest-behaviour \
	pytest-measures lock venv clean system-deps bytecode

bench: venv bytecode
	$(BIN)/bench run --preset quick

# Lint and types run beside the first part of the tests, which leaves part of a core idle
# (measured from a clean clone: the first part took 4.1 min beside them, 4.8 after
# them). All of `make test` from a clean clone: 6.7 to 7.9 min in five consecutive green
# runs of one commit (2026-12-07; the first part 4.4 to 5.5 min, the machine's speed
# moving between runs). Their output follows the tests' progress.
test: venv system-deps bytecode
	@$(MAKE) --no-print-directory lint typecheck >.checks.log 2>&1 & checks=$$!; \
	$(MAKE) --no-print-directory pytest-behaviour; tests=$$?; \
	wait $$checks; found=$$?; cat .checks.log; rm -f .checks.log; \
	[ $$tests -eq 0 ] && [ $$found -eq 0 ]
	@$(MAKE) --no-print-directory pytest-measures

# While working: lint, types and every test that starts no process (under a minute).
test-fast: venv lint typecheck
	$(BIN)/pytest -m "not process" $(PYTEST_ARGS)

# The compose stack for real: an engine (started here when it can be), the image, both
# profiles, then everything removed again (docs/docker.md). A few minutes.
test-docker: venv system-deps
	bash scripts/docker-engine.sh start
	BENCH_DOCKER_TEST=1 $(BIN)/pytest tests/deploy/test_docker_live.py $(PYTEST_ARGS)

# The locks install and the suite starts on the other supported Pythons (throwaway venvs).
test-pythons:
	bash scripts/check-python.sh 3.12 3.13

system-deps:
	bash scripts/system-deps.sh

# The project's own modules compiled once (under a second): where PYTHONDONTWRITEBYTECODE is set,
# no process writes them, and each of the hundreds of `bench`, server and Locust starts of
# a run or of the tests would compile them again (0.15 s of CPU for bench's).
bytecode: venv
	@$(BIN)/python -m compileall -q -j 0 bench fastapi_app flask_app drf_app mock_llm tests \
		>/dev/null

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

# The suite in two parts. Every test that checks behaviour, on live services that mostly
# wait (for a start-up, for the mock's latency): six files at a time keep the two cores
# about 80 % busy (measured: 4.1 min, against 5.4 with four). Then the tests that assert
# measured figures (rates, latencies, window bounds; marked `measures`): they pin real
# servers and Locust to cores and drive light loads, in four queues side by side with
# nothing else on the cores (scripts/pytest-measures.sh). PYTEST_ARGS reaches both parts.
pytest: pytest-behaviour pytest-measures

pytest-behaviour: venv
	$(BIN)/pytest -n 6 --dist loadfile -m "not measures" $(PYTEST_ARGS)

pytest-measures: venv
	bash scripts/pytest-measures.sh $(BIN)/pytest $(PYTEST_ARGS)

# .venv gets requirements-dev.lock (the runtime lock plus the development tools).
venv:
	@bash scripts/venv.sh

# Two universal locks (every supported Python and platform, in one file each, by
# markers), written by uv, installable by pip: requirements.lock is the runtime set
# (the image installs only it), requirements-dev.lock adds the development tools with the
# runtime versions held to the first (-c). docs/dependencies.md says why.
lock: venv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
		-o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		-c requirements.lock -o requirements-dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
