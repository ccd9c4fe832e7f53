"""`bench history RUN...`: how the headline figures moved over many runs.

The runs are lined up by the time they started (then by commit). For every level
(target / scenario / load) the history follows its throughput and its p99 latency, and
for every capacity search its two figures; each value comes with its interval (the
repetitions' t-interval of the mean, or for a point measured once its window's batch-
means interval). Between consecutive runs that measured a figure, the change is judged
by exactly the test of `bench compare` (bench.reports.compare.decide): significant only
when the test says so and the change exceeds the minimum effect.

Runs are never silently joined across a change of conditions: when a run's conditions
(machine, Python, packages, mock, window; everything but what `--varying` declares, by
default the code) differ from the run before it, the run is marked, its differences are
listed, the change into it is "conditions differ" instead of a verdict, and the charts
break their line there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from scipy import stats as scipy_stats

from bench.reports import charts
from bench.reports import compare as cmp
from bench.results import capacity as cap
from bench.results import conditions as cond
from bench.results import intervals, stats
from bench.results.model import Capacity, Level, Point, Run, by_level, repetitions
from bench.results.model import Figure as CapacityFigure

CONDITIONS_DIFFER = "conditions differ"
HEADLINE_METRICS = ("throughput_rps", "latency_p99_ms")
CONFIDENCE = 0.95
MARKS = {cmp.REGRESSION: "▼", cmp.IMPROVEMENT: "▲", CONDITIONS_DIFFER: "≠"}


@dataclass(frozen=True)
class Entry:
    """One run of the history, and how its conditions compare with the run before it."""

    index: int
    named: cmp.Named
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
class Figure:
    """One headline figure of one run: value, interval, and the change from the run before."""

    value: float
    low: float | None
    high: float | None
    n: int
    decision: str | None = None  # None: nothing before it to compare with
    reason: str = ""
    ratio: float | None = None

    @property
    def significant(self) -> bool:
        return self.decision in (cmp.REGRESSION, cmp.IMPROVEMENT)


@dataclass
class Series:
    """One headline figure of one level (or capacity search) across the runs."""

    key: str
    scenario: str
    metric: str  # a compare.Metric label, or a capacity figure
    unit: str
    higher_is_better: bool
    figures: list[Figure | None] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.key}: {self.metric}"


@dataclass
class History:
    """The runs in order and every series across them."""

    entries: list[Entry]
    series: list[Series]
    settings: cmp.Settings


# --- building -----------------------------------------------------------------------


def order(named: Sequence[cmp.Named]) -> list[cmp.Named]:
    """The runs by start time, then commit, then id."""
    return sorted(
        named,
        key=lambda n: (n.run.info.started_at, n.run.info.git_commit or "", n.run.info.id),
    )


def entries(named: Sequence[cmp.Named], varying: tuple[str, ...]) -> list[Entry]:
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


def interval(points: list[Point], metric: cmp.Metric) -> tuple[float | None, float | None]:
    """The interval of a figure: over the repetitions, or one window's batch means."""
    values = cmp.sample(points, metric)
    finished = [p for p in points if p.ok]
    if len(values) == 1 and len(finished) == 1 and metric.name in intervals.SERIES:
        bounds = intervals.of_point(finished[0], metric.name).bounds(CONFIDENCE)
        return bounds if bounds is not None else (None, None)
    centre, spread = stats.mean(values), stats.stdev(values)
    if centre is None or spread is None:
        return None, None
    half = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1)) * spread
    half /= math.sqrt(len(values))
    return centre - half, centre + half


def _figure(
    points: list[Point],
    metric: cmp.Metric,
    before: list[Point] | None,
    differs: bool,
    settings: cmp.Settings,
) -> Figure | None:
    values = cmp.sample(points, metric)
    centre = stats.mean(values)
    if centre is None:
        return None
    low, high = interval(points, metric)
    figure = Figure(centre, low, high, len(values))
    if before is None or not cmp.sample(before, metric):
        return figure
    if differs:
        return Figure(centre, low, high, len(values), CONDITIONS_DIFFER, "conditions differ")
    windows = cmp.single_windows(before, points, metric)
    ratio, _, decision, reason = cmp.decide(
        metric, cmp.sample(before, metric), values, settings, windows
    )
    return Figure(centre, low, high, len(values), decision, reason, ratio)


