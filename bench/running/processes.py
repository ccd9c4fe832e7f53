"""Start, watch and stop the processes of a run: pinned, grouped, never orphaned."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.running.cpus import child_setup
from bench.running.environment import REPO_ROOT


class Supervisor:
    """Owns every child process of a run and stops them all, whatever happens."""

    def __init__(self) -> None:
        self._children: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        args: Sequence[str],
        cpus: Sequence[int],
        env: dict[str, str],
        log: Path,
        python: str | None = None,
    ) -> subprocess.Popen[bytes]:
        """Run `python <args>` pinned to `cpus`, in its own process group, logging to `log`.

        `python` is another interpreter (a package variant's); None is this one.
        """
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            proc = subprocess.Popen(
                [python or sys.executable, *args],
                cwd=REPO_ROOT,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Affinity is inherited by every worker the server forks.
                preexec_fn=child_setup(cpus),  # noqa: PLW1509
            )
        self._children.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after `timeout_s`; reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # Workers that outlived their parent are still in the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self._children:
            self._children.remove(proc)

    def stop_all(self) -> None:
        """Stop every child still running (newest first)."""
        for proc in reversed(list(self._children)):
            self.stop(proc)


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout_s: float = 60.0) -> None:
    """Poll `url` until it answers 200; raise RuntimeError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode} before answering {url}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Return True when nothing listens on host:port."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_port_free(port: int, timeout_s: float = 15.0) -> bool:
    """Wait until a stopped server's port can be bound again."""
    deadline = time.monotonic() + timeout_s
    while not port_is_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def log_tail(log: Path, lines: int = 12) -> str:
    """Return the last lines of a log file, for a failure's reason."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
