"""The figures of the live Docker test, printed at the end of `make test-docker`."""

from __future__ import annotations

import pytest

FIGURES = pytest.StashKey[dict[str, str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FIGURES] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    figures = terminalreporter.config.stash.get(FIGURES, {})
    if figures:
        terminalreporter.section("docker figures")
        for name, value in figures.items():
            terminalreporter.write_line(f"{name}: {value}")
