"""One Locust process driven step by step: each step as long as its verdict needs.

A capacity search (bench.running.capacity) runs each phase, closed-loop users or
open-loop arrivals, as one Locust process started with bench/locustfiles/control.py. For
each step the session writes the load into the control file, lets the change settle, and
then, second by second, builds the step's point from the plugin's per-second buckets
(the live file), the samplers' CPU and the mock's /stats, and asks the search's criteria
for a verdict: the step ends as soon as its p99's interval lies on one side of the SLO,
or at its cap (undecided). `timing` is the pure part: how long a step settles, and its
shortest and longest window.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.locustfiles.totals import Totals
from bench.results import analysis
from bench.results.capacity import Criteria
from bench.results.files import write_json_atomic
from bench.results.model import Load, Point
from bench.running import objectives
from bench.running.cpus import child_nofile
from bench.running.measure import (
    LOCUSTFILES,
    Server,
    arrival_args,
    failed,
    identity,
    scenario_args,
    sleep_until,
)
from bench.running.mockwatch import MockWatch
from bench.running.observe import Observer, Watched
from bench.running.plan import MockSettings
from bench.running.processes import Supervisor
from bench.running.resources import CoreSampler, Mark, TreeSampler, per_second
from bench.running.targets import Target
from bench.running.telemetry import Scraper
from bench.running.upstream import Upstream

# Locust runs its first users about 0.6 s after it is launched here (1 s allowed).
LOCUST_READY_S = 1.0
SPAWN_PER_S = 1000.0  # users started per second: what a listen backlog of 2,048 absorbs
# A step's new users start within this time, or within one answer where answers are
# shorter: spread over part of the answer's cycle, yet a short part of the step.
SPAWN_WITHIN_S = 0.5
SETTLE_MARGIN_S = 0.25  # after the slowest answer of a change, for a late spawn
# A phase's first step settles at least this long: Locust's users open their connections
# and the server serves its first requests (a 1-s settle at 100 ms put them in the window).
FIRST_SETTLE_S = 2.0
MIN_WINDOW_S = 2  # a verdict needs at least two whole seconds
# ... and a step held at least this many: a server's periodic pauses must have had their
# chance to fall inside it. CPython's collections stopped fastapi-uvicorn's event loop for
# over 100 ms in one second of every 2 to 4 at 600 req/s (its telemetry), every request
# then in flight waited, and 2-s windows held or failed the same rate by whether one fell
# inside (a step's p99 of 214 ms from seconds of 117 and 223 ms). docs/methodology.md.
HELD_WINDOW_S = 5
# A step measures until its verdict, or this many SLOs (and no less than CAP_MIN_S): the
# window the searches used before verdicts by confidence, now only the longest.
CAP_SLOS = 3.0
CAP_MIN_S = 5
LIVE_AFTER_S = 0.15  # the live file is written just after each whole second
LIVE_LAG_S = 1.5  # ... and read at most this late
# Before a lower load's window: calls left by the load before (users stopped, or arrivals
# queued behind an overload) must have left, within this many of the slowest answers.
DRAIN_ANSWERS = 4.0
DRAIN_MIN_S = 5.0
# Open loop, down from a rate: arrivals nearly stop while the queue the rate before left
# drains, and the lower rate starts on an empty queue. At the lower rate itself a queue
# left near the server's capacity drains at the difference only: flask-gunicorn-gthread
# failed 845 req/s (p99 4.4 s) after 908 (p99 3.5 s), where the run before held 846
# with p99 137 ms.
REST_RATE = 1.0


@dataclass(frozen=True)
class StepTiming:
    """How long a step settles before its window opens, and its window's bounds."""

    settle_s: float
    min_window_s: int
    cap_s: int
    unheld_window_s: int = 0  # a step not held measures at least this long
    held_window_s: int = HELD_WINDOW_S  # a step held measures at least this long


