"""The server's /metrics read into a point's figures (pure, on scrapes as text)."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from bench.results import telemetry
from bench.results.limits import classify
from bench.results.model import Percentiles, Telemetry
from tests.bench.factories import latency
from tests.bench.test_limits import LATENCY_MS, point


def scrape(requests: float, lag_fast: float, lag_slow: float, busy: float, gc: float) -> str:
    """Two workers' metrics in the exposition format (multiprocess mode: per-pid gauges)."""
    return f"""# HELP http_requests_in_progress Requests being served now
# TYPE http_requests_in_progress gauge
http_requests_in_progress{{handler="/complete",method="POST"}} 7.0
http_requests_in_progress{{handler="/health",method="GET"}} 1.0
# TYPE anyio_threadpool_borrowed_tokens gauge
anyio_threadpool_borrowed_tokens{{pid="11"}} {busy}
anyio_threadpool_borrowed_tokens{{pid="12"}} {busy}
anyio_threadpool_total_tokens{{pid="11"}} 40.0
anyio_threadpool_total_tokens{{pid="12"}} 40.0
event_loop_lag_max_seconds 0.8
# TYPE event_loop_lag_seconds histogram
event_loop_lag_seconds_bucket{{le="0.001"}} {lag_fast}
event_loop_lag_seconds_bucket{{le="0.5"}} {lag_fast}
event_loop_lag_seconds_bucket{{le="1.0"}} {lag_fast + lag_slow}
event_loop_lag_seconds_bucket{{le="+Inf"}} {lag_fast + lag_slow}
event_loop_lag_seconds_count {lag_fast + lag_slow}
event_loop_lag_seconds_sum {lag_slow * 0.8}
http_request_duration_seconds_bucket{{handler="/complete",le="+Inf",method="POST",status="2xx"}} {requests}
http_request_duration_seconds_count{{handler="/complete",method="POST",status="2xx"}} {requests}
http_request_duration_seconds_sum{{handler="/complete",method="POST",status="2xx"}} {requests * 0.12}
llm_upstream_call_duration_seconds_bucket{{kind="complete",le="+Inf",outcome="ok"}} {requests}
llm_upstream_call_duration_seconds_count{{kind="complete",outcome="ok"}} {requests}
llm_upstream_call_duration_seconds_sum{{kind="complete",outcome="ok"}} {requests * 0.1}
python_gc_pause_seconds_bucket{{generation="2",le="+Inf"}} {gc}
python_gc_pause_seconds_count{{generation="2"}} {gc}
python_gc_pause_seconds_sum{{generation="2"}} {gc * 0.015}
"""  # noqa: E501


def test_a_scrape_sums_the_workers_and_the_label_sets() -> None:
    found = telemetry.read(scrape(100, 400, 0, 40, 3), at=10.0)
    assert found.gauges["http_requests_in_progress"] == 8.0  # both handlers
    assert found.gauges["anyio_threadpool_borrowed_tokens"] == 80.0  # both workers
    assert found.gauges["event_loop_lag_max_seconds"] == 0.8
    lag = found.histograms["event_loop_lag_seconds"]
    assert lag.count == 400 and lag.quantile(0.99) == pytest.approx(0.00099, abs=1e-5)


