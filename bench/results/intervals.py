"""Confidence intervals from one window: batch means over its whole seconds.

A point measured once is still a sample: the plugin's per-second series
(`Point.seconds`: requests completed, mean/p50/p99 latency and, for streams, TTFT p50,
second by second), and the server's CPU second by second, which makes the CPU each
request cost that second (CPU % / 100 x 1e6 / requests: µs per request). Consecutive
seconds are not independent draws: a slow second leaves queued requests to the next,
closed-loop users move in cohorts, a busy neighbour stays busy for a while. Treating
the n seconds as n independent values understates the error when they correlate
positively, so the interval is built from batches instead:

- the window's whole seconds are cut into BATCHES (5) consecutive batches of
  m = floor(n / 5) seconds each (seconds left over at the end are left out of the
  spread, never out of the figure);
- each batch gives the figure over its own seconds (throughput: requests per second;
  a latency percentile, or the CPU per request: the mean of its seconds' values);
- the interval is centred on the point's own figure over the whole window
  ("sectioning": the centre keeps the whole window's precision and, for percentiles,
  none of the small-batch bias), with standard error sd(batch figures) / sqrt(5) and
  Student's t with 4 degrees of freedom.

Before the batches are trusted, they are tested for the correlation they failed to
absorb: the von Neumann ratio of the 5 batch figures (the sum of squared successive
differences over the sum of squared deviations; 2 for independent values, small for a
drift) below its 5 % point (0.82 for 5 values) means the window drifted. Its standard
error is then one batch's spread, sd(batch figures), instead of that over sqrt(5): the
variance of a mean of 5 values is at most the variance of one of them whatever their
correlation, so where the batches' spread shows that variance (a drift inflates it) the
interval is wide enough, and a change seen through it is a large one. (Refusing such a window instead refused about 5 % of the
windows that did not drift, the test's own false alarms: 5 of 68 figures in one
comparison of two `make bench` runs.)

Batch means with a fixed number of batches stay valid under any short-range
dependence once the batches are longer than the correlation: a longer window makes
longer batches, which absorb longer-lived correlation. A 5-second window has 1-second
batches, which absorb what happens within a second (cohorts, a queue that drains in
less than a second) and nothing longer; 10 s or more lets each batch span two seconds or
more. What no window can show is the noise between runs (a different machine state,
another process busy for the whole run): docs/methodology.md says how the comparison
guards against it.

Two points measured once each are compared with Welch's t-test on their two estimates
(`compare`): the difference over the root of the summed squared standard errors, with
Welch-Satterthwaite degrees of freedom.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bench.results.model import IO_BOUND, PerSecond, Point
from bench.results import stats
from bench.results.stats import Outcome

METHOD = "batch-means"
NO_SERIES_OF_IT = "no per-second series of it"  # the point has seconds, not this figure's
BATCHES = 5
MIN_SECONDS = BATCHES
# The von Neumann ratio's lower 5 % point for independent normal values, by count
# (5: 0.821, by simulation of 400,000 samples; Hart 1942 tabulates the same). Other
# counts use the normal approximation, mean 2 and variance 4 (n - 2) / (n^2 - 1).
VON_NEUMANN_5PCT = {5: 0.821}

# The noise between two runs that no single window can see (another start of the server,
# the state of the machine and of its host, a p99 set by a few rare slow requests): a
# relative standard deviation per figure, added to each window's error when two windows
# are compared. Measured on the 2-core machine from quiet A/A runs of `make bench`: the
# spread of each figure between runs beyond what the windows' own errors explain
# (docs/methodology.md). It depends on what paced the point: one whose upstream's latency
# set its figures below HEAVY_CPU_PCT of its server's cores (PACED_BY_UPSTREAM) waits for
# that upstream, whatever the machine's speed; any other (the server's CPU, or nothing
# found) moves with the speed the machine happens to have in that run, which on a
# virtual machine changes between runs.
HEAVY_CPU_PCT = 70.0
LIGHT, HEAVY = "light", "heavy"
# Limits (bench.results.limits) under which the upstream's latency sets the figures: the
# offered load (users / latency) and a declared concurrency limit shown full (limit /
# latency: 5 sync workers serve 5 / 0.385 s = 13.0 req/s in every run).
PACED_BY_UPSTREAM = ("none", "target-concurrency")
RUN_NOISE: dict[str, dict[str, float]] = {
    LIGHT: {
        "throughput_rps": 0.01,
        "latency_mean_ms": 0.01,
        "latency_p50_ms": 0.01,
        "latency_p99_ms": 0.05,
        "ttft_p50_ms": 0.01,
        # CPU time per request moves with the speed the machine has in that run whatever
        # paced the point (the upstream only sets how many requests there are): the
        # throughput's noise where the server's speed paced it. Derived, not measured.
        "cpu_us_per_request": 0.20,
        # Requests that met their objectives: a count per second like throughput's, but
        # one that moves with the tail as well. Derived from p99's, not measured.
        "goodput_rps": 0.05,
    },
    HEAVY: {
        "throughput_rps": 0.20,
        "latency_mean_ms": 0.20,
        "latency_p50_ms": 0.20,
        "latency_p99_ms": 0.25,
        "ttft_p50_ms": 0.20,
        # A CPU-bound point's throughput is its cores over its CPU per request.
        "cpu_us_per_request": 0.20,
        "goodput_rps": 0.25,
    },
}


# The figures of a point without an upstream (hello) that its CPU times, however light.
CPU_TIMED = ("latency_mean_ms", "latency_p50_ms", "latency_p99_ms", "ttft_p50_ms")


def load_class(point: Point, metric: str | None = None) -> str:
    """LIGHT when the upstream's latency (or an open loop's rate) paced the point's
    `metric` (None: all of them) and its server was not busy.

    HEAVY: the server tree used HEAVY_CPU_PCT of its cores or more (or is unknown), the
    scenario calls no upstream (hello: every figure, but for the throughput of an open
    loop), or something but the upstream bound the point (PACED_BY_UPSTREAM). A point that fell
    short of its load with nothing found ("unexplained": 4 instead of 5 gthread workers
    at 60 % of a core) moved by 16 % between two runs of the same settings, as much as a
    CPU-bound one. A point without a limit (results older than the classification) is
    judged by its CPU alone.
    """
    cpu = point.server.cpu_pct
    if cpu is None:
        return HEAVY  # an external deployment: nothing says it was light
    if point.scenario not in IO_BOUND and (
        metric is None or metric in CPU_TIMED or not point.load.open_loop
    ):
        # No upstream to wait for (hello): even below its cores' capacity its latency is
        # the CPU time it spends, and so is a closed loop's throughput (users / that
        # latency); only at an open-loop rate it kept up with is the throughput the rate's.
        return HEAVY
    if cpu / max(point.server_cores or 1, 1) >= HEAVY_CPU_PCT:
        return HEAVY
    if point.limit is not None and point.limit.kind not in PACED_BY_UPSTREAM:
        return HEAVY
    return LIGHT


# Each metric with a per-second series: where the point keeps its figure, and the series
# (a field of PerSecond, or one of DERIVED).
SERIES: dict[str, tuple[tuple[str, ...], str]] = {
    "throughput_rps": (("throughput_rps",), "requests"),
    "latency_mean_ms": (("latency_ms", "mean"), "mean_ms"),
    "latency_p50_ms": (("latency_ms", "p50"), "p50_ms"),
    "latency_p99_ms": (("latency_ms", "p99"), "p99_ms"),
    "ttft_p50_ms": (("ttft_ms", "p50"), "ttft_p50_ms"),
    "cpu_us_per_request": (("cpu_us_per_request",), "cpu_us_per_request"),
    "goodput_rps": (("goodput_rps",), "met"),
}


def cpu_us_per_request(seconds: PerSecond) -> list[float | None] | None:
    """The server's CPU per request completed, second by second (None: no CPU series).

    A second without a completed request (or without a CPU sample) has no value: its
    batch takes the mean of the seconds that have one, as a latency's batch does.
    """
    if seconds.server_cpu_pct is None:
        return None
    return [
        None if cpu is None or not requests else cpu / 100 * 1e6 / requests
        for cpu, requests in zip(seconds.server_cpu_pct, seconds.requests, strict=False)
    ]


# Series computed from others, by name.
DERIVED: dict[str, Callable[[PerSecond], list[float | None] | None]] = {
    "cpu_us_per_request": cpu_us_per_request,
}


@dataclass(frozen=True)
class Interval:
    """A figure of one window with its standard error, or the reason there is none."""

    value: float | None
    stderr: float | None = None
    df: int | None = None  # degrees of freedom: batches - 1
    batch_s: int | None = None  # seconds per batch
    reason: str | None = None  # set exactly when stderr is None
    run_noise: float = 0.0  # relative noise between runs, for comparisons (RUN_NOISE)
    # The von Neumann ratio of batches that drifted (below its 5 % point): the standard
    # error is then one batch's spread, not their mean's.
    drift_ratio: float | None = None

    @property
    def drifted(self) -> bool:
        """Whether the batches drifted, so that the error is one batch's."""
        return self.drift_ratio is not None

    @property
    def computed(self) -> bool:
        """Whether the window gave a standard error."""
        return self.stderr is not None

    def bounds(self, confidence: float = 0.95) -> tuple[float, float] | None:
        """The two-sided interval at `confidence`, or None without a standard error."""
        if self.value is None or self.stderr is None or self.df is None:
            return None
        half = stats.t_quantile(0.5 + confidence / 2, self.df) * self.stderr
        return (self.value - half, self.value + half)

    def to_dict(self, confidence: float = 0.95) -> dict[str, Any]:
        """The interval as JSON: bounds at `confidence`, how it was made, or why not."""
        bounds = self.bounds(confidence)
        return {
            "method": METHOD,
            "value": self.value,
            "low": None if bounds is None else bounds[0],
            "high": None if bounds is None else bounds[1],
            "confidence": confidence,
            "stderr": self.stderr,
            "df": self.df,
            "batch_s": self.batch_s,
            "run_noise": self.run_noise,
            "drift_ratio": self.drift_ratio,
            "reason": self.reason,
        }

    def describe(self) -> str:
        """How the interval was made: "5 batches of 1 s", or why it was not."""
        if self.reason is not None:
            return self.reason
        made = f"{self.df + 1 if self.df is not None else '?'} batches of {self.batch_s} s"
        if self.drift_ratio is not None:
            made += f" that drifted (von Neumann ratio {self.drift_ratio:.2f}): one batch's error"
        return made