def timing(
    before: Load | None, load: Load, slowest_s: float, slo_s: float, answer_s: float
) -> tuple[StepTiming, float]:
    """A step's timing, and the rate its new users are spawned at (closed loop).

    New users start within half a second (or one answer, when shorter); the window opens
    once every call in flight while they started has ended, the slowest answer after
    the last one started. Open loop: the slowest answer after the rate changed.
    """
    cap = max(CAP_MIN_S, math.ceil(CAP_SLOS * slo_s))
    if load.mode == "rate":
        # A window counts the answers that end inside it: one slowest answer after the
        # change, those of the old rate have ended. A queue the old rate left behind is
        # the drain's to wait for (a lower rate); one a higher rate builds is what its
        # step measures. (Two slowest answers cost 3 s a step at LLM latency.)
        settle = max(1.0, slowest_s + SETTLE_MARGIN_S)
        spawn_rate = 1.0
    else:
        added = int(load.amount) - (before.users or 0 if before else 0)
        within = min(SPAWN_WITHIN_S, max(answer_s, 1e-3))
        # Locust stops users at the spawn rate too: fewer users, all at once.
        spawn_rate = max(min(SPAWN_PER_S, added / within), 1.0) if added > 0 else SPAWN_PER_S
        settle = max(added, 0) / spawn_rate + slowest_s + SETTLE_MARGIN_S
    if before is None:
        settle = max(settle, FIRST_SETTLE_S)
    return StepTiming(settle, MIN_WINDOW_S, cap), spawn_rate


@dataclass(frozen=True)
class Phase:
    """What one Locust process of a search measures: its target and latency, its scenario,
    and the verdict's criteria."""

    target: Target
    scenario: str
    latency: MockSettings
    upstream: Upstream
    criteria: Criteria
    answer_ms: float  # what ceilings are computed from
    slowest_ms: float  # what a change must have left behind before its window
    server_cores: list[int]
    load_cpus: list[int]
    mock_base: str | None
    mock_pid: int | None
    telemetry: bool = True  # scrape the target's /metrics
    observer: Observer | None = None  # the live view: told of each step as it starts


@dataclass(frozen=True)
class Marks:
    """The samplers' readings at one moment."""

    trees: dict[str, Mark]
    cores: tuple[float, float] | None


