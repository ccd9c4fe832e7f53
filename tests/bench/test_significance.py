"""The decision on one figure (bench.results.significance), on fixture values and points."""

from __future__ import annotations

from dataclasses import replace

from bench.results.comparison import METRICS, single_windows
from bench.results.model import Point
from bench.results.significance import (
    CANNOT,
    IDENTICAL,
    NOT_SIGNIFICANT,
    REGRESSION,
    Settings,
    judge,
)
from tests.bench.factories import windowed_point

P50 = next(m for m in METRICS if m.name == "latency_p50_ms")


def test_one_value_with_no_variance_on_both_sides_is_no_change() -> None:
    # p50 of three repetitions a side, every one 201.6 ms: nothing moved.
    found = judge(False, [201.6] * 3, [201.6] * 3, Settings())
    assert found.decision == NOT_SIGNIFICANT and found.reason == IDENTICAL
    assert found.ratio == 1.0 and found.outcome is None and not found.significant


def test_no_variance_is_no_change_only_when_the_value_is_the_same() -> None:
    moved = judge(False, [201.6] * 3, [210.0] * 3, Settings())
    assert moved.decision == CANNOT and moved.reason == "cannot tell (no variance in either run)"
    # One value a side says nothing of its variance: still n=1.
    once = judge(False, [201.6], [201.6], Settings())
    assert once.decision == CANNOT and once.reason == "cannot tell (n=1)"


def _point(latency_ms: list[float], per_second: list[int] | None = None) -> Point:
    return Point.from_dict(windowed_point(per_second or [100] * 5, latency_ms))


def test_two_windows_whose_seconds_agree_exactly_are_no_change() -> None:
    reference, changed = _point([201.6] * 5), _point([201.6] * 5)
    windows = single_windows([reference], [changed], P50)
    assert windows is not None and all(w.stderr == 0 for w in windows)
    found = judge(False, [201.6], [201.6], Settings(), windows)
    assert found.decision == NOT_SIGNIFICANT and found.reason == IDENTICAL
    # The same steady seconds at another level: no variance within either window, so the
    # noise between runs alone judges it (1 % a side for a light p50: 14 % is a change;
    # 1 % is not).
    higher = _point([230.0] * 5)
    other = single_windows([reference], [higher], P50)
    assert other is not None and all(w.run_noise == 0.01 for w in other)
    moved = judge(False, [201.6], [230.0], Settings(), other)
    assert moved.decision == REGRESSION and moved.reason.startswith("p=")
    near = single_windows([reference], [_point([203.6] * 5)], P50)
    assert judge(False, [201.6], [203.6], Settings(), near).decision == NOT_SIGNIFICANT
    # No noise between runs either (an unknown class): nothing can judge it.
    silent = tuple(replace(w, run_noise=0.0) for w in other)
    blind = judge(False, [201.6], [230.0], Settings(), silent)  # type: ignore[arg-type]
    assert blind.decision == CANNOT
    assert blind.reason == "cannot tell (n=1, no variance within either window)"


def test_a_window_with_no_variance_needs_its_twin_to_be_identical() -> None:
    steady = _point([201.6] * 5)
    noisy = _point([195.0, 208.0, 201.6, 199.0, 204.0])
    windows = single_windows([steady], [noisy], P50)
    assert windows is not None and windows[0].stderr == 0 and windows[1].stderr
    found = judge(False, [201.6], [201.6], Settings(), windows)
    # Tested as any other pair: the same centre, so p = 1, but not "identical".
    assert found.decision == NOT_SIGNIFICANT and found.reason.startswith("p=1 >= 0.05")