def _batch_figure(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.fmean(present) if present else None


def batch_figures(values: Sequence[float | None], batches: int = BATCHES) -> list[float | None]:
    """Cut the series into `batches` consecutive batches of equal whole length; each mean.

    Seconds beyond batches x length (at the end) are left out; a batch whose seconds
    hold no value gives None.
    """
    length = len(values) // batches
    return [_batch_figure(values[i * length : (i + 1) * length]) for i in range(batches)]


def from_series(
    centre: float | None, values: Sequence[float | None], batches: int = BATCHES
) -> Interval:
    """The interval of a figure (`centre`, over the whole window) from its per-second series."""
    if centre is None or not math.isfinite(centre):
        return Interval(None, reason="no figure")
    if len(values) < batches:
        return Interval(
            centre, reason=f"{len(values)} s of per-second data, the method needs {batches}"
        )
    figures = batch_figures(values, batches)
    present = [f for f in figures if f is not None]
    if len(present) < batches:
        return Interval(centre, reason="a part of the window had no completed request")
    spread = statistics.stdev(present)
    batch_s = len(values) // batches
    ratio = von_neumann(present)
    if ratio is not None and ratio < von_neumann_limit(batches):
        return Interval(centre, spread, batches - 1, batch_s, drift_ratio=ratio)
    return Interval(centre, spread / math.sqrt(batches), batches - 1, batch_s)


def von_neumann(values: Sequence[float]) -> float | None:
    """Sum of squared successive differences / sum of squared deviations (None: no spread)."""
    centre = statistics.fmean(values)
    deviations = sum((v - centre) ** 2 for v in values)
    if deviations == 0:
        return None
    steps = sum((b - a) ** 2 for a, b in itertools.pairwise(values))
    return steps / deviations


def von_neumann_limit(count: int) -> float:
    """The ratio's lower 5 % point for `count` independent values."""
    if count in VON_NEUMANN_5PCT:
        return VON_NEUMANN_5PCT[count]
    return 2 - 1.645 * math.sqrt(4 * (count - 2) / (count**2 - 1))


def whole_seconds(point: Point, series: list[float | None]) -> list[float | None] | str:
    """The series over the window's whole seconds, or why it does not cover them."""
    wanted = int(point.window_s + 1e-9)
    if len(series) < wanted:
        return f"the per-second series covers {len(series)} of the window's {wanted} s"
    return series[:wanted]


def _series(seconds: PerSecond, name: str) -> list[float | None] | None:
    if name in DERIVED:
        return DERIVED[name](seconds)
    values = getattr(seconds, name, None)
    if values is None:
        return None
    return [None if v is None else float(v) for v in values]


def of_point(point: Point, metric: str) -> Interval:
    """The interval of one metric (a key of SERIES) of one point measured once."""
    if metric not in SERIES:
        return Interval(None, reason=f"no per-second series for {metric}")
    path, name = SERIES[metric]
    centre = point.value(path)
    if centre is None:
        return Interval(None, reason="no figure")
    if not point.ok:
        return Interval(centre, reason="the point failed")
    if point.seconds is None:
        return Interval(centre, reason="no per-second series")
    series = _series(point.seconds, name)
    if series is None:
        return Interval(centre, reason=NO_SERIES_OF_IT)
    covered = whole_seconds(point, series)
    if isinstance(covered, str):
        return Interval(centre, reason=covered)
    noise = RUN_NOISE[load_class(point, metric)].get(metric, 0.0)
    return replace(from_series(centre, covered), run_noise=noise)


def _estimate(side: Interval) -> tuple[float, float, int] | None:
    if side.value is None or side.stderr is None or side.df is None:
        return None
    return side.value, side.stderr, side.df


def compare(reference: Interval, changed: Interval, confidence: float = 0.95) -> Outcome:
    """Welch's t-test on two windows' estimates; the CI is of changed - reference.

    Each side's variance is its window's (stderr^2) plus its noise between runs
    ((run_noise x value)^2, RUN_NOISE), a term known from elsewhere, so it adds no
    degrees of freedom. Two windows without variance of their own (a percentile that
    fell in one histogram bucket every second) are judged on the noise between runs
    alone, with a normal distribution.
    """
    ref, new = _estimate(reference), _estimate(changed)
    if ref is None or new is None:
        name, side = ("reference", reference) if ref is None else ("changed", changed)
        return Outcome(METHOD, None, reason=f"{name}: {side.reason or 'no figure'}")
    within = ref[1] ** 2 + new[1] ** 2
    between = (reference.run_noise * ref[0]) ** 2 + (changed.run_noise * new[0]) ** 2
    variance = within + between
    if variance == 0:
        return Outcome(METHOD, None, reason="no variance within either window")
    spread = ref[1] ** 4 / ref[2] + new[1] ** 4 / new[2]
    df = variance**2 / spread if spread > 0 else math.inf
    diff = new[0] - ref[0]
    statistic = diff / math.sqrt(variance)
    p_value = stats.t_two_sided_p(statistic, df)
    half = stats.t_quantile(0.5 + confidence / 2, df) * math.sqrt(variance)
    return Outcome(METHOD, p_value, statistic, (diff - half, diff + half))
