"""`bench capacity`: each target's limits, found with load ramps and named by what binds.

For every upstream latency (the mock restarted with each latency model), every target
(started once per latency, verified) and every scenario, a search (bench.results.capacity)
asks for ladders of user counts; each ladder runs as ONE Locust process whose load
shape steps the users up on the wall clock (bench/locustfiles/ramp.py). Each step is
measured in a window of whole seconds after it settles: the plugin's per-second buckets
give its requests and latencies, samplers give the CPU of the server tree, Locust and the
mock, and the mock's /stats the requests in flight and the answers completed. A step
becomes a Point like any other (with its limit); the ramp stops early once the target is
saturated. Results are saved after every search.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

from bench.locustfiles.knobs import DEFAULT_TOKENS
from bench.locustfiles.totals import Totals
from bench.results import analysis, capacity, store
from bench.results.model import CAPACITY_SCENARIOS, Capacity, LatencyModel, Load, Point, Run
from bench.results.model import Skipped as SkippedTarget
from bench.running.cpus import child_nofile
from bench.running.launch import Launcher, Progress, Skipped, Where, start_mock
from bench.running.measure import (
    LOCUSTFILES,
    Server,
    failed,
    identity,
    scenario_args,
    sleep_until,
)
from bench.running.mockwatch import MockWatch
from bench.running.observe import Observer, Watched
from bench.running.plan import (
    MockSettings,
    Plan,
    Preset,
    check_cores,
    check_deployment,
    target_names,
)
from bench.running.processes import Supervisor
from bench.running.resources import CoreSampler, Mark, TreeSampler
from bench.running.rules import require
from bench.running.runner import Interrupted, Options, new_run, now_iso
from bench.running.targets import DEFAULT_TARGETS, TARGETS, Counts, Target, resolve

# The two upstream latencies: a short one that exposes the CPU a request costs, and an
# LLM-like one (answers of seconds) whose answers vary as real ones do, seeded, so
# that thousands of closed-loop users do not move in cohorts.
LATENCIES: dict[str, MockSettings] = {
    "short": MockSettings(ttft_ms=100.0, itl_ms=0.0, tokens=DEFAULT_TOKENS),
    "llm": MockSettings(
        ttft_ms=500.0, itl_ms=40.0, tokens=50, jitter=0.05, length_spread=0.2, seed=1
    ),
    # A shorter LLM-like answer (about a second) for demos that must fit in two minutes.
    "second": MockSettings(
        ttft_ms=300.0, itl_ms=35.0, tokens=20, jitter=0.05, length_spread=0.2, seed=1
    ),
}
DEFAULT_LATENCIES = ("short", "llm")
# The latencies a command adds to LATENCIES: the --mock-* flags' model, and an upstream
# whose latency is measured, not set (only its tokens matter).
CUSTOM, UPSTREAM = "custom", "upstream"
MAX_USERS = 10_000
# Locust runs its first users about 0.6 s after it is launched here (1 s allowed); the
# shape asks for the first step's users from then on, and the first step settles from then.
LOCUST_READY_S = 1.0
MIN_WINDOW_S = 2
WINDOW_P99S = 3.0  # a window holds at least 3 x the SLO's p99
SPAWN_PER_S = 1000.0  # users started per second: what a listen backlog of 2,048 absorbs
# A step's new users start within this time, or within one answer where answers are
# shorter: spread over part of the answer's cycle, yet a short part of a step that waits
# for its start-up to pass before measuring.
SPAWN_WITHIN_S = 0.5
# From a step's start, this many answers' time before its window opens (and no less than
# its spawn): the users it added have settled into their cycle.
SETTLE_ANSWERS = 1.0
SETTLE_MARGIN_S = 0.25  # and this much more, for a late spawn
# A ramp's first step settles at least this long: Locust's users open their connections
# and the server serves its first requests (a 1-s settle at 100 ms put them in the window).
FIRST_SETTLE_S = 2
LIVE_LAG_S = 1.5  # the live file is rewritten every second: at most this late
# The worker model's own limits (not a pool or the open-file limit sized for 10,000).
OWN_LIMITS = ("workers", "threads", "connections")
QUEUE_FREE_SHARE = 0.75


@dataclass
class CapacityPlan:
    """Everything `bench capacity` was asked to do; stored in results.json."""

    targets: list[str]
    scenarios: list[str] = field(default_factory=lambda: ["complete", "stream"])
    latencies: list[str] = field(default_factory=lambda: list(DEFAULT_LATENCIES))
    max_users: int = MAX_USERS
    slo_p99_ms: float | None = None
    budget_min: float | None = None
    server_cpus: list[int] = field(default_factory=list)
    load_cpus: list[int] = field(default_factory=list)
    workers: int | None = None
    threads: int | None = None
    preset: str | None = None
    # A fixed ladder of users instead of a search from a start (demos), and whether to
    # refine between the last step held and the first that was not.
    ladder: list[int] | None = None
    refine: bool = True

    def __post_init__(self) -> None:
        target_names(self.targets)
        bad = [s for s in self.scenarios if s not in CAPACITY_SCENARIOS]
        require(not bad, f"capacity searches {', '.join(CAPACITY_SCENARIOS)}, not {', '.join(bad)}")
        unknown = [name for name in self.latencies if name not in LATENCIES]
        require(not unknown, f"unknown latency {', '.join(unknown)}; known: {', '.join(LATENCIES)}")
        # The --mock-* flags' own latency model is one latency: not beside named ones.
        require(
            CUSTOM not in self.latencies or len(self.latencies) == 1,
            "give --latencies or the --mock-* flags, not both",
        )
        check_cores(self.server_cpus, self.load_cpus)

    def check_options(self, options: Options) -> None:
        """The rules between what is searched and where: a deployment, another upstream."""
        if not options.upstream().latency_set:
            require(
                self.latencies == [UPSTREAM],
                "--latencies set the mock; this upstream's latency is measured",
            )
        check_deployment(self.targets, options)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "capacity", **asdict(self)}

    def slo_ms(self, latency: MockSettings) -> float:
        """The SLO on p99: the flag's, else the set latency (its p99) x 1.25 + 50 ms."""
        return self.slo_p99_ms or capacity.default_slo_ms(latency.p99_latency_ms())


