"""`bench run`: start the mock and each target, verify, measure every point, store it.

The data flow (docs/architecture.md): plan -> mock -> target -> verify -> for each load:
warm-up, then a window driven by Locust while the server tree, the generator and the
mock are sampled -> analyse -> append to results.json (atomic) -> next target.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from bench.results import analysis, store
from bench.results.model import MockInfo, Point, Run, RunInfo, Skipped
from bench.running import environment
from bench.running.measure import PointRun, PointTask, Server
from bench.running.plan import Plan
from bench.running.processes import Supervisor, log_tail, wait_port_free, wait_ready
from bench.running.targets import Target
from bench.running.verify import verify

MOCK_KEY = "sk-mock-local"
# Between points: how long the server must look idle, and how long to wait for that
# before restarting it instead.
QUIET_PAUSE_S = 0.5
QUIET_TIMEOUT_S = 8.0


@dataclass
class Options:
    """How to run a plan on this machine (not part of what is measured)."""

    out: Path
    port: int = 8000
    mock_port: int = 8900
    target_url: str | None = None
    mock_url: str | None = None
    command: list[str] = field(default_factory=lambda: list(sys.argv))


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; everything is stopped and finished points are kept."""


Progress = Callable[[str, PointTask | None], None]


def new_run_id() -> str:
    """Return a sortable run id: UTC time to the second."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")


def now_iso() -> str:
    """The current UTC time, to the second, as the results file writes times."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_run(plan: Plan, options: Options) -> Run:
    """Return the results document of a run that has not measured anything yet."""
    return Run(
        schema_version=store.SCHEMA_VERSION,
        info=RunInfo(
            id=options.out.name,
            started_at=now_iso(),
            finished_at=None,
            command=" ".join(options.command),
            preset=plan.preset,
            git_commit=environment.git_commit(),
            target_url=options.target_url,
        ),
        environment=environment.capture(plan.server_cpus, plan.load_cpus),
        mock=MockInfo(
            ttft_ms=plan.mock.ttft_ms,
            itl_ms=plan.mock.itl_ms,
            output_tokens=plan.mock.tokens,
            answer_latency_ms=plan.mock.latency_ms(),
            external=options.mock_url is not None,
        ),
        plan=plan.to_dict(),
    )


