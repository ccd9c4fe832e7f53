"""The headline figures of many runs in order, each change judged as `bench compare` does.

The runs are lined up by the time they started (then by commit). For every level
(target / scenario / load) the history follows its throughput and its p99 latency, and
for every capacity search its three figures; each value comes with its interval (the
repetitions' t-interval of the mean, or for a point measured once its window's batch-
means interval). Between consecutive runs that measured a figure, the change is judged
by exactly the rule of `bench compare` (bench.results.significance): significant only
when the test says so and the change exceeds the minimum effect.

Runs are never silently joined across a change of conditions: when a run's conditions
(machine, Python, packages, mock, window; everything but what `--varying` declares, by
default the code) differ from the run before it, the run is marked, its differences are
listed, the change into it is "conditions differ" instead of a verdict, and the charts
break their line there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.results import capacity as cap
from bench.results import conditions as cond
from bench.results import intervals, stats
from bench.results.comparison import METRICS, Metric, Named, sample, single_windows
from bench.results.model import Capacity, Figure, Level, Point, Run, by_level, repetitions
from bench.results.naming import label
from bench.results.significance import (
    CANNOT,
    IMPROVEMENT,
    NOT_SIGNIFICANT,
    REGRESSION,
    SIGNIFICANT,
    Settings,
    judge,
)

CONDITIONS_DIFFER = "conditions differ"
HEADLINE_METRICS = ("throughput_rps", "goodput_rps", "latency_p99_ms")
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Entry:
    """One run of the history, and how its conditions compare with the run before it."""

    index: int
    named: Named
    differences: list[cond.Difference]  # with the run before (none for the first)
    varying: tuple[str, ...]

    @property
    def run(self) -> Run:
        return self.named.run

    @property
    def differs(self) -> bool:
        """Whether conditions nobody declared changed since the run before."""
        return bool(cond.unintended(self.differences, self.varying))

    def short(self) -> str:
        """ "#3 11-30 16:09 7b5cbac": the run's place, start and commit."""
        started = self.run.info.started_at
        when = f"{started[5:10]} {started[11:16]}" if len(started) >= 16 else started
        commit = (self.run.info.git_commit or "?")[:7]
        return f"#{self.index} {when} {commit}"


@dataclass(frozen=True)
class Reading:
    """One headline figure in one run: value, interval, and the change from the run before."""

    value: float
    low: float | None
    high: float | None
    n: int
    decision: str | None = None  # None: nothing before it to compare with
    reason: str = ""
    ratio: float | None = None

    @property
    def significant(self) -> bool:
        return self.decision in SIGNIFICANT


@dataclass
class Timeline:
    """One headline figure of one level (or capacity search) across the runs."""

    key: str
    scenario: str
    metric: str  # a comparison Metric's label, or a capacity figure's name
    unit: str
    higher_is_better: bool
    readings: list[Reading | None] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.key}: {self.metric}"


@dataclass
class History:
    """The runs in order and every figure's timeline across them."""

    entries: list[Entry]
    timelines: list[Timeline]
    settings: Settings


def order(named: Sequence[Named]) -> list[Named]:
    """The runs by start time, then commit, then id."""
    return sorted(
        named,
        key=lambda n: (n.run.info.started_at, n.run.info.git_commit or "", n.run.info.id),
    )


def entries(named: Sequence[Named], varying: tuple[str, ...]) -> list[Entry]:
    """The runs in order, each with its differences from the run before."""
    found: list[Entry] = []
    for index, item in enumerate(order(named), start=1):
        before = found[-1].run if found else None
        diffs = cond.differences(before, item.run) if before is not None else []
        found.append(Entry(index, item, diffs, varying))
    return found


def levels(runs: Sequence[Run]) -> list[Level]:
    """Every level of any run, in the order a report shows them (first run first)."""
    seen: dict[Level, None] = {}
    for run in runs:
        for reps in repetitions(run.points):
            seen.setdefault(reps.level, None)
    return list(seen)


def interval(points: list[Point], metric: Metric) -> tuple[float | None, float | None]:
    """The interval of a figure: over the repetitions, or one window's batch means."""
    values = sample(points, metric)
    finished = [p for p in points if p.ok]
    if len(values) == 1 and len(finished) == 1 and metric.name in intervals.SERIES:
        bounds = intervals.of_point(finished[0], metric.name).bounds(CONFIDENCE)
        return bounds if bounds is not None else (None, None)
    centre, spread = stats.mean(values), stats.stdev(values)
    if centre is None or spread is None:
        return None, None
    half = stats.t_quantile(0.5 + CONFIDENCE / 2, len(values) - 1) * spread
    half /= math.sqrt(len(values))
    return centre - half, centre + half


