"""Faults, disconnects and soaks on fixtures: the contract check, recovery, cancel
timings from the mock's counters, growth slopes, their warnings, the report's sections."""

from __future__ import annotations

from typing import Any

import pytest

from bench.reports import faults as report_faults
from bench.reports.tables import markdown_table
from bench.results import analysis, faults
from bench.results.faults import Cancel, FaultPlan
from bench.results.histogram import Histogram
from bench.results.model import Load, Point
from tests.bench.factories import make_point

PLAN = FaultPlan(0.1, ("429", "500"), (5.0, 10.0))


def test_responses_and_contract_violations() -> None:
    errors = {"502": 10, "503": 20, "500": 1, "RemoteDisconnected": 2, "502 without detail": 3}
    assert faults.responses(100, errors) == {"200": 100, **dict(sorted(errors.items()))}
    assert faults.violations("complete", errors) == {
        "500": 1,
        "502 without detail": 3,
        "RemoteDisconnected": 2,
    }
    # A stream that already started reports the failure in an error event: the contract.
    stream = {"StreamEventError": 4, "StreamIncomplete": 1, "504": 2}
    assert faults.violations("stream", stream) == {"StreamIncomplete": 1}
    assert faults.violations("complete", {"StreamEventError": 1}) == {"StreamEventError": 1}


def test_recovery_is_measured_from_the_end_of_the_faults() -> None:
    before, during = [100] * 5, [50] * 5
    after = [60, 80, 99, 101, 100, 100, 98]
    baseline, recovery = faults.recovery(before + during + after, (5.0, 10.0), 3)
    assert baseline == 100
    # The mean of seconds 12-14 (99, 101, 100) is the first within 5 %.
    assert recovery == 2.0


def test_cohorts_that_alternate_around_the_baseline_have_recovered() -> None:
    # 20 closed-loop users at ~385 ms: per-second counts alternate around 50 req/s, so a
    # 3-s mean is 46.7 or 53.3 by phase; the band widens to the noise of such a mean.
    before, during, after = [40, 60, 43, 57], [10, 5, 8], [41, 59, 40, 60, 42, 58]
    band = faults.recovery_band(before, 3)
    assert 0.1 < band < 0.3
    assert faults.recovery(before + during + after, (4.0, 7.0), 3) == (50, 0.0)
    # Steady seconds keep the 5 % band; a recovery to 80 % of them is not one.
    assert faults.recovery_band([100, 101, 99, 100], 3) == faults.RECOVERY_BAND
    assert faults.recovery([50] * 4 + [0] * 3 + [40] * 6, (4.0, 7.0), 3) == (50, None)


def test_no_recovery_within_the_window_and_no_baseline() -> None:
    assert faults.recovery([100] * 5 + [0] * 10, (5.0, 8.0), 3) == (100, None)
    assert faults.recovery([0, 0, 0, 0], (0.0, 2.0), 3) == (None, None)
    # A throughput that overshoots its baseline has not recovered either.
    assert faults.recovery([100] * 5 + [200] * 6, (5.0, 6.0), 3) == (100, None)


def test_smoothing_follows_the_answer_latency() -> None:
    assert faults.smoothing_s(200) == 3
    assert faults.smoothing_s(2500) == 5


def test_fault_plan_round_trip_and_sentence() -> None:
    assert FaultPlan.from_dict(PLAN.to_dict()) == PLAN
    sentence = "10% of upstream calls fail with 429, 500 from 5 s to 10 s of the window"
    assert PLAN.describe() == sentence
    whole = FaultPlan(0.5, ("stall",))
    assert FaultPlan.from_dict(whole.to_dict()) == whole
    assert "from" not in whole.describe()


def _cancel_stats(count: int, mean: float | None, buckets: dict[str, int]) -> dict[str, Any]:
    return {"count": count, "missed": 0, "mean_ms": mean, "max_ms": 80.0, "buckets_ms": buckets}


def test_cancel_delays_between_two_stats() -> None:
    zero = dict.fromkeys(("5", "10", "20", "50", "100", "inf"), 0)
    before = _cancel_stats(10, 4.0, {**zero, "5": 10})
    later = {**zero, "5": 10, "10": 60, "20": 39, "100": 1}
    after = {**_cancel_stats(110, 8.0, later), "missed": 2}
    cancel = faults.cancel_from_stats(before, after, 3, 20.0)
    assert cancel.streams == 100 and cancel.missed == 2
    assert cancel.mean_ms == pytest.approx((110 * 8.0 - 10 * 4.0) / 100)
    assert (cancel.p50_ms, cancel.p99_ms) == (10.0, 20.0)
    assert cancel.limit_ms() == 100.0
    assert Cancel.from_dict(cancel.to_dict()) == cancel
    empty = faults.cancel_from_stats(before, before, 3, 20.0)
    assert empty.streams == 0 and empty.mean_ms is None and empty.p99_ms is None


