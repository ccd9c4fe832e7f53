"""Measure one point: Locust for a warm-up and a window, samplers, the mock's count, the result.

The steps, each its own function: plan the point (users, pacing, timing, files), start
Locust, open the window (samplers and the mock's count), watch it until it closes,
collect what every process measured, and turn that into a Point (or a failed one).
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.results import analysis
from bench.results.faults import Cancel, cancel_from_stats
from bench.results.model import Load, Point, Telemetry
from bench.running import faults, mockwatch, objectives, requests, resources
from bench.running.cpus import child_nofile
from bench.running.mockwatch import MockCounts, MockWatch
from bench.running.observe import Observer, Watched
from bench.running.plan import MockSettings, Plan
from bench.running.probes import Probe, Prober
from bench.running.processes import Supervisor, log_tail
from bench.running.resources import CoreSampler, Series, TreeSampler
from bench.running.targets import Counts, Target
from bench.running.telemetry import Scraper
from bench.running.timing import PointTiming
from bench.running.upstream import Upstream
from bench.running.watch import WindowWatch

LOCUSTFILES = Path(__file__).resolve().parent.parent / "locustfiles"
MASTER_WAIT_S = 60.0
DEFAULT_UPSTREAM_TIMEOUT_S = 30.0  # the services' LLM_TIMEOUT_S (docs/contract.md)


@dataclass(frozen=True)
class PointTask:
    """One point to measure."""

    target: Target
    scenario: str
    load: Load
    repetition: int

    def key(self) -> tuple[str, str, Load, int]:
        return (self.target.name, self.scenario, self.load, self.repetition)

    def label(self) -> str:
        return f"{self.target.name} · {self.scenario} · {self.load.label()} · rep {self.repetition}"


@dataclass(frozen=True)
class Server:
    """The target as it runs for this point: its process (None when external) and counts."""

    base_url: str
    proc: subprocess.Popen[bytes] | None
    counts: Counts
    log: Path

    def died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None


@dataclass
class Samples:
    """What the runner itself observed during the window."""

    usage: dict[str, tuple[float, float]] = field(default_factory=dict)
    mock: MockCounts | None = None  # what the mock counted in the window
    cancel: Cancel | None = None  # scenario disconnect: the mock's timings of the closes
    series: Series | None = None  # a soak: the server's resources, sample by sample
    in_flight: tuple[float, int] | None = None
    cpu_per_second: dict[int, float | None] | None = None  # the server tree's
    telemetry: Telemetry | None = None  # the server's own /metrics
    cores_busy_pct: float | None = None
    problem: str | None = None  # what died during the window
    probes: list[Probe] = field(default_factory=list)  # /health, /hello during faults
    mock_died: bool = False
    # Seconds the mock's counts were read after the window's two edges, summed.
    mock_read_late_s: float = 0.0


class PointRun:
    """Everything needed to measure one point of a plan."""

    def __init__(
        self,
        plan: Plan,
        supervisor: Supervisor,
        task: PointTask,
        folder: Path,
        upstream: Upstream,
        mock_pid: int | None,
        observer: Observer | None = None,
        requests_dir: Path | None = None,
    ) -> None:
        self.plan = plan
        self.supervisor = supervisor
        self.task = task
        self.folder = folder
        self.upstream = upstream
        self.mock_base = upstream.stats_base
        self.mock_pid = mock_pid
        self.timing: PointTiming = plan.timing()
        self.users, self.pacing = users_for(task, plan)
        self.result_file = folder / "locust.json"
        # A live view (--live) watches: Locust then rewrites this file every second.
        self.observer = observer
        self.live_file = folder / "live.json"
        # --save-requests: every request of the point, joined into requests/<point>.csv.gz.
        self.requests = requests_dir / folder.name if requests_dir else None
        self.objectives = objectives.for_scenario(
            plan.slos, plan.mock, task.scenario, upstream.latency_set
        )

    # --- the steps ---------------------------------------------------------------

    def measure(self, server: Server) -> Point:
        """Run Locust for the point and return the measured (or failed) point."""
        self.folder.mkdir(parents=True, exist_ok=True)
        # On a whole second: the generator's per-second buckets then fit the window.
        start = float(math.ceil(time.time() + self.timing.window_offset_s))
        end = start + self.plan.duration_s
        # From the warm-up on: a server that answers its scrapes late (a blocked event
        # loop) still gives the window's first figures before the window opens.
        scraper = Scraper(server.base_url) if self.plan.telemetry else None
        self._announce(server, start, end, scraper)
        faults.arm(self.mock_base, self.plan.faults, start)
        try:
            locust = self._start_locust(server.base_url, start, end)
            try:
                with scraper or contextlib.nullcontext():
                    samples = self._window(start, end, server, locust.pid)
                samples.telemetry = scraper.result(start, end) if scraper else None
                self._wait_for(locust)
            finally:
                self.supervisor.stop(locust)
        finally:
            faults.disarm(self.mock_base, self.plan.faults)
            if self.requests is not None:
                requests.join_parts(self.requests)
        return self._result(server, samples)

    def _start_locust(self, base_url: str, start: float, end: float) -> subprocess.Popen[bytes]:
        env = {
            "BENCH_WINDOW_START": f"{start:.6f}",
            "BENCH_WINDOW_END": f"{end:.6f}",
            "BENCH_RESULT_FILE": str(self.result_file),
            **({"BENCH_LIVE_FILE": str(self.live_file)} if self.observer else {}),
            **({"BENCH_REQUESTS_FILE": str(self.requests)} if self.requests else {}),
        }
        args = locust_command(self.plan, self.task.scenario, base_url, self.users, self.timing)
        drop = self.plan.drop_after if self.task.scenario == "disconnect" else None
        args += [*scenario_args(self.plan.mock, self.upstream, drop), *self.pacing]
        args += objectives.knob(self.objectives)
        args += ["--csv", str(self.folder / "locust")]
        return self.supervisor.start(args, self.plan.load_cpus, env, self.folder / "locust.log")

    def _announce(self, server: Server, start: float, end: float, scraper: Scraper | None) -> None:
        """Tell the live view, if one watches, which point Locust is about to run."""
        if self.observer is None:
            return
        task = self.task
        self.observer.started(
            Watched(
                label=task.label(),
                target=task.target.name,
                scenario=task.scenario,
                live_file=self.live_file,
                started=start - self.timing.window_offset_s,
                windows=((start, end),),
                latency_ms=self.plan.mock.latency_ms() if task.scenario != "hello" else None,
                concurrency=task.target.concurrency(server.counts, child_nofile()),
                offered_rps=task.load.rate,
                inside=scraper.so_far if scraper else None,
            )
        )

    def _window(self, start: float, end: float, server: Server, locust_pid: int) -> Samples:
        """Sample the server tree, the generator and the mock from start to end."""
        sleep_until(start)
        samples = Samples()
        # Reset for disconnects: the largest cancel delay is then the window's.
        before, samples.mock_read_late_s = self._mock_at(start, self.task.scenario == "disconnect")
        samplers = self._samplers(server, locust_pid)
        watch = MockWatch(self.mock_base)
        alive = WindowWatch(server.proc, self.mock_pid)
        cores = CoreSampler(list(self.plan.server_cpus)) if server.proc else None
        first = cores.mark() if cores else None
        # With a fault window, ask the target's cheap endpoints all along the window.
        prober = Prober(server.base_url) if self.plan.faults and self.plan.faults.window else None
        try:
            with watch, prober or contextlib.nullcontext():
                samples.problem = alive.until(end)
                # Read the mock's counts at the window's end, before the samplers stop:
                # a late read counts answers that the clients' window did not.
                after, late_s = self._mock_at(end)
                samples.mock_read_late_s += late_s
                samples.mock_died = alive.mock_died
        finally:
            samples.probes = list(prober.probes) if prober else []
            samples.usage = {name: sampler.stop() for name, sampler in samplers.items()}
        if cores is not None and first is not None:
            samples.cores_busy_pct = cores.busy_pct(first, cores.mark())
        samples.in_flight = watch.in_flight(start, end)
        if "server" in samplers:
            samples.series = samplers["server"].series
            trace, opens = samplers["server"].trace, int(start)
            samples.cpu_per_second = dict(
                enumerate(resources.per_second(trace, opens, int(end)), start=opens)
            )
        self._mock_counts(samples, before, after)
        return samples

    def _samplers(self, server: Server, locust_pid: int) -> dict[str, TreeSampler]:
        """The process trees sampled, started: the server's, Locust's and the mock's."""
        samplers = {
            name: TreeSampler(pid, series=self.plan.soak and name == "server")
            for name, pid in (
                ("server", server.proc.pid if server.proc else None),
                ("generator", locust_pid),
                ("mock", self.mock_pid),
            )
            if pid is not None
        }
        for sampler in samplers.values():
            sampler.start()
        return samplers

    def _mock_at(self, edge: float, reset: bool = False) -> tuple[dict[str, Any] | None, float]:
        """The mock's counts at a window's edge, and how late after it they were read."""
        if reset:
            mockwatch.reset(self.mock_base)
        return mockwatch.stats(self.mock_base), max(time.time() - edge, 0.0)

    def _mock_counts(
        self, samples: Samples, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        if before is None or after is None:
            return
        samples.mock = MockCounts.between(before, after)
        if self.task.scenario == "disconnect" and "cancel" in after:
            samples.cancel = cancel_from_stats(
                before["cancel"], after["cancel"], self.plan.drop_after, self.plan.mock.itl_ms
            )

    def _wait_for(self, locust: subprocess.Popen[bytes]) -> None:
        wait_s = self.timing.locust_run_s + 30 + (MASTER_WAIT_S if self.plan.expect_workers else 0)
        try:
            locust.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.supervisor.stop(locust)

    def _result(self, server: Server, samples: Samples) -> Point:
        point = self.identity(server.counts)
        if samples.problem is not None or server.died():
            code = server.proc.poll() if server.proc else "?"
            reason = samples.problem or f"the target died during the window (exit {code})"
            return failed(point, reason + "\n" + log_tail(server.log))
        try:
            locust_doc = json.loads(self.result_file.read_text())
        except (OSError, ValueError):
            reason = "Locust wrote no results:\n" + log_tail(self.folder / "locust.log")
            return failed(point, reason)
        usage, mock = samples.usage, samples.mock
        window = analysis.Measurement(
            scenario=self.task.scenario,
            mode=self.task.load.mode,
            users=self.users,
            rate=self.task.load.rate,
            window_s=self.plan.duration_s,
            locust=locust_doc,
            server_cpu_pct=usage["server"][0] if "server" in usage else None,
            server_rss_mb=usage["server"][1] if "server" in usage else None,
            generator_cpu_pct=usage["generator"][0] if "generator" in usage else None,
            mock_cpu_pct=usage["mock"][0] if "mock" in usage else None,
            upstream_calls=mock.completed if mock and self.task.scenario != "hello" else None,
            upstream_latency_ms=set_latency_ms(self.plan, self.upstream, self.task.scenario),
            model_concurrency=self.task.target.concurrency(server.counts, child_nofile()),
            server_cores=len(self.plan.server_cpus),
            server_cores_busy_pct=samples.cores_busy_pct,
            declared=self.task.target.declared_limits(server.counts, child_nofile()),
            in_flight=samples.in_flight,
            faults=self.plan.faults,
            upstream_accepted=mock.accepted if mock else None,
            mock_read_late_s=samples.mock_read_late_s,
            injected=mock.injected if mock else None,
            cancel=samples.cancel,
            resources=_resources(samples.series),
            probes=[(p.at, p.path, p.latency_ms, p.ok) for p in samples.probes] or None,
            open_loop=self.task.load.open_loop,
            server_cpu_per_second=samples.cpu_per_second,
            objectives=self.objectives,
            slo_share=self.plan.slo_share,
            telemetry=samples.telemetry,
        )
        return analysis.analyse(window, point)

    def identity(self, counts: Counts) -> Point:
        """The point before measurement: what was measured, under which conditions."""
        task = self.task
        return identity(
            task.target, counts, task.scenario, task.load, self.users, self.plan.duration_s,
            task.repetition,
        )  # fmt: skip


def identity(
    target: Target,
    counts: Counts,
    scenario: str,
    load: Load,
    users: int,
    window_s: float,
    repetition: int = 1,
) -> Point:
    """A point before measurement: the target as it ran, the load, the window.

    The one place a target is described in results (`bench run` and `bench capacity`).
    """
    return Point(
        target=target.name,
        framework=target.framework,
        worker_class=target.worker_class,
        variant=target.variant,
        workers=counts.workers,
        threads=counts.threads,
        tag=target.tag,
        client=dict(target.env).get("LLM_CLIENT", "default"),
        scenario=scenario,
        load=load,
        locust_users=users,
        repetition=repetition,
        window_s=window_s,
        server_model=target.server,
        pins=tuple(target.pins),
    )


def set_latency_ms(plan: Plan, upstream: Upstream, scenario: str) -> float:
    """The answer latency as set (a mock), or 0 when it is suffered (no ceiling then).

    A client of scenario disconnect waits only for its first `drop_after` tokens.
    """
    if not upstream.latency_set:
        return 0.0
    mock = plan.mock
    if scenario == "disconnect":
        return mock.ttft_ms + (min(plan.drop_after, mock.tokens) - 1) * mock.itl_ms
    return mock.latency_ms()


def scenario_args(
    mock: MockSettings, upstream: Upstream, drop_after: int | None = None
) -> list[str]:
    """The scenario's knobs for this upstream: the mock's, or tokens asked and none expected.

    `drop_after`: scenario disconnect's deltas read before hanging up.
    """
    drop = ["--bench-drop-after", str(drop_after)] if drop_after else []
    if upstream.latency_set:
        return [*mock.scenario_args(), *drop]
    # A real model writes as many chunks as it likes: chunk fidelity has no reference.
    return ["--bench-max-tokens", str(mock.tokens), "--bench-expected-tokens", "0", *drop]


def _resources(series: Series | None) -> dict[str, list[float]] | None:
    if series is None:
        return None
    return {
        "at": series.at,
        "rss_mb": series.rss_mb,
        "fds": series.fds,
        "threads": series.threads,
    }


def failed(point: Point, reason: str) -> Point:
    """Mark a point that could not be measured, keeping the whole reason."""
    return replace(
        point,
        status="failed",
        latency_ms=None,
        failure=reason,
        warnings=(analysis.failed_warning(reason),),
    )


def users_for(task: PointTask, plan: Plan) -> tuple[int, list[str]]:
    """Return Locust's user count and the load's own arguments.

    Closed loop: the users. Open loop: one user per Locust process (each process's first
    user sends its share of the arrivals; bench.locustfiles.scenario), and the arrivals.
    """
    load = task.load
    if load.mode == "users":
        return int(load.amount), []
    return plan.generator_processes(), arrival_args(load, plan.seed, plan.max_outstanding)


def arrival_args(load: Load, seed: int, max_outstanding: int | None) -> list[str]:
    """The scenario's open-loop knobs for a rate load."""
    args = ["--bench-arrivals", load.arrivals, "--bench-rate", f"{load.amount:g}",
            "--bench-burstiness", f"{load.burstiness:g}", "--bench-seed", str(seed)]  # fmt: skip
    if max_outstanding is not None:
        args += ["--bench-max-outstanding", str(max_outstanding)]
    return args


def locust_command(
    plan: Plan, scenario: str, base_url: str, users: int, timing: PointTiming
) -> list[str]:
    """The arguments after `python` that run Locust headless for one point."""
    args = [
        "-m", "locust",
        "-f", str(LOCUSTFILES / f"{scenario}.py"),
        "--headless",
        "-u", str(users),
        "-r", str(max(users, 50)),
        "--run-time", f"{timing.locust_run_s}s",
        "--host", base_url,
        "--loglevel", "WARNING",
    ]  # fmt: skip
    if plan.expect_workers:
        args += [
            "--master", "--expect-workers", str(plan.expect_workers),
            "--expect-workers-max-wait", str(int(MASTER_WAIT_S)),
            "--master-bind-host", plan.master_bind_host,
            "--master-bind-port", str(plan.master_port),
        ]  # fmt: skip
    elif plan.locust_processes > 1:
        args += ["--processes", str(plan.locust_processes)]
    return args


def sleep_until(deadline: float) -> None:
    """Sleep until the wall-clock time `deadline`."""
    delay = deadline - time.time()
    if delay > 0:
        time.sleep(delay)
