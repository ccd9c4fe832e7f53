"""`bench compare <reference> <changed> [more...]`: is the change real, and how big is it?

Points are matched by target, scenario and load; the repetitions of a point are its
sample. A metric's change is significant only when BOTH
  (a) a two-sample test over the repetitions gives p < --alpha (default 0.05), and
  (b) the relative change of the mean, |mean(changed) / mean(reference) - 1|, is
      greater than --min-effect (default 0.05).
A test that cannot be computed (fewer than two repetitions, no variance, identical
samples, failed points, a Mann-Whitney test too small to ever reach alpha) is
reported as "cannot tell", never as significant.

--test auto (the default) runs Welch's t-test: each repetition's figure is already a
mean or percentile over thousands of requests, so repetitions are close to normal.
It switches to Mann-Whitney U when a sample is skewed (|adjusted skewness| > 1, which
needs three values) and there are enough repetitions for the U test to reach alpha
at all (its smallest exact two-sided p is 2 / C(n1 + n2, n1): 0.1 at 3 + 3, 0.029 at
4 + 4). Below that Mann-Whitney can never say "significant", so Welch is kept.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bench.results import capacity, intervals, stats, store
from bench.results import conditions as cond
from bench.results.conditions import Difference, differences
from bench.results.intervals import Interval
from bench.results.model import Capacity, Level, Point, Run, by_level
from bench.results.model import Figure as FigureValue

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NOT_SIGNIFICANT = "not significant"
CANNOT = "cannot compute"

SKEW_LIMIT = 1.0  # |G1| above this is "highly skewed" (Bulmer's rule of thumb)
FORMATS = ("table", "markdown", "html", "json")
TESTS = ("auto", stats.WELCH, stats.MANN_WHITNEY)
PLAN_FIELDS = cond.PLAN_FIELDS


@dataclass(frozen=True)
class Metric:
    """One figure compared between runs, and which direction is better."""

    name: str
    label: str
    unit: str
    higher_is_better: bool
    path: tuple[str, ...]
    scenarios: tuple[str, ...] | None = None  # None: every scenario

    def value(self, point: Point) -> float | None:
        """Return this metric of one point, or None when the point lacks it."""
        return point.value(self.path)


METRICS = (
    Metric("throughput_rps", "throughput", "req/s", True, ("throughput_rps",)),
    Metric("latency_p50_ms", "latency p50", "ms", False, ("latency_ms", "p50")),
    Metric("latency_p99_ms", "latency p99", "ms", False, ("latency_ms", "p99")),
    Metric("ttft_p50_ms", "TTFT p50", "ms", False, ("ttft_ms", "p50"), ("stream",)),
    Metric("cpu_us_per_request", "server CPU per request", "µs", False, ("cpu_us_per_request",)),
)


@dataclass(frozen=True)
class Settings:
    """How a change is judged."""

    test: str = "auto"
    alpha: float = 0.05
    min_effect: float = 0.05
    # The categories of conditions changed on purpose (bench.results.conditions).
    varying: tuple[str, ...] = cond.DEFAULT_VARYING


@dataclass(frozen=True)
class Named:
    """One loaded run and how to name it."""

    label: str
    run: Run


@dataclass(frozen=True)
class Row:
    """The verdict on one metric of one matched point."""

    key: Level
    metric: Metric
    reference: list[float]
    changed: list[float]
    ratio: float | None  # mean(changed) / mean(reference)
    words: str
    outcome: stats.Outcome | None
    decision: str
    reason: str
    ci: tuple[float, float] | None  # of the relative change, at 1 - alpha
    flags: tuple[str, ...]
    limits: str = "-"  # what binds the point: "server-cpu", or "a -> b" when it changed
    # One repetition a side: each window's own interval (bench.results.intervals).
    windows: tuple[Interval, Interval] | None = None

    @property
    def method(self) -> str:
        """What the verdict stands on: the repetitions, or each single window's seconds."""
        return "window" if self.windows is not None else "repetitions"

    @property
    def change(self) -> float | None:
        """Relative change of the mean (+0.10 is 10 % higher)."""
        return None if self.ratio is None else self.ratio - 1


