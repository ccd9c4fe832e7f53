"""Two runs side by side: match their points and searches, and judge every figure's change.

Points are matched by level (target, scenario, load); each metric of a matched point is
judged by bench.results.significance, each capacity figure by its interval
(bench.results.capacity.change). What this module returns is data: bench.reports.compare
renders it as a table, Markdown, HTML or JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from bench.results import capacity, intervals, limits, stats
from bench.results import conditions as cond
from bench.results.conditions import Difference, differences
from bench.results.intervals import Interval
from bench.results.model import Capacity, Figure, Level, Point, Run, by_level
from bench.results.significance import Judgement, Settings, judge, words


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
    Metric("goodput_rps", "goodput", "req/s", True, ("goodput_rps",)),
    Metric("latency_p50_ms", "latency p50", "ms", False, ("latency_ms", "p50")),
    Metric("latency_p99_ms", "latency p99", "ms", False, ("latency_ms", "p99")),
    Metric("ttft_p50_ms", "TTFT p50", "ms", False, ("ttft_ms", "p50"), ("stream",)),
    Metric("cpu_us_per_request", "server CPU per request", "µs", False, ("cpu_us_per_request",)),
)


@dataclass(frozen=True)
class Named:
    """One loaded run and how to name it."""

    label: str
    run: Run


@dataclass(frozen=True)
class MetricChange:
    """How one metric of one matched point changed, and the judgement on it."""

    key: Level
    metric: Metric
    reference: list[float]
    changed: list[float]
    judgement: Judgement
    ci: tuple[float, float] | None  # of the relative change, at 1 - alpha
    flags: tuple[str, ...]
    limits: str = "-"  # what binds the point: "server-cpu", or "a -> b" when it changed
    # One repetition a side: each window's own interval (bench.results.intervals).
    windows: tuple[Interval, Interval] | None = None

    @property
    def ratio(self) -> float | None:
        """mean(changed) / mean(reference)."""
        return self.judgement.ratio

    @property
    def outcome(self) -> stats.Outcome | None:
        return self.judgement.outcome

    @property
    def decision(self) -> str:
        return self.judgement.decision

    @property
    def reason(self) -> str:
        return self.judgement.reason

    @property
    def words(self) -> str:
        """The change in words ("1.23x faster"), "-" when there is no ratio."""
        ratio = self.judgement.ratio
        return "-" if ratio is None else words(ratio, self.metric.higher_is_better)

    @property
    def method(self) -> str:
        """What the verdict stands on: the repetitions, or each single window's seconds."""
        return "window" if self.windows is not None else "repetitions"

    @property
    def change(self) -> float | None:
        """Relative change of the mean (+0.10 is 10 % higher)."""
        return None if self.ratio is None else self.ratio - 1


@dataclass(frozen=True)
class CapacityChange:
    """One capacity figure of one search, in both runs, and how it moved."""

    search: str  # target / scenario / latency
    figure: str
    reference: Figure | None
    changed: Figure | None
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
        if moved == "open":
            return f"cannot tell ({why})"
        return f"{moved} ({why})"


def compare_capacity(reference: Run, changed: Run) -> list[CapacityChange]:
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
            rows.append(CapacityChange(label, capacity.FIGURE_NAMES[name], was, now, text))
    return rows


@dataclass
class RunComparison:
    """A changed run against the reference."""

    reference: Named
    changed: Named
    differences: list[Difference]
    rows: list[MetricChange] = field(default_factory=list)
    only_reference: list[Level] = field(default_factory=list)
    only_changed: list[Level] = field(default_factory=list)
    became_invalid: list[tuple[Level, list[str]]] = field(default_factory=list)
    geometric_means: dict[str, tuple[float | None, int]] = field(default_factory=dict)
    capacity: list[CapacityChange] = field(default_factory=list)
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

    def levels(self) -> list[Level]:
        """Every level either run measured: the group a point's name must stand out in."""
        found = [row.key for row in self.rows] + self.only_reference + self.only_changed
        return list(dict.fromkeys(found))


# --- one matched point ------------------------------------------------------------


def sample(points: list[Point], metric: Metric) -> list[float]:
    """Return the metric over the finished repetitions (failed ones carry no figures)."""
    values = (metric.value(p) for p in points if p.ok)
    return [v for v in values if v is not None]