def _differs_since(found: list[Entry], start: int, end: int) -> bool:
    """Whether undeclared conditions changed anywhere between two runs (start < i <= end)."""
    return any(found[i].differs for i in range(start + 1, end + 1))


def level_series(found: list[Entry], level: Level, settings: cmp.Settings) -> list[Series]:
    """The headline figures of one level across the runs."""
    metrics = [m for m in cmp.METRICS if m.name in HEADLINE_METRICS]
    out = []
    for metric in metrics:
        series = Series(level.label(), level.scenario, metric.label, metric.unit,
                        metric.higher_is_better)  # fmt: skip
        last: tuple[int, list[Point]] | None = None
        for i, entry in enumerate(found):
            points = by_level(entry.run.points).get(level)
            if points is None:
                series.figures.append(None)
                continue
            before = last[1] if last else None
            differs = last is not None and _differs_since(found, last[0], i)
            figure = _figure(points, metric, before, differs, settings)
            series.figures.append(figure)
            if figure is not None:
                last = (i, points)
        out.append(series)
    return out


CAPACITY_UNITS = {"saturation": "req/s", "goodput": "req/s", "in_flight": "requests"}


def _capacity_key(found: Capacity) -> str:
    return f"{found.target} / {found.scenario} / {found.latency.name}"


def _capacity_figure(
    value: CapacityFigure, previous: CapacityFigure | None, differs: bool
) -> Figure:
    figure = Figure(value.value, value.low, value.high, 1)
    if previous is None:
        return figure
    if differs:
        return Figure(figure.value, value.low, value.high, 1, CONDITIONS_DIFFER,
                      "conditions differ")  # fmt: skip
    moved, reason = cap.change(previous, value)
    decision = {"higher": cmp.IMPROVEMENT, "lower": cmp.REGRESSION}.get(moved, cmp.NOT_SIGNIFICANT)
    ratio = value.value / previous.value if previous.value else None
    return Figure(figure.value, value.low, value.high, 1, decision, reason, ratio)


def capacity_series(found: list[Entry]) -> list[Series]:
    """The three capacity figures of every search across the runs."""
    keys = list(dict.fromkeys(_capacity_key(c) for e in found for c in e.run.capacity))
    out = []
    for key in keys:
        for name in cap.FIGURES:
            series = Series(key, key.split(" / ")[1], cap.FIGURE_NAMES[name],
                            CAPACITY_UNITS[name], True)  # fmt: skip
            last: tuple[int, CapacityFigure] | None = None
            for i, entry in enumerate(found):
                match = [c for c in entry.run.capacity if _capacity_key(c) == key]
                value = cap.figure_of(match[0], name) if match else None
                if value is None:
                    series.figures.append(None)
                    continue
                differs = last is not None and _differs_since(found, last[0], i)
                series.figures.append(_capacity_figure(value, last[1] if last else None, differs))
                last = (i, value)
            out.append(series)
    return out


def build(named: Sequence[cmp.Named], settings: cmp.Settings) -> History:
    """Line the runs up and follow every headline figure across them."""
    found = entries(named, settings.varying)
    series = [
        one
        for level in levels([e.run for e in found])
        for one in level_series(found, level, settings)
    ]
    return History(found, series + capacity_series(found), settings)


# --- text -----------------------------------------------------------------------------


def cell(figure: Figure | None) -> str:
    """A figure as a table cell: "526 ±4 ▼" (the mark: the change from the run before)."""
    if figure is None:
        return "-"
    text = charts.format_value(figure.value)
    if figure.low is not None and figure.high is not None:
        text += f" ±{charts.format_value((figure.high - figure.low) / 2)}"
    mark = MARKS.get(figure.decision or "")
    return f"{text} {mark}" if mark else text