class Session:
    """One Locust process over a phase's steps; `step(load)` measures the next one."""

    def __init__(
        self, phase: Phase, server: Server, folder: Path, supervisor: Supervisor, first: Load
    ) -> None:
        self.phase, self.server, self.folder, self.supervisor = phase, server, folder, supervisor
        self.live = folder / "live.json"
        self.control = folder / "control.json"
        self.before: Load | None = None
        self.steps = 0
        self.orders = 0  # loads written to the control file (a rest is one, not a step)
        self.first = first
        self.ready_at = 0.0
        self.locust: subprocess.Popen[bytes] | None = None
        self.samplers: dict[str, TreeSampler] = {}
        self.watch = MockWatch(phase.mock_base)
        self.cores = CoreSampler(list(phase.server_cores)) if server.proc else None
        self.scraper = Scraper(server.base_url) if phase.telemetry else None

    @contextmanager
    def running(self) -> Iterator[Session]:
        """Locust and the samplers from here to the end of the phase."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_control(self.first, spawn_rate=None)
        self.locust = self._start_locust()
        self.ready_at = time.time() + LOCUST_READY_S
        pids = {"server": self.server.proc.pid if self.server.proc else None,
                "generator": self.locust.pid, "mock": self.phase.mock_pid}  # fmt: skip
        self.samplers = {name: TreeSampler(pid) for name, pid in pids.items() if pid is not None}
        for sampler in self.samplers.values():
            sampler.start()
        self.watch.start()
        if self.scraper is not None:
            self.scraper.start()
        try:
            yield self
        finally:
            for sampler in self.samplers.values():
                sampler.stop()
            self.watch.stop()
            if self.scraper is not None:
                self.scraper.stop()
            self.supervisor.stop(self.locust)

    # --- a step ----------------------------------------------------------------------

    def step(self, load: Load, unheld_window_s: int | None = None) -> Point:
        """Measure one load until its verdict (or its cap), and for at least
        `unheld_window_s` when given unless it is held; the point carries the verdict."""
        phase = self.phase
        plan, spawn_rate = timing(
            self.before, load, phase.slowest_ms / 1000, phase.criteria.slo_p99_ms / 1000,
            phase.answer_ms / 1000,
        )  # fmt: skip
        if unheld_window_s is not None:
            plan = replace(plan, unheld_window_s=unheld_window_s,
                           cap_s=max(plan.cap_s, unheld_window_s))  # fmt: skip
        if self.steps:
            if self._down_from_rate(load):
                self._write_control(Load.open(REST_RATE), spawn_rate=None)
                self._drain(Load.open(0.0))
                self._write_control(load, spawn_rate)
            else:
                self._write_control(load, spawn_rate)
                self._drain(load)
            start = time.time()
        else:
            start = self.ready_at  # the first load is Locust's own -u/-r or --bench-rate
        self.steps += 1
        self.before = load
        opens = math.ceil(start + plan.settle_s)
        self._announce(load, start, opens, plan)
        sleep_until(opens)
        first = self._marks()
        return self._until_verdict(load, opens, first, plan)

    def _announce(self, load: Load, start: float, opens: int, plan: StepTiming) -> None:
        """Tell the live view, if one watches, the step about to run: its window is as
        long as its cap at most (it ends sooner once its verdict is known)."""
        phase = self.phase
        if phase.observer is None:
            return
        counts = self.server.counts
        phase.observer.started(
            Watched(
                label=f"{phase.target.name} / {phase.scenario} / {load.label()}",
                target=phase.target.name,
                scenario=phase.scenario,
                live_file=self.live,
                started=start,
                windows=((float(opens), float(opens + plan.cap_s)),),
                latency_ms=phase.answer_ms,
                concurrency=phase.target.concurrency(counts, child_nofile()),
                offered_rps=load.rate,
                inside=self.scraper.so_far if self.scraper else None,
            )
        )

    def _until_verdict(self, load: Load, opens: int, first: Marks, plan: StepTiming) -> Point:
        closes = opens + plan.min_window_s
        while True:
            sleep_until(closes)
            last = self._marks()
            final = closes - opens >= plan.cap_s or self.server.died()
            point = self._point(load, opens, closes, first, last)
            verdict = self.phase.criteria.verdict(point, final or not point.ok)
            # Past the knee (not held) a climbing step measures on: what it served may be
            # the saturation, which two seconds do not say (bench.results.capacity). A
            # held step measures on until a periodic pause has had its chance.
            needed = plan.held_window_s if verdict == "held" else plan.unheld_window_s
            if verdict is not None and (final or not point.ok or closes - opens >= needed):
                return replace(point, decision=verdict)
            closes += 1

    def _point(self, load: Load, opens: int, closes: int, first: Marks, last: Marks) -> Point:
        users = load.users or 1
        base = identity(self.phase.target, self.server.counts, self.phase.scenario, load,
                        users, float(closes - opens))  # fmt: skip
        if self.server.died():
            return failed(base, "the target died during the step")
        live = self._live_after(closes)
        if live is None:
            return failed(base, "Locust wrote no live figures (see locust.log)")
        bucket = Totals.from_dict(live).between(opens, closes).to_dict()
        # The per-second series of the window (whole seconds), for intervals and reports.
        series = {k: v for k, v in live.get("series", {}).items() if opens <= int(k) < closes}
        usage = {name: first.trees[name].usage_until(last.trees[name]) for name in first.trees}
        window = self._window(load, opens, closes, {**bucket, "series": series}, usage)
        busy = None
        if self.cores is not None and first.cores is not None and last.cores is not None:
            busy = self.cores.busy_pct(first.cores, last.cores)
        cpu = None
        if "server" in self.samplers:
            trace = self.samplers["server"].trace
            cpu = dict(enumerate(per_second(trace, opens, closes), start=opens))
        found = self.scraper.result(opens, closes) if self.scraper else None
        window = replace(
            window, server_cores_busy_pct=busy, server_cpu_per_second=cpu, telemetry=found
        )
        return analysis.analyse(window, base)

    def _window(
        self,
        load: Load,
        opens: int,
        closes: int,
        locust: dict[str, Any],
        usage: dict[str, tuple[float, float]],
    ) -> analysis.Measurement:
        before, after = self.watch.completed(opens), self.watch.completed(closes)
        calls = after - before if before is not None and after is not None else None
        target, counts, nofile = self.phase.target, self.server.counts, child_nofile()
        return analysis.Measurement(
            scenario=self.phase.scenario,
            mode=load.mode,
            users=load.users or 1,
            rate=load.rate,
            window_s=float(closes - opens),
            locust={**locust, "processes": 1, "hosts": 1},
            server_cpu_pct=usage["server"][0] if "server" in usage else None,
            server_rss_mb=usage["server"][1] if "server" in usage else None,
            generator_cpu_pct=usage["generator"][0],
            mock_cpu_pct=usage["mock"][0] if "mock" in usage else None,
            upstream_calls=calls,
            upstream_latency_ms=self.phase.answer_ms,
            model_concurrency=target.concurrency(counts, nofile),
            server_cores=len(self.phase.server_cores),
            declared=target.declared_limits(counts, nofile),
            in_flight=self.watch.in_flight(opens, closes),
            open_loop=load.open_loop,
            # The verdict rests on p99's interval; a window of one p99 holds its answers.
            window_p99s=1.0,
            objectives=self.phase.criteria.objectives,
            slo_share=self.phase.criteria.share,
        )

    # --- the process and its files ----------------------------------------------------

    def _start_locust(self) -> subprocess.Popen[bytes]:
        phase, load = self.phase, self.first
        env = {"BENCH_LIVE_FILE": str(self.live), "BENCH_CONTROL_FILE": str(self.control)}
        files = f"{LOCUSTFILES / f'{phase.scenario}.py'},{LOCUSTFILES / 'control.py'}"
        if load.mode == "users":
            users, spawn = int(load.amount), timing(None, load, 0.0, 0.0, phase.answer_ms / 1000)[1]
            extra = ["-u", str(users), "-r", f"{spawn:g}"]
        else:
            extra = ["-u", "1", "-r", "1", *arrival_args(load, 0, None)]
        args = ["-m", "locust", "-f", files, "--headless", "--host", self.server.base_url,
                "--loglevel", "WARNING", *extra, *objectives.knob(phase.criteria.objectives),
                *scenario_args(phase.latency, phase.upstream)]  # fmt: skip
        return self.supervisor.start(args, phase.load_cpus, env, self.folder / "locust.log")

    def _write_control(self, load: Load, spawn_rate: float | None) -> None:
        if load.mode == "users":
            order: dict[str, Any] = {"users": int(load.amount), "spawn_rate": spawn_rate or 1.0}
        else:
            order = {"rate": load.amount}
        self.orders += 1
        write_json_atomic(self.control, {"step": self.orders, **order})

    def _marks(self) -> Marks:
        cores = self.cores.mark() if self.cores else None
        return Marks({name: sampler.mark() for name, sampler in self.samplers.items()}, cores)

    def _live_after(self, closes: int) -> dict[str, Any] | None:
        """The live file once written at `closes` or later: every bucket before it whole."""
        deadline = closes + LIVE_LAG_S
        sleep_until(closes + LIVE_AFTER_S)
        while True:
            try:
                live: dict[str, Any] | None = json.loads(self.live.read_text())
            except (OSError, ValueError):
                live = None  # not written yet, or caught mid-rename
            if (live is not None and live.get("now", 0) >= closes) or time.time() > deadline:
                return live
            time.sleep(0.05)

    def _down_from_rate(self, load: Load) -> bool:
        before = self.before
        return (
            load.mode == "rate"
            and before is not None
            and before.mode == "rate"
            and (before.amount > load.amount)
        )

    def _drain(self, load: Load) -> None:
        """After a change to a lower load: wait until the calls the load before left (users
        stopped, arrivals queued behind an overload) have gone, within a bound."""
        before = self.before
        if before is None or before.amount <= load.amount:
            return
        slowest_s = self.phase.slowest_ms / 1000
        expected = load.amount if load.mode == "users" else load.amount * slowest_s * 2
        deadline = time.time() + max(DRAIN_MIN_S, DRAIN_ANSWERS * slowest_s)
        while time.time() < deadline:
            sample = self.watch.samples[-1] if self.watch.samples else None
            outstanding = self._outstanding()
            quiet = sample is None or sample.in_flight <= max(expected, 1)
            if quiet and (outstanding is None or outstanding <= max(expected * 1.5, 5)):
                return
            time.sleep(0.25)

    def _outstanding(self) -> int | None:
        """Open loop: the requests the generator had in flight in its last whole second."""
        if self.before is None or self.before.mode != "rate":
            return None
        try:
            live = json.loads(self.live.read_text())
        except (OSError, ValueError):
            return None
        series = live.get("series") or {}
        if not series:
            return None
        last = series[max(series, key=int)]
        return int((last.get("open") or {}).get("outstanding", 0))