# What the target spends whichever side binds: the figure that ranks stacks when the
# load generator binds (docs/methodology.md, "CPU per request").
TARGETS_OWN = ("cpu_us_per_request",)


def _window(point: Point, metric: Metric) -> Interval:
    """One side's window interval; none when other processes kept the server's cores busy.

    A window's seconds show the noise within it, not a neighbour busy for the whole run:
    such a window is not compared at all (bench.results.conditions.QUIET_LIMIT_PCT), nor
    is one that the load generator or the mock bound, except for the server's own CPU per
    request.
    """
    value = point.value(intervals.SERIES[metric.name][0])
    share = cond.noisy(point)
    if share is not None:
        return Interval(
            value,
            reason=f"other processes took {share:.0f} % of the server's cores in its window "
            "(the machine was not quiet)",
        )
    limit = point.limit
    if limit is not None and limit.kind in limits.HARNESS and metric.name not in TARGETS_OWN:
        # Its figures measure the load generator's (or the mock's) core, whose
        # contention nothing samples: they move between runs whatever the target does.
        return Interval(value, reason=f"the {limits.HARNESS[limit.kind]} binds it")
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
        reason = intervals.NO_SERIES_OF_IT
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


def _relative_ci(judgement: Judgement, reference: list[float]) -> tuple[float, float] | None:
    outcome = judgement.outcome
    if outcome is None or outcome.diff_ci is None:
        return None
    ref_mean = stats.mean(reference) or 1.0
    return (outcome.diff_ci[0] / ref_mean, outcome.diff_ci[1] / ref_mean)


def compare_points(
    reference: list[Point], changed: list[Point], settings: Settings
) -> Iterable[MetricChange]:
    """Yield one judged change per metric that applies to a matched point."""
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
        judgement = judge(metric.higher_is_better, ref_values, new_values, settings, windows)
        ci = _relative_ci(judgement, ref_values)
        yield MetricChange(
            key, metric, ref_values, new_values, judgement, ci, flags, binds, windows
        )


def _kinds(points: list[Point]) -> str:
    return " / ".join(dict.fromkeys(p.limit.kind for p in points if p.limit)) or "-"


def limits_text(reference: list[Point], changed: list[Point]) -> str:
    """What binds the point in both runs: one kind, or "before -> after"."""
    before, after = _kinds(reference), _kinds(changed)
    return before if before == after else f"{before} -> {after}"


def _all_valid(points: list[Point]) -> bool:
    return all(p.valid and p.ok for p in points)


# --- two runs ----------------------------------------------------------------------


def geometric_means(
    rows: list[MetricChange], valid: set[Level]
) -> dict[str, tuple[float | None, int]]:
    """Return the geometric mean of throughput ratios per scenario over valid matched points.

    Points offered an open-loop rate are left out: their throughput is the rate's.
    """
    ratios: dict[str, list[float]] = {}
    for row in rows:
        if row.metric.name != "throughput_rps" or row.key.load.open_loop:
            continue
        bucket = ratios.setdefault(row.key.scenario, [])
        if row.key in valid and row.ratio is not None and row.ratio > 0:
            bucket.append(row.ratio)
    return {scenario: (stats.geometric_mean(r), len(r)) for scenario, r in ratios.items()}


def _became_invalid(points: list[Point]) -> list[str]:
    warnings = sorted({w.display() for p in points for w in p.warnings})
    failed = sum(1 for p in points if not p.ok)
    if failed:
        warnings.insert(0, f"{failed} repetition(s) failed")
    return warnings


def compare(reference: Named, changed: Named, settings: Settings) -> RunComparison:
    """Compare a changed run against the reference."""
    ref_groups = by_level(reference.run.points)
    new_groups = by_level(changed.run.points)
    found = differences(reference.run, changed.run)
    comparison = RunComparison(reference, changed, found, varying=settings.varying)
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
            comparison.became_invalid.append((key, _became_invalid(new_points)))
    comparison.only_changed = [key for key in new_groups if key not in ref_groups]
    comparison.geometric_means = geometric_means(comparison.rows, valid)
    comparison.capacity = compare_capacity(reference.run, changed.run)
    comparison.differences += cond.target_differences(reference.run, changed.run, pairs)
    return comparison


# --- package variants within one run -------------------------------------------------


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
