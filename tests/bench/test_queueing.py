"""Queueing formulas on textbook values: Erlang C, Pollaczek-Khinchine, Erlang's M/D/1
waiting-time distribution, and the exact M/D/c against a simulation of it."""

from __future__ import annotations

import heapq
import math
import random

import pytest

from bench.results import queueing
from bench.results.queueing import MDc


def test_erlang_c_textbook_values() -> None:
    # Two servers offered one Erlang: C = (1/2 * 2) / (1 + 1 + 1) = 1/3.
    assert queueing.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # The call-centre table's 10 agents at 8 Erlangs: 40.9 % of callers wait.
    assert queueing.erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-4)
    assert queueing.erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: rho
    assert queueing.erlang_c(3, 0.0) == 0.0 and queueing.erlang_c(3, 3.0) == 1.0


def test_mmc_and_pollaczek_khinchine_means() -> None:
    # M/M/1 at rho 0.5, 1 s service: Wq = rho / (mu - lambda) = 1 s.
    assert queueing.mmc_mean_wait(0.5, 1.0, 1) == pytest.approx(1.0)
    assert queueing.mg1_mean_wait(0.5, 1.0, service_cv=1.0) == pytest.approx(1.0)
    # M/D/1 waits half as long as M/M/1: rho D / (2 (1 - rho)).
    assert queueing.mg1_mean_wait(0.5, 1.0, service_cv=0.0) == pytest.approx(0.5)
    assert queueing.mmc_mean_wait(2.0, 1.0, 2) == math.inf
    # Allen-Cunneen: M/M/c's wait x (ca^2 + cs^2) / 2; for M/M/c itself, exact.
    assert queueing.allen_cunneen(10, 0.1, 2, service_cv=1.0) == pytest.approx(1 / 30)
    assert queueing.allen_cunneen(10, 0.1, 2) == pytest.approx(1 / 60)


def _erlang_md1_cdf(t: float, rate: float) -> float:
    """Erlang's M/D/1 waiting time distribution (D = 1): (1 - rho) sum_k (rho (k - t))^k /
    k! e^(-rho (k - t)), k from 0 to floor(t)."""
    total = 0.0
    for k in range(math.floor(t) + 1):
        x = rate * (k - t)
        total += x**k / math.factorial(k) * math.exp(-x)
    return (1 - rate) * total


@pytest.mark.parametrize("rho", [0.3, 0.5, 0.8])
def test_md1_is_erlangs_distribution_and_pollaczek_khinchines_mean(rho: float) -> None:
    model = MDc(rho, 1.0, 1)
    for t in (0.0, 0.3, 1.0, 1.7, 3.2, 6.0):
        assert model.wait_cdf(t) == pytest.approx(_erlang_md1_cdf(t, rho), abs=1e-9)
    assert model.mean_wait() == pytest.approx(queueing.mg1_mean_wait(rho, 1.0, 0.0), rel=1e-6)
    assert model.wait_cdf(0.0) == pytest.approx(1 - rho)  # an arrival waits unless idle


def _simulated_waits(rate: float, service_s: float, servers: int, n: int = 200_000) -> list[float]:
    """First come first served over `servers` deterministic servers, Poisson arrivals."""
    rng = random.Random(7)
    free, now, waits = [0.0] * servers, 0.0, []
    for _ in range(n):
        now += rng.expovariate(rate)
        start = max(now, heapq.heappop(free))
        waits.append(start - now)
        heapq.heappush(free, start + service_s)
    return sorted(waits[1000:])


@pytest.mark.parametrize(("rate", "servers"), [(10.0, 2), (15.0, 2), (25.0, 3)])
def test_mdc_matches_a_simulation_of_it(rate: float, servers: int) -> None:
    model = MDc(rate, 0.1, servers)
    waits = _simulated_waits(rate, 0.1, servers)
    assert model.mean_wait() == pytest.approx(sum(waits) / len(waits), rel=0.05)
    assert model.wait_quantile(0.99) == pytest.approx(waits[int(0.99 * len(waits))], rel=0.05)
    assert model.wait_cdf(0.0) == pytest.approx(
        sum(1 for w in waits if w == 0) / len(waits), abs=0.01
    )


def test_the_demos_case_and_allen_cunneen_beside_it() -> None:
    # The open-vs-closed demo: 2 workers, 100 ms, 10 req/s (rho 0.5).
    model = MDc(10.0, 0.1, 2)
    assert model.mean_wait() == pytest.approx(0.0177, abs=2e-4)
    assert model.wait_quantile(0.99) == pytest.approx(0.156, abs=0.002)
    assert model.wait_quantile(0.5) == 0.0  # two arrivals in three wait not at all
    # Allen-Cunneen is within a few % of the exact mean at moderate loads.
    assert queueing.allen_cunneen(10.0, 0.1, 2) == pytest.approx(model.mean_wait(), rel=0.1)


def test_one_short_windows_waits_scatter_around_the_long_run_as_simulated() -> None:
    # The demo's quick window: 7 s at 10 req/s (70 arrivals), 2 workers of 107 ms.
    model = MDc(10.0, 0.107, 2)
    window = queueing.window_range(model, 7.0, 2.0, coverage=0.99)
    assert window.arrivals == pytest.approx(70.0)
    low, high = window.mean_wait
    # The long-run mean lies inside, the range is wide (about 70 arrivals, most not
    # waiting), and it narrows for a long window, whose mean nears the long run's.
    assert low < model.mean_wait() < high and high / low > 5
    long_low, long_high = queueing.window_range(model, 700.0, 2.0, 0.99, runs=400).mean_wait
    assert low < long_low < model.mean_wait() < long_high < high
    assert long_high / long_low < 1.6
    p99_low, p99_high = window.p99_wait
    assert p99_low < model.wait_quantile(0.99) < p99_high
    # Seeded: the same range every time.
    assert queueing.window_range(model, 7.0, 2.0, coverage=0.99) == window


def test_past_saturation_the_queue_grows_and_no_steady_state_is_claimed() -> None:
    assert queueing.growth_per_s(30.0, 0.1, 2) == pytest.approx(10.0)
    assert queueing.growth_per_s(10.0, 0.1, 2) == 0.0
    with pytest.raises(ValueError, match="no steady state"):
        MDc(30.0, 0.1, 2)