@dataclass(frozen=True)
class CapacityRow:
    """One capacity figure of one search, in both runs, and how it moved."""

    search: str  # target / scenario / latency
    figure: str
    reference: FigureValue | None
    changed: FigureValue | None
    limits: str

    @property
    def ratio(self) -> float | None:
        if self.reference is None or not self.reference.value or self.changed is None:
            return None
        return self.changed.value / self.reference.value

    @property
    def verdict(self) -> str:
        """Higher, lower, or the same: beyond the figures' intervals or not."""
        moved, why = capacity.change(self.reference, self.changed)
        if moved == "missing":
            return "cannot compare (missing in one run)"
        if moved == "same":
            return f"the same ({why})"
        return f"{moved} ({why})"


def compare_capacity(reference: Run, changed: Run) -> list[CapacityRow]:
    """Match the searches of two runs (target, scenario, latency); compare the figures."""

    def key(found: Capacity) -> tuple[str, str, str]:
        return (found.target, found.scenario, found.latency.name)

    before = {key(c): c for c in reference.capacity}
    rows = []
    for found in changed.capacity:
        old = before.get(key(found))
        if old is None:
            continue
        label = " / ".join(key(found))
        for name in capacity.FIGURES:
            was, now = capacity.figure_of(old, name), capacity.figure_of(found, name)
            limits = tuple(f.limit.kind if f and f.limit else "-" for f in (was, now))
            text = limits[0] if limits[0] == limits[1] else f"{limits[0]} -> {limits[1]}"
            rows.append(CapacityRow(label, capacity.FIGURE_NAMES[name], was, now, text))
    return rows


@dataclass
class Comparison:
    """A changed run against the reference."""

    reference: Named
    changed: Named
    differences: list[Difference]
    rows: list[Row] = field(default_factory=list)
    only_reference: list[Level] = field(default_factory=list)
    only_changed: list[Level] = field(default_factory=list)
    became_invalid: list[tuple[Level, list[str]]] = field(default_factory=list)
    geometric_means: dict[str, tuple[float | None, int]] = field(default_factory=dict)
    capacity: list[CapacityRow] = field(default_factory=list)
    varying: tuple[str, ...] = cond.DEFAULT_VARYING

    def count(self, decision: str) -> int:
        """Return how many rows reached `decision`."""
        return sum(1 for row in self.rows if row.decision == decision)

    def unintended(self) -> list[Difference]:
        """The differences in conditions that were not declared as varying."""
        return cond.unintended(self.differences, self.varying)

    def intended(self) -> list[Difference]:
        """The differences in what was declared as varying (they name the comparison)."""
        return cond.intended(self.differences, self.varying)


# --- matching and deciding -------------------------------------------------------


def sample(points: list[Point], metric: Metric) -> list[float]:
    """Return the metric over the finished repetitions (failed ones carry no figures)."""
    values = (metric.value(p) for p in points if p.ok)
    return [v for v in values if v is not None]


def words(ratio: float, higher_is_better: bool) -> str:
    """Say a ratio changed/reference as "1.23x faster", "1.10x slower" or "no change"."""
    if ratio <= 0:
        return "fell to 0"
    speed = ratio if higher_is_better else 1 / ratio
    if f"{speed:.2f}" == "1.00":
        return "no change"
    return f"{speed:.2f}x faster" if speed > 1 else f"{1 / speed:.2f}x slower"


def choose_test(reference: Sequence[float], changed: Sequence[float], settings: Settings) -> str:
    """Pick the test: the requested one, or for "auto" the rule in the module docstring."""
    if settings.test != "auto":
        return settings.test
    skews = (stats.skewness(reference), stats.skewness(changed))
    skewed = any(s is not None and abs(s) > SKEW_LIMIT for s in skews)
    enough = stats.mann_whitney_floor(len(reference), len(changed)) <= settings.alpha
    return stats.MANN_WHITNEY if skewed and enough else stats.WELCH