LEGEND = (
    "▲ improvement, ▼ regression: significant by the test of `bench compare` (p < "
    "{alpha:g} and a change beyond {effect:.0%}) against the run before that measured "
    "it; ≠ conditions differ: not compared. ± is the half-width of the 95 % interval."
)


def legend(settings: cmp.Settings) -> str:
    return LEGEND.format(alpha=settings.alpha, effect=settings.min_effect)


def changed_conditions(found: list[Entry]) -> list[str]:
    """One line per run whose conditions differ from the run before."""
    lines = []
    for entry in found:
        unintended = cond.unintended(entry.differences, entry.varying)
        if unintended:
            what = "; ".join(d.text() for d in unintended)
            lines.append(f"#{entry.index} {entry.run.info.id}: {what}")
    return lines


def render_table(history: History, console: Console) -> None:
    """One Rich table per scenario: a row per series, a column per run."""
    found = history.entries
    console.print(Text(f"bench history: {len(found)} runs, in the order they started"))
    for entry in found:
        meant = cond.describe(entry.differences, entry.varying) if entry.index > 1 else "first"
        mark = " ≠ conditions differ" if entry.differs else ""
        console.print(Text(f"  {entry.short()}  {entry.run.info.id}  ({meant}){mark}"))
    scenarios = list(dict.fromkeys(s.scenario for s in history.series))
    for scenario in scenarios:
        table = Table(title=Text(f"scenario: {scenario}"), title_justify="left")
        table.add_column(Text("figure"))
        for entry in found:
            table.add_column(Text(entry.short() + (" ≠" if entry.differs else "")), justify="right")
        for series in (s for s in history.series if s.scenario == scenario):
            cells = [Text(cell(f), style=_style(f)) for f in series.figures]
            table.add_row(Text(f"{series.title} ({series.unit})"), *cells)
        console.print(table)
    console.print(Text(legend(history.settings)))
    for line in changed_conditions(found):
        console.print(Text(f"≠ {line}", style="bold red"))


def _style(figure: Figure | None) -> str:
    if figure is None or figure.decision is None:
        return ""
    return {cmp.REGRESSION: "bold red", cmp.IMPROVEMENT: "bold green",
            CONDITIONS_DIFFER: "yellow"}.get(figure.decision, "")  # fmt: skip


# --- JSON -----------------------------------------------------------------------------


def _figure_json(entry: Entry, figure: Figure | None) -> dict[str, Any]:
    base: dict[str, Any] = {"run": entry.run.info.id, "index": entry.index}
    if figure is None:
        return {**base, "value": None}
    return {
        **base,
        "value": figure.value,
        "low": figure.low,
        "high": figure.high,
        "n": figure.n,
        "change": figure.decision,
        "significant": figure.significant,
        "ratio": figure.ratio,
        "reason": figure.reason,
    }


def to_json(history: History) -> str:
    """The history as one JSON document: runs, their condition changes, every series."""
    settings = history.settings
    document = {
        "settings": {
            "alpha": settings.alpha,
            "min_effect": settings.min_effect,
            "varying": list(settings.varying),
            "confidence": CONFIDENCE,
        },
        "runs": [
            {
                "index": e.index,
                "id": e.run.info.id,
                "location": e.named.label,
                "started_at": e.run.info.started_at,
                "git_commit": e.run.info.git_commit,
                "conditions_differ": e.differs,
                "differences": [d.to_dict(e.varying) for d in e.differences],
            }
            for e in history.entries
        ],
        "series": [
            {
                "key": s.key,
                "scenario": s.scenario,
                "metric": s.metric,
                "unit": s.unit,
                "higher_is_better": s.higher_is_better,
                "figures": [
                    _figure_json(e, f) for e, f in zip(history.entries, s.figures, strict=True)
                ],
            }
            for s in history.series
        ],
    }
    return json.dumps(document, indent=1, allow_nan=False)
