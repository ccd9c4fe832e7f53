"""Who leads a scenario, and whether the lead is clear: the report's headline, as data.

A scenario is ranked at its headline load (the highest load every target measured) by
median valid throughput; hello points whose throughput is not theirs (the load generator
bound it, or it is the rate an open loop offered) rank by the server CPU each request
cost instead. A lead below CLEAR_LEAD is no lead, nor is one whose 95 %
intervals overlap (a point measured once: its window's batch means, bench.results.
intervals; repeated: the t-interval of its repetitions). The report's sentences
(bench.reports.report) say what this module decides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.results import history
from bench.results.comparison import METRICS
from bench.results.model import Level, Load, Point, Repetitions
from bench.results.naming import label

# A lead smaller than this is no lead: the same minimum effect that comparisons use.
CLEAR_LEAD = 1.05
THROUGHPUT = ("throughput_rps",)
CPU_PER_REQUEST = ("cpu_us_per_request",)


@dataclass(frozen=True)
class Ranking:
    """Who leads one scenario at its highest common load, and by how much."""

    scenario: str
    load: str
    ranked: list[tuple[Repetitions, float]]  # (level, median valid throughput), best first
    unranked: list[Repetitions]  # targets with no valid point at that load
    reference: list[Repetitions]  # calibration targets, shown for scale, never ranked
    # Ranked by the server CPU a request cost (as requests per CPU-second), because the
    # load generator, not the servers, bound the throughput, or (offered) because it is
    # the rate an open loop offered.
    by_cpu: bool = False
    offered: bool = False
    # Each level's name among the scenario's (bench.results.naming).
    names: Mapping[Level, str] = field(default_factory=dict)
    # Each ranked level's 95 % interval of its figure (absent: none could be computed).
    spans: Mapping[Level, tuple[float, float]] = field(default_factory=dict)

    def name(self, level: Repetitions) -> str:
        """A level's name in sentences: the target, and its client when clients differ."""
        return self.names.get(level.level, level.target)

    @property
    def leader(self) -> str | None:
        """The leading target's name, when its lead is clear (>= CLEAR_LEAD)."""
        if not self.ranked:
            return None
        if len(self.ranked) > 1 and not (
            clear(self.ranked[0][1], self.ranked[1][1]) and self.separated
        ):
            return None
        return self.name(self.ranked[0][0])

    @property
    def separated(self) -> bool:
        """The top two's intervals do not overlap (True when either has none: the ratio
        alone decides, and the sentence says so)."""
        first, second = (self.spans.get(lv.level) for lv, _ in self.ranked[:2])
        return first is None or second is None or first[0] > second[1]

    def without_interval(self) -> list[str]:
        """The top two's names that have no interval."""
        return [self.name(lv) for lv, _ in self.ranked[:2] if lv.level not in self.spans]


def clear(best: float, second: float) -> bool:
    """Whether `best` leads `second` clearly."""
    # Decided on the ratio as printed, so the sentence never contradicts its own number.
    return second <= 0 or round(best / second, 2) >= CLEAR_LEAD


def span(level: Repetitions, by_cpu: bool = False) -> tuple[float, float] | None:
    """The 95 % interval of a level's ranked figure over its valid points (as `bench
    history` computes it): throughput, or requests per CPU-second."""
    return points_span([p for p in level.points if p.valid], by_cpu)


def points_span(points: Sequence[Point], by_cpu: bool = False) -> tuple[float, float] | None:
    """The 95 % interval of the throughput (or requests per CPU-second) of the points of
    one level: one point's window's batch means, or its repetitions' t-interval."""
    metric = next(
        m for m in METRICS if m.name == ("cpu_us_per_request" if by_cpu else THROUGHPUT[0])
    )
    low, high = history.interval(list(points), metric)
    if low is None or high is None:
        return None
    if not by_cpu:
        return (low, high)
    return (1e6 / high, 1e6 / low if low > 0 else math.inf) if high > 0 else None


Span = tuple[float, float]  # a 95 % interval: (low, high)