def test_growth_slope_per_10k_requests() -> None:
    requests = [float(i * 1000) for i in range(20)]  # 19,000 requests served
    leaking = [100 + 0.0005 * r for r in requests]  # 5 MB per 10,000 requests
    steady = [50.0] * 20
    growth = faults.growth(requests, {"rss_mb": leaking, "fds": steady, "threads": steady})
    assert growth is not None and growth.samples == 20
    assert growth.trends["rss_mb"].per_10k == pytest.approx(5.0)
    assert growth.trends["rss_mb"].late_per_10k == pytest.approx(5.0)
    assert growth.trends["fds"].per_10k == 0.0
    assert set(growth.excessive()) == {"rss_mb"}
    assert faults.Growth.from_dict(growth.to_dict()) == growth
    # Warm-up growth in the first half alone is not a leak.
    warm = [100.0 + min(r, 5000) / 500 for r in requests]
    assert not faults.growth(requests, {"rss_mb": warm}).excessive()  # type: ignore[union-attr]
    assert faults.growth(requests[:3], {"rss_mb": steady[:3]}) is None


def _hist(*values: float) -> dict[str, Any]:
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    return histogram.to_dict()


def _fault_window(errors: dict[str, int], **overrides: Any) -> analysis.Measurement:
    # 20 s window, 100 req/s before and after the faults, 60 req/s during them.
    per_second = [100] * 5 + [60] * 5 + [100] * 10
    start = 1_000_000
    series = {
        str(start + i): {"requests": {"/complete": {"count": n, "errors": {}, "latency": {}}}}
        for i, n in enumerate(per_second)
    }
    fields: dict[str, Any] = {
        "scenario": "complete", "mode": "users", "users": 20, "rate": None, "window_s": 20.0,
        "locust": {"processes": 1, "window": {"start": start, "end": start + 20},
                   "series": series, "requests": {"/complete": {
                       "count": sum(per_second), "errors": errors,
                       "latency": _hist(*([200.0] * 100))}}},
        "server_cpu_pct": 30.0, "server_rss_mb": 70.0, "generator_cpu_pct": 20.0,
        "mock_cpu_pct": 5.0, "upstream_calls": sum(per_second), "upstream_latency_ms": 200.0,
        "model_concurrency": None, "faults": PLAN, "injected": {"429": 150, "500": 50},
        "upstream_accepted": sum(per_second) + sum(errors.values()),
    }  # fmt: skip
    fields.update(overrides)
    return analysis.Measurement(**fields)


def _analyse(window: analysis.Measurement) -> Point:
    point = Point(
        target="flask-gunicorn-gthread", framework="flask", worker_class="gthread",
        variant=None, workers=3, threads=100, tag="realistic", client="default",
        scenario=window.scenario, load=Load("users", window.users), repetition=1,
        window_s=window.window_s, server_model="gunicorn-gthread",
    )  # fmt: skip
    return analysis.analyse(window, point)


def test_a_point_under_faults_within_the_contract_is_valid() -> None:
    point = _analyse(_fault_window({"503": 150, "502": 50}))
    record = point.faults
    assert record is not None
    assert record.responses == {"200": 1800, "502": 50, "503": 150}
    assert record.violations == {}
    assert (record.baseline_rps, record.recovery_s) == (100, 0.0)
    # 10 % errors are what was asked for: not the 1 % rule, not Little's law.
    assert point.valid and point.warnings == ()


def test_answers_off_the_contract_invalidate_the_point() -> None:
    point = _analyse(_fault_window({"503": 150, "500": 40, "RemoteDisconnected": 10}))
    assert not point.valid
    contract = [w for w in point.warnings if w.code == analysis.CONTRACT]
    assert contract
    assert "500 x40" in contract[0].text and "RemoteDisconnected x10" in contract[0].text


def test_upstream_calls_must_match_every_request_sent_under_faults() -> None:
    point = _analyse(_fault_window({"503": 200}, upstream_accepted=4000))
    assert analysis.UPSTREAM_MISMATCH in {w.code for w in point.warnings}
    assert not point.valid


def test_a_cancel_slower_than_a_few_token_intervals_is_a_warning() -> None:
    slow = Cancel(100, 3, 150.0, 900.0, 100.0, 1000.0, 3, 20.0)
    point = _analyse(_fault_window({}, faults=None, cancel=slow))
    assert {analysis.CANCEL_MISSED, analysis.SLOW_CANCEL} <= {w.code for w in point.warnings}
    assert point.cancel == slow


def test_report_sections_appear_only_for_what_was_measured() -> None:
    plain = make_point()
    assert report_faults.sections([plain]) == []
    under_faults = _analyse(_fault_window({"503": 150, "500": 40}))
    cancelled = make_point(
        scenario="disconnect",
        cancel=Cancel(100, 0, 12.0, 40.0, 20.0, 50.0, 3, 20.0).to_dict(),
    )
    found = report_faults.sections([plain, under_faults, cancelled])
    assert [s.anchor for s in found] == ["faults", "disconnects"]
    assert found[0].table is not None and found[1].table is not None
    faults_md = markdown_table(found[0].table)
    assert "500 x40" in faults_md and "0 s" in faults_md
    assert "≤ 50" in markdown_table(found[1].table)
