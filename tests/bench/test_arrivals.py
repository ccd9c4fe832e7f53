"""Open-loop arrival schedules, on their own: rate, shape, processes, seeds (pure)."""

from __future__ import annotations

import itertools
import statistics

import pytest

from bench.locustfiles.arrivals import Arrivals
from bench.locustfiles.knobs import LoadConfig


def gaps(arrivals: Arrivals, n: int, index: int = 0, count: int = 1) -> list[float]:
    times = list(itertools.islice(arrivals.times(100.0, index, count), n + 1))
    return [b - a for a, b in itertools.pairwise(times)]


def test_poisson_arrivals_keep_their_rate_and_are_memoryless() -> None:
    spaced = gaps(Arrivals("poisson", 200.0, seed=3), 20_000)
    # 20,000 exponential gaps: the mean is within 2 % of 5 ms (its standard error is
    # 0.7 %), and the coefficient of variation within 3 % of 1 (exponential gaps).
    assert statistics.fmean(spaced) == pytest.approx(1 / 200, rel=0.02)
    assert statistics.stdev(spaced) / statistics.fmean(spaced) == pytest.approx(1.0, rel=0.03)


def test_gamma_burstiness_sets_the_spread_of_the_gaps() -> None:
    for burstiness in (0.25, 4.0):
        spaced = gaps(Arrivals("gamma", 100.0, burstiness, seed=1), 20_000)
        cv2 = (statistics.stdev(spaced) / statistics.fmean(spaced)) ** 2
        assert statistics.fmean(spaced) == pytest.approx(0.01, rel=0.03)
        assert cv2 == pytest.approx(1 / burstiness, rel=0.08)  # gamma: CV^2 = 1 / shape


def test_constant_arrivals_over_processes_interleave_exactly() -> None:
    arrivals = Arrivals("constant", 100.0)
    merged = sorted(t for i in range(3) for t in itertools.islice(arrivals.times(0.0, i, 3), 10))
    assert [round(t, 9) for t in merged] == [round(k / 100, 9) for k in range(30)]


def test_a_schedule_is_fixed_by_its_seed_and_its_process() -> None:
    arrivals = Arrivals("poisson", 50.0, seed=7)
    first = list(itertools.islice(arrivals.times(0.0, 1, 2), 5))
    assert first == list(itertools.islice(arrivals.times(0.0, 1, 2), 5))
    assert first != list(itertools.islice(arrivals.times(0.0, 0, 2), 5))
    other = Arrivals("poisson", 50.0, seed=8)
    assert first != list(itertools.islice(other.times(0.0, 1, 2), 5))
    # Two processes at half the rate each make the whole rate.
    both = gaps(arrivals, 10_000, 0, 2) + gaps(arrivals, 10_000, 1, 2)
    assert 2 / statistics.fmean(both) == pytest.approx(50.0, rel=0.03)


def test_bad_arrivals_are_refused() -> None:
    with pytest.raises(ValueError, match="> 0 req/s"):
        Arrivals("poisson", 0.0)
    with pytest.raises(ValueError, match="burstiness must be > 0"):
        Arrivals("gamma", 10.0, burstiness=0.0)
    with pytest.raises(ValueError, match="one of poisson"):
        Arrivals("bursty", 10.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs both"):
        LoadConfig.from_values({"bench_rate": 10.0})
    with pytest.raises(ValueError, match="max-outstanding"):
        LoadConfig.from_values({"bench_arrivals": "poisson", "bench_rate": 5.0,
                                "bench_max_outstanding": 0})  # fmt: skip
    config = LoadConfig.from_values({"bench_arrivals": "gamma", "bench_rate": 5.0,
                                     "bench_burstiness": 0.5, "bench_seed": 2})  # fmt: skip
    assert config.arrivals == Arrivals("gamma", 5.0, 0.5, 2)