CAPACITY_PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="capacity",
            measures="every realistic target, both scenarios, both latencies",
            about="every realistic target",
            targets=tuple(t.name for t in TARGETS if t.tag == "realistic"),
            scenarios=CAPACITY_SCENARIOS,
            latencies=DEFAULT_LATENCIES,
        ),
        Preset(
            name="capacity-quick",
            measures="the three frameworks on their default servers, both scenarios, both "
            "latencies",
            about="the three default ones",
            targets=DEFAULT_TARGETS,
            scenarios=CAPACITY_SCENARIOS,
            latencies=DEFAULT_LATENCIES,
        ),
    )
}


@dataclass(frozen=True)
class Step:
    """One step of a ramp: its users, from when, at which spawn rate, measured when."""

    users: int
    start: float  # Unix time from which the shape asks for the users
    rate: float
    window: tuple[int, int]  # [start, end) in whole Unix seconds


def schedule(
    users: list[int], t0: float, latency_s: float, slo_s: float, slowest_s: float | None = None
) -> list[Step]:
    """Lay the steps on the wall clock from `t0` (when the first users start): spawn,
    settle, then a window of whole seconds.

    A step's new users start within half a second, or within one answer where answers
    are shorter (their requests then spread over the answer's cycle instead of arriving
    together). Its window opens once every call that was in flight while they started
    has ended, `slowest_s` (the upstream's p99 answer; default: `latency_s`) after the
    last one started: the burst of new connections delays the answers of calls already
    in flight, and a window that counted them would put the step's start-up in its p99.
    """
    window_s = max(MIN_WINDOW_S, math.ceil(WINDOW_P99S * slo_s))
    slowest = slowest_s if slowest_s is not None else latency_s
    steps: list[Step] = []
    now: float = t0
    previous = 0
    for count in users:
        added = max(count - previous, 0)
        within = min(SPAWN_WITHIN_S, max(latency_s, 1e-3))
        rate = max(min(SPAWN_PER_S, added / within), 1.0)
        spawn = added / rate
        settle = spawn + SETTLE_ANSWERS * slowest + SETTLE_MARGIN_S
        if not steps:
            settle = max(settle, FIRST_SETTLE_S)
        opens = math.ceil(now + settle)
        steps.append(Step(count, now, rate, (opens, opens + window_s)))
        now, previous = opens + window_s, count
    return steps


