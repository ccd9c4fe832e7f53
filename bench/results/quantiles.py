"""A distribution-free confidence interval for a percentile, from order statistics.

Of n independent answers, the number below the true q-quantile is binomial(n, q); the
interval [X(l), X(u)] between the l-th and u-th smallest answers holds the quantile
with probability at least the confidence when l and u are the binomial's lower and
upper tail points (Hahn & Meeker, "Statistical Intervals", ch. 5). It assumes nothing
about the shape of the latency distribution, only that answers are independent draws
of one steady distribution (docs/methodology.md says when that holds).

With too few answers the upper end does not exist: for p99 at 95 % (two-sided), n must
be at least 368 before any order statistic bounds the quantile from above (then the
largest answer does). Below that only the lower end says anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binom

from bench.results.histogram import Histogram

CONFIDENCE = 0.95


@dataclass(frozen=True)
class QuantileInterval:
    """A percentile's point estimate and its interval (ms); `high` None: not bounded."""

    q: float  # a fraction, 0.99 for p99
    count: int
    estimate: float | None
    low: float | None
    high: float | None

    def below(self, limit: float) -> bool:
        """The quantile is within `limit`, at the interval's confidence."""
        return self.high is not None and self.high <= limit

    def above(self, limit: float) -> bool:
        """The quantile is over `limit`, at the interval's confidence."""
        return self.low is not None and self.low > limit


def ranks(count: int, q: float, confidence: float = CONFIDENCE) -> tuple[int, int | None]:
    """The 1-based ranks (l, u) of the order statistics that bound the q-quantile of
    `count` answers with at least `confidence` (two-sided); u is None when even the
    largest answer cannot bound it from above."""
    if count < 1:
        raise ValueError("no answers: nothing bounds a quantile")
    tail = (1.0 - confidence) / 2.0
    # P(X(l) <= quantile) = P(B >= l) with B ~ binomial(n, q): l is the largest rank with
    # P(B <= l - 1) <= tail; u the smallest with P(B <= u - 1) >= 1 - tail.
    low = int(binom.ppf(tail, count, q))
    high = int(binom.ppf(1.0 - tail, count, q)) + 1
    return max(low, 1), (high if high <= count else None)


def interval(histogram: Histogram, q: float, confidence: float = CONFIDENCE) -> QuantileInterval:
    """The q-quantile of the recorded answers, with its distribution-free interval."""
    count = histogram.count
    if count == 0:
        return QuantileInterval(q, 0, None, None, None)
    low, high = ranks(count, q, confidence)
    return QuantileInterval(
        q,
        count,
        histogram.percentile(q * 100.0),
        histogram.at_rank(low),
        histogram.at_rank(high) if high is not None else None,
    )