def run_test(
    reference: Sequence[float], changed: Sequence[float], settings: Settings
) -> stats.Outcome:
    """Run the chosen test; a Mann-Whitney test that cannot reach alpha is "cannot tell"."""
    if choose_test(reference, changed, settings) == stats.WELCH:
        return stats.welch(reference, changed, confidence=1 - settings.alpha)
    outcome = stats.mann_whitney(reference, changed)
    floor = stats.mann_whitney_floor(len(reference), len(changed))
    if outcome.computed and floor > settings.alpha:
        return stats.Outcome(
            stats.MANN_WHITNEY,
            None,
            reason=f"Mann-Whitney cannot reach p < {settings.alpha:g} "
            f"with n={len(reference)}/{len(changed)}",
        )
    return outcome


def _outcome(
    reference: list[float],
    changed: list[float],
    settings: Settings,
    windows: tuple[Interval, Interval] | None,
) -> stats.Outcome:
    """The test over the repetitions, or, one repetition a side, over each window's seconds."""
    if windows is None:
        return run_test(reference, changed, settings)
    reference_window, changed_window = windows
    if not reference_window.computed and reference_window.reason == changed_window.reason:
        return stats.Outcome(intervals.METHOD, None, reason=f"n=1, {reference_window.reason}")
    outcome = intervals.compare(reference_window, changed_window, 1 - settings.alpha)
    if outcome.p_value is None:
        return stats.Outcome(outcome.test, None, reason=f"n=1, {outcome.reason}")
    return outcome


def decide(
    metric: Metric,
    reference: list[float],
    changed: list[float],
    settings: Settings,
    windows: tuple[Interval, Interval] | None = None,
) -> tuple[float | None, stats.Outcome | None, str, str]:
    """Return (ratio, test outcome, decision, reason) for one metric of one point."""
    ratio, outcome, decision, reason = _decide(metric, reference, changed, settings, windows)
    if windows is not None and outcome is not None and outcome.computed:
        noise = max(window.run_noise for window in windows)
        reason += f" (one window a side, {noise:.0%} noise between runs added)"
    return ratio, outcome, decision, reason


def _decide(
    metric: Metric,
    reference: list[float],
    changed: list[float],
    settings: Settings,
    windows: tuple[Interval, Interval] | None,
) -> tuple[float | None, stats.Outcome | None, str, str]:
    for name, values in (("reference", reference), ("changed", changed)):
        if not values:
            return None, None, CANNOT, f"cannot tell (no figures in {name})"
    ref_mean, new_mean = stats.mean(reference), stats.mean(changed)
    if ref_mean is None or new_mean is None or ref_mean <= 0:
        return None, None, CANNOT, "cannot tell (reference mean is 0)"
    ratio = new_mean / ref_mean
    outcome = _outcome(reference, changed, settings, windows)
    if outcome.p_value is None:
        return ratio, outcome, CANNOT, f"cannot tell ({outcome.reason})"
    p_value, effect = outcome.p_value, abs(ratio - 1)
    if p_value >= settings.alpha:
        return ratio, outcome, NOT_SIGNIFICANT, f"p={p_value:.2g} >= {settings.alpha:g}"
    if effect <= settings.min_effect:
        return (
            ratio,
            outcome,
            NOT_SIGNIFICANT,
            f"p={p_value:.2g}, but {effect:.1%} is within --min-effect {settings.min_effect:.0%}",
        )
    better = (ratio > 1) == metric.higher_is_better
    reason = f"p={p_value:.2g} < {settings.alpha:g} and {effect:.1%} > {settings.min_effect:.0%}"
    return ratio, outcome, IMPROVEMENT if better else REGRESSION, reason


NOT_THE_TARGET = {"generator": "load generator", "mock": "mock"}


