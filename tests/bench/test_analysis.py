"""Point analysis on fixture measurements: figures, ceilings and every warning."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from bench.results import analysis
from bench.results.histogram import Histogram
from bench.results.model import Load, Point
from tests.bench.factories import make_point


def _hist(*values: float) -> dict[str, Any]:
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    return histogram.to_dict()


def _window(**overrides: Any) -> analysis.Measurement:
    # 50 users, 200 ms upstream: Little's law gives 250 req/s; 1,250 requests in 5 s.
    fields: dict[str, Any] = {
        "scenario": "complete", "mode": "users", "users": 50, "rate": None, "window_s": 5.0,
        "locust": {"processes": 1, "requests": {"/complete": {
            "count": 1250, "errors": {}, "latency": _hist(*([200.0] * 1250))}}},
        "server_cpu_pct": 30.0, "server_rss_mb": 70.0, "generator_cpu_pct": 20.0,
        "mock_cpu_pct": 5.0, "upstream_calls": 1250, "upstream_latency_ms": 200.0,
        "model_concurrency": None,
    }  # fmt: skip
    fields.update(overrides)
    return analysis.Measurement(**fields)


def _identity(window: analysis.Measurement) -> Point:
    load = Load("users", window.users) if window.mode == "users" else Load.open(window.rate or 0)
    return Point(
        target="fastapi-uvicorn", framework="fastapi", worker_class="asyncio", variant=None,
        workers=1, threads=1, tag="realistic", client="default", scenario=window.scenario,
        load=load, repetition=1, window_s=window.window_s, server_model="uvicorn",
    )  # fmt: skip


def analyse(window: analysis.Measurement) -> Point:
    return analysis.analyse(window, _identity(window))


def codes(point: Point) -> set[str]:
    return {w.code for w in point.warnings}


def test_a_clean_point() -> None:
    point = analyse(_window())
    assert point.throughput_rps == 250.0
    assert point.ceiling_rps == 250.0
    assert point.efficiency == 1.0
    assert abs((point.value(("latency_ms", "p50")) or 0) - 200.0) < 1.0
    assert point.warnings == () and point.valid


def test_sync_workers_have_a_model_ceiling() -> None:
    # 3 sync workers at 200 ms hold 3 requests: 15 req/s whatever the users.
    locust = {"processes": 1, "requests": {"/complete": {
        "count": 75, "errors": {}, "latency": _hist(*([3333.0] * 75))}}}  # fmt: skip
    point = analyse(_window(locust=locust, upstream_calls=75, model_concurrency=3))
    assert point.model_ceiling_rps == 15.0
    assert point.model_efficiency == 1.0
    assert point.efficiency == 15.0 / 250.0


def test_errors_over_one_percent_invalidate() -> None:
    window = _window()
    window.locust["requests"]["/complete"]["errors"] = {"502": 20}
    point = analyse(window)
    assert not point.valid
    assert codes(point) == {analysis.ERRORS}
    assert point.warnings[0].figures["failed_pct"] == pytest.approx(100 * 20 / 1270)
    assert point.errors == {"502": 20}


def test_upstream_mismatch_invalidates_but_edges_are_tolerated() -> None:
    assert analyse(_window(upstream_calls=1251)).valid
    # A cohort of 50 users finishing at each of the window's two edges is not a fault ...
    assert analyse(_window(upstream_calls=1200)).valid
    assert analyse(_window(upstream_calls=1150)).valid
    assert not analyse(_window(upstream_calls=1149)).valid
    # ... but a retry or a cache is.
    point = analyse(_window(upstream_calls=1400))
    assert not point.valid
    assert codes(point) == {analysis.UPSTREAM_MISMATCH}
    assert "upstream calls" in point.warnings[0].text


def test_open_loop_edges_are_tolerated_by_what_was_outstanding() -> None:
    # From a distributed run that failed: Poisson streams at 20 a second, the mock's count
    # 5 short of the 68 completed. Its sending users and outstanding peak were not kept:
    # 2 and 8 here are set for the example (20 a second x about 0.4 s answers is 8).
    stream = {"count": 68, "errors": {}, "latency": _hist(*([380.0] * 68))}
    locust = {"processes": 1, "requests": {"/complete/stream": stream},
              "open": {"outstanding": 8, "dropped": 0, "lateness": _hist(1.0)}}  # fmt: skip
    window = _window(scenario="stream", mode="rate", rate=20.0, users=2, open_loop=True,
                     locust=locust, upstream_calls=63, upstream_latency_ms=380.0)  # fmt: skip
    assert analysis.UPSTREAM_MISMATCH not in codes(analyse(window))
    # Twice the calls (a retry) is still a fault.
    doubled = replace(window, upstream_calls=136)
    assert analysis.UPSTREAM_MISMATCH in codes(analyse(doubled))


def test_counts_read_late_are_allowed_for_at_the_windows_rate() -> None:
    # 1,250 requests in 5 s (250 a second), 50 users: 100 calls of room at the edges. Read
    # 0.4 s late in all, the mock's count may be 100 more short (250 a second x 0.4 s).
    assert not analyse(_window(upstream_calls=1100)).valid
    late = analyse(_window(upstream_calls=1100, mock_read_late_s=0.4))
    assert late.valid
    # The warning says how late the counts were read.
    short = analyse(_window(upstream_calls=1000, mock_read_late_s=0.4))
    [warning] = [w for w in short.warnings if w.code == analysis.UPSTREAM_MISMATCH]
    assert warning.figures["read_late_s"] == 0.4 and "0.40 s" in warning.text


def test_busy_generator_and_broken_littles_law_warn() -> None:
    locust = copy.deepcopy(_window().locust)
    locust["requests"]["/complete"]["latency"] = _hist(*([100.0] * 1250))
    point = analyse(_window(locust=locust, generator_cpu_pct=97.0))
    assert codes(point) == {analysis.GENERATOR_CPU, analysis.LITTLES_LAW}
    assert any("Little's law" in w.text for w in point.warnings)
    assert point.valid  # warnings, not invalidity


def test_open_loop_shortfall() -> None:
    point = analyse(_window(mode="rate", rate=400.0))
    assert point.ceiling_rps == 400.0
    assert abs((point.rate_shortfall or 0) - 0.375) < 1e-9
    assert any("short of 400" in w.text for w in point.warnings)
    assert codes(point) == {analysis.RATE_SHORTFALL}


def test_stream_figures_and_fidelity() -> None:
    locust = {
        "processes": 2,
        "requests": {"/complete/stream": {"count": 100, "errors": {}, "latency": _hist(380.0)}},
        "stream": {"ttft": _hist(201.0, 202.0), "tpot": _hist(20.0), "itl": _hist(19.5, 20.5),
                   "fidelity": {"events": 900, "expected": 1000, "streams": 100}},
    }  # fmt: skip
    point = analyse(
        _window(scenario="stream", locust=locust, upstream_calls=100, upstream_latency_ms=380.0)
    )
    assert point.value(("ttft_ms", "max")) == 202.0
    assert point.chunk_fidelity == 0.9
    assert analysis.CHUNK_FIDELITY in codes(point)
    assert point.generator_processes == 2


def test_no_requests_is_invalid() -> None:
    point = analyse(_window(locust={"requests": {}}))
    assert not point.valid and codes(point) == {analysis.NO_REQUESTS}


def _pt(target: str, rps: float, scenario: str = "hello") -> Point:
    return make_point(target=target, scenario=scenario, throughput=rps)


def test_repetitions_that_disagree_are_marked() -> None:
    steady = [_pt("a", 100), _pt("a", 102), _pt("a", 98)]
    noisy = [_pt("b", 100), _pt("b", 160), _pt("b", 90)]
    marked = analysis.repetition_warnings(steady + noisy)
    steady, noisy = marked[:3], marked[3:]
    assert all(p.warnings == () for p in steady)
    assert all(codes(p) == {analysis.REPETITIONS} for p in noisy)
    assert "repetitions disagree" in noisy[0].warnings[0].text


def test_calibration_flags_generator_bound_hello() -> None:
    points = [_pt("baseline-uvicorn", 8000), _pt("fastapi-uvicorn", 7600), _pt("flask", 3000)]
    points = analysis.calibration_warnings(points)
    assert codes(points[1]) == {analysis.CALIBRATION}
    assert "ceiling" in points[1].warnings[0].text
    assert points[2].warnings == ()
    # At a fixed open-loop rate every stack serves the rate: it is no ceiling to be near.
    offered = [replace(p, load=Load.open(400.0)) for p in points]
    assert all(p.warnings == () for p in analysis.calibration_warnings(offered))


def test_a_reworded_warning_keeps_its_meaning() -> None:
    # Meaning comes from the code: the column, validity and filters never read the text.
    point = make_point().warned(analysis.failed_warning("the target died\nlog"))
    assert not point.valid and point.warnings[0].display() == "INVALID: failed: the target died"


def _open_window(sent: int, answered: int, lateness_ms: float = 0.5, **extra: Any) -> Point:
    """An open-loop window of 10 s at 30 req/s: `sent` requests, `answered` of them."""
    opened = {"lateness": _hist(*([lateness_ms] * sent)), "dropped": extra.pop("dropped", 0),
              "outstanding": 40}  # fmt: skip
    requests = {"/complete": {"count": answered, "errors": {},
                              "latency": _hist(*([300.0] * answered)),
                              "service": _hist(*([120.0] * answered))}}  # fmt: skip
    window = _window(mode="rate", rate=30.0, users=1, window_s=10.0, open_loop=True,
                     locust={"processes": 1, "requests": requests, "open": opened},
                     upstream_calls=answered, upstream_latency_ms=100.0, **extra)  # fmt: skip
    return analysis.analyse(window, replace(_identity(window), load=Load.open(30.0)))


def test_an_open_loop_point_keeps_response_and_service_time_apart() -> None:
    point = _open_window(sent=300, answered=296)
    assert point.value(("latency_ms", "p50")) == pytest.approx(300.0, rel=0.01)
    assert point.value(("service_ms", "p50")) == pytest.approx(120.0, rel=0.01)
    assert (point.sent, point.dropped, point.outstanding_peak) == (300, 0, 40)
    # Four more sent than answered is chance (a Poisson window's sqrt(n)), not a queue.
    assert analysis.backlog(point) is None and not point.has(analysis.BACKLOG)
    assert point.efficiency == pytest.approx(296 / 300)
    assert point.limit is not None and point.limit.kind == "none"


def test_arrivals_that_outrun_the_target_say_that_its_queue_grows() -> None:
    point = _open_window(sent=300, answered=190)
    assert analysis.backlog(point) == 110
    [warning] = [w for w in point.warnings if w.code == analysis.BACKLOG]
    assert "30.0 req/s were sent, 19.0 answered, and 110 more requests" in warning.text
    assert not warning.invalid  # an overload measured is a measurement


def test_a_late_generator_is_named_and_dropped_arrivals_are_counted() -> None:
    late = _open_window(sent=300, answered=296, lateness_ms=25.0)
    assert late.limit is not None and late.limit.kind == "generator"
    assert "lateness p99 25" in late.limit.detail
    dropped = _open_window(sent=290, answered=288, dropped=10)
    assert dropped.dropped == 10 and dropped.has(analysis.DROPPED)
