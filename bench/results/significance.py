"""Is a change of one figure real? The decision `bench compare` and `bench history` share.

Points are matched by target, scenario and load; the repetitions of a point are its
sample. A metric's change is significant only when BOTH
  (a) a two-sample test over the repetitions gives p < --alpha (default 0.05), and
  (b) the relative change of the mean, |mean(changed) / mean(reference) - 1|, is
      greater than --min-effect (default 0.05).
A test that cannot be computed (fewer than two repetitions, no variance in samples that
differ, identical samples, failed points, a Mann-Whitney test too small to ever reach
alpha) is reported as "cannot tell", never as significant. Two samples that hold one and
the same value with no variance at all (201.6 ms every time, on both sides) are "not
significant" without a test: nothing moved, and nothing could have hidden a move.

--test auto (the default) runs Welch's t-test: each repetition's figure is already a
mean or percentile over thousands of requests, so repetitions are close to normal.
It switches to Mann-Whitney U when a sample is skewed (|adjusted skewness| > 1, which
needs three values) and there are enough repetitions for the U test to reach alpha
at all (its smallest exact two-sided p is 2 / C(n1 + n2, n1): 0.1 at 3 + 3, 0.029 at
4 + 4). Below that Mann-Whitney can never say "significant", so Welch is kept.

A point measured once a side is judged on its window's seconds instead
(bench.results.intervals): Welch's t-test on the batch means of each window, plus the
noise between runs that no window sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.results import conditions as cond
from bench.results import intervals, stats
from bench.results.intervals import Interval

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NOT_SIGNIFICANT = "not significant"
CANNOT = "cannot compute"
DECISIONS = (REGRESSION, IMPROVEMENT, NOT_SIGNIFICANT, CANNOT)
SIGNIFICANT = (REGRESSION, IMPROVEMENT)
IDENTICAL = "identical, with no variance"

SKEW_LIMIT = 1.0  # |G1| above this is "highly skewed" (Bulmer's rule of thumb)
TESTS = ("auto", stats.WELCH, stats.MANN_WHITNEY)


@dataclass(frozen=True)
class Settings:
    """How a change is judged."""

    test: str = "auto"
    alpha: float = 0.05
    min_effect: float = 0.05
    # The categories of conditions changed on purpose (bench.results.conditions).
    varying: tuple[str, ...] = cond.DEFAULT_VARYING


@dataclass(frozen=True)
class Judgement:
    """The decision on one figure: its ratio changed/reference, the test, and why."""

    ratio: float | None  # mean(changed) / mean(reference)
    outcome: stats.Outcome | None
    decision: str  # one of DECISIONS
    reason: str

    @property
    def significant(self) -> bool:
        return self.decision in SIGNIFICANT


def words(ratio: float, higher_is_better: bool) -> str:
    """Say a ratio changed/reference as "1.23x faster", "1.10x slower" or "no change"."""
    if ratio <= 0:
        return "fell to 0"
    speed = ratio if higher_is_better else 1 / ratio
    if f"{speed:.2f}" == "1.00":
        return "no change"
    return f"{speed:.2f}x faster" if speed > 1 else f"{1 / speed:.2f}x slower"


def choose_test(reference: Sequence[float], changed: Sequence[float], settings: Settings) -> str:
    """Pick the test: the requested one, or for "auto" the rule in the module docstring."""
    if settings.test != "auto":
        return settings.test
    skews = (stats.skewness(reference), stats.skewness(changed))
    skewed = any(s is not None and abs(s) > SKEW_LIMIT for s in skews)
    enough = stats.mann_whitney_floor(len(reference), len(changed)) <= settings.alpha
    return stats.MANN_WHITNEY if skewed and enough else stats.WELCH


def run_test(
    reference: Sequence[float], changed: Sequence[float], settings: Settings
) -> stats.Outcome:
    """Run the chosen test; a Mann-Whitney test that cannot reach alpha is "cannot tell"."""
    if choose_test(reference, changed, settings) == stats.WELCH:
        return stats.welch(reference, changed, confidence=1 - settings.alpha)
    outcome = stats.mann_whitney(reference, changed)
    floor = stats.mann_whitney_floor(len(reference), len(changed))
    if outcome.computed and floor > settings.alpha:
        return stats.Outcome(
            stats.MANN_WHITNEY,
            None,
            reason=f"Mann-Whitney cannot reach p < {settings.alpha:g} "
            f"with n={len(reference)}/{len(changed)}",
        )
    return outcome


def identical(
    reference: Sequence[float],
    changed: Sequence[float],
    windows: tuple[Interval, Interval] | None = None,
) -> bool:
    """Whether both sides hold one and the same value with no variance at all.

    Over repetitions that needs two values a side (one value has an unknown variance,
    not none); one window a side needs each window's batches to agree exactly.
    """
    if windows is None:
        return len(reference) > 1 and len(changed) > 1 and len({*reference, *changed}) == 1
    before, after = windows
    return (
        before.stderr == 0
        and after.stderr == 0
        and before.value is not None
        and before.value == after.value
    )


def _outcome(
    reference: list[float],
    changed: list[float],
    settings: Settings,
    windows: tuple[Interval, Interval] | None,
) -> stats.Outcome:
    """The test over the repetitions, or, one repetition a side, over each window's seconds."""
    if windows is None:
        return run_test(reference, changed, settings)
    reference_window, changed_window = windows
    if not reference_window.computed and reference_window.reason == changed_window.reason:
        return stats.Outcome(intervals.METHOD, None, reason=f"n=1, {reference_window.reason}")
    outcome = intervals.compare(reference_window, changed_window, 1 - settings.alpha)
    if outcome.p_value is None:
        return stats.Outcome(outcome.test, None, reason=f"n=1, {outcome.reason}")
    return outcome


