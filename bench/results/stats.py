"""Pure statistics on lists of numbers: summaries and two-sample tests.

Every function refuses degenerate input explicitly (too few values, no variance,
identical samples, non-finite values) and says why, instead of handing back a
p-value that scipy computed but that means nothing.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass


WELCH = "welch"
MANN_WHITNEY = "mannwhitney"


@dataclass(frozen=True)
class Outcome:
    """The result of a two-sample test: a p-value, or the reason there is none."""

    test: str
    p_value: float | None
    statistic: float | None = None
    # Confidence interval of mean(changed) - mean(reference) (Welch only).
    diff_ci: tuple[float, float] | None = None
    reason: str | None = None  # set exactly when p_value is None

    @property
    def computed(self) -> bool:
        """Whether the test produced a usable p-value."""
        return self.p_value is not None


def t_quantile(probability: float, df: float) -> float:
    """Student's t quantile: the half-width factor of a t-interval."""
    # scipy.stats is imported where it is used: loading it takes a second, on every
    # `bench` start.
    from scipy import stats as _scipy

    return float(_scipy.t.ppf(probability, df))


def t_two_sided_p(statistic: float, df: float) -> float:
    """The two-sided p-value of Student's t statistic."""
    from scipy import stats as _scipy

    return float(2 * _scipy.t.sf(abs(statistic), df))


def _finite(values: Sequence[float]) -> bool:
    return all(math.isfinite(v) for v in values)


def mean(values: Sequence[float]) -> float | None:
    """Return the arithmetic mean, or None for no (or non-finite) values."""
    if not values or not _finite(values):
        return None
    return statistics.fmean(values)


def stdev(values: Sequence[float]) -> float | None:
    """Return the sample standard deviation, or None below two values."""
    if len(values) < 2 or not _finite(values):
        return None
    return statistics.stdev(values)


def geometric_mean(values: Sequence[float]) -> float | None:
    """Return the geometric mean of positive values, or None if any is not positive."""
    if not values or not _finite(values) or any(v <= 0 for v in values):
        return None
    return math.exp(statistics.fmean(math.log(v) for v in values))


def skewness(values: Sequence[float]) -> float | None:
    """Return the adjusted Fisher-Pearson skewness G1, or None below 3 values or no spread."""
    n = len(values)
    if n < 3 or not _finite(values):
        return None
    centre = statistics.fmean(values)
    m2 = sum((v - centre) ** 2 for v in values) / n
    if m2 == 0:
        return None
    m3 = sum((v - centre) ** 3 for v in values) / n
    return math.sqrt(n * (n - 1)) / (n - 2) * m3 / (m2 * math.sqrt(m2))


def mann_whitney_floor(n_reference: int, n_changed: int) -> float:
    """Return the smallest two-sided p-value the exact Mann-Whitney U test can reach.

    With three repetitions a side it is 0.1: the test can never reject at 0.05.
    """
    return min(1.0, 2 / math.comb(n_reference + n_changed, n_reference))


def degenerate(reference: Sequence[float], changed: Sequence[float]) -> str | None:
    """Return why two samples cannot be tested ("n=1", "no variance", ...), or None."""
    if len(reference) < 2 or len(changed) < 2:
        sizes = {len(reference), len(changed)}
        count = f"n={len(reference)}" if len(sizes) == 1 else f"n={len(reference)}/{len(changed)}"
        return count
    if not _finite(reference) or not _finite(changed):
        return "non-finite values"
    if sorted(reference) == sorted(changed):
        return "identical samples"
    if min(reference) == max(reference) and min(changed) == max(changed):
        return "no variance in either run"
    return None


def _finite_or_none(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def welch(
    reference: Sequence[float], changed: Sequence[float], confidence: float = 0.95
) -> Outcome:
    """Run Welch's unequal-variance t-test; the CI is of mean(changed) - mean(reference)."""
    reason = degenerate(reference, changed)
    if reason is not None:
        return Outcome(WELCH, None, reason=reason)
    with warnings.catch_warnings():
        # scipy warns of "catastrophic cancellation" when one sample is constant;
        # the variance is then exactly 0, which Welch's test handles.
        warnings.simplefilter("ignore", RuntimeWarning)
        from scipy import stats as _scipy  # as in t_quantile

        result = _scipy.ttest_ind(list(changed), list(reference), equal_var=False)
        interval = result.confidence_interval(confidence)
    p_value = _finite_or_none(result.pvalue)
    if p_value is None:
        return Outcome(WELCH, None, reason="the t-test did not converge")
    low, high = _finite_or_none(interval.low), _finite_or_none(interval.high)
    ci = (low, high) if low is not None and high is not None else None
    return Outcome(WELCH, p_value, _finite_or_none(result.statistic), ci)


def mann_whitney(reference: Sequence[float], changed: Sequence[float]) -> Outcome:
    """Run the two-sided Mann-Whitney U test (exact when small and without ties)."""
    reason = degenerate(reference, changed)
    if reason is not None:
        return Outcome(MANN_WHITNEY, None, reason=reason)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from scipy import stats as _scipy  # as in t_quantile

        result = _scipy.mannwhitneyu(list(changed), list(reference), alternative="two-sided")
    p_value = _finite_or_none(result.pvalue)
    if p_value is None:
        return Outcome(MANN_WHITNEY, None, reason="the U test did not converge")
    return Outcome(MANN_WHITNEY, p_value, _finite_or_none(result.statistic))