def _window(point: Point, metric: Metric) -> Interval:
    """One side's window interval; none when other processes kept the server's cores busy.

    A window's seconds show the noise within it, not a neighbour busy for the whole run:
    such a window is not compared at all (bench.results.conditions.QUIET_LIMIT_PCT), nor
    is one that the load generator or the mock bound.
    """
    value = point.value(intervals.SERIES[metric.name][0])
    share = cond.noisy(point)
    if share is not None:
        return Interval(
            value,
            reason=f"other processes took {share:.0f} % of the server's cores in its window "
            "(the machine was not quiet)",
        )
    if point.limit is not None and point.limit.kind in NOT_THE_TARGET:
        # Its figures measure the load generator's (or the mock's) core, whose
        # contention nothing samples: they move between runs whatever the target does.
        return Interval(value, reason=f"the {NOT_THE_TARGET[point.limit.kind]} binds it")
    return intervals.of_point(point, metric.name)


def single_windows(
    reference: list[Point], changed: list[Point], metric: Metric
) -> tuple[Interval, Interval] | None:
    """Each side's one window interval, when each side has one finished point with seconds.

    Points without a per-second series (older results) keep the old "n=1" verdict.
    """
    ref = [p for p in reference if p.ok]
    new = [p for p in changed if p.ok]
    if len(ref) != 1 or len(new) != 1:
        return None
    if ref[0].seconds is None and new[0].seconds is None:
        return None
    if metric.name not in intervals.SERIES:
        reason = "no per-second series of it"
        return Interval(None, reason=reason), Interval(None, reason=reason)
    return _window(ref[0], metric), _window(new[0], metric)


def _flags(reference: list[Point], changed: list[Point]) -> tuple[str, ...]:
    flags: list[str] = []
    for name, points in (("reference", reference), ("changed", changed)):
        if any(not p.valid for p in points):
            flags.append(f"INVALID in {name}")
        failed = sum(1 for p in points if not p.ok)
        if failed:
            flags.append(f"{failed} failed repetition(s) in {name}")
    return tuple(flags)


def compare_points(
    reference: list[Point], changed: list[Point], settings: Settings
) -> Iterable[Row]:
    """Yield one row per metric that applies to a matched point."""
    key = reference[0].level
    flags = _flags(reference, changed)
    binds = limits_text(reference, changed)
    for metric in METRICS:
        if metric.scenarios is not None and key.scenario not in metric.scenarios:
            continue
        ref_values, new_values = sample(reference, metric), sample(changed, metric)
        if not ref_values and not new_values:
            continue  # neither run measured it (older schema versions lack some figures)
        windows = single_windows(reference, changed, metric)
        ratio, outcome, decision, reason = decide(metric, ref_values, new_values, settings, windows)
        ci = None
        if outcome is not None and outcome.diff_ci is not None:
            ref_mean = stats.mean(ref_values) or 1.0
            ci = (outcome.diff_ci[0] / ref_mean, outcome.diff_ci[1] / ref_mean)
        text = "-" if ratio is None else words(ratio, metric.higher_is_better)
        yield Row(
            key,
            metric,
            ref_values,
            new_values,
            ratio,
            text,
            outcome,
            decision,
            reason,
            ci,
            flags,
            binds,
            windows,
        )


def _kinds(points: list[Point]) -> str:
    return " / ".join(dict.fromkeys(p.limit.kind for p in points if p.limit)) or "-"


def limits_text(reference: list[Point], changed: list[Point]) -> str:
    """What binds the point in both runs: one kind, or "before -> after"."""
    before, after = _kinds(reference), _kinds(changed)
    return before if before == after else f"{before} -> {after}"


def _all_valid(points: list[Point]) -> bool:
    return all(p.valid and p.ok for p in points)


def geometric_means(rows: list[Row], valid: set[Level]) -> dict[str, tuple[float | None, int]]:
    """Return the geometric mean of throughput ratios per scenario over valid matched points."""
    ratios: dict[str, list[float]] = {}
    for row in rows:
        if row.metric.name != "throughput_rps":
            continue
        bucket = ratios.setdefault(row.key.scenario, [])
        if row.key in valid and row.ratio is not None and row.ratio > 0:
            bucket.append(row.ratio)
    return {scenario: (stats.geometric_mean(r), len(r)) for scenario, r in ratios.items()}


