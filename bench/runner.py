"""`bench run`: start the mock and each target, verify, measure every point, store it.

The data flow of ARCHITECTURE.md: plan -> mock -> target -> verify -> for each load:
warm-up, then a window driven by Locust while the server tree, the generator and
the mock are sampled -> analyse -> append to results.json (atomic) -> next target.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench import analysis, environment, results
from bench.plan import Load, Plan
from bench.processes import Supervisor, log_tail, wait_port_free, wait_ready
from bench.resources import TreeSampler
from bench.targets import Target
from bench.verify import verify

LOCUSTFILES = environment.REPO_ROOT / "bench" / "locustfiles"
# Locust needs about a second to import and start; the window opens after this
# margin plus the warm-up, on the wall clock shared by every process.
LOCUST_STARTUP_S = 2.0
LOCUST_TAIL_S = 1.5
# Locust workers report to their master every 3 s, and a master that quits waits only
# 0.5 s for their last reports: with several processes the window must close a whole
# report period before the run does.
LOCUST_TAIL_DISTRIBUTED_S = 3.5
# Master mode: workers elsewhere connect when the master binds; allow them this long.
LOCUST_MASTER_STARTUP_S = 8.0
MASTER_WAIT_S = 60.0
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


@dataclass
class PointTask:
    """One point to measure."""

    target: Target
    scenario: str
    load: Load
    repetition: int

    def key(self) -> tuple[str, str, str, float, int]:
        return (
            self.target.name,
            self.scenario,
            self.load.mode,
            float(self.load.amount),
            self.repetition,
        )

    def label(self) -> str:
        return f"{self.target.name} · {self.scenario} · {self.load.label()} · rep {self.repetition}"


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; everything is stopped and finished points are kept."""


Progress = Callable[[str, PointTask | None], None]


