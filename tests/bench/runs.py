"""Command lines for running `bench` in a subprocess from the tests, and a reader of
the live view's event stream."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support import REPO_ROOT, free_port, stop_process


def bench(*args: str) -> list[str]:
    """Return the command line of `bench <args>` with this interpreter."""
    return [sys.executable, "-m", "bench.cli", *args]


def free_ports() -> list[str]:
    """Return --port and --mock-port flags naming two free ports."""
    return ["--port", str(free_port()), "--mock-port", str(free_port())]


class Events:
    """The lines of one live view's /events stream, each with the time it arrived."""

    def __init__(self, url: str) -> None:
        self.lines: list[tuple[float, str]] = []
        self.thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self.thread.start()

    def _read(self, url: str) -> None:
        with httpx.stream("GET", url, timeout=60) as response:
            for line in response.iter_lines():
                self.lines.append((time.time(), line))

    def snapshots(self) -> list[tuple[float, dict]]:
        data = [(at, line[6:]) for at, line in self.lines if line.startswith('data: {"title"')]
        return [(at, json.loads(text)) for at, text in data]


def wait_for_view(url: str, proc: subprocess.Popen[str]) -> None:
    """Until the live view at `url` answers (while `proc`, the run serving it, lives)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "state", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the live view did not answer")


@contextmanager
def watched(command: list[str], url: str) -> Iterator[tuple[subprocess.Popen[str], Events]]:
    """Start `command` (a `bench` run serving its live view at `url`) in its own session,
    and yield it with the view's event stream once the view answers; stop it on the way
    out if it still runs."""
    proc = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_view(url, proc)
        yield proc, Events(url + "events")
    finally:
        stop_process(proc)  # type: ignore[arg-type]  # only if it is still running