def compare(reference: Named, changed: Named, settings: Settings) -> Comparison:
    """Compare a changed run against the reference."""
    ref_groups = by_level(reference.run.points)
    new_groups = by_level(changed.run.points)
    found = differences(reference.run, changed.run)
    comparison = Comparison(reference, changed, found, varying=settings.varying)
    valid: set[Level] = set()
    pairs: list[tuple[Point, Point]] = []
    for key, ref_points in ref_groups.items():
        new_points = new_groups.get(key)
        if new_points is None:
            comparison.only_reference.append(key)
            continue
        pairs.append((ref_points[0], new_points[0]))
        comparison.rows.extend(compare_points(ref_points, new_points, settings))
        if _all_valid(ref_points) and _all_valid(new_points):
            valid.add(key)
        elif _all_valid(ref_points):
            warnings = sorted({w.display() for p in new_points for w in p.warnings})
            failed = sum(1 for p in new_points if not p.ok)
            if failed:
                warnings.insert(0, f"{failed} repetition(s) failed")
            comparison.became_invalid.append((key, warnings))
    comparison.only_changed = [key for key in new_groups if key not in ref_groups]
    comparison.geometric_means = geometric_means(comparison.rows, valid)
    comparison.capacity = compare_capacity(reference.run, changed.run)
    comparison.differences += cond.target_differences(reference.run, changed.run, pairs)
    return comparison


# --- presenting ------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A titled table, the same in every text format."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    empty: str = "none"


def point_label(key: Level) -> str:
    """Name a matched point: target, scenario and load."""
    return key.label()


def _sample_text(values: list[float], unit: str, window: Interval | None = None) -> str:
    centre, spread = stats.mean(values), stats.stdev(values)
    if centre is None:
        return f"- (n={len(values)})"
    if window is not None:
        bounds = window.bounds(0.95)
        if bounds is None:
            return f"{centre:.1f} {unit} (n=1)"
        return f"{centre:.1f} {unit} [{bounds[0]:.1f}, {bounds[1]:.1f}] (n=1, 95 % CI)"
    sd = f" ± {spread:.1f}" if spread is not None else ""
    return f"{centre:.1f}{sd} {unit} (n={len(values)})"


def _row_cells(row: Row) -> list[str]:
    flags = f" [{'; '.join(row.flags)}]" if row.flags else ""
    change = row.words
    if row.change is not None:
        change += f" ({row.change:+.1%})"
    test = "-"
    if row.outcome is not None and row.outcome.p_value is not None:
        test = f"{row.outcome.test} p={row.outcome.p_value:.2g}"
    ci = "-" if row.ci is None else f"{row.ci[0]:+.1%} .. {row.ci[1]:+.1%}"
    return [
        point_label(row.key) + flags,
        row.metric.label,
        _sample_text(row.reference, row.metric.unit, row.windows[0] if row.windows else None),
        _sample_text(row.changed, row.metric.unit, row.windows[1] if row.windows else None),
        change,
        test,
        ci,
        row.limits,
        row.reason,
    ]


def runs_title(comparison: Comparison) -> str:
    """One line naming the two runs."""
    return f"{comparison.changed.label} against the reference {comparison.reference.label}"


def subject(comparison: Comparison) -> str | None:
    """What the comparison is about: the declared variable's change ("Django 5.1.4 → 5.2.8").

    None when nothing declared changed and the default (the code) was not declared.
    """
    if not comparison.intended() and comparison.varying == cond.DEFAULT_VARYING:
        return None
    return cond.describe(comparison.differences, comparison.varying)


def title(comparison: Comparison) -> str:
    """The comparison's title: the declared variable's change, then the two runs."""
    about = subject(comparison)
    runs = runs_title(comparison)
    return runs if about is None else f"{about} ({runs})"


TEST_NAMES = {
    "auto": "Welch's t-test (Mann-Whitney U for skewed samples)",
    stats.WELCH: "Welch's t-test",
    stats.MANN_WHITNEY: "Mann-Whitney U",
    intervals.METHOD: "Welch's t-test on batch means of each window's seconds",
}