@dataclass(frozen=True)
class Ratio:
    """One figure over another, and the interval that their 95 % intervals allow.

    The interval pairs each end of one figure's interval with the far end of the other's,
    which is wider than a joint 95 % interval would be: a ratio said to clear a bound with
    it clears it at least that surely.
    """

    value: float
    low: float | None = None
    high: float | None = None

    @classmethod
    def of(
        cls, top: float, bottom: float, top_span: Span | None, bottom_span: Span | None
    ) -> Ratio:
        value = top / bottom if bottom > 0 else math.inf
        if top_span is None or bottom_span is None:
            return cls(value)
        low = top_span[0] / bottom_span[1] if bottom_span[1] > 0 else math.inf
        high = top_span[1] / bottom_span[0] if bottom_span[0] > 0 else math.inf
        return cls(value, low, high)

    def at_least(self, bound: float) -> bool:
        """The ratio reaches `bound` over its whole interval (or, without one, its value)."""
        return (self.value if self.low is None else self.low) >= bound

    def below(self, bound: float) -> bool:
        """The ratio stays under `bound` over its whole interval (or its value does)."""
        return (self.value if self.high is None else self.high) < bound

    def text(self, digits: int = 1) -> str:
        """"12x (95 % interval 9.8x to 15x)", or "12x" without an interval."""
        value = f"{self.value:.{digits}f}x"
        if self.low is None or self.high is None:
            return value
        if not math.isfinite(self.high):  # the lower figure's interval reaches 0
            return f"{value} (95 % interval {self.low:.{digits}f}x and up)"
        return f"{value} (95 % interval {self.low:.{digits}f}x to {self.high:.{digits}f}x)"


def headline_load(scenario_levels: list[Repetitions]) -> Load:
    """Return the highest load that every target measured (else the most shared, highest)."""
    contenders = [lv for lv in scenario_levels if lv.tag != "calibration"] or scenario_levels

    def reach(load: Load) -> tuple[int, float]:
        measured = {lv.target for lv in contenders if lv.load == load}
        return len(measured), load.amount

    return max({lv.load for lv in contenders}, key=reach)


def _generator_bound(levels: Sequence[Repetitions]) -> bool:
    """Whether the load generator bound any contender (its points say so)."""
    return any(
        p.limit is not None and p.limit.kind == "generator" for lv in levels for p in lv.points
    )


def _kept_up(level: Repetitions) -> bool:
    """Every valid point of the level answered its arrivals (its limit: the rate)."""
    valid = [p for p in level.points if p.valid]
    return bool(valid) and all(p.limit is not None and p.limit.kind == "none" for p in valid)


def per_cpu_second(level: Repetitions) -> float | None:
    """Requests one CPU-second serves: the inverse of the median CPU per request."""
    cost = level.median(CPU_PER_REQUEST, True)
    return 1e6 / cost if cost else None


def rank(scenario: str, scenario_levels: list[Repetitions]) -> Ranking:
    """Rank the targets by median valid throughput at the scenario's headline load.

    Hello points bound by the load generator, or offered a fixed open-loop rate, rank by
    the server CPU each request cost instead: their throughput measures the generator
    or the rate, their CPU the framework.
    """
    load = headline_load(scenario_levels)
    at_load = [lv for lv in scenario_levels if lv.load == load]
    contenders = [lv for lv in at_load if lv.tag != "calibration"]
    # At an open-loop rate every target kept up with (its limit: the rate), throughput is
    # the rate's; one that fell short ranks below the others by throughput. Without the
    # server's CPU (a deployment measured from outside) nothing else can rank them.
    offered = load.open_loop and all(_kept_up(lv) for lv in contenders)
    by_cpu = (
        scenario == "hello"
        and (offered or _generator_bound(contenders))
        and all(per_cpu_second(lv) is not None for lv in contenders)
    )

    def figure(level: Repetitions) -> float | None:
        return per_cpu_second(level) if by_cpu else level.median(THROUGHPUT, True)

    ranked = [(lv, value) for lv in contenders if (value := figure(lv)) is not None]
    ranked.sort(key=lambda item: -item[1])
    measured = {lv.level for lv, _ in ranked}
    unranked = [lv for lv in contenders if lv.level not in measured]
    reference = [lv for lv in at_load if lv.tag == "calibration"]
    names = {lv.level: label(lv, scenario_levels) for lv in scenario_levels}
    spans = {lv.level: found for lv, _ in ranked if (found := span(lv, by_cpu)) is not None}
    return Ranking(
        scenario, load.label(), ranked, unranked, reference, by_cpu, by_cpu and offered,
        names, spans,
    )  # fmt: skip
