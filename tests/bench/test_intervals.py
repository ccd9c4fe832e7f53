"""Intervals from one window (bench.results.intervals): batch means on known series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.results import intervals
from bench.results.model import Point
from tests.bench.factories import make_point, seconds_dict, windowed_point

SIMULATIONS = 1500


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """SIMULATIONS stationary AR(1) series around 100: x_t = phi x_(t-1) + unit noise."""
    x = np.empty((SIMULATIONS, n))
    x[:, 0] = rng.normal(size=SIMULATIONS) / math.sqrt(1 - phi**2)
    for i in range(1, n):
        x[:, i] = phi * x[:, i - 1] + rng.normal(size=SIMULATIONS)
    return 100 + x


def simulate(n: int, phi: float, batches: int = intervals.BATCHES) -> tuple[float, float]:
    """(How often a 95 % interval covers the true mean 100, how often its batches drifted)."""
    rng = np.random.default_rng(7)
    hits = drifted = 0
    for x in ar1(rng, n, phi):
        interval = intervals.from_series(float(x.mean()), list(x), batches)
        bounds = interval.bounds(0.95)
        assert bounds is not None  # every window of 5 s or more gets one
        hits += bounds[0] <= 100 <= bounds[1]
        drifted += interval.drifted
    return hits / SIMULATIONS, drifted / SIMULATIONS


def coverage(n: int, phi: float, batches: int = intervals.BATCHES) -> float:
    """The coverage of the method's intervals (drifted windows' widened ones included)."""
    return simulate(n, phi, batches)[0]


def naive_coverage(n: int, phi: float) -> float:
    """The coverage of treating each second as an independent value (sd / sqrt(n))."""
    x = ar1(np.random.default_rng(7), n, phi)
    half = 2.0 * x.std(axis=1, ddof=1) / math.sqrt(n)  # t(59) 97.5 % point, 2.00
    return float(np.mean(np.abs(x.mean(axis=1) - 100) <= half))


@pytest.mark.parametrize("n", [5, 10, 20])
def test_independent_seconds_get_the_nominal_coverage(n: int) -> None:
    covered, drifted = simulate(n, 0.0)
    # The drift test's own false alarms (its 5 %) get a wider interval, which covers
    # the truth at least as often: the whole stays at 95 % or a little above.
    assert covered == pytest.approx(0.955, abs=0.02)
    assert drifted == pytest.approx(0.05, abs=0.02)


def test_positively_correlated_seconds_are_absorbed_by_longer_batches() -> None:
    # phi = 0.5 per second: the variance of a mean is 3x what independent seconds give.
    # Over 60 s the 5 batches of 12 s absorb it; treating the 60 seconds as 60
    # independent values covers the truth far less often.
    assert coverage(60, 0.5) >= 0.91
    assert naive_coverage(60, 0.5) <= 0.80
    # Strong correlation (phi = 0.8) needs longer batches still: 60 s hold up well.
    assert coverage(60, 0.8) >= 0.88


def test_one_second_batches_cannot_see_correlation_longer_than_a_second() -> None:
    # The documented limit of 5-second windows: 1-second batches are the seconds, and
    # the drift test widens only the windows that visibly trend.
    covered, drifted = simulate(5, 0.5)
    assert covered < 0.85 and drifted > 0.1
    # Negative correlation (closed-loop cohorts) only makes the interval conservative.
    assert coverage(5, -0.5) >= 0.95


def test_a_window_that_drifts_gets_one_batchs_error() -> None:
    drifting = [4943.0, 4405.0, 2904.0, 2557.0, 1906.0]  # a neighbour arrived mid-window
    interval = intervals.from_series(3343.0, drifting)
    assert interval.drifted and interval.drift_ratio is not None and interval.drift_ratio < 0.82
    # The error of a mean of 5 values is at most one value's, whatever their correlation.
    assert interval.stderr == pytest.approx(np.std(drifting, ddof=1))
    assert interval.describe().startswith("5 batches of 1 s that drifted (von Neumann ratio 0.")
    steady = intervals.from_series(3343.0, [4943.0, 2557.0, 4405.0, 1906.0, 2904.0])
    assert not steady.drifted
    assert steady.stderr == pytest.approx(np.std(drifting, ddof=1) / math.sqrt(5))
    assert intervals.von_neumann([1.0, 2.0, 1.0, 2.0, 1.0]) == pytest.approx(4 / 1.2)
    assert intervals.von_neumann([1.0] * 5) is None
    assert intervals.von_neumann_limit(5) == 0.821
    assert intervals.von_neumann_limit(60) == pytest.approx(1.58, abs=0.01)


def test_batches_are_whole_and_leftover_seconds_leave_only_the_spread() -> None:
    values: list[float | None] = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0]
    assert intervals.batch_figures(values) == [2.0, 2.5, 7.0, 4.0, 4.0]
    interval = intervals.from_series(99.0, values)
    assert interval.value == 99.0  # the centre is the whole window's figure
    assert interval.batch_s == 2 and interval.df == 4
    assert interval.stderr == pytest.approx(np.std([2.0, 2.5, 7.0, 4.0, 4.0], ddof=1) / 5**0.5)
    assert interval.describe() == "5 batches of 2 s"


def test_the_bounds_use_students_t_with_four_degrees_of_freedom() -> None:
    interval = intervals.Interval(100.0, 2.0, 4, 1)
    low, high = interval.bounds(0.95) or (0.0, 0.0)
    assert (high - 100) == pytest.approx(2.776 * 2.0, abs=0.01)
    assert low == pytest.approx(200 - high)
    as_json = interval.to_dict()
    assert as_json["method"] == "batch-means" and as_json["high"] == pytest.approx(high)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([1.0, 2.0, 3.0, 4.0], "4 s of per-second data, the method needs 5"),
        ([1.0, None, 3.0, 4.0, 5.0], "a part of the window had no completed request"),
    ],
)
def test_a_series_too_short_or_with_a_gap_gives_no_interval(
    values: list[float | None], reason: str
) -> None:
    interval = intervals.from_series(3.0, values)
    assert not interval.computed and interval.reason == reason and interval.bounds() is None


def test_a_point_is_centred_on_its_own_figure_with_the_spread_of_its_seconds() -> None:
    point = Point.from_dict(windowed_point([100, 104, 96, 102, 98]))
    throughput = intervals.of_point(point, "throughput_rps")
    assert throughput.value == point.throughput_rps == 100.0
    assert throughput.stderr == pytest.approx(np.std([100, 104, 96, 102, 98], ddof=1) / 5**0.5)
    p99 = intervals.of_point(point, "latency_p99_ms")
    assert point.latency_ms is not None and p99.value == point.latency_ms.p99
    assert p99.computed


def test_cpu_per_request_second_by_second_is_the_cpu_over_the_requests() -> None:
    requests = [100, 0, 100, 100, 100, 100, 100, 100, 100, 100]
    cpu_pct = [8.0, 2.0, 8.0, 9.0, 7.0, 8.0, 8.5, 9.0, 7.5, 8.0]
    point = Point.from_dict(windowed_point(requests, cpu_pct=cpu_pct))
    assert point.seconds is not None
    per_second = intervals.cpu_us_per_request(point.seconds)
    # 8 % of a core over 100 requests: 800 µs each; a second without requests has none.
    assert per_second is not None and per_second[:5] == pytest.approx([800, None, 800, 900, 700])
    cpu = intervals.of_point(point, "cpu_us_per_request")
    assert cpu.value == point.cpu_us_per_request and cpu.computed and cpu.batch_s == 2


def test_points_without_what_the_method_needs_say_why() -> None:
    old = make_point()  # no per-second series (results before it existed)
    assert intervals.of_point(old, "throughput_rps").reason == "no per-second series"
    assert intervals.of_point(old, "tpot_p50_ms").reason == "no per-second series for tpot_p50_ms"
    # CPU per request has a series since points carry the server's CPU second by second.
    costly = make_point(cpu_us_per_request=800.0)
    assert intervals.of_point(costly, "cpu_us_per_request").reason == "no per-second series"
    windowed = Point.from_dict(windowed_point([100] * 5, cpu_us_per_request=800.0))
    assert intervals.of_point(windowed, "cpu_us_per_request").reason == (
        "no per-second series of it"
    )
    short = make_point(window_s=10.0, seconds=seconds_dict([5] * 6, [10.0] * 6))
    assert intervals.of_point(short, "throughput_rps").reason == (
        "the per-second series covers 6 of the window's 10 s"
    )
    failed = make_point(status="failed", seconds=seconds_dict([5] * 5, [10.0] * 5))
    assert intervals.of_point(failed, "throughput_rps").reason == "the point failed"
    stream = make_point(scenario="stream", seconds=seconds_dict([5] * 5, [10.0] * 5))
    assert intervals.of_point(stream, "ttft_p50_ms").reason == "no figure"


def test_two_windows_are_compared_with_welchs_test() -> None:
    same = intervals.Interval(100.0, 1.0, 4, 1)
    assert intervals.compare(same, same).p_value == pytest.approx(1.0)
    lower = intervals.Interval(80.0, 1.0, 4, 1)
    outcome = intervals.compare(same, lower)
    assert outcome.test == "batch-means" and outcome.p_value is not None
    assert outcome.p_value < 0.001
    assert outcome.statistic == pytest.approx(-20 / 2**0.5)
    low, high = outcome.diff_ci or (0.0, 0.0)
    assert low < -20 < high < 0
    # Welch-Satterthwaite: equal errors and 4 df each give 8 df.
    half = (high - low) / 2
    assert half == pytest.approx(2.306 * 2**0.5, abs=0.01)


def test_windows_that_cannot_be_compared_say_which_and_why() -> None:
    good = intervals.Interval(100.0, 1.0, 4, 1)
    none = intervals.Interval(100.0, reason="no per-second series")
    assert intervals.compare(none, good).reason == "reference: no per-second series"
    assert intervals.compare(good, none).reason == "changed: no per-second series"
    flat = intervals.Interval(100.0, 0.0, 4, 1)
    assert intervals.compare(flat, flat).reason == "no variance within either window"
    # A percentile in one histogram bucket every second, 201.6 then 203.6 ms: the noise
    # between runs (1 % a side) alone judges it, as a normal variate.
    before = intervals.Interval(201.6, 0.0, 4, 1, run_noise=0.01)
    after = intervals.Interval(203.6, 0.0, 4, 1, run_noise=0.01)
    outcome = intervals.compare(before, after)
    assert outcome.p_value is not None and outcome.p_value > 0.05
    assert outcome.statistic == pytest.approx(2.0 / math.hypot(2.016, 2.036))


def test_the_noise_between_runs_follows_how_busy_the_server_was() -> None:
    light = Point.from_dict(windowed_point([100, 104, 96, 102, 98]))
    heavy = Point.from_dict(
        windowed_point(
            [100, 104, 96, 102, 98],
            server={"cpu_pct": 150.0, "rss_mb": 1.0},
            server_cores=2,
        )
    )
    assert intervals.load_class(light) == intervals.LIGHT  # 40 % of one core
    assert intervals.load_class(heavy) == intervals.HEAVY  # 75 % of two
    # At 40 % of a core too, but short of its load with nothing found: the server's speed
    # paced it. Held at its load, or at a declared limit that is full, its upstream did.
    series = [100, 104, 96, 102, 98]
    expected = {"none": "light", "target-concurrency": "light", "unexplained": "heavy"}
    for kind, load in expected.items():
        limit = {"kind": kind, "detail": "", "evidence": {}}
        assert intervals.load_class(Point.from_dict(windowed_point(series, limit=limit))) == load
    assert intervals.of_point(light, "latency_p99_ms").run_noise == 0.05
    # hello calls no upstream: at 40 % of a core its latency is still its CPU's, and so
    # is a closed loop's throughput (users / latency); an open-loop rate it kept up with
    # paced its throughput.
    series = [100, 104, 96, 102, 98]
    hello = Point.from_dict(windowed_point(series, scenario="hello"))
    assert intervals.load_class(hello, "throughput_rps") == intervals.HEAVY
    rate = {"mode": "rate", "rate": 100.0, "arrivals": "poisson"}
    offered = Point.from_dict(windowed_point(series, scenario="hello", load=rate))
    assert intervals.load_class(offered) == intervals.HEAVY
    assert intervals.load_class(offered, "latency_p50_ms") == intervals.HEAVY
    assert intervals.load_class(offered, "throughput_rps") == intervals.LIGHT
    assert intervals.of_point(heavy, "throughput_rps").run_noise == 0.2
    # Each side's noise between runs widens the comparison, without degrees of freedom.
    ref = intervals.Interval(100.0, 1.0, 4, 1, run_noise=0.05)
    new = intervals.Interval(90.0, 1.0, 4, 1, run_noise=0.05)
    outcome = intervals.compare(ref, new)
    assert outcome.statistic == pytest.approx(-10 / math.sqrt(2 + 25 + 20.25))