def summary(comparison: Comparison, settings: Settings) -> str:
    """One line: the counts per decision and the rule that made them."""
    counts = ", ".join(
        f"{d}: {comparison.count(d)}" for d in (REGRESSION, IMPROVEMENT, NOT_SIGNIFICANT, CANNOT)
    )
    rule = (
        f"{counts}. Significant = {TEST_NAMES[settings.test]} over the repetitions gives "
        f"p < {settings.alpha:g} AND the mean changed by more than {settings.min_effect:.0%}."
    )
    if any(row.windows is not None for row in comparison.rows):
        rule += (
            f" Points measured once: {TEST_NAMES[intervals.METHOD]}, plus the noise "
            "between runs that no window sees, instead of the repetitions "
            "(docs/methodology.md)."
        )
    return rule


def sections(comparison: Comparison, settings: Settings) -> list[Section]:
    """Lay a comparison out as the sections every text format prints, in order."""
    columns = ["point", "metric", "reference", "changed", "change", "test"]
    columns += [f"{1 - settings.alpha:.0%} CI of change", "what binds it", "why"]

    def rows_of(decision: str) -> list[list[str]]:
        return [_row_cells(r) for r in comparison.rows if r.decision == decision]

    geometric = []
    for scenario, (value, count) in comparison.geometric_means.items():
        shown = "-" if value is None else f"{value:.3f}"
        said = "-" if value is None else words(value, True)
        geometric.append([scenario, shown, said, str(count)])
    unmatched = [[point_label(k), "reference"] for k in comparison.only_reference]
    unmatched += [[point_label(k), "changed"] for k in comparison.only_changed]
    invalid = [[point_label(k), "; ".join(w) or "-"] for k, w in comparison.became_invalid]
    searched = [
        [row.search, row.figure, _figure(row.reference), _figure(row.changed),
         "-" if row.ratio is None else f"{row.ratio:.2f}x", row.verdict, row.limits]
        for row in comparison.capacity
    ]  # fmt: skip
    return [
        Section("Significant regressions", columns, rows_of(REGRESSION)),
        Section("Significant improvements", columns, rows_of(IMPROVEMENT)),
        Section("Not significant", columns, rows_of(NOT_SIGNIFICANT)),
        Section("Cannot compute (never significant)", columns, rows_of(CANNOT)),
        Section("Points that became invalid in the changed run", ["point", "why"], invalid),
        Section("Unmatched points", ["point", "only in"], unmatched),
        Section(
            "Throughput ratio changed/reference per scenario (geometric mean, valid points)",
            ["scenario", "ratio", "in words", "points"],
            geometric,
            empty="no matched points",
        ),
        Section(
            f"Capacity (a search finds its boundary within {capacity.RESOLUTION:g}x: only a "
            "change beyond that counts)",
            ["search", "figure", "reference", "changed", "ratio", "verdict", "what binds it"],
            searched,
            empty="no capacity searches in both runs",
        ),
    ]


def _figure(value: FigureValue | None) -> str:
    if value is None:
        return "-"
    if value.low is None and value.high is None:
        return f"{value.value:,.1f}"
    low = "?" if value.low is None else f"{value.low:,.1f}"
    high = "?" if value.high is None else f"{value.high:,.1f}"
    return f"{value.value:,.1f} ({low} to {high})"


def warning_lines(comparisons: list[Comparison]) -> list[str]:
    """Every difference nobody declared as varying, one line each, naming the changed run."""
    return [f"{c.changed.label}: {d.text()}" for c in comparisons for d in c.unintended()]


WARNING_TITLE = (
    "WARNING: THE RUNS WERE MEASURED UNDER DIFFERENT CONDITIONS - "
    "a difference below may come from the machine, not from the change"
)


