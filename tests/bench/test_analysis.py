"""Point analysis on fixture measurements: figures, ceilings and every warning."""

from __future__ import annotations

import copy
from typing import Any

from bench import analysis
from bench.histogram import Histogram


def _hist(*values: float) -> dict[str, Any]:
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    return histogram.to_dict()


def _window(**overrides: Any) -> analysis.Window:
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
    return analysis.Window(**fields)


def test_a_clean_point() -> None:
    point = analysis.analyse(_window())
    assert point["throughput_rps"] == 250.0
    assert point["ceiling_rps"] == 250.0
    assert point["efficiency"] == 1.0
    assert abs(point["latency_ms"]["p50"] - 200.0) < 1.0
    assert point["warnings"] == [] and point["valid"]


def test_sync_workers_have_a_model_ceiling() -> None:
    # 3 sync workers at 200 ms hold 3 requests: 15 req/s whatever the users.
    locust = {"processes": 1, "requests": {"/complete": {
        "count": 75, "errors": {}, "latency": _hist(*([3333.0] * 75))}}}  # fmt: skip
    point = analysis.analyse(_window(locust=locust, upstream_calls=75, model_concurrency=3))
    assert point["model_ceiling_rps"] == 15.0
    assert point["model_efficiency"] == 1.0
    assert point["efficiency"] == 15.0 / 250.0


def test_errors_over_one_percent_invalidate() -> None:
    window = _window()
    window.locust["requests"]["/complete"]["errors"] = {"502": 20}
    point = analysis.analyse(window)
    assert not point["valid"]
    assert any("failed" in w for w in point["warnings"])
    assert point["errors"] == {"502": 20}


def test_upstream_mismatch_invalidates_but_edges_are_tolerated() -> None:
    assert analysis.analyse(_window(upstream_calls=1251))["valid"]
    # One cohort of 50 users finishing at the window's edge is not a fault ...
    assert analysis.analyse(_window(upstream_calls=1200))["valid"]
    # ... but a retry or a cache is.
    point = analysis.analyse(_window(upstream_calls=1400))
    assert not point["valid"]
    assert any("upstream calls" in w for w in point["warnings"])


def test_busy_generator_and_broken_littles_law_warn() -> None:
    locust = copy.deepcopy(_window().locust)
    locust["requests"]["/complete"]["latency"] = _hist(*([100.0] * 1250))
    point = analysis.analyse(_window(locust=locust, generator_cpu_pct=97.0))
    assert any("generator" in w for w in point["warnings"])
    assert any("Little's law" in w for w in point["warnings"])
    assert point["valid"]  # warnings, not invalidity


def test_open_loop_shortfall() -> None:
    point = analysis.analyse(_window(mode="rate", rate=400.0))
    assert point["ceiling_rps"] == 400.0
    assert abs(point["rate_shortfall"] - 0.375) < 1e-9
    assert any("short of 400" in w for w in point["warnings"])


def test_stream_figures_and_fidelity() -> None:
    locust = {
        "processes": 2,
        "requests": {"/complete/stream": {"count": 100, "errors": {}, "latency": _hist(380.0)}},
        "stream": {"ttft": _hist(201.0, 202.0), "tpot": _hist(20.0), "itl": _hist(19.5, 20.5),
                   "fidelity": {"events": 900, "expected": 1000, "streams": 100}},
    }  # fmt: skip
    point = analysis.analyse(
        _window(scenario="stream", locust=locust, upstream_calls=100, upstream_latency_ms=380.0)
    )
    assert point["ttft_ms"]["max"] == 202.0
    assert point["chunk_fidelity"] == 0.9
    assert any("chunk fidelity" in w for w in point["warnings"])
    assert point["generator"]["processes"] == 2


def test_no_requests_is_invalid() -> None:
    point = analysis.analyse(_window(locust={"requests": {}}))
    assert not point["valid"]


def _pt(target: str, rps: float, scenario: str = "hello") -> dict[str, Any]:
    return {"target": target, "scenario": scenario, "load": {"mode": "users", "users": 50},
            "throughput_rps": rps, "warnings": [], "valid": True, "status": "ok"}  # fmt: skip


def test_repetitions_that_disagree_are_marked() -> None:
    steady = [_pt("a", 100), _pt("a", 102), _pt("a", 98)]
    noisy = [_pt("b", 100), _pt("b", 160), _pt("b", 90)]
    analysis.repetition_warnings(steady + noisy)
    assert all(p["warnings"] == [] for p in steady)
    assert all(any("repetitions disagree" in w for w in p["warnings"]) for p in noisy)


def test_calibration_flags_generator_bound_hello() -> None:
    points = [_pt("baseline-uvicorn", 8000), _pt("fastapi-uvicorn", 7600), _pt("flask", 3000)]
    analysis.calibration_warnings(points)
    assert any("ceiling" in w for w in points[1]["warnings"])
    assert points[2]["warnings"] == []
