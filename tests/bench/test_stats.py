"""Pure statistics: summaries, tests, and the degenerate inputs they refuse."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest

from bench.results import stats


def test_mean_and_stdev() -> None:
    assert stats.mean([1.0, 2.0, 3.0]) == 2.0
    assert stats.stdev([1.0, 2.0, 3.0]) == 1.0
    assert stats.mean([]) is None
    assert stats.stdev([5.0]) is None
    assert stats.mean([1.0, math.nan]) is None
    assert stats.stdev([1.0, math.inf]) is None


def test_geometric_mean() -> None:
    assert stats.geometric_mean([0.5, 2.0]) == pytest.approx(1.0)
    assert stats.geometric_mean([0.8, 0.9]) == pytest.approx(math.sqrt(0.72))
    assert stats.geometric_mean([4.0]) == pytest.approx(4.0)
    assert stats.geometric_mean([]) is None
    assert stats.geometric_mean([1.0, 0.0]) is None
    assert stats.geometric_mean([1.0, -2.0]) is None


def test_skewness() -> None:
    assert stats.skewness([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(0.0)
    # scipy.stats.skew([1, 1, 1, 1, 10], bias=False) = 2.236...
    assert stats.skewness([1.0, 1.0, 1.0, 1.0, 10.0]) == pytest.approx(math.sqrt(5))
    assert stats.skewness([1.0, 2.0]) is None
    assert stats.skewness([3.0, 3.0, 3.0]) is None


def test_mann_whitney_floor() -> None:
    assert stats.mann_whitney_floor(3, 3) == pytest.approx(0.1)
    assert stats.mann_whitney_floor(4, 4) == pytest.approx(2 / 70)
    assert stats.mann_whitney_floor(5, 5) == pytest.approx(2 / 252)
    assert stats.mann_whitney_floor(1, 1) == 1.0


@pytest.mark.parametrize(
    ("reference", "changed", "reason"),
    [
        ([100.0], [70.0], "n=1"),
        ([100.0], [70.0, 71.0, 72.0], "n=1/3"),
        ([], [], "n=0"),
        ([100.0, math.nan], [70.0, 71.0], "non-finite values"),
        ([1.0, 2.0, 3.0], [3.0, 1.0, 2.0], "identical samples"),
        ([5.0, 5.0, 5.0], [5.0, 5.0, 5.0], "identical samples"),
        ([5.0, 5.0, 5.0], [7.0, 7.0, 7.0], "no variance in either run"),
    ],
)
@pytest.mark.parametrize("test", [stats.welch, stats.mann_whitney])
def test_degenerate_inputs_give_no_p_value(
    test: Callable[[Sequence[float], Sequence[float]], stats.Outcome],
    reference: list[float],
    changed: list[float],
    reason: str,
) -> None:
    outcome = test(reference, changed)
    assert outcome.p_value is None and not outcome.computed
    assert outcome.reason == reason


def test_welch_matches_the_textbook_value() -> None:
    outcome = stats.welch([1.0, 2.0, 3.0], [4.0, 5.0, 6.5])
    assert outcome.test == stats.WELCH
    assert outcome.p_value == pytest.approx(0.029145, rel=1e-4)
    assert outcome.statistic is not None and outcome.statistic > 0  # changed is higher
    assert outcome.diff_ci is not None
    low, high = outcome.diff_ci
    assert 0 < low < 3.1667 < high  # the difference of means is inside, zero is not


def test_welch_copes_with_one_constant_sample() -> None:
    outcome = stats.welch([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    assert outcome.p_value == pytest.approx(0.2254, rel=1e-3)


def test_mann_whitney_exact_p_value() -> None:
    outcome = stats.mann_whitney([1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0])
    assert outcome.test == stats.MANN_WHITNEY
    assert outcome.p_value == pytest.approx(2 / 252)
    assert outcome.diff_ci is None


def test_overlapping_samples_are_not_significant() -> None:
    reference = [100.0, 130.0, 70.0, 115.0, 85.0]
    changed = [105.0, 140.0, 75.0, 120.0, 90.0]
    for test in (stats.welch, stats.mann_whitney):
        p_value = test(reference, changed).p_value
        assert p_value is not None and p_value > 0.5
