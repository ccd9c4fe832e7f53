"""One teaching demo as one object: what it asks, how it measures, what it teaches.

A `Demo` carries its question and prediction, how it measures (`Grid`: targets x
scenarios x users in one closed-loop run; `Planned`: run plans of its own making one after
another into one run; `Ramp`: each target's capacity search), the lesson drawn from a
run, the mechanism behind it, and how its chart and table are drawn from a run. The
demos, in `bench demo all`'s teaching order, are bench.demos.catalog's tuple; running
one is bench.demos.perform's job.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.table import Table

from bench.demos.lessons import Lesson
from bench.demos.mechanisms import Mechanism
from bench.results.model import Load, Run
from bench.running.capacity import CapacityPlan
from bench.running.plan import MockSettings, Plan, default_cpus
from bench.running.targets import resolve

# An I/O-bound endpoint: one token after 200 ms.
IO = MockSettings(ttft_ms=200.0, itl_ms=0.0, tokens=1)
# A ramp searches a declared limit up to this share above it (bench.results.capacity
# measures around such a limit a fifth above and below it).
ABOVE_DECLARED = 0.2


def preset(name: str) -> str:
    """The preset a demo's runs record ("demo:<name>"): how the handout finds them."""
    return f"demo:{name}"


@dataclass(frozen=True)
class Grid:
    """Targets x scenarios x users, closed loop, in one run (bench.running.runner)."""

    targets: tuple[str, ...]
    scenarios: tuple[str, ...]
    users: tuple[int, ...]
    quick_users: tuple[int, ...]
    quick_targets: tuple[str, ...] | None = None
    mock: MockSettings = IO
    clients: tuple[str, ...] | None = None  # the service's upstream clients, each a row
    # The servers' own series (bench.running.telemetry): the evidence from inside that a
    # lesson cites, at the cost of the instrumentation's few per cent (docs/metrics.md).
    telemetry: bool = False

    def plans(
        self, name: str, quick: bool, duration_s: float | None, warmup_s: float | None
    ) -> list[Plan]:
        """The run's one plan (shorter and smaller with quick)."""
        server, load = default_cpus()
        users = self.quick_users if quick else self.users
        return [
            Plan(
                targets=list(self.quick_targets if quick and self.quick_targets else self.targets),
                scenarios=list(self.scenarios),
                loads={s: [Load("users", u) for u in users] for s in self.scenarios},
                # Two minutes at most for the largest demo (12 points) on 2 cores.
                duration_s=duration_s or 2.0,
                warmup_s=warmup_s or 1.0,
                repeat=1,
                mock=self.mock,
                server_cpus=server,
                load_cpus=load,
                preset=preset(name),
                clients=list(self.clients) if self.clients else None,
                telemetry=self.telemetry,
            )
        ]


@dataclass(frozen=True)
class Planned:
    """Plans of the demo's own making (faults, open and closed loops: a plan holds one
    kind of load), run one after another into one run; they set their own windows."""

    make: Callable[[bool], list[Plan]]  # quick -> the plans

    def plans(
        self, _name: str, quick: bool, _duration_s: float | None, _warmup_s: float | None
    ) -> list[Plan]:
        return self.make(quick)


@dataclass(frozen=True)
class Ramp:
    """Each target's capacity search (bench.running.capacity) at one latency: the users
    it holds, refined within 5 % (quick: the ladder's doubling steps alone unless
    `quick_refine`); no goodput search.

    A target whose model declares what it holds (its workers, its threads) is searched up
    to a fifth above that, where the search's own steps around it end; the others up to
    `max_users`. Beyond it a climb would only go on measuring the saturation throughput,
    which the demo does not show.
    """

    targets: tuple[str, ...]
    max_users: int
    quick_targets: tuple[str, ...] | None = None
    quick_refine: bool = True
    scenarios: tuple[str, ...] = ("complete",)
    latency: str = "second"

    def plans(self, name: str, quick: bool) -> list[CapacityPlan]:
        """One plan per target, each up to its own top load, in the targets' order."""
        server, load = default_cpus()
        targets = self.quick_targets if quick and self.quick_targets else self.targets
        return [
            CapacityPlan(
                targets=[target],
                scenarios=list(self.scenarios),
                latencies=[self.latency],
                max_users=self.top_users(target, len(server)),
                server_cpus=server,
                load_cpus=load,
                preset=preset(name),
                refine=self.quick_refine or not quick,
                goodput=False,
                plateau=False,
            )
            for target in targets
        ]

    def top_users(self, spec: str, cores: int) -> int:
        """A fifth above what the target's model declares it holds, else `max_users`."""
        (target,) = resolve([spec])
        declared = target.declared_limits(target.counts(cores, None, None))
        own = [count for kind, count in declared.items() if kind in ("workers", "threads")]
        if not own:
            return self.max_users
        return min(self.max_users, math.ceil(min(own) * (1 + ABOVE_DECLARED)))


@dataclass(frozen=True)
class Demo:
    """One experiment: what it asks and expects, how it measures, what it teaches."""

    name: str
    question: str
    prediction: str
    look_at: str  # what to point at in the chart
    measure: Grid | Planned | Ramp
    lesson: Callable[[Run], Lesson]  # drawn from the run's figures, never canned
    mechanism: Mechanism  # what happened inside, and the code that shows it
    draw: Callable[[Demo, Run], str]  # its chart (SVG)
    tabulate: Callable[[Demo, Run], Table]  # its table

    def chart(self, run: Run) -> str:
        return self.draw(self, run)

    def table(self, run: Run) -> Table:
        return self.tabulate(self, run)