def judge(
    higher_is_better: bool,
    reference: list[float],
    changed: list[float],
    settings: Settings,
    windows: tuple[Interval, Interval] | None = None,
) -> Judgement:
    """Judge one figure of one matched point (the rule in the module docstring)."""
    found = _judge(higher_is_better, reference, changed, settings, windows)
    outcome = found.outcome
    if windows is not None and outcome is not None and outcome.computed:
        noise = max(window.run_noise for window in windows)
        drifted = [
            name for name, window in zip(("reference", "changed"), windows) if window.drifted
        ]
        widened = f"; {' and '.join(drifted)} drifted: one batch's error" if drifted else ""
        reason = (
            f"{found.reason} (one window a side, {noise:.0%} noise between runs added{widened})"
        )
        return Judgement(found.ratio, outcome, found.decision, reason)
    return found


def _judge(
    higher_is_better: bool,
    reference: list[float],
    changed: list[float],
    settings: Settings,
    windows: tuple[Interval, Interval] | None,
) -> Judgement:
    for name, values in (("reference", reference), ("changed", changed)):
        if not values:
            return Judgement(None, None, CANNOT, f"cannot tell (no figures in {name})")
    ref_mean, new_mean = stats.mean(reference), stats.mean(changed)
    if ref_mean is None or new_mean is None or ref_mean <= 0:
        return Judgement(None, None, CANNOT, "cannot tell (reference mean is 0)")
    ratio = new_mean / ref_mean
    if identical(reference, changed, windows):
        return Judgement(ratio, None, NOT_SIGNIFICANT, IDENTICAL)
    outcome = _outcome(reference, changed, settings, windows)
    if outcome.p_value is None:
        return Judgement(ratio, outcome, CANNOT, f"cannot tell ({outcome.reason})")
    p_value, effect = outcome.p_value, abs(ratio - 1)
    if p_value >= settings.alpha:
        return Judgement(ratio, outcome, NOT_SIGNIFICANT, f"p={p_value:.2g} >= {settings.alpha:g}")
    if effect <= settings.min_effect:
        reason = (
            f"p={p_value:.2g}, but {effect:.1%} is within --min-effect {settings.min_effect:.0%}"
        )
        return Judgement(ratio, outcome, NOT_SIGNIFICANT, reason)
    better = (ratio > 1) == higher_is_better
    reason = f"p={p_value:.2g} < {settings.alpha:g} and {effect:.1%} > {settings.min_effect:.0%}"
    return Judgement(ratio, outcome, IMPROVEMENT if better else REGRESSION, reason)
