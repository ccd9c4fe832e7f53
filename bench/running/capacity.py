"""`bench capacity`: each target's three capacity figures, decided with confidence and
named by what binds them.

For every upstream latency (the mock restarted with each latency model), every target
(started once per latency, verified) and every scenario, a search (bench.results.capacity)
runs three phases, each ONE Locust process driven step by step (bench.running.steps):
closed-loop users climbing until throughput stops growing (saturation throughput), then,
once the server has drained what the climb left, refined around the users held (max in
flight), then open-loop Poisson arrival rates bisected around the highest held (goodput).
Each step is measured second by second until its p99's interval lies on one side of the
SLO: the plugin's per-second buckets give its requests
and latencies, samplers give the CPU of the server tree, Locust and the mock, and the
mock's /stats the requests in flight and the answers completed. A step becomes a Point
like any other (with its limit and its verdict). Results are saved after every search.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.locustfiles.knobs import DEFAULT_TOKENS
from bench.results import capacity, store
from bench.results.model import (
    CAPACITY_SCENARIOS,
    Capacity,
    LatencyModel,
    Load,
    Objectives,
    Point,
    Run,
    SkippedTarget,
)
from bench.running import objectives
from bench.running.launch import Launcher, Progress, Skipped
from bench.running.measure import Server
from bench.running.plan import (
    MockSettings,
    Plan,
    Preset,
    check_cores,
    check_deployment,
    target_names,
)
from bench.running.rules import require
from bench.running.runner import Options, new_run
from bench.running.session import Session
from bench.running.steps import Phase
from bench.running.steps import Session as Steps
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
# The worker model's own limits (not a pool or the open-file limit sized for 10,000).
OWN_LIMITS = ("workers", "threads", "connections")
QUEUE_FREE_SHARE = 0.75
CLUMPED = 2.0  # a step's line says how clumped its tail was from this design effect on


@dataclass
class CapacityPlan:
    """Everything `bench capacity` was asked to do; stored in results.json."""

    targets: list[str]
    scenarios: list[str] = field(default_factory=lambda: ["complete", "stream"])
    latencies: list[str] = field(default_factory=lambda: list(DEFAULT_LATENCIES))
    max_users: int = MAX_USERS
    slo_p99_ms: float | None = None
    # Per-request objectives beside the SLO on p99 (bench.running.objectives.for_capacity)
    # and the share of requests that must meet them.
    slos: str | None = None
    slo_share: float = 0.99
    budget_min: float | None = None
    server_cpus: list[int] = field(default_factory=list)
    load_cpus: list[int] = field(default_factory=list)
    workers: int | None = None
    threads: int | None = None
    preset: str | None = None
    # A fixed ladder of users instead of a search from a start (demos), whether to
    # refine between the last step held and the first that was not, and whether to search
    # the goodput rate (open loop) after the users.
    ladder: list[int] | None = None
    refine: bool = True
    goodput: bool = True
    # Climbing steps past the knee measured long enough for a saturation (a demo of what
    # a stack holds does not need it: it reports no saturation).
    plateau: bool = True
    telemetry: bool = False  # the services' /metrics (METRICS=1): off unless asked
    # Latencies at which only the max in flight is searched (no plateau, no goodput): at
    # answers of seconds what a stack holds at once is the question, and its saturation
    # and goodput there cost a minute or more a search (PRESET_SCOPE).
    in_flight_only: list[str] = field(default_factory=list)

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
        stray = [name for name in self.in_flight_only if name not in self.latencies]
        require(not stray, f"in-flight-only latency {', '.join(stray)} is not searched")
        check_cores(self.server_cpus, self.load_cpus)
        objectives.check(self.slos, self.scenarios)
        require(0 < self.slo_share <= 1, f"--slo-share must be in (0, 1], not {self.slo_share:g}")

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


# What the presets search, sized to their time on 2 cores (about 100 s a search of all
# three figures at short latency, 70 s of the max in flight alone at LLM latency, and
# 100 to 165 s of all three there): the complete scenario; every figure at short latency,
# where the CPU a request costs binds; at LLM latency only the max in flight, the figure
# answers of seconds are about. The stream scenario and LLM latency's other figures are
# one flag away (--scenarios, --latencies without a preset).
PRESET_SCOPE = ("complete",)
CAPACITY_PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="capacity",
            measures="every realistic target: complete at short latency (the three figures) "
            "and at LLM latency (max in flight)",
            about="every realistic target, ~35 min",
            targets=tuple(t.name for t in TARGETS if t.tag == "realistic"),
            scenarios=PRESET_SCOPE,
            latencies=DEFAULT_LATENCIES,
            in_flight_only=("llm",),
        ),
        Preset(
            name="capacity-quick",
            measures="the three frameworks on their default servers: complete at short "
            "latency (the three figures)",
            about="the three default ones, ~6 min",
            targets=DEFAULT_TARGETS,
            scenarios=PRESET_SCOPE,
            latencies=("short",),
        ),
    )
}


@dataclass
class Context:
    """What every search of a latency shares: the plan, the run's session (processes,
    where they live, the live view), the mock, the progress and the budget."""

    plan: CapacityPlan
    session: Session
    mock_pid: int | None
    progress: Progress
    deadline: float | None  # time.monotonic() at which the budget is spent
    started: float = field(default_factory=time.monotonic)


class CapacityRunner:
    """Runs every search of a plan; writes results.json after each one.

    Given the `run` of an earlier plan, it adds its searches to that run (a demo searches
    each target up to a load of its own), which keeps its first plan.
    """

    def __init__(self, plan: CapacityPlan, options: Options, run: Run | None = None) -> None:
        plan.check_options(options)  # here, so that no way of making a runner skips them
        self.plan, self.options = plan, options
        env = (("METRICS", "1"),) if plan.telemetry else ()
        self.session = Session(options, plan.server_cpus, plan.load_cpus, env)
        self.path = self.session.path
        if run is None:
            run = new_run(_as_run_plan(plan, LATENCIES[plan.latencies[0]]), options)
            run.plan = plan.to_dict()
        self.run = run

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
        budget = self.plan.budget_min
        deadline = time.monotonic() + budget * 60 if budget else None
        with self.session.running(self.run, self._save):
            for latency in self.plan.latencies:
                self._latency(latency, deadline, progress)
        return self.run

    def _save(self) -> None:
        store.save(self.path, self.run)

    def _latency(self, name: str, deadline: float | None, progress: Progress) -> None:
        latency = LATENCIES[name]
        with self.session.mock(latency) as mock:
            ctx = Context(self.plan, self.session, mock.pid if mock else None, progress, deadline)
            launcher = self.session.launcher(latency.tokens)
            for target in resolve(self.plan.targets):
                self._target(ctx, launcher, target, name, latency)

    def _target(
        self, ctx: Context, launcher: Launcher, target: Target, name: str, latency: MockSettings
    ) -> None:
        counts = target.counts(len(self.plan.server_cpus), self.plan.workers, self.plan.threads)
        scenarios = tuple(s for s in self.plan.scenarios if s in target.scenarios)
        try:
            current: Server | None = launcher.launch(target, counts, scenarios, ctx.progress)
        except Skipped as exc:
            self.run.info.skipped_targets.append(SkippedTarget(target.name, f"{name}: {exc}"))
            self._save()
            ctx.progress(f"skipped {target.name}: {str(exc).splitlines()[0]}", None)
            return
        try:
            for scenario in scenarios:
                if current is None:
                    return
                search = Search(ctx, launcher, target, scenario, name, latency, self.run)
                current = search.search(current)
                self._save()
        finally:
            if current is not None and current.proc is not None:
                self.session.supervisor.stop(current.proc)


class Search:
    """One target x scenario x latency: the closed-loop climb (saturation, users held),
    then the open-loop rates (goodput), each phase one Locust process."""

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
        self.criteria = self._criteria(ctx.plan.slo_ms(latency))

    def _criteria(self, slo_p99_ms: float) -> capacity.Criteria:
        plan = self.ctx.plan
        found = objectives.for_capacity(plan.slos, slo_p99_ms, self.latency, self.scenario,
                                        plan.slo_p99_ms is not None)  # fmt: skip
        return capacity.Criteria(slo_p99_ms, plan.slo_share, objectives=found)

    def search(self, server: Server) -> Server | None:
        """Search; append the result to the run; return the server for the next search."""
        self.found = Capacity(
            target=self.target.name,
            scenario=self.scenario,
            latency=latency_model(self.latency_name, self.latency),
            slo_p99_ms=self.criteria.slo_p99_ms,
            max_users=self.ctx.plan.max_users,
            server_cores=len(self.ctx.session.where.server_cpus),
            objectives=self.criteria.objectives,
            slo_share=self.criteria.share,
        )
        self.results.capacity.append(self.found)
        current: Server | None = server
        unfinished = None
        if not self.ctx.session.where.upstream.latency_set:
            current, unfinished = self._probe(server)
        plan = self.ctx.plan
        every_figure = self.latency_name not in plan.in_flight_only
        plateau = plan.plateau and every_figure
        users = capacity.UserSearch(self._rungs(server.counts), plan.max_users, plan.refine,
                                    plateau=plateau,
                                    slo_p99_ms=self.criteria.slo_p99_ms,
                                    steers_up=self.criteria.steers_up)  # fmt: skip
        if unfinished is None:
            current, unfinished = self._phase(current, "users", users.next_rung, users.record,
                                              users.unheld_window_s)  # fmt: skip
        # The refinement in a fresh generator, once the climb's overload has drained: in
        # the climb's own process, after thousands of streams, streams of 4 users met gaps
        # of up to 299 ms and failed at 2 % server CPU (which process paused is unknown).
        if unfinished is None and plan.refine:
            current, unfinished = self._phase(current, "refine", users.next, users.record)
        saturation = capacity.saturation(users.points, self.answer_ms)
        if unfinished is None and plan.goodput and every_figure and saturation is not None:
            # Arrivals meet a server fresh from its start, as any other client would: after
            # the climb's hundreds of users fastapi-uvicorn's tail at the same rates grew
            # (p99 131 -> 168 ms at 700 req/s, 157 -> 188 ms at 900, after 15 s of 800
            # connections), so the goodput depended on how far the climb had gone.
            current = self._fresh(current)
            rates = capacity.RateSearch(saturation.value, self.criteria.steers_up)
            current, unfinished = self._phase(current, "rates", rates.next, rates.record)
        capacity.conclude(self.found, unfinished, with_saturation=plateau)
        self._summarize()
        return current

    def _fresh(self, server: Server | None) -> Server | None:
        """The server started again (one this run did not start stays as it is)."""
        if server is None or server.proc is None:
            return server
        why = "the arrivals meet a server fresh from its start, not one the climb loaded"
        return self.launcher.restart(server, self.target, self.ctx.progress, why)

    def _rungs(self, counts: Counts) -> list[int]:
        plan = self.ctx.plan
        if plan.ladder:
            return [u for u in plan.ladder if u <= plan.max_users]
        # Only the worker model's own limits say where to start; a pool or the open-file
        # limit sized for 10,000 says nothing about where the CPU gives out.
        own = self._own_limits(counts)
        cores = len(self.ctx.session.where.server_cpus)
        expected = self._prior() or capacity.guess_in_flight(cores, self.answer_ms)
        return capacity.rungs(min(own) if own else None, expected, plan.max_users)

    def _probe(self, server: Server) -> tuple[Server | None, str | None]:
        """Measure a suffered latency at one user: it sets the ceilings and the SLO."""
        # Generous until measured: a probe at one user is judged against no real SLO.
        self.answer_ms = self.slowest_ms = 10_000.0
        self.criteria = capacity.Criteria(10_000.0, objectives=Objectives(e2e_ms=10_000.0))
        once = capacity.UserSearch([1], 1, refine=False)
        current, unfinished = self._phase(server, "probe", once.next, once.record)
        probe = [p for p in self.found.points if p.ok and p.latency_ms is not None]
        if not probe or probe[0].latency_ms is None:
            return current, unfinished or "the upstream's latency could not be measured"
        measured = probe[0].latency_ms
        self.answer_ms = measured.mean or measured.p50 or 0.0
        p99 = measured.p99 or self.answer_ms
        self.slowest_ms = p99
        slo = self.ctx.plan.slo_p99_ms or capacity.default_slo_ms(p99)
        self.criteria = self._criteria(slo)
        self.found.slo_p99_ms = slo
        self.found.objectives = self.criteria.objectives
        self.found.latency = replace(
            self.found.latency, answer_ms=self.answer_ms, p99_ms=p99, measured=True
        )
        self.found.points.clear()  # measured at an unknown ceiling: a probe, not a step
        return current, unfinished

    def _phase(
        self,
        server: Server | None,
        label: str,
        next_load: Callable[[], float | None],
        record: Callable[[Point], None],
        unheld_window_s: Callable[[], int | None] = lambda: None,
    ) -> tuple[Server | None, str | None]:
        """Measure a phase's steps in one Locust process until its search is done."""
        if server is None:
            return None, "the target did not restart"
        # Calls the last phase left in flight upstream finish during the first settle,
        # unless a queue of abandoned requests waits behind full workers.
        settled = self.launcher.settle(
            server, self.target, self.ctx.progress, drain_below=self._queue_free_below(server)
        )
        if settled is None:
            return None, "the target did not restart"
        amount = next_load()
        if amount is None:
            return settled, None
        mode = "users" if label != "rates" else "rate"
        session = Steps(self._phase_of(), settled, self._folder(label),
                        self.ctx.session.supervisor, _load(mode, amount))  # fmt: skip
        self.ctx.progress(f"{self._title()} · {label}", None)
        with session.running():
            while amount is not None:
                if self._over_budget():
                    budget = self.ctx.plan.budget_min
                    return settled, f"the budget (--budget-min {budget:g}) was spent"
                point = session.step(_load(mode, amount), unheld_window_s())
                record(point)
                self.found.points.append(point)
                self._report(point)
                if settled.died():
                    return None, "the target died"
                amount = next_load()
        return settled, None

    def _phase_of(self) -> Phase:
        ctx, where = self.ctx, self.ctx.session.where
        return Phase(
            target=self.target,
            scenario=self.scenario,
            latency=self.latency,
            upstream=where.upstream,
            criteria=self.criteria,
            answer_ms=self.answer_ms,
            slowest_ms=self.slowest_ms,
            server_cores=list(where.server_cpus),
            load_cpus=list(where.load_cpus),
            mock_base=where.mock_base,
            mock_pid=ctx.mock_pid,
            telemetry=ctx.plan.telemetry,
            observer=ctx.session.observer,
        )

    def _folder(self, label: str) -> Path:
        return (
            self.ctx.session.where.out / "capacity"
            / f"{len(self.results.capacity):03d}-{self.target.name}-{self.scenario}-"
              f"{self.latency_name}-{label}"
        )  # fmt: skip

    def _title(self) -> str:
        return (
            f"{self.target.name} · {self.scenario} · {self.latency_name} latency "
            f"({self.answer_ms:,.0f} ms, SLO p99 {self.criteria.slo_p99_ms:,.0f} ms)"
        )

    def _over_budget(self) -> bool:
        deadline = self.ctx.deadline
        return deadline is not None and time.monotonic() > deadline

    def _report(self, point: Point) -> None:
        """One line per step: load, throughput, p99 and its interval, CPU, the verdict."""
        p99 = point.value(("latency_ms", "p99"))
        low, high = point.p99_low_ms, point.p99_high_ms
        bounds = f" [{low or 0:,.0f}, {f'{high:,.0f}' if high else '?'}]" if low else ""
        kind = point.limit.kind if point.limit else "-"
        elapsed = (time.monotonic() - self.ctx.started) / 60
        clumping = max(point.p99_clumping or 1.0, point.met_clumping or 1.0)
        clumped = f" (tail clumped x{clumping:.0f})" if clumping >= CLUMPED else ""
        self.ctx.progress(
            f"  {point.load.label():>22}: {point.throughput_rps:8,.1f} req/s, p99 "
            f"{p99 or 0:,.0f} ms{bounds}{clumped} in {point.window_s:g} s, server CPU "
            f"{point.server.cpu_pct or 0:.0f} % -> {point.decision} ({kind}) "
            f"[{elapsed:.1f} min]",
            None,
        )
        observer = self.ctx.session.observer
        if observer is not None:
            observer.finished(point)

    def _summarize(self) -> None:
        found = self.found
        parts = []
        for name, figure, unit in (("saturation", found.saturation, "req/s"),
                                   ("goodput", found.goodput, "req/s"),
                                   ("in flight", found.in_flight, "")):  # fmt: skip
            if figure is not None:
                parts.append(f"{name} {figure.value:,.0f}{unit and ' ' + unit}")
        self.ctx.progress(f"  => {', '.join(parts) or 'nothing measured'}", None)

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


def _load(mode: str, amount: float) -> Load:
    """A step's load: users (closed loop) or a Poisson arrival rate (open loop)."""
    return Load("users", round(amount)) if mode == "users" else Load.open(amount)


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