class Runner:
    """Measures a plan; writes results.json after every point."""

    def __init__(self, plan: Plan, options: Options, run: Run | None = None):
        self.plan = plan
        self.options = options
        self.supervisor = Supervisor()
        self.path = options.out / store.RESULTS_NAME
        self.run = run or new_run(plan, options)
        self.mock_base = options.mock_url or f"http://127.0.0.1:{options.mock_port}"
        self._mock_proc: subprocess.Popen[bytes] | None = None

    @property
    def points(self) -> list[Point]:
        return self.run.points

    def _save(self) -> None:
        analysis.finish(self.run.points)
        store.save(self.path, self.run)

    def tasks(self) -> list[PointTask]:
        """The points still to measure (those already in the results are kept on --resume)."""
        done = {(p.target, p.scenario, p.load, p.repetition) for p in self.run.points}
        tasks = [PointTask(*spec) for spec in self.plan.points()]
        return [task for task in tasks if task.key() not in done]

    # --- the run -------------------------------------------------------------------

    def execute(self, progress: Progress) -> Run:
        """Measure every remaining point; stop everything on the way out."""
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def interrupt(signum: int, _frame: FrameType | None) -> None:
            raise Interrupted(signal.Signals(signum).name)

        signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)
        try:
            self._save()
            tasks = self.tasks()
            if tasks:
                self._start_mock()
            by_target: dict[str, list[PointTask]] = {}
            for task in tasks:
                by_target.setdefault(task.target.name, []).append(task)
            for target_tasks in by_target.values():
                self._run_target(target_tasks, progress)
            self.run.info.finished_at = now_iso()
            self._save()
        finally:
            self.supervisor.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return self.run

    def _start_mock(self) -> None:
        if self.options.mock_url:
            return
        mock = self.plan.mock
        args = [
            "-m", "mock_llm",
            "--port", str(self.options.mock_port),
            "--api-key", MOCK_KEY,
            "--ttft-ms", str(mock.ttft_ms),
            "--itl-ms", str(mock.itl_ms),
            "--output-tokens", str(mock.tokens),
        ]  # fmt: skip
        log = self.options.out / "logs" / "mock.log"
        self._mock_proc = self.supervisor.start(args, self.plan.load_cpus, {}, log)
        try:
            wait_ready(f"{self.mock_base}/health", self._mock_proc, timeout_s=30)
        except RuntimeError as exc:
            raise RuntimeError(f"the mock LLM did not start: {exc}\n{log_tail(log)}") from None

    def _counts(self, target: Target) -> tuple[int, int]:
        cores = len(self.plan.server_cpus)
        workers = target.workers or self.plan.workers or target.default_workers(cores)
        threads = target.threads or self.plan.threads or target.default_threads()
        return workers, threads

    def _skip(self, target: Target, reason: str, progress: Progress) -> None:
        self.run.info.skipped_targets.append(Skipped(target.name, reason))
        self._save()
        progress(f"skipped {target.name}: {reason.splitlines()[0]}", None)

    def _start_target(
        self, target: Target, workers: int, threads: int, log: Path
    ) -> subprocess.Popen[bytes]:
        """Start the target's server pinned to the server cores; wait until it answers."""
        if not wait_port_free(self.options.port):
            raise RuntimeError(f"port {self.options.port} stayed busy")
        env = {
            "LLM_BASE_URL": f"{self.mock_base}/v1",
            "LLM_API_KEY": MOCK_KEY,
            **dict(target.env),
        }
        args = target.command(self.options.port, workers, threads)
        proc = self.supervisor.start(args, self.plan.server_cpus, env, log)
        try:
            wait_ready(f"http://127.0.0.1:{self.options.port}/health", proc)
        except RuntimeError as exc:
            self.supervisor.stop(proc)
            raise RuntimeError(f"did not start: {exc}\n{log_tail(log)}") from None
        return proc

    def _quiet(self, timeout_s: float = QUIET_TIMEOUT_S) -> bool:
        """Wait until the previous point's leftovers have left the server.

        When Locust stops, requests it abandoned may still sit in the server's queue (a
        sync worker serves every accepted connection, even a closed one), and they would
        steal the next window. Quiet means the mock sees nothing in flight and no new
        answers for a while; hello never reaches the mock, so a short pause covers it.
        """
        time.sleep(QUIET_PAUSE_S)
        deadline = time.monotonic() + timeout_s
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            try:
                stats = httpx.get(f"{self.mock_base}/stats", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                return True  # no mock to ask (an external deployment without --mock-url)
            now = time.monotonic()
            if stats["in_flight"] or stats["completed"] != last:
                last, since = stats["completed"], now
            elif now - since >= QUIET_PAUSE_S:
                return True
            time.sleep(0.1)
        return False

    def _launch(
        self, target: Target, scenarios: tuple[str, ...], progress: Progress
    ) -> Server | None:
        """Start the target (unless external) and verify it; None when it was skipped."""
        workers, threads = self._counts(target)
        log = self.options.out / "logs" / f"{target.name}.log"
        proc = None
        base = self.options.target_url
        if base is None:
            args = target.command(self.options.port, workers, threads)
            progress(f"starting {target.name}: python {' '.join(args)}", None)
            try:
                proc = self._start_target(target, workers, threads, log)
            except RuntimeError as exc:
                self._skip(target, str(exc), progress)
                return None
            base = f"http://127.0.0.1:{self.options.port}"
        failures = verify(base, target.framework, scenarios, self.plan.mock.tokens)
        if failures:
            self._skip(target, "failed verification: " + "; ".join(failures), progress)
            if proc is not None:
                self.supervisor.stop(proc)
            return None
        return Server(base, proc, workers, threads, log)

    def _restart(self, server: Server, target: Target, progress: Progress) -> Server | None:
        """Restart a server that the previous point left busy; None if it did not restart."""
        progress(f"restarting {target.name}: the previous point left it busy", None)
        if server.proc is not None:
            self.supervisor.stop(server.proc)
        try:
            proc = self._start_target(target, server.workers, server.threads, server.log)
        except RuntimeError as exc:
            progress(f"{target.name} did not restart: {exc}", None)
            return None
        return Server(server.base_url, proc, server.workers, server.threads, server.log)

    def _run_target(self, tasks: list[PointTask], progress: Progress) -> None:
        target = tasks[0].target
        scenarios = tuple(sorted({task.scenario for task in tasks}))
        server = self._launch(target, scenarios, progress)
        if server is None:
            return
        try:
            for index, task in enumerate(tasks):
                if index and not self._quiet() and server.proc is not None:
                    # Cheaper than waiting out a queue of abandoned requests.
                    restarted = self._restart(server, target, progress)
                    if restarted is None:
                        break
                    server = restarted
                progress(task.label(), task)
                point = self._point_run(task).measure(server)
                self._annotate(point)
                self.run.points.append(point)
                self._save()
                if not point.ok and server.died():
                    progress(f"{target.name} died: {(point.failure or '').splitlines()[0]}", None)
                    break
        finally:
            if server.proc is not None:
                self.supervisor.stop(server.proc)

    def _point_run(self, task: PointTask) -> PointRun:
        index = len(self.run.points) + 1
        name = (
            f"{index:03d}-{task.target.name}-{task.scenario}-{task.load.mode}"
            f"{task.load.amount:g}-r{task.repetition}"
        )
        folder = self.options.out / "points" / name
        mock_pid = self._mock_proc.pid if self._mock_proc else None
        return PointRun(self.plan, self.supervisor, task, folder, self.mock_base, mock_pid)

    def _annotate(self, point: Point) -> None:
        if self.options.target_url and point.ok:
            point.warnings.append(analysis.external_target_warning())


def run_folder(out: str | None) -> Path:
    """Return the folder for a new run (results/<run-id>/ by default)."""
    if out:
        return Path(out)
    return environment.REPO_ROOT / "results" / new_run_id()