def _reading(
    points: list[Point],
    metric: Metric,
    before: list[Point] | None,
    differs: bool,
    settings: Settings,
) -> Reading | None:
    values = sample(points, metric)
    centre = stats.mean(values)
    if centre is None:
        return None
    low, high = interval(points, metric)
    reading = Reading(centre, low, high, len(values))
    if before is None or not sample(before, metric):
        return reading
    if differs:
        return Reading(centre, low, high, len(values), CONDITIONS_DIFFER, "conditions differ")
    windows = single_windows(before, points, metric)
    found = judge(metric.higher_is_better, sample(before, metric), values, settings, windows)
    return Reading(centre, low, high, len(values), found.decision, found.reason, found.ratio)


def _differs_since(found: list[Entry], start: int, end: int) -> bool:
    """Whether undeclared conditions changed anywhere between two runs (start < i <= end)."""
    return any(found[i].differs for i in range(start + 1, end + 1))


def level_timelines(
    found: list[Entry], level: Level, settings: Settings, group: Sequence[Level] = ()
) -> list[Timeline]:
    """The headline figures of one level across the runs (named among `group`'s levels)."""
    # hello at an open-loop rate: its throughput is the rate's, its CPU per request ranks it.
    wanted = HEADLINE_METRICS + (("cpu_us_per_request",) if level.scenario == "hello" else ())
    metrics = [m for m in METRICS if m.name in wanted]
    key = f"{label(level, group or [level])} / {level.scenario} / {level.load.label()}"
    out = []
    for metric in metrics:
        timeline = Timeline(key, level.scenario, metric.label, metric.unit,
                            metric.higher_is_better)  # fmt: skip
        last: tuple[int, list[Point]] | None = None
        for i, entry in enumerate(found):
            points = by_level(entry.run.points).get(level)
            if points is None:
                timeline.readings.append(None)
                continue
            before = last[1] if last else None
            differs = last is not None and _differs_since(found, last[0], i)
            reading = _reading(points, metric, before, differs, settings)
            timeline.readings.append(reading)
            if reading is not None:
                last = (i, points)
        out.append(timeline)
    return out


CAPACITY_UNITS = {"saturation": "req/s", "goodput": "req/s", "in_flight": "requests"}


def _capacity_key(found: Capacity) -> str:
    return f"{found.target} / {found.scenario} / {found.latency.name}"


def _capacity_reading(value: Figure, previous: Figure | None, differs: bool) -> Reading:
    reading = Reading(value.value, value.low, value.high, 1)
    if previous is None:
        return reading
    if differs:
        return Reading(value.value, value.low, value.high, 1, CONDITIONS_DIFFER,
                       "conditions differ")  # fmt: skip
    moved, reason = cap.change(previous, value)
    decision = {"higher": IMPROVEMENT, "lower": REGRESSION, "open": CANNOT}.get(
        moved, NOT_SIGNIFICANT
    )
    ratio = value.value / previous.value if previous.value else None
    return Reading(value.value, value.low, value.high, 1, decision, reason, ratio)


def capacity_timelines(found: list[Entry]) -> list[Timeline]:
    """The three capacity figures of every search across the runs."""
    keys = list(dict.fromkeys(_capacity_key(c) for e in found for c in e.run.capacity))
    out = []
    for key in keys:
        for name in cap.FIGURES:
            timeline = Timeline(key, key.split(" / ")[1], cap.FIGURE_NAMES[name],
                                CAPACITY_UNITS[name], True)  # fmt: skip
            last: tuple[int, Figure] | None = None
            for i, entry in enumerate(found):
                match = [c for c in entry.run.capacity if _capacity_key(c) == key]
                value = cap.figure_of(match[0], name) if match else None
                if value is None:
                    timeline.readings.append(None)
                    continue
                differs = last is not None and _differs_since(found, last[0], i)
                previous = last[1] if last else None
                timeline.readings.append(_capacity_reading(value, previous, differs))
                last = (i, value)
            out.append(timeline)
    return out


def build(named: Sequence[Named], settings: Settings) -> History:
    """Line the runs up and follow every headline figure across them."""
    found = entries(named, settings.varying)
    every = levels([e.run for e in found])
    timelines = [one for level in every for one in level_timelines(found, level, settings, every)]
    return History(found, timelines + capacity_timelines(found), settings)
