"""A latency histogram precise to 0.5 %, sub-millisecond included, that merges exactly.

Buckets grow geometrically by `RATIO` from `LOWEST_MS` (1 µs): bucket i holds the
values in [LOWEST_MS·RATIO^i, LOWEST_MS·RATIO^(i+1)), and a percentile reports the
bucket's geometric midpoint, so it is within RATIO^0.5 - 1 ≈ 0.5 % of a value that
was recorded. Values below LOWEST_MS go to bucket 0. Reported percentiles are
clamped to the exact min and max, and a rank that falls on the smallest or the
largest value reports that exact value.

Merging is exact: counts are integers, min and max are exact, and the sum is kept as
Shewchuk's non-overlapping float partials (as in `math.fsum`), so the order in which
values or histograms are added never changes the result.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

RATIO = 1.01
LOWEST_MS = 0.001
_LOG_RATIO = math.log(RATIO)
_SUMMARY_QUANTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}


def bucket_index(value_ms: float) -> int:
    """Return the bucket holding `value_ms` (0 for anything at or below LOWEST_MS)."""
    if value_ms <= LOWEST_MS:
        return 0
    return int(math.log(value_ms / LOWEST_MS) / _LOG_RATIO)


def bucket_midpoint(index: int) -> float:
    """Return the geometric midpoint of bucket `index`."""
    return LOWEST_MS * math.pow(RATIO, index + 0.5)


def nearest_rank(q: float, count: int) -> int:
    """Return the 1-based nearest rank of percentile `q` among `count` sorted values.

    `q` is read as the decimal it prints as, so that p99.9 of 1000 values is rank 999,
    not the 1000 that binary floating point (99.9 / 100 * 1000 > 999) would give.
    """
    return max(1, math.ceil(Fraction(repr(float(q))) * count / 100))


def _add_partial(partials: list[float], x: float) -> None:
    """Add `x` to the exact sum held by `partials` (Shewchuk's algorithm, in place)."""
    i = 0
    for partial in partials:
        y = partial
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        lo = y - (hi - x)
        if lo:
            partials[i] = lo
            i += 1
        x = hi
    partials[i:] = [x]


def _exact_partials(value: Fraction) -> list[float]:
    """Return canonical partials whose exact sum is `value` (largest first)."""
    partials: list[float] = []
    rest = value
    while rest:
        part = float(rest)
        partials.append(part)
        rest -= Fraction(part)
    return partials


class Histogram:
    """Positive durations in milliseconds; see the module docstring for the precision."""

    __slots__ = ("_buckets", "_count", "_max", "_min", "_partials")

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self._count = 0
        self._partials: list[float] = []
        self._min = math.inf
        self._max = -math.inf

    def record(self, value_ms: float, count: int = 1) -> None:
        """Add `count` occurrences of `value_ms`."""
        if not value_ms >= 0.0 or math.isinf(value_ms):
            raise ValueError(f"a duration must be finite and >= 0, got {value_ms!r}")
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        value_ms = float(value_ms)
        index = bucket_index(value_ms)
        self._buckets[index] = self._buckets.get(index, 0) + count
        self._count += count
        if count == 1:
            _add_partial(self._partials, value_ms)
        else:
            for part in _exact_partials(Fraction(value_ms) * count):
                _add_partial(self._partials, part)
        self._min = min(self._min, value_ms)
        self._max = max(self._max, value_ms)

    def merge(self, other: Histogram) -> None:
        """Add every value of `other` to this histogram."""
        for index, n in other._buckets.items():
            self._buckets[index] = self._buckets.get(index, 0) + n
        self._count += other._count
        for part in other._partials:
            _add_partial(self._partials, part)
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)

    @property
    def count(self) -> int:
        return self._count

    @property
    def total(self) -> float:
        """Return the sum of every recorded value, correctly rounded."""
        return math.fsum(self._partials)

    @property
    def mean(self) -> float | None:
        return self.total / self._count if self._count else None

    @property
    def min(self) -> float | None:
        return self._min if self._count else None

    @property
    def max(self) -> float | None:
        return self._max if self._count else None

    def percentile(self, q: float) -> float | None:
        """Return the nearest-rank `q`-th percentile (q in [0, 100]); None when empty."""
        if not 0.0 <= q <= 100.0:
            raise ValueError(f"q must be in [0, 100], got {q!r}")
        if not self._count:
            return None
        return self.at_rank(nearest_rank(q, self._count))

    def at_rank(self, rank: int) -> float | None:
        """Return the `rank`-th smallest value (1-based, clamped to the count); None when
        empty. Like a percentile, within 0.5 % of a value recorded, exact at the ends."""
        if not self._count:
            return None
        rank = min(max(rank, 1), self._count)
        if rank == 1:
            return self._min
        if rank == self._count:
            return self._max
        seen = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen >= rank:
                return min(max(bucket_midpoint(index), self._min), self._max)
        return self._max  # unreachable: the bucket counts add up to self._count

    def count_from(self, value_ms: float) -> int:
        """The values at or above `value_ms` (to 1 %: from the bucket holding it up)."""
        index = bucket_index(value_ms)
        return sum(n for i, n in self._buckets.items() if i >= index)

    def summary(self) -> dict[str, float | int | None]:
        """Return p50, p90, p99, p999, max, mean, min and count (None when empty)."""
        figures: dict[str, float | int | None] = {
            key: self.percentile(q) for key, q in _SUMMARY_QUANTILES.items()
        }
        figures.update(max=self.max, mean=self.mean, min=self.min, count=self._count)
        return figures

    def to_dict(self) -> dict[str, Any]:
        """Return a compact JSON-able form that `from_dict` restores exactly."""
        exact_sum = sum((Fraction(p) for p in self._partials), Fraction(0))
        return {
            "ratio": RATIO,
            "lowest_ms": LOWEST_MS,
            "count": self._count,
            "sum": _exact_partials(exact_sum),
            "min": self.min,
            "max": self.max,
            "buckets": {str(i): self._buckets[i] for i in sorted(self._buckets)},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        """Rebuild a histogram written by `to_dict`."""
        if data["ratio"] != RATIO or data["lowest_ms"] != LOWEST_MS:
            raise ValueError(
                f"histogram layout {data['ratio']}/{data['lowest_ms']} is not "
                f"{RATIO}/{LOWEST_MS}: it cannot be merged"
            )
        hist = cls()
        hist._buckets = {int(k): int(v) for k, v in data["buckets"].items()}
        hist._count = int(data["count"])
        if sum(hist._buckets.values()) != hist._count:
            raise ValueError("histogram bucket counts do not add up to its count")
        hist._partials = [float(p) for p in data["sum"]]
        if hist._count:
            hist._min = float(data["min"])
            hist._max = float(data["max"])
        return hist

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Histogram(count={self._count}, min={self.min}, max={self.max})"
