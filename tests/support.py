"""Start real processes on loopback for tests, and stop them cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Poll `url` until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


@contextmanager
def running(
    args: Sequence[str],
    ready_url: str,
    env: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python <args>` in its own process group until the block ends."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=full_env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        try:
            wait_http_ready(ready_url, proc, timeout_s)
        except Exception:
            stop_process(proc)
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"{' '.join(args)} failed to start:\n{stderr[-4000:]}") from None
        yield proc
    finally:
        stop_process(proc)
        if proc.stderr:
            proc.stderr.close()


@contextmanager
def mock_llm(*flags: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the mock LLM on a free port; yield its base URL (ending in /v1)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(["-m", "mock_llm", "--port", str(port), *flags], f"{base}/health", env=env):
        yield f"{base}/v1"


def require_tool(name: str) -> None:
    """Skip a test whose system tool is missing; under CI a missing tool is a failure."""
    if shutil.which(name) is None:
        message = f"{name} is missing: `make test` installs it when run as root"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
