"""Watch a measurement window for the processes it depends on: the target, its workers,
the mock. A window in which one of them died measured something else than it says.

- The target's main process exiting ends the window: nothing answers any more.
- A worker dying (SIGKILL, the OOM killer, gunicorn's worker timeout) does not: its
  master starts another, and the window goes on with failed requests and a fresh,
  cold worker mixed in. The point is recorded as failed, naming the worker.
- The mock dying ends the window, and the run: every later point would measure 502s.
"""

from __future__ import annotations

import subprocess
import time

import psutil

POLL_S = 0.2


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _workers(proc: subprocess.Popen[bytes] | None) -> dict[int, float]:
    """The target's child processes now, by pid, with their start times."""
    if proc is None:
        return {}
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return {}
    found = {}
    for child in children:
        try:
            found[child.pid] = child.create_time()
        except psutil.NoSuchProcess:
            continue
    return found


class WindowWatch:
    """Checks, until a deadline, that the target, its workers and the mock stay alive."""

    def __init__(self, server: subprocess.Popen[bytes] | None, mock_pid: int | None) -> None:
        self.server = server
        self.mock_pid = mock_pid
        self.workers = _workers(server)
        self.problem: str | None = None
        self.mock_died = False

    def until(self, deadline: float) -> str | None:
        """Sleep until `deadline`; return early with the reason when something died."""
        while (remaining := deadline - time.time()) > 0:
            self.problem = self.check()
            if self.problem is not None:
                return self.problem
            time.sleep(min(POLL_S, remaining))
        return None

    def check(self) -> str | None:
        """The reason the window is spoiled, or None."""
        if self.server is not None and self.server.poll() is not None:
            return f"the target died during the window (exit {self.server.returncode})"
        if self.mock_pid is not None and not _alive(self.mock_pid):
            self.mock_died = True
            return "the mock LLM died during the window"
        for pid in self.workers:
            if not _alive(pid):
                return (
                    f"a worker of the target (pid {pid}) died during the window; its "
                    "requests failed and a fresh worker served the rest"
                )
        return None