@dataclass
class Context:
    """What every ramp of a run shares."""

    plan: CapacityPlan
    supervisor: Supervisor
    where: Where
    mock_pid: int | None
    progress: Progress
    deadline: float | None  # time.monotonic() at which the budget is spent
    observer: Observer | None = None  # a live view (--live), told about every step


class Ramp:
    """One Locust run over a ladder of users, measured step by step."""

    def __init__(
        self,
        search: Search,
        server: Server,
        folder: Path,
    ) -> None:
        self.ctx, self.target, self.scenario = search.ctx, search.target, search.scenario
        self.latency, self.server, self.folder = search.latency, server, folder
        self.criteria = search.criteria
        self.answer_ms = search.answer_ms  # what ceilings are computed from
        self.slowest_ms = search.slowest_ms  # what a step's start-up must have left behind
        self.live = folder / "live.json"

    def run(self, users: list[int], before: list[Point]) -> tuple[list[Point], bool]:
        """Measure the steps; return the points and whether the budget ran out."""
        self.folder.mkdir(parents=True, exist_ok=True)
        t0 = time.time() + LOCUST_READY_S
        steps = schedule(
            users,
            t0,
            self.answer_ms / 1000,
            self.criteria.slo_p99_ms / 1000,
            self.slowest_ms / 1000,
        )
        locust = self._start_locust(steps)
        self._announce(steps)
        points: list[Point] = []
        try:
            with self._sampling(locust.pid) as sampled:
                for step in steps:
                    if self._over_budget():
                        return points, True
                    point = self._step(step, sampled)
                    # Judged against the steps before it: its own throughput is no growth.
                    stop = capacity.should_stop(point, before + points, self.criteria)
                    points.append(point)
                    self._report(point)
                    if stop:
                        break
                    if not point.ok:
                        break
        finally:
            self.ctx.supervisor.stop(locust)
        return points, False

    def _announce(self, steps: list[Step]) -> None:
        """Tell the live view, if one watches, which ramp Locust runs now."""
        if self.ctx.observer is None:
            return
        users = ", ".join(f"{s.users:,}" for s in steps)
        self.ctx.observer.started(
            Watched(
                label=f"{self.target.name} · {self.scenario} · ramp of {users} users",
                target=self.target.name,
                scenario=self.scenario,
                live_file=self.live,
                started=round(steps[0].start - LOCUST_READY_S),
                windows=tuple((float(s.window[0]), float(s.window[1])) for s in steps),
                latency_ms=self.latency.latency_ms(),
                concurrency=self.target.concurrency(self.server.counts, child_nofile()),
            )
        )

    def _over_budget(self) -> bool:
        deadline = self.ctx.deadline
        return deadline is not None and time.monotonic() > deadline

    def _start_locust(self, steps: list[Step]) -> subprocess.Popen[bytes]:
        end = steps[-1].window[1] + 1
        env = {
            "BENCH_STEPS": json.dumps([[s.start, s.users, s.rate] for s in steps]),
            "BENCH_RAMP_END": str(end),
            "BENCH_LIVE_FILE": str(self.live),
            "BENCH_RESULT_FILE": str(self.folder / "locust.json"),
        }
        files = f"{LOCUSTFILES / f'{self.scenario}.py'},{LOCUSTFILES / 'ramp.py'}"
        args = ["-m", "locust", "-f", files, "--headless", "--host", self.server.base_url,
                "--loglevel", "WARNING",
                *scenario_args(self.latency, self.ctx.where.upstream)]  # fmt: skip
        log = self.folder / "locust.log"
        return self.ctx.supervisor.start(args, self.ctx.where.load_cpus, env, log)

    @contextmanager
    def _sampling(self, locust_pid: int) -> Iterator[Sampling]:
        pids = {
            "server": self.server.proc.pid if self.server.proc else None,
            "generator": locust_pid,
            "mock": self.ctx.mock_pid,
        }
        cores = CoreSampler(list(self.ctx.where.server_cpus)) if self.server.proc else None
        sampling = Sampling(
            {name: TreeSampler(pid) for name, pid in pids.items() if pid is not None},
            MockWatch(self.ctx.where.mock_base),
            cores,
        )
        sampling.start()
        try:
            yield sampling
        finally:
            sampling.stop()

    def _step(self, step: Step, sampled: Sampling) -> Point:
        opens, closes = step.window
        sleep_until(opens)
        first = sampled.marks()
        while time.time() < closes and not self.server.died():
            time.sleep(min(0.2, max(closes - time.time(), 0.0)))
        last = sampled.marks()
        point = self._identity(step)
        if self.server.died():
            return failed(point, "the target died during the step")
        live = self._live_after(closes)
        if live is None:
            return failed(point, "Locust wrote no live figures (see locust.log)")
        bucket = Totals.from_dict(live).between(opens, closes).to_dict()
        usage = {name: first.trees[name].usage_until(last.trees[name]) for name in first.trees}
        window = self._window(step, bucket, usage, sampled)
        window = replace(window, server_cores_busy_pct=sampled.cores_busy(first, last))
        return analysis.analyse(window, point)

    def _live_after(self, closes: int) -> dict[str, Any] | None:
        """The live file once written at `closes` or later: every bucket before it whole."""
        live: dict[str, Any] | None = None
        deadline = closes + LIVE_LAG_S
        while True:
            try:
                live = json.loads(self.live.read_text())
            except (OSError, ValueError):
                live = None  # not written yet, or caught mid-rename
            if (live is not None and live.get("now", 0) >= closes) or time.time() > deadline:
                return live
            time.sleep(0.1)

    def _window(
        self,
        step: Step,
        bucket: dict[str, Any],
        usage: dict[str, tuple[float, float]],
        sampled: Sampling,
    ) -> analysis.Window:
        opens, closes = step.window
        before, after = sampled.watch.completed(opens), sampled.watch.completed(closes)
        calls = after - before if before is not None and after is not None else None
        counts, nofile = self.server.counts, child_nofile()
        return analysis.Window(
            scenario=self.scenario,
            mode="users",
            users=step.users,
            rate=None,
            window_s=float(closes - opens),
            locust={**bucket, "processes": 1, "hosts": 1},
            server_cpu_pct=usage["server"][0] if "server" in usage else None,
            server_rss_mb=usage["server"][1] if "server" in usage else None,
            generator_cpu_pct=usage["generator"][0],
            mock_cpu_pct=usage["mock"][0] if "mock" in usage else None,
            upstream_calls=calls,
            upstream_latency_ms=self.answer_ms,
            model_concurrency=self.target.concurrency(counts, nofile),
            server_cores=len(self.ctx.where.server_cpus),
            declared=self.target.declared_limits(counts, nofile),
            in_flight=sampled.watch.in_flight(opens, closes),
        )

    def _identity(self, step: Step) -> Point:
        opens, closes = step.window
        load = Load("users", step.users)
        return identity(
            self.target, self.server.counts, self.scenario, load, step.users, float(closes - opens)
        )

    def _report(self, point: Point) -> None:
        verdict = (
            "held"
            if self.criteria.held(point)
            else ("served" if self.criteria.served(point) else "not served")
        )
        p99 = point.value(("latency_ms", "p99"))
        efficiency = f"{point.efficiency:.0%}" if point.efficiency is not None else "-"
        kind = point.limit.kind if point.limit else "-"
        self.ctx.progress(
            f"  {point.load.users:>6,} users: {point.throughput_rps:8,.1f} req/s "
            f"({efficiency}), p99 {p99 or 0:,.0f} ms, server CPU "
            f"{point.server.cpu_pct or 0:.0f} % -> {verdict} ({kind})",
            None,
        )
        if self.ctx.observer is not None:
            self.ctx.observer.finished(point)


