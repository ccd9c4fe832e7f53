"""Start real processes on loopback for tests, and stop them cleanly."""

from __future__ import annotations

import csv
import os
import random
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


# Listening ports come from below the kernel's ephemeral range (32768-60999 on Linux),
# where no outgoing connection takes its local port: a port handed out for port 0 was
# once taken again that way, between this check and a bench run's bind (the tests open
# thousands of connections a second side by side). Each test process walks a slice of
# its own, port after port: drawn at random from one range, two xdist workers drew the
# same port within the second before either server bound it.
LISTEN_PORTS = range(20_000, 32_768)
PORT_SLICES = 12  # xdist workers gw0-gw5, the measured queues (TEST_PORTS_SLICE 6-9), any other
PORTS_SLICE = "TEST_PORTS_SLICE"  # set by scripts/pytest-measures.sh for its queues


def _slice() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else None
    if index is None:
        index = int(os.environ.get(PORTS_SLICE, PORT_SLICES - 1))
    size = len(LISTEN_PORTS) // PORT_SLICES
    start = LISTEN_PORTS.start + (index % PORT_SLICES) * size
    return range(start, start + size)


def _ports() -> Iterator[int]:
    ports = _slice()
    first = random.SystemRandom().randrange(len(ports))  # a re-run starts elsewhere
    while True:
        for k in range(len(ports)):
            yield ports[(first + k) % len(ports)]


_NEXT_PORT = _ports()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now, and that no other
    test process and no earlier call of this one hands out (until its slice wraps)."""
    for _ in range(len(LISTEN_PORTS) // PORT_SLICES):
        port = next(_NEXT_PORT)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this test process's slice of " + str(LISTEN_PORTS))


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
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python <args>` in its own process group until the block ends.

    Its stderr is a pipe (`proc.stderr`), or the file `log` when given: a file never
    fills up and blocks a chatty server, and can be read while it runs.
    """
    full_env = {**os.environ, **(env or {})}
    log_file = log.open("wb") if log else None
    try:
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env=full_env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log_file or subprocess.PIPE,
        )
    finally:
        if log_file:
            log_file.close()  # the child has its own descriptor
    try:
        try:
            wait_http_ready(ready_url, proc, timeout_s)
        except Exception:
            stop_process(proc)
            stderr = proc.stderr.read() if proc.stderr else log.read_bytes() if log else b""
            output = stderr.decode(errors="replace")[-4000:]
            raise RuntimeError(f"{' '.join(args)} failed to start:\n{output}") from None
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


REQUEST_LOG_COLUMNS = [
    "request_id",
    "received_at",
    "first_token_at",
    "ended_at",
    "status",
    "stream",
    "tokens",
    "fault",
]


def request_log(path: Path) -> list[dict[str, str]]:
    """Return the rows of a mock's request log (--request-log), checking its one header."""
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        assert reader.fieldnames == REQUEST_LOG_COLUMNS, reader.fieldnames
        rows = list(reader)
    assert all(None not in row and len(row) == len(REQUEST_LOG_COLUMNS) for row in rows), rows
    return rows


def logged_calls(
    path: Path, ids: Sequence[str], timeout_s: float = 5.0
) -> dict[str, dict[str, str]]:
    """Wait until the mock's request log has a line for each of `ids`; return those by ID.

    The mock writes its lines at most a second after each call ends.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        found = {row["request_id"]: row for row in request_log(path) if row["request_id"] in ids}
        if len(found) == len(set(ids)) or time.monotonic() > deadline:
            assert sorted(found) == sorted(set(ids)), sorted(set(ids) - set(found))
            return found
        time.sleep(0.1)


def require_tool(name: str) -> None:
    """Skip a test whose system tool is missing; under CI a missing tool is a failure."""
    if shutil.which(name) is None:
        message = f"{name} is missing: `make test` installs it when run as root"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
