"""Command lines for running `bench` in a subprocess from the tests."""

from __future__ import annotations

import sys

from tests.support import free_port


def bench(*args: str) -> list[str]:
    """Return the command line of `bench <args>` with this interpreter."""
    return [sys.executable, "-m", "bench.cli", *args]


def free_ports() -> list[str]:
    """Return --port and --mock-port flags naming two free ports."""
    return ["--port", str(free_port()), "--mock-port", str(free_port())]