def new_run_id() -> str:
    """Return a sortable run id: UTC time to the second."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Runner:
    """Measures a plan; writes results.json after every point."""

    def __init__(self, plan: Plan, options: Options, document: dict[str, Any] | None = None):
        self.plan = plan
        self.options = options
        self.supervisor = Supervisor()
        self.path = options.out / results.RESULTS_NAME
        self.document = document or self._new_document()
        self.mock_base = options.mock_url or f"http://127.0.0.1:{options.mock_port}"
        self._mock_proc: subprocess.Popen[bytes] | None = None

    # the document
    def _new_document(self) -> dict[str, Any]:
        return {
            "schema_version": results.SCHEMA_VERSION,
            "run": {
                "id": self.options.out.name,
                "started_at": _now_iso(),
                "finished_at": None,
                "command": " ".join(self.options.command),
                "preset": self.plan.preset,
                "git_commit": environment.git_commit(),
                "target_url": self.options.target_url,
                "skipped_targets": [],
            },
            "environment": environment.capture(self.plan.server_cpus, self.plan.load_cpus),
            "mock": {
                "ttft_ms": self.plan.mock.ttft_ms,
                "itl_ms": self.plan.mock.itl_ms,
                "output_tokens": self.plan.mock.tokens,
                "jitter": 0.0,
                "error_rate": 0.0,
                "answer_latency_ms": self.plan.mock.latency_ms(),
                "external": self.options.mock_url is not None,
            },
            "plan": self.plan.to_dict(),
            "points": [],
        }

    def _save(self) -> None:
        analysis.repetition_warnings(self.document["points"])
        analysis.calibration_warnings(self.document["points"])
        for point in self.document["points"]:
            point["valid"] = point["status"] == "ok" and not any(
                w.startswith("INVALID") for w in point["warnings"]
            )
        results.write_atomic(self.path, self.document)

    def done_keys(self) -> set[tuple[str, str, str, float, int]]:
        """Points already in the document (skipped on --resume)."""
        return {results.point_key(p) for p in self.document["points"]}

    def tasks(self) -> list[PointTask]:
        """The points still to measure."""
        done = self.done_keys()
        tasks = [PointTask(*spec) for spec in self.plan.points()]
        return [task for task in tasks if task.key() not in done]

    # the run
    def run(self, progress: Progress) -> dict[str, Any]:
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
            self.document["run"]["finished_at"] = _now_iso()
            self._save()
        finally:
            self.supervisor.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return self.document

    def _start_mock(self) -> None:
        if self.options.mock_url:
            return
        mock = self.plan.mock
        args = [
            "-m",
            "mock_llm",
            "--port",
            str(self.options.mock_port),
            "--api-key",
            MOCK_KEY,
            "--ttft-ms",
            str(mock.ttft_ms),
            "--itl-ms",
            str(mock.itl_ms),
            "--output-tokens",
            str(mock.tokens),
        ]
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
        self.document["run"]["skipped_targets"].append({"target": target.name, "reason": reason})
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

    def _run_target(self, tasks: list[PointTask], progress: Progress) -> None:
        target = tasks[0].target
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
                return
            base = f"http://127.0.0.1:{self.options.port}"
        scenarios = tuple(sorted({task.scenario for task in tasks}))
        failures = verify(base, target.framework, scenarios, self.plan.mock.tokens)
        if failures:
            self._skip(target, "failed verification: " + "; ".join(failures), progress)
            if proc is not None:
                self.supervisor.stop(proc)
            return
        try:
            for index, task in enumerate(tasks):
                if index and not self._quiet() and proc is not None:
                    # Cheaper than waiting out a queue of abandoned requests.
                    progress(f"restarting {target.name}: the previous point left it busy", None)
                    self.supervisor.stop(proc)
                    try:
                        proc = self._start_target(target, workers, threads, log)
                    except RuntimeError as exc:
                        progress(f"{target.name} did not restart: {exc}", None)
                        break
                progress(task.label(), task)
                point = self._measure(task, base, proc, workers, threads)
                self.document["points"].append(point)
                self._save()
                if point["status"] == "failed" and proc is not None and proc.poll() is not None:
                    progress(f"{target.name} died: {point['failure']}", None)
                    break
        finally:
            if proc is not None:
                self.supervisor.stop(proc)

    def _locust_command(
        self, task: PointTask, base: str, users: int, run_s: float, csv_prefix: Path
    ) -> list[str]:
        args = [
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILES / f"{task.scenario}.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(users, 50)),
            "--run-time",
            f"{math.ceil(run_s)}s",
            "--host",
            base,
            "--csv",
            str(csv_prefix),
            "--loglevel",
            "WARNING",
        ]
        if self.plan.expect_workers:
            args += [
                "--master", "--expect-workers", str(self.plan.expect_workers),
                "--expect-workers-max-wait", str(int(MASTER_WAIT_S)),
                "--master-bind-host", self.plan.master_bind_host,
                "--master-bind-port", str(self.plan.master_port),
            ]  # fmt: skip
        elif self.plan.locust_processes > 1:
            args += ["--processes", str(self.plan.locust_processes)]
        return args

    def _users_for(self, task: PointTask) -> tuple[int, dict[str, str]]:
        """Return Locust's user count and pacing for the task's load."""
        if task.load.mode == "users":
            return int(task.load.amount), {}
        # Paced open loop: enough users that each waits far longer than a response takes.
        latency_s = 0.05 if task.scenario == "hello" else self.plan.mock.latency_ms() / 1000
        users = min(max(math.ceil(task.load.amount * (latency_s * 3 + 0.05)), 10), 5000)
        return users, {"BENCH_RATE_PER_USER": f"{task.load.amount / users:.6f}"}

    def _mock_completed(self) -> int | None:
        try:
            stats = httpx.get(f"{self.mock_base}/stats", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return None
        return int(stats["completed"])

    def _measure(
        self,
        task: PointTask,
        base: str,
        proc: subprocess.Popen[bytes] | None,
        workers: int,
        threads: int,
    ) -> dict[str, Any]:
        plan = self.plan
        index = len(self.document["points"]) + 1
        folder = (
            self.options.out
            / "points"
            / (
                f"{index:03d}-{task.target.name}-{task.scenario}-{task.load.mode}"
                f"{task.load.amount:g}-r{task.repetition}"
            )
        )
        folder.mkdir(parents=True, exist_ok=True)
        users, pacing = self._users_for(task)
        startup = LOCUST_MASTER_STARTUP_S if plan.expect_workers else LOCUST_STARTUP_S
        start = time.time() + startup + plan.warmup_s
        end = start + plan.duration_s
        distributed = plan.locust_processes > 1 or plan.expect_workers
        tail = LOCUST_TAIL_DISTRIBUTED_S if distributed else LOCUST_TAIL_S
        run_s = startup + plan.warmup_s + plan.duration_s + tail
        result_file = folder / "locust.json"
        env = {
            "BENCH_WINDOW_START": f"{start:.6f}",
            "BENCH_WINDOW_END": f"{end:.6f}",
            "BENCH_RESULT_FILE": str(result_file),
            "BENCH_MAX_TOKENS": str(plan.mock.tokens),
            "BENCH_EXPECTED_TOKENS": str(plan.mock.tokens),
            **pacing,
        }
        args = self._locust_command(task, base, users, run_s, folder / "locust")
        locust = self.supervisor.start(args, plan.load_cpus, env, folder / "locust.log")
        samplers: dict[str, TreeSampler] = {}
        try:
            _sleep_until(start)
            calls_before = self._mock_completed()
            for name, pid in (
                ("server", proc.pid if proc else None),
                ("generator", locust.pid),
                ("mock", self._mock_proc.pid if self._mock_proc else None),
            ):
                if pid is not None:
                    samplers[name] = TreeSampler(pid)
                    samplers[name].start()
            died = _watch_until(end, proc)
            usage = {name: sampler.stop() for name, sampler in samplers.items()}
            calls_after = self._mock_completed()
            try:
                locust.wait(timeout=run_s + 30 + (MASTER_WAIT_S if plan.expect_workers else 0))
            except subprocess.TimeoutExpired:
                self.supervisor.stop(locust)
        finally:
            for sampler in samplers.values():
                sampler.stop()
            self.supervisor.stop(locust)
        identity = self._identity(task, workers, threads, users)
        if died or (proc is not None and proc.poll() is not None):
            reason = f"the target died during the window (exit {proc.poll() if proc else '?'})"
            return self._failed(
                identity,
                reason + "\n" + log_tail(self.options.out / "logs" / f"{task.target.name}.log"),
            )
        try:
            locust_doc = json.loads(result_file.read_text())
        except (OSError, ValueError):
            return self._failed(
                identity, "Locust wrote no results:\n" + log_tail(folder / "locust.log")
            )
        upstream = (
            calls_after - calls_before
            if calls_before is not None and calls_after is not None
            else None
        )
        window = analysis.Window(
            scenario=task.scenario,
            mode=task.load.mode,
            users=users,
            rate=task.load.amount if task.load.mode == "rate" else None,
            window_s=plan.duration_s,
            locust=locust_doc,
            server_cpu_pct=usage["server"][0] if "server" in usage else None,
            server_rss_mb=usage["server"][1] if "server" in usage else None,
            generator_cpu_pct=usage["generator"][0],
            mock_cpu_pct=usage["mock"][0] if "mock" in usage else None,
            upstream_calls=upstream if task.scenario != "hello" else None,
            upstream_latency_ms=plan.mock.latency_ms(),
            model_concurrency=_model_concurrency(task.target, workers, threads),
        )
        measured = analysis.analyse(window)
        if self.options.target_url:
            measured["warnings"].append(
                "external target: workers and threads are the target's defaults for the "
                "given server cores, not read from the deployment; server CPU not measured"
            )
        server = {"model": task.target.server, **measured.pop("server")}
        return {**identity, **measured, "server": server, "status": "ok"}

    def _identity(self, task: PointTask, workers: int, threads: int, users: int) -> dict[str, Any]:
        target = task.target
        return {
            "target": target.name,
            "framework": target.framework,
            "worker_class": target.worker_class,
            "variant": target.variant,
            "workers": workers,
            "threads": threads,
            "tag": target.tag,
            "client": dict(target.env).get("LLM_CLIENT", "default"),
            "scenario": task.scenario,
            "load": {**task.load.as_dict(), "locust_users": users},
            "repetition": task.repetition,
            "window_s": self.plan.duration_s,
            "server": {"model": target.server, "cpu_pct": None, "rss_mb": None},
        }

    @staticmethod
    def _failed(identity: dict[str, Any], reason: str) -> dict[str, Any]:
        return {
            **identity,
            "requests": 0,
            "errors": {},
            "throughput_rps": 0.0,
            "latency_ms": None,
            "generator": {"cpu_pct": None, "processes": None},
            "upstream_calls": None,
            "ceiling_rps": None,
            "efficiency": None,
            "valid": False,
            "warnings": [f"INVALID: failed: {reason.splitlines()[0]}"],
            "status": "failed",
            "failure": reason,
        }


def _model_concurrency(target: Target, workers: int, threads: int) -> int | None:
    per_worker = target.concurrency_per_worker(threads)
    return per_worker * workers if per_worker is not None else None


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.time()
    if delay > 0:
        time.sleep(delay)


def _watch_until(deadline: float, proc: subprocess.Popen[bytes] | None) -> bool:
    """Sleep until `deadline`; return True early if `proc` dies meanwhile."""
    while (remaining := deadline - time.time()) > 0:
        if proc is not None and proc.poll() is not None:
            return True
        time.sleep(min(0.2, remaining))
    return False


def run_folder(out: str | None) -> Path:
    """Return the folder for a new run (results/<run-id>/ by default)."""
    if out:
        return Path(out)
    return environment.REPO_ROOT / "results" / new_run_id()
