"""Queueing predictions: how long a request should wait, from its arrivals and its service.

Pure formulas for what an open loop of Poisson arrivals does to c servers (workers) whose
service takes D seconds, each named after its source:

- `erlang_c`: the probability that an arrival waits in M/M/c (Erlang's C formula, 1917).
- `mmc_mean_wait`: the M/M/c mean wait, C / (c mu - lambda).
- `mg1_mean_wait`: the M/G/1 mean wait (Pollaczek-Khinchine), rho (1 + cs^2) / (2 (1 - rho))
  x the mean service time; with cs = 0 it is M/D/1's.
- `allen_cunneen`: the Allen-Cunneen approximation of the G/G/c mean wait, the M/M/c wait
  x (ca^2 + cs^2) / 2 (ca = 1 for Poisson arrivals, cs = 0 for a deterministic service).
- `MDc`: the M/D/c waiting-time distribution, exact (Crommelin, 1932, in the form of Franx,
  "A simple solution for the M/D/c waiting time distribution", Operations Research
  Letters 29, 2001). With deterministic service every customer in service at time t has
  left by t + D, so the number in the system at an arbitrary time, N, satisfies
  N' = max(N - c, 0) + A, A the Poisson(lambda D) arrivals of one service time; and an
  arrival waits at most k D - v (k >= 1, 0 < v <= D) exactly when the customers ahead of
  it still there at that time number fewer than c: max(N - c, 0) + Poisson(lambda v) <=
  k c - 1. The mean wait is the mean number waiting over lambda (Little's law).
- `growth_per_s`: past saturation (lambda D >= c) no steady state exists: the queue grows
  by lambda - c / D requests a second for as long as arrivals go on.

Times are in seconds; rates in requests per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# M/D/c: the stationary distribution is iterated until no probability moves by more than
# this, on states up to where what is left of it is negligible.
_TOLERANCE = 1e-13
_MAX_ITERATIONS = 200_000
_QUANTILE_RESOLUTION_S = 1e-6


def utilization(arrival_rps: float, service_s: float, servers: int) -> float:
    """rho = lambda D / c: the share of the servers' time that the arrivals ask for."""
    return arrival_rps * service_s / servers


def erlang_c(servers: int, offered: float) -> float:
    """The probability that an arrival waits in M/M/c: c servers, `offered` = lambda / mu
    Erlangs (below c). Computed through Erlang B's recursion, which stays finite."""
    if offered <= 0:
        return 0.0
    if offered >= servers:
        return 1.0
    blocking = 1.0  # Erlang B with 0 servers
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    rho = offered / servers
    return blocking / (1 - rho + rho * blocking)


def mmc_mean_wait(arrival_rps: float, service_s: float, servers: int) -> float:
    """The M/M/c mean time in queue: C(c, a) / (c mu - lambda)."""
    spare = servers / service_s - arrival_rps
    if spare <= 0:
        return math.inf
    return erlang_c(servers, arrival_rps * service_s) / spare


def mg1_mean_wait(arrival_rps: float, service_s: float, service_cv: float = 1.0) -> float:
    """The M/G/1 mean time in queue (Pollaczek-Khinchine): rho (1 + cs^2) / (2 (1 - rho)) x
    the mean service time, cs the service time's coefficient of variation."""
    rho = arrival_rps * service_s
    if rho >= 1:
        return math.inf
    return rho * (1 + service_cv**2) / (2 * (1 - rho)) * service_s


def allen_cunneen(
    arrival_rps: float,
    service_s: float,
    servers: int,
    *,
    arrival_cv: float = 1.0,
    service_cv: float = 0.0,
) -> float:
    """The Allen-Cunneen approximation of the G/G/c mean time in queue: the M/M/c one x
    (ca^2 + cs^2) / 2 (exact for M/M/c, within a few % for M/D/c at moderate loads)."""
    return mmc_mean_wait(arrival_rps, service_s, servers) * (arrival_cv**2 + service_cv**2) / 2


def growth_per_s(arrival_rps: float, service_s: float, servers: int) -> float:
    """How many requests the queue gains each second: lambda - c / D (0 below saturation)."""
    return max(arrival_rps - servers / service_s, 0.0)


