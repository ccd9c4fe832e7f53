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

Answers under load are not independent: a garbage-collection pause or a stalled event
loop slows every request in flight at once, so the slowest answers come in clumps. A
window whose slowest 1 % all fell in one second knows far less than its count says.
`clustered` measures the clumping second by second (Pearson's dispersion of the
per-second counts at or over the quantile's estimate, against the binomial that
independent answers would give) and widens the interval as if the window held that many
times fewer answers: the design effect of cluster sampling (Kish, "Survey Sampling",
1965, ch. 5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
    clumping: float = 1.0  # the design effect the interval was widened by (1: none)

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
    # Imported here: loading scipy.stats takes a second, on every `bench` start.
    from scipy.stats import binom

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


def dispersion(over: Sequence[int], totals: Sequence[int]) -> float:
    """How clumped the answers over a limit are across seconds: Pearson's chi-square of
    their per-second counts against the binomial of independent answers, per degree of
    freedom. 1 is chance; 9 means they vary as if they came nine at a time. Never below
    1, and 1 when fewer than two seconds hold answers or none (or all) are over it."""
    pairs = [(k, n) for k, n in zip(over, totals, strict=True) if n > 0]
    total, exceeding = sum(n for _, n in pairs), sum(k for k, _ in pairs)
    if len(pairs) < 2 or exceeding in (0, total):
        return 1.0
    share = exceeding / total
    chi = sum((k - n * share) ** 2 / (n * share * (1.0 - share)) for k, n in pairs)
    return max(1.0, chi / (len(pairs) - 1))


def clustered(
    histogram: Histogram, seconds: Sequence[Histogram], q: float, confidence: float = CONFIDENCE
) -> QuantileInterval:
    """The q-quantile's interval from a window's answers and the same answers second by
    second, widened by how clumped its slowest answers were (the module docstring)."""
    plain = interval(histogram, q, confidence)
    if plain.estimate is None or len(seconds) < 2:
        return plain
    factor = dispersion([s.count_from(plain.estimate) for s in seconds], [s.count for s in seconds])
    return widened(histogram, plain, factor, confidence)


def widened(
    histogram: Histogram, plain: QuantileInterval, factor: float, confidence: float = CONFIDENCE
) -> QuantileInterval:
    """`plain`, the interval of the histogram's answers, as if the window held `factor`
    times fewer independent answers: the ranks of that many, scaled back onto the answers
    recorded."""
    count = histogram.count
    if factor <= 1.0 or count == 0:
        return plain
    effective = max(1, int(count / factor))
    low, high = ranks(effective, plain.q, confidence)
    scale = count / effective
    top = math.ceil(high * scale) if high is not None else None
    return QuantileInterval(
        plain.q,
        count,
        plain.estimate,
        histogram.at_rank(max(1, math.floor(low * scale))),
        histogram.at_rank(top) if top is not None and top <= count else None,
        factor,
    )


def share_ranks(
    judged: int, share: float, clumping: float = 1.0, confidence: float = CONFIDENCE
) -> tuple[float, float | None]:
    """The bounds a count of requests meeting an objective is judged against (`ranks`),
    on the scale of `judged` answers that came `clumping` at a time."""
    effective = max(1, int(judged / max(clumping, 1.0)))
    low, high = ranks(effective, share, confidence)
    scale = judged / effective
    return low * scale, (high * scale if high is not None else None)
