"""The charts of one scenario in a report: bars at one load, lines over several.

Each chart plots medians over repetitions, their min-max as whiskers, the reference
line that bounds it (the Little's-law ceiling, 100 % efficiency, the mock's set TTFT or
ITL) and marks invalid and warned levels; every series is named by
bench.results.naming, so a row and its line carry the same name.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from bench.reports import charts
from bench.reports.tables import num
from bench.results.model import IO_BOUND, Level, MockInfo, Repetitions, Run
from bench.results.naming import label
from bench.results.ranking import THROUGHPUT

EFFICIENCY = ("efficiency",)


@dataclass(frozen=True)
class ChartMetric:
    """A figure to chart: where it is in a point, its name and unit."""

    name: str
    path: tuple[str, ...]
    unit: str
    factor: float = 1.0  # efficiency is stored as a fraction and shown in %


LATENCY = tuple(
    ChartMetric(f"p{q.removeprefix('p').replace('999', '99.9')}", ("latency_ms", q), "ms")
    for q in ("p50", "p90", "p99", "p999")
)
STREAM = (
    ChartMetric("TTFT p50", ("ttft_ms", "p50"), "ms"),
    ChartMetric("TTFT p99", ("ttft_ms", "p99"), "ms"),
    ChartMetric("TPOT p50", ("tpot_ms", "p50"), "ms"),
    ChartMetric("ITL p50", ("itl_ms", "p50"), "ms"),
    ChartMetric("ITL p99", ("itl_ms", "p99"), "ms"),
)
RPS = ChartMetric("req/s", THROUGHPUT, "req/s")
EFF = ChartMetric("efficiency", EFFICIENCY, "%", 100.0)
CPU = ChartMetric("server CPU", ("server", "cpu_pct"), "%")
RSS = ChartMetric("server RSS", ("server", "rss_mb"), "MiB")


@dataclass(frozen=True)
class ChartSpec:
    """One chart of a scenario: the figures, and the reference line if any."""

    title: str
    metrics: tuple[ChartMetric, ...]  # all of them in a bar chart
    line_metrics: tuple[ChartMetric, ...]  # one line chart each when there are several loads
    reference: str | None = None  # "little", "full", "ttft", "itl"
    io_only: bool = False
    stream_only: bool = False


CHART_SPECS = (
    ChartSpec("throughput", (RPS,), (RPS,), "little"),
    ChartSpec("E2E latency", LATENCY, (LATENCY[0], LATENCY[2])),
    ChartSpec("efficiency vs the Little's-law ceiling", (EFF,), (EFF,), "full", io_only=True),
    ChartSpec("stream timing", STREAM, (STREAM[0], STREAM[2], STREAM[4]), stream_only=True),
    ChartSpec("server CPU (100 % = one core)", (CPU,), (CPU,)),
    ChartSpec("server memory (peak RSS)", (RSS,), (RSS,)),
)
REFERENCE_NAMES = {
    "little": "Little's-law ceiling",
    "full": "the ceiling (100 %)",
    "ttft": "the mock's set TTFT",
    "itl": "the mock's set ITL",
}


def _reference_value(kind: str, found: list[Repetitions], mock: MockInfo) -> float | None:
    if kind == "little":
        values = [v for lv in found for v in lv.values(("ceiling_rps",))]
        return statistics.median(values) if values else None
    if kind == "full":
        return 100.0
    return mock.ttft_ms if kind == "ttft" else mock.itl_ms


def _metric_reference(metric: ChartMetric, spec: ChartSpec) -> str | None:
    if spec.reference is not None:
        return spec.reference
    if metric.path[0] == "ttft_ms":
        return "ttft"
    if metric.path[0] in ("tpot_ms", "itl_ms"):
        return "itl"
    return None


def _applies(spec: ChartSpec, scenario: str) -> bool:
    if spec.io_only and scenario not in IO_BOUND:
        return False
    return not (spec.stream_only and scenario != "stream")


def _scaled(level: Repetitions, metric: ChartMetric) -> float | None:
    value = level.median(metric.path)
    return None if value is None else value * metric.factor


def scenario_charts(scenario: str, found: list[Repetitions], run: Run) -> list[str]:
    """Return the SVG charts of one scenario: lines over loads, or bars at one load."""
    names = {lv.level: label(lv, found) for lv in found}
    # One colour per target (and client) in every chart of the report, in run order.
    order = list(dict.fromkeys((p.target, p.client) for p in run.points))
    styles = {names[lv.level]: order.index((lv.target, lv.client)) for lv in found}
    svgs: list[str] = []
    for mode in dict.fromkeys(lv.load.mode for lv in found):
        in_mode = [lv for lv in found if lv.load.mode == mode]
        amounts = sorted({lv.load.amount for lv in in_mode})
        for spec in (s for s in CHART_SPECS if _applies(s, scenario)):
            if len(amounts) == 1:
                svgs.append(_bars(scenario, spec, in_mode, run.mock, names))
            else:
                svgs += [
                    _lines(scenario, mode, metric, spec, in_mode, run.mock, styles, names)
                    for metric in spec.line_metrics
                ]
    return [svg for svg in svgs if svg]


def _bars(
    scenario: str,
    spec: ChartSpec,
    found: list[Repetitions],
    mock: MockInfo,
    names: Mapping[Level, str],
) -> str:
    bars = {names[lv.level]: {m.name: _scaled(lv, m) for m in spec.metrics} for lv in found}
    if all(v is None for group in bars.values() for v in group.values()):
        return ""
    spread = {
        (names[lv.level], m.name): (span[0] * m.factor, span[1] * m.factor)
        for lv in found
        for m in spec.metrics
        if (span := lv.span(m.path)) is not None
    }
    reference = _metric_reference(spec.metrics[0], spec) if len(spec.metrics) == 1 else None
    ceiling = _reference_value(reference, found, mock) if reference else None
    return charts.bar_chart(
        bars,
        title=f"{scenario}: {spec.title} at {found[0].load.label()} (median of repetitions)",
        value_label=_value_label(spec, mock),
        unit=spec.metrics[0].unit,
        ceiling=ceiling,
        ceiling_label=REFERENCE_NAMES.get(reference or "", "ceiling"),
        invalid={names[lv.level] for lv in found if lv.invalid},
        warned={names[lv.level] for lv in found if lv.warned and not lv.invalid},
        spread=spread,
        standalone=False,
    )


def _value_label(spec: ChartSpec, mock: MockInfo) -> str:
    label = f"{spec.title} ({spec.metrics[0].unit})"
    if spec.stream_only:
        label += f"; the mock's set TTFT {num(mock.ttft_ms)} ms, ITL {num(mock.itl_ms)} ms"
    return label


def _lines(
    scenario: str,
    mode: str,
    metric: ChartMetric,
    spec: ChartSpec,
    found: list[Repetitions],
    mock: MockInfo,
    styles: dict[str, int],
    names: Mapping[Level, str],
) -> str:
    series: dict[str, list[tuple[float, float]]] = {}
    spread: dict[str, list[tuple[float, float, float]]] = {}
    for lv in found:
        value = _scaled(lv, metric)
        if value is not None:
            series.setdefault(names[lv.level], []).append((lv.load.amount, value))
        if (span := lv.span(metric.path)) is not None:
            spread.setdefault(names[lv.level], []).append(
                (lv.load.amount, span[0] * metric.factor, span[1] * metric.factor)
            )
    if not series:
        return ""
    return charts.line_chart(
        series,
        title=f"{scenario}: {metric.name if len(spec.metrics) > 1 else spec.title} vs load",
        x_label="closed loop: concurrent users" if mode == "users" else "open loop: offered rate",
        y_label=f"{metric.name} ({metric.unit})",
        x_unit="users" if mode == "users" else "req/s",
        y_unit=metric.unit,
        log_x="auto",
        log_y="auto" if metric.path[0].endswith("_ms") else False,
        ceiling=_reference_lines(metric, spec, found, mock),
        invalid={(names[lv.level], lv.load.amount) for lv in found if lv.invalid},
        warned={(names[lv.level], lv.load.amount) for lv in found if lv.warned and not lv.invalid},
        spread=spread,
        styles=styles,
        standalone=False,
    )


def _reference_lines(
    metric: ChartMetric, spec: ChartSpec, found: list[Repetitions], mock: MockInfo
) -> dict[str, list[tuple[float, float]]]:
    kind = _metric_reference(metric, spec)
    if kind is None:
        return {}
    line = []
    for amount in sorted({lv.load.amount for lv in found}):
        value = _reference_value(kind, [lv for lv in found if lv.load.amount == amount], mock)
        if value is not None:
            line.append((amount, value))
    return {REFERENCE_NAMES[kind]: line} if line else {}
