"""The runner under faults: a worker, a master or the mock killed mid-point, Ctrl-C in any
phase. Each point is recorded with its reason, the run goes on or stops as docs/usage.md
says, and afterwards no process of the run is left and every port is free."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from bench.cli.args import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID
from bench.results import store
from tests.bench.runs import bench
from tests.support import REPO_ROOT, free_port

pytestmark = pytest.mark.process

# The window opens at most Locust's start-up (2 s) + the warm-up (1 s) + 1 s after
# Locust starts, and lasts 5 s: 5.5 s after Locust's log appears is inside it.
WINDOW = ["--duration", "5", "--warmup", "1"]
INSIDE_WINDOW_S = 5.5


class BenchProcess:
    """`bench run` in a subprocess: its output as it comes, every process it started."""

    def __init__(self, out: Path, *args: str) -> None:
        self.out = out
        self.port, self.mock_port = free_port(), free_port()
        ports = ["--port", str(self.port), "--mock-port", str(self.mock_port)]
        self.proc = subprocess.Popen(
            bench("run", "--out", str(out), *ports, "--no-summary", *args),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.seen: dict[int, float] = {}  # every descendant: pid -> start time
        self._done = threading.Event()
        self._threads = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._track, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def _track(self) -> None:
        while not self._done.is_set() and self.proc.poll() is None:
            try:
                children = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for child in children:
                try:
                    self.seen.setdefault(child.pid, child.create_time())
                except psutil.NoSuchProcess:
                    continue
            time.sleep(0.1)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, predicate: Callable[[], Any], timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            assert self.proc.poll() is None, f"bench exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"condition not reached:\n{self.output}"
            time.sleep(0.05)

    def locust_started(self, index: int) -> bool:
        return any(self.out.glob(f"points/{index:03d}-*/locust.log"))

    def finish(self, timeout_s: float = 120) -> int:
        try:
            code = self.proc.wait(timeout=timeout_s)
        finally:
            self._done.set()
            self.proc.kill()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code

    def listening(self) -> set[str]:
        """The addresses the run's processes listen on now."""
        pids = set(self.seen)
        return {
            conn.laddr.ip
            for conn in psutil.net_connections("tcp")
            if conn.status == "LISTEN" and conn.pid in pids and conn.laddr
        }

    def leftovers(self) -> list[str]:
        """Processes this run started that still live, and ports still taken."""
        left = []
        for pid, started in self.seen.items():
            try:
                process = psutil.Process(pid)
                if process.create_time() == started and process.status() != "zombie":
                    left.append(f"pid {pid}: {' '.join(process.cmdline())[:120]}")
            except psutil.NoSuchProcess:
                continue
        for port in (self.port, self.mock_port):
            for conn in psutil.net_connections("tcp"):
                if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN":
                    left.append(f"port {port} still listening (pid {conn.pid})")
        return left


def _listener(port: int) -> psutil.Process:
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN" and conn.pid:
            return psutil.Process(conn.pid)
    raise AssertionError(f"nothing listens on {port}")


def _target(run: BenchProcess) -> psutil.Process:
    """The target's main process (a gunicorn master): the child of bench on its port."""
    for child in psutil.Process(run.proc.pid).children():
        args = child.cmdline()
        if str(run.port) in args or f"127.0.0.1:{run.port}" in args:
            return child
    raise AssertionError(f"no target on port {run.port}")


def _points(out: Path) -> dict[str, dict[str, Any]]:
    return {p["target"]: p for p in store.load_document(out)["points"]}


def test_a_killed_worker_or_master_fails_its_point_and_the_run_goes_on(tmp_path: Path) -> None:
    run = BenchProcess(
        tmp_path / "run",
        "--targets", "flask-gunicorn-sync{workers=2},flask-gunicorn-gthread{workers=2}",
        "--scenarios", "hello", "--users", "5", *WINDOW,
    )  # fmt: skip
    run.wait_for(lambda: run.locust_started(1))
    time.sleep(INSIDE_WINDOW_S)
    _target(run).children()[0].kill()  # one worker: its master starts another
    run.wait_for(lambda: run.locust_started(2))
    time.sleep(INSIDE_WINDOW_S)
    _target(run).kill()  # the master alone: its workers are orphaned
    code = run.finish()
    assert code == EXIT_INVALID, run.output
    points = _points(run.out)
    worker = points["flask-gunicorn-sync{workers=2}"]
    assert worker["status"] == "failed"
    assert "a worker of the target" in worker["failure"] and "died" in worker["failure"]
    master_point = points["flask-gunicorn-gthread{workers=2}"]
    assert master_point["status"] == "failed"
    assert "the target died during the window" in master_point["failure"]
    assert run.leftovers() == []


def test_a_killed_mock_stops_the_run_and_resume_can_finish_it(tmp_path: Path) -> None:
    run = BenchProcess(
        tmp_path / "run",
        "--targets", "fastapi-uvicorn,flask-gunicorn-gthread",
        "--scenarios", "complete", "--users", "5", *WINDOW,
    )  # fmt: skip
    run.wait_for(lambda: run.locust_started(1))
    time.sleep(INSIDE_WINDOW_S)
    _listener(run.mock_port).kill()
    code = run.finish()
    assert code == EXIT_FAILED, run.output
    assert "the mock LLM exited" in run.output and "--resume" in run.output
    points = _points(run.out)
    assert list(points) == ["fastapi-uvicorn"]  # the second target was never started
    assert points["fastapi-uvicorn"]["failure"].startswith("the mock LLM died")
    assert run.leftovers() == []


@pytest.mark.parametrize("phase", ["starting the target", "inside the window"])
def test_ctrl_c_in_any_phase_leaves_nothing_behind(tmp_path: Path, phase: str) -> None:
    run = BenchProcess(
        tmp_path / "run",
        "--targets", "drf-gunicorn-gthread{workers=2}",
        "--scenarios", "complete", "--users", "5", *WINDOW,
    )  # fmt: skip
    if phase == "starting the target":
        run.wait_for(lambda: "starting drf-gunicorn-gthread" in run.output)
        time.sleep(0.5)  # the server is starting (it takes seconds), and is tracked
    else:
        run.wait_for(lambda: run.locust_started(1))
        time.sleep(INSIDE_WINDOW_S)
        # Every server of the run listens on loopback only (nothing told it otherwise).
        assert run.listening() and all(host == "127.0.0.1" for host in run.listening())
    run.proc.send_signal(signal.SIGINT)
    code = run.finish(timeout_s=60)
    assert code == EXIT_INTERRUPTED, run.output
    assert "resume" in run.output
    assert len(run.seen) >= 2  # the mock and the target at least were tracked
    assert run.leftovers() == []