def test_a_window_reads_its_seconds_and_its_whole_from_the_scrapes_around_it() -> None:
    # Second 100 (from the scrape at its start to the next): 100 requests, every lag
    # sample fast. Second 101: a blocking call of 0.8 s on one worker (one slow lag
    # sample among four), the pool full, 2 GC pauses.
    scrapes = [telemetry.read(scrape(0, 0, 0, 0, 0), 100.0),
               telemetry.read(scrape(100, 4, 0, 10, 0), 101.0),
               telemetry.read(scrape(200, 7, 1, 40, 2), 102.0)]  # fmt: skip
    found = telemetry.summarize(scrapes, start=100.0, end=102.0, missed=0)
    assert found.start == 100 and found.scrapes == 3 and found.missed == 0
    assert found.in_progress == (8.0, 8.0)
    assert found.threadpool_busy == (20.0, 80.0) and found.threadpool_size == 80.0
    assert found.loop_lag_ms[0] == pytest.approx(0.99, abs=0.01)  # the fast bucket
    assert found.loop_lag_ms[1] is not None and found.loop_lag_ms[1] > 500  # the slow one
    assert found.loop_lag_max_ms == 800.0
    # The histogram puts the slow lag anywhere in 0.5-1 s; the max gauge (of the last 30 s
    # at least, so of the whole window) says 0.8 s, and bounds p99.
    assert found.loop_lag_p99_ms == 800.0
    longer = [scrapes[0], dataclasses.replace(scrapes[2], at=140.0)]
    over = telemetry.summarize(longer, start=100.0, end=140.0, missed=0).loop_lag_p99_ms
    assert over is not None and over > 800.0  # 40 s: more than the gauge covers
    assert found.gc_pause_ms[0] == 0.0 and found.gc_pause_ms[1] == pytest.approx(30.0)
    assert found.gc_pauses == 2 and found.gc_pause_ms_total == pytest.approx(30.0)
    # In the app 120 ms a request, 100 of them upstream: the server's own 20 ms.
    assert found.request_ms_mean == pytest.approx(120.0)
    assert found.upstream_ms_mean == pytest.approx(100.0)


def test_a_counter_that_restarts_counts_from_zero() -> None:
    before = telemetry.read(scrape(500, 400, 0, 0, 0), 1.0).histograms["event_loop_lag_seconds"]
    after = telemetry.read(scrape(10, 4, 0, 0, 0), 2.0).histograms["event_loop_lag_seconds"]
    assert after.minus(before).count == 4  # a worker restarted: its new counts alone


def test_a_limit_names_what_the_servers_own_figures_show() -> None:
    # Every user busy, each request 143 ms against the upstream's 100: the server's time.
    slow = point(rps=700.0, latency_ms=Percentiles.of(latency(142.9)))
    lagging = Telemetry(
        start=0, scrapes=5, missed=0, loop_lag_p99_ms=35.0, loop_lag_max_ms=60.0,
        gc_pauses=12, gc_pause_ms_total=180.0, request_ms_mean=130.0, upstream_ms_mean=101.0,
        threadpool_busy=(40.0, 40.0), threadpool_size=40.0, threadpool_waiting=(80.0, 120.0),
    )  # fmt: skip
    limit = classify(replace(slow, telemetry=lagging), LATENCY_MS)
    assert limit.kind == "server-latency"
    assert "event-loop lag p99 35 ms, max 60 ms" in limit.detail
    assert "threadpool 40/40 busy, 120 waiting" in limit.detail
    assert "GC 12 pauses, 180 ms" in limit.detail
    assert "29.0 ms in the app around each upstream call" in limit.detail
    assert limit.evidence["loop_lag_p99_ms"] == 35.0
    # Without telemetry the sentence says what it can only guess at.
    assert "its GIL or its event loop" in classify(slow, LATENCY_MS).detail


def test_a_full_core_says_what_its_queue_did_inside_the_server() -> None:
    # As measured: fastapi-uvicorn at 900 Poisson arrivals a second, its core 96 % busy.
    full = point(users=150, rps=900.0, latency_ms=Percentiles.of(latency(131.0)))
    full = replace(full, server=replace(full.server, cpu_pct=96.0))
    inside = Telemetry(
        start=0, scrapes=10, missed=0, loop_lag_p99_ms=106.0, loop_lag_max_ms=106.0,
        gc_pauses=1249, gc_pause_ms_total=1983.0, request_ms_mean=126.0,
        upstream_ms_mean=125.0,
    )  # fmt: skip
    limit = classify(replace(full, telemetry=inside), LATENCY_MS)
    assert limit.kind == "server-cpu"
    assert "its own figures: event-loop lag p99 106 ms, max 106 ms" in limit.detail
    assert "GC 1,249 pauses, 1,983 ms" in limit.detail
    assert limit.evidence["gc_pause_ms"] == 1983.0
    assert classify(full, LATENCY_MS).detail.endswith("(100 % = one core)")