@dataclass
class Sampling:
    """The samplers of one ramp: process trees and the mock's /stats."""

    samplers: dict[str, TreeSampler]
    watch: MockWatch
    cores: CoreSampler | None = None

    def start(self) -> None:
        for sampler in self.samplers.values():
            sampler.start()
        self.watch.start()

    def stop(self) -> None:
        for sampler in self.samplers.values():
            sampler.stop()
        self.watch.stop()

    def marks(self) -> Marks:
        cores = self.cores.mark() if self.cores else None
        return Marks({name: sampler.mark() for name, sampler in self.samplers.items()}, cores)

    def cores_busy(self, first: Marks, last: Marks) -> float | None:
        if self.cores is None or first.cores is None or last.cores is None:
            return None
        return self.cores.busy_pct(first.cores, last.cores)


@dataclass(frozen=True)
class Marks:
    """The samplers' readings at one moment."""

    trees: dict[str, Mark]
    cores: tuple[float, float] | None


class CapacityRunner:
    """Runs every search of a plan; writes results.json after each one."""

    def __init__(self, plan: CapacityPlan, options: Options) -> None:
        self.plan, self.options = plan, options
        self.supervisor = Supervisor()
        self.path = options.out / store.RESULTS_NAME
        first = LATENCIES[plan.latencies[0]]
        self.run = new_run(_as_run_plan(plan, first), options)
        self.run.plan = plan.to_dict()
        self.where = Where(options.out, options.port, options.mock_port, plan.server_cpus,
                           plan.load_cpus, options.upstream(), options.target_url)  # fmt: skip

    def searches(self) -> list[tuple[str, Target, str]]:
        """Every (latency, target, scenario) to search, in the order they run."""
        targets = resolve(self.plan.targets)
        return [
            (latency, target, scenario)
            for latency in self.plan.latencies
            for target in targets
            for scenario in self.plan.scenarios
            if scenario in target.scenarios
        ]

    def execute(self, progress: Progress) -> Run:
        """Search everything; stop every process on the way out (Ctrl-C keeps what is done)."""
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def interrupt(signum: int, _frame: FrameType | None) -> None:
            raise Interrupted(signal.Signals(signum).name)

        signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)
        budget = self.plan.budget_min
        deadline = time.monotonic() + budget * 60 if budget else None
        try:
            store.save(self.path, self.run)
            for latency in self.plan.latencies:
                self._latency(latency, deadline, progress)
            self.run.info.finished_at = now_iso()
            store.save(self.path, self.run)
        finally:
            self.supervisor.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return self.run

    def _latency(self, name: str, deadline: float | None, progress: Progress) -> None:
        latency = LATENCIES[name]
        mock = start_mock(self.supervisor, latency, self.where)
        ctx = Context(self.plan, self.supervisor, self.where, mock.pid if mock else None,
                      progress, deadline, self.options.observer)  # fmt: skip
        launcher = Launcher(self.supervisor, self.where, latency.tokens)
        try:
            for target in resolve(self.plan.targets):
                self._target(ctx, launcher, target, name, latency)
        finally:
            if mock is not None:
                self.supervisor.stop(mock)

    def _target(
        self, ctx: Context, launcher: Launcher, target: Target, name: str, latency: MockSettings
    ) -> None:
        counts = target.counts(len(self.plan.server_cpus), self.plan.workers, self.plan.threads)
        scenarios = tuple(s for s in self.plan.scenarios if s in target.scenarios)
        try:
            current: Server | None = launcher.launch(target, counts, scenarios, ctx.progress)
        except Skipped as exc:
            self.run.info.skipped_targets.append(SkippedTarget(target.name, f"{name}: {exc}"))
            store.save(self.path, self.run)
            ctx.progress(f"skipped {target.name}: {str(exc).splitlines()[0]}", None)
            return
        try:
            for scenario in scenarios:
                if current is None:
                    return
                search = Search(ctx, launcher, target, scenario, name, latency, self.run)
                current = search.search(current)
                store.save(self.path, self.run)
        finally:
            if current is not None and current.proc is not None:
                self.supervisor.stop(current.proc)