@dataclass(frozen=True)
class MDc:
    """M/D/c, exact: Poisson arrivals at `arrival_rps`, `servers` servers, each request
    served in exactly `service_s` seconds, first come first served (utilization below 1)."""

    arrival_rps: float
    service_s: float
    servers: int
    # The distribution of max(N - c, 0): the requests waiting at an arbitrary time.
    _waiting: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.servers < 1 or self.service_s <= 0 or self.arrival_rps <= 0:
            raise ValueError("M/D/c needs c >= 1 servers, a service time and arrivals")
        if utilization(self.arrival_rps, self.service_s, self.servers) >= 1:
            raise ValueError("M/D/c has no steady state at a utilization of 1 or more")
        object.__setattr__(self, "_waiting", _waiting_distribution(self))

    @property
    def rho(self) -> float:
        return utilization(self.arrival_rps, self.service_s, self.servers)

    def mean_wait(self) -> float:
        """The mean time in queue: the mean number waiting / lambda (Little's law)."""
        numbers = np.arange(len(self._waiting))
        return float(np.dot(numbers, self._waiting)) / self.arrival_rps

    def wait_cdf(self, wait_s: float) -> float:
        """P(an arrival waits at most `wait_s` before its service starts)."""
        if wait_s < 0:
            return 0.0
        k = math.floor(wait_s / self.service_s) + 1
        v = k * self.service_s - wait_s  # in (0, D]
        room = k * self.servers - 1 - np.arange(len(self._waiting))
        fits = room >= 0
        # Imported here: loading scipy.stats takes a second, on every `bench` start.
        from scipy.stats import poisson

        arrivals = poisson.cdf(room[fits], self.arrival_rps * v)
        return float(np.dot(self._waiting[fits], arrivals))

    def wait_quantile(self, q: float) -> float:
        """The q-quantile of the time in queue (0 when at least q of arrivals wait not at all)."""
        if self.wait_cdf(0.0) >= q:
            return 0.0
        low, high = 0.0, self.service_s
        while self.wait_cdf(high) < q:
            low, high = high, 2 * high
        while high - low > _QUANTILE_RESOLUTION_S:
            middle = (low + high) / 2
            low, high = (middle, high) if self.wait_cdf(middle) < q else (low, middle)
        return high


def _waiting_distribution(model: MDc) -> np.ndarray:
    """The stationary distribution of max(N - c, 0), iterated from N' = max(N - c, 0) + A."""
    offered = model.arrival_rps * model.service_s
    c = model.servers
    size = int(c + offered + 10 * math.sqrt(offered) + 40 / (1 - model.rho)) + 16
    while True:
        waiting = _iterate(offered, c, size)
        if waiting[-c:].sum() < _TOLERANCE:
            return waiting
        size *= 2  # probability reached the last states kept: keep more


def _iterate(offered: float, c: int, size: int) -> np.ndarray:
    from scipy.stats import poisson  # here for the reason given in wait_cdf

    arrivals = poisson.pmf(np.arange(size), offered)
    in_system = arrivals.copy()
    for _ in range(_MAX_ITERATIONS):
        waiting = _above(in_system, c)
        following = np.convolve(waiting, arrivals)[:size]
        following /= following.sum()
        if np.abs(following - in_system).max() < _TOLERANCE:
            return _above(following, c)
        in_system = following
    raise ArithmeticError("the M/D/c distribution did not converge")


def _above(in_system: np.ndarray, c: int) -> np.ndarray:
    """The distribution of max(N - c, 0) from that of N."""
    waiting = np.zeros_like(in_system)
    waiting[0] = in_system[: c + 1].sum()
    waiting[1 : len(in_system) - c] = in_system[c + 1 :]
    return waiting


@dataclass(frozen=True)
class WindowRange:
    """What one window of an M/D/c queue shows, over many simulated windows: the central
    `coverage` range of its mean wait and of its p99 wait (seconds)."""

    mean_wait: tuple[float, float]
    p99_wait: tuple[float, float]
    arrivals: float  # the arrivals a window holds on average


def window_range(
    model: MDc,
    window_s: float,
    warmup_s: float,
    coverage: float = 0.99,
    runs: int = 4000,
    seed: int = 0,
) -> WindowRange:
    """Simulate `runs` windows of `window_s` after `warmup_s` (from empty), all at once.

    A short window's waits scatter far around the model's long-run figures: at rho 0.54
    with 2 servers and 7 s (about 70 arrivals), 1 window in 6 has a mean wait under half
    the model's. A measured window agrees with the model when it lies inside this range.
    """
    rng = np.random.default_rng(seed)
    span = warmup_s + window_s
    expected = model.arrival_rps * span
    count = int(expected + 6 * math.sqrt(expected) + 10)
    arrivals = np.cumsum(rng.exponential(1 / model.arrival_rps, (runs, count)), axis=1)
    free = np.zeros((runs, model.servers))  # when each server is next free
    waits = np.empty((runs, count))
    rows = np.arange(runs)
    for k in range(count):  # first come, first served: the earliest free server
        soonest = free.argmin(axis=1)
        start = np.maximum(arrivals[:, k], free[rows, soonest])
        waits[:, k] = start - arrivals[:, k]
        free[rows, soonest] = start + model.service_s
    inside = (arrivals > warmup_s) & (arrivals <= span)
    counted = np.where(inside, waits, np.nan)
    means = np.nanmean(counted, axis=1)
    p99s = np.nanquantile(counted, 0.99, axis=1, method="higher")
    tail = (1 - coverage) / 2
    mean_range = np.quantile(means, [tail, 1 - tail])
    p99_range = np.quantile(p99s, [tail, 1 - tail])
    return WindowRange(
        (float(mean_range[0]), float(mean_range[1])),
        (float(p99_range[0]), float(p99_range[1])),
        float(model.arrival_rps * window_s),
    )