def render_table(comparisons: list[Comparison], settings: Settings, console: Console) -> None:
    """Print Rich tables to the terminal."""
    lines = warning_lines(comparisons)
    if lines:
        body = Text("\n".join(lines))
        console.print(Panel(body, title=Text(WARNING_TITLE), style="bold red"))
    for comparison in comparisons:
        console.rule(Text(title(comparison)))
        console.print(Text(summary(comparison, settings)))
        for section in sections(comparison, settings):
            if not section.rows:
                console.print(Text(f"{section.title}: {section.empty}"))
                continue
            table = Table(title=Text(section.title), title_justify="left")
            for column in section.columns:
                table.add_column(Text(column))
            for cells in section.rows:
                table.add_row(*(Text(cell) for cell in cells))
            console.print(table)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(comparisons: list[Comparison], settings: Settings) -> str:
    """Return the comparison as Markdown."""
    out: list[str] = ["# bench compare", ""]
    lines = warning_lines(comparisons)
    if lines:
        out += [f"> **{WARNING_TITLE}**", ">"] + [f"> - {_md_cell(line)}" for line in lines]
        out.append("")
    for comparison in comparisons:
        out += [f"## {title(comparison)}", "", summary(comparison, settings), ""]
        for section in sections(comparison, settings):
            out += [f"### {section.title}", ""]
            if not section.rows:
                out += [section.empty, ""]
                continue
            out.append("| " + " | ".join(section.columns) + " |")
            out.append("|" + "---|" * len(section.columns))
            out += ["| " + " | ".join(_md_cell(c) for c in cells) + " |" for cells in section.rows]
            out.append("")
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }
th { background: #f2f2f2; }
.warning { border: 3px solid #c00; background: #fee; color: #900; padding: 0.5em 1em;
           font-weight: bold; }
"""


def render_html(comparisons: list[Comparison], settings: Settings) -> str:
    """Return a self-contained HTML page (inline CSS, no external URLs)."""
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>bench compare</title>',
        f"<style>{_CSS}</style></head><body>",
        "<h1>bench compare</h1>",
    ]
    lines = warning_lines(comparisons)
    if lines:
        out.append(f'<div class="warning" role="alert"><p>{esc(WARNING_TITLE)}</p><ul>')
        out += [f"<li>{esc(line)}</li>" for line in lines]
        out.append("</ul></div>")
    for comparison in comparisons:
        out += [
            f"<h2>{esc(title(comparison))}</h2>",
            f"<p>{esc(summary(comparison, settings))}</p>",
        ]
        for section in sections(comparison, settings):
            out.append(f"<h3>{esc(section.title)}</h3>")
            if not section.rows:
                out.append(f"<p>{esc(section.empty)}</p>")
                continue
            out.append("<table><thead><tr>")
            out += [f"<th>{esc(c)}</th>" for c in section.columns]
            out.append("</tr></thead><tbody>")
            for cells in section.rows:
                out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
            out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out)


def _key_json(key: Level) -> dict[str, Any]:
    return {"target": key.target, "scenario": key.scenario, "load": key.load.to_dict()}


def _side_json(values: list[float], window: Interval | None, alpha: float) -> dict[str, Any]:
    side: dict[str, Any] = {
        "values": values,
        "mean": stats.mean(values),
        "stdev": stats.stdev(values),
    }
    if window is not None:
        side["interval"] = window.to_dict(1 - alpha)
    return side


def _row_json(row: Row, alpha: float = 0.05) -> dict[str, Any]:
    outcome = row.outcome
    windows = row.windows or (None, None)
    return {
        **_key_json(row.key),
        "metric": row.metric.name,
        "unit": row.metric.unit,
        "higher_is_better": row.metric.higher_is_better,
        "method": row.method,
        "reference": _side_json(row.reference, windows[0], alpha),
        "changed": _side_json(row.changed, windows[1], alpha),
        "ratio": row.ratio,
        "relative_change": row.change,
        "words": row.words,
        "test": None if outcome is None else outcome.test,
        "p_value": None if outcome is None else outcome.p_value,
        "statistic": None if outcome is None else outcome.statistic,
        "relative_change_ci": None if row.ci is None else list(row.ci),
        "decision": row.decision,
        "significant": row.decision in (REGRESSION, IMPROVEMENT),
        "reason": row.reason,
        "flags": list(row.flags),
        "limits": row.limits,
    }


def _comparison_json(c: Comparison, settings: Settings) -> dict[str, Any]:
    return {
        "reference": c.reference.label,
        "changed": c.changed.label,
        "title": title(c),
        "subject": subject(c),
        "varying": list(c.varying),
        "environment_differences": [d.to_dict(c.varying) for d in c.differences],
        "packages": [
            {k: v for k, v in d.to_dict(c.varying).items() if k not in ("field", "category")}
            for d in c.differences
            if d.package is not None
        ],
        "counts": {d: c.count(d) for d in (REGRESSION, IMPROVEMENT, NOT_SIGNIFICANT, CANNOT)},
        "points": [_row_json(row, settings.alpha) for row in c.rows],
        "became_invalid": [{**_key_json(k), "warnings": w} for k, w in c.became_invalid],
        "only_in_reference": [_key_json(k) for k in c.only_reference],
        "only_in_changed": [_key_json(k) for k in c.only_changed],
        "throughput_geometric_mean": {
            s: {"ratio": v, "points": n} for s, (v, n) in c.geometric_means.items()
        },
        "capacity": [
            {**asdict(row), "ratio": row.ratio, "verdict": row.verdict} for row in c.capacity
        ],
    }


def render_json(comparisons: list[Comparison], settings: Settings) -> str:
    """Return every decision, p-value, ratio and CI as one JSON document."""
    document = {
        "settings": {
            "test": settings.test,
            "alpha": settings.alpha,
            "min_effect": settings.min_effect,
            "varying": list(settings.varying),
            "rule": "significant = test p < alpha AND |mean(changed)/mean(reference) - 1| "
            "> min_effect; a test that cannot be computed is never significant; points "
            "measured once are tested on batch means of their window's seconds",
        },
        "environment_warning": WARNING_TITLE if warning_lines(comparisons) else None,
        "warnings": warning_lines(comparisons),
        "significant_regression": any(c.count(REGRESSION) for c in comparisons),
        "comparisons": [_comparison_json(c, settings) for c in comparisons],
    }
    return json.dumps(document, indent=1, allow_nan=False)


# --- command line ----------------------------------------------------------------


class InputError(Exception):
    """An input that cannot be compared: one line for the user, exit status 2."""


def load_run(location: str) -> Named:
    """Load one input; raise InputError with one line when it cannot be used."""
    try:
        run = store.load(location)
    except store.ResultsError as exc:
        raise InputError(str(exc)) from None
    if not run.points and not run.capacity:
        raise InputError(f"{store.results_path(location)}: the run has no points")
    return Named(f"{run.info.id or '?'} ({location})", run)


def _variant_view(named: Named, target: str) -> Named:
    """One package variant of a run as a run of its own, under the target's base name."""
    run = named.run
    points = [replace(p, target=p.base_target) for p in run.points if p.target == target]
    packages = {cond.canonical(k): v for k, v in run.environment.packages.items()}
    packages.update(points[0].packages or {})
    environment = replace(run.environment, packages=packages)
    view = replace(run, environment=environment, points=points, capacity=[])
    return Named(f"{target} in {named.label}", view)


def variant_pairs(named: Named) -> list[tuple[Named, Named]]:
    """(reference, variant) for every target the run measured at several package sets.

    The reference is the target on the project's own lock (no pins) when the run has
    it, else the first variant measured; each other variant is compared against it.
    """
    groups: dict[str, list[str]] = {}
    for target in named.run.targets():
        groups.setdefault(target.split("@", 1)[0], []).append(target)
    pairs = []
    for base, names in groups.items():
        reference = base if base in names else names[0]
        for other in names:
            if other != reference:
                pairs.append((_variant_view(named, reference), _variant_view(named, other)))
    return pairs


def render(comparisons: list[Comparison], settings: Settings, output: str) -> str:
    """Render as text in one of FORMATS but "table" (markdown, html or json)."""
    if output == "markdown":
        return render_markdown(comparisons, settings)
    if output == "html":
        return render_html(comparisons, settings)
    return render_json(comparisons, settings)