class Search:
    """One target x scenario x latency: ladders of users until the limits are known."""

    def __init__(
        self,
        ctx: Context,
        launcher: Launcher,
        target: Target,
        scenario: str,
        latency_name: str,
        latency: MockSettings,
        run: Run,
    ) -> None:
        self.ctx, self.launcher, self.target, self.scenario = ctx, launcher, target, scenario
        self.latency_name, self.latency, self.results = latency_name, latency, run
        # A suffered latency (a real upstream) is measured by a probe at one user first.
        self.answer_ms = latency.latency_ms()
        self.slowest_ms = latency.p99_latency_ms()
        self.criteria = capacity.Criteria(ctx.plan.slo_ms(latency))

    def run_ramp(self, server: Server, users: list[int], label: str) -> tuple[list[Point], bool]:
        folder = (
            self.ctx.where.out / "capacity"
            / f"{len(self.results.capacity):03d}-{self.target.name}-{self.scenario}-"
              f"{self.latency_name}-{label}"
        )  # fmt: skip
        ramp = Ramp(self, server, folder)
        self.ctx.progress(
            f"{self.target.name} · {self.scenario} · {self.latency_name} latency "
            f"({self.answer_ms:,.0f} ms) · {label}: {', '.join(map(str, users))} users",
            None,
        )
        return ramp.run(users, self.found.points)

    def _probe(self, server: Server) -> tuple[Server | None, str | None]:
        """Measure a suffered latency at one user: it sets the ceilings and the SLO."""
        # Generous until measured: a probe at one user is never judged anyway.
        self.answer_ms = self.slowest_ms = 10_000.0
        self.criteria = capacity.Criteria(10_000.0)
        current, unfinished = self._ramp(server, [1], "probe")
        probe = [p for p in self.found.points if p.ok and p.latency_ms is not None]
        if not probe or probe[0].latency_ms is None:
            return current, unfinished or "the upstream's latency could not be measured"
        measured = probe[0].latency_ms
        self.answer_ms = measured.mean or measured.p50 or 0.0
        p99 = measured.p99 or self.answer_ms
        self.slowest_ms = p99
        slo = self.ctx.plan.slo_p99_ms or capacity.default_slo_ms(p99)
        self.criteria = capacity.Criteria(slo)
        self.found.slo_p99_ms = slo
        self.found.latency = replace(
            self.found.latency, answer_ms=self.answer_ms, p99_ms=p99, measured=True
        )
        self.found.points.clear()  # measured at an unknown ceiling: a probe, not a step
        return current, unfinished

    def search(self, server: Server) -> Server | None:
        """Search; append the result to the run; return the server for the next search."""
        counts: Counts = server.counts
        self.found = Capacity(
            target=self.target.name,
            scenario=self.scenario,
            latency=latency_model(self.latency_name, self.latency),
            slo_p99_ms=self.criteria.slo_p99_ms,
            max_users=self.ctx.plan.max_users,
            server_cores=len(self.ctx.where.server_cpus),
        )
        self.results.capacity.append(self.found)
        # Only the worker model's own limits say where to start; a pool or the open-file
        # limit sized for 10,000 says nothing about where the CPU gives out.
        own = self._own_limits(counts)
        cores = len(self.ctx.where.server_cpus)
        expected = self._prior() or capacity.guess_in_flight(cores, self.latency.latency_ms())
        plan = self.ctx.plan
        users = capacity.rungs(min(own) if own else None, expected, plan.max_users)
        if plan.ladder:
            users = [u for u in plan.ladder if u <= plan.max_users]
        current: Server | None = server
        unfinished = None
        if not self.ctx.where.upstream.latency_set:
            current, unfinished = self._probe(server)
        if unfinished is None:
            current, unfinished = self._ramp(current, users, "ladder")
        refine = capacity.refinement(self.found.points, self.criteria) if plan.refine else []
        if refine and current is not None and unfinished is None:
            current, unfinished = self._ramp(current, refine, "refine")
        capacity.conclude(self.found, self.criteria, unfinished)
        return current

    def _ramp(
        self, server: Server | None, users: list[int], label: str
    ) -> tuple[Server | None, str | None]:
        if server is None:
            return None, "the target did not restart"
        # The first window opens an answer's time or more after the ramp starts: calls
        # the last ramp left in flight upstream finish before it, unless a queue of
        # abandoned requests waits behind full workers (then settle waits them out).
        settled = self.launcher.settle(
            server, self.target, self.ctx.progress, drain_below=self._queue_free_below(server)
        )
        if settled is None:
            return None, "the target did not restart"
        points, spent = self.run_ramp(settled, users, label)
        self.found.points.extend(points)
        if spent:
            budget = self.ctx.plan.budget_min
            return settled, f"the budget (--budget-min {budget:g}) was spent during the search"
        if settled.died():
            return None, "the target died"
        return settled, None

    def _queue_free_below(self, server: Server) -> float:
        """Calls in flight below which no abandoned request can wait in the server's queue.

        Three quarters of the worker model's own limit: connections spread unevenly over
        workers, so one worker may be full while the whole server is not.
        """
        own = self._own_limits(server.counts)
        return QUEUE_FREE_SHARE * min(own) if own else math.inf

    def _own_limits(self, counts: Counts) -> list[int]:
        """The worker model's declared limits (workers, threads, connections)."""
        model = self.target.declared_limits(counts)
        return [v for k, v in model.items() if k in OWN_LIMITS]

    def _prior(self) -> float | None:
        """In flight that the CPU a request cost at another latency predicts here."""
        for earlier in self.results.capacity:
            if (earlier.target, earlier.scenario) != (self.target.name, self.scenario):
                continue
            costs = [p.cpu_us_per_request for p in earlier.points if p.cpu_us_per_request]
            if costs and earlier is not self.found:
                cores = max(earlier.server_cores, 1)
                rate = cores * 1e6 / min(costs)
                return float(rate * self.latency.latency_ms() / 1000)
        return None


def latency_model(name: str, settings: MockSettings) -> LatencyModel:
    """The latency a search runs at, as results record it."""
    return LatencyModel(
        name=name,
        ttft_ms=settings.ttft_ms,
        itl_ms=settings.itl_ms,
        tokens=settings.tokens,
        answer_ms=settings.latency_ms(),
        p99_ms=settings.p99_latency_ms(),
        jitter=settings.jitter,
        length_spread=settings.length_spread,
        seed=settings.seed,
    )


def _as_run_plan(plan: CapacityPlan, latency: MockSettings) -> Plan:
    """The parts of a bench-run plan that new_run reads: presets, cores, the mock."""
    return Plan(
        targets=plan.targets,
        scenarios=plan.scenarios,
        loads={},
        mock=latency,
        server_cpus=plan.server_cpus,
        load_cpus=plan.load_cpus,
        preset=plan.preset,
    )
