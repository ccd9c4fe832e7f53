"""GET /metrics (METRICS=1, docs/metrics.md "Server metrics") on every service and server model.

Each server model runs with two worker processes where it can have several (gunicorn),
so that the scrape must merge every worker's series; then the FastAPI teaching variants
show the loop lag of a blocked event loop and a threadpool at its size.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.services.live import (
    SERVER_MODELS,
    SERVICES,
    Service,
    assert_json_error,
    serve,
)
from tests.support import mock_llm

pytestmark = pytest.mark.process  # live services and mocks

METRICS_ON = {"METRICS": "1"}
BODY = {"prompt": "Count me.", "max_tokens": 2}
REQUESTS = 20
# Every label a series may carry, and every value it may take: bounded sets only.
BOUNDED = {
    "handler": {
        "/", "/health", "/hello", "/complete", "/complete/stream", "/openapi.json",
        "/docs", "/redoc", "/docs/oauth2-redirect", "none",
    },
    "method": {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"},
    "status": {"1xx", "2xx", "3xx", "4xx", "5xx"},
    "kind": {"complete", "stream"},
    "outcome": {"ok", "error", "cancelled"},
    "generation": {"0", "1", "2"},
}  # fmt: skip
# Labels that Prometheus' own format adds: bucket bounds and, in multiprocess mode, the
# worker's pid on the per-worker gauges (checked against the worker count).
FORMAT_LABELS = {"le", "pid"}
EVERYWHERE = (
    "http_requests_in_progress",
    "http_request_duration_seconds",
    "llm_upstream_calls_in_progress",
    "llm_upstream_call_duration_seconds",
    "python_gc_pause_seconds",
    "worker_process_cpu_seconds",
    "worker_process_resident_memory_bytes",
    "worker_process_threads",
)
LOOP = ("event_loop_lag_seconds", "event_loop_lag_max_seconds")
ANYIO = (
    "anyio_threadpool_borrowed_tokens",
    "anyio_threadpool_total_tokens",
    "anyio_threadpool_waiting_tasks",
)
GTHREAD = ("gunicorn_threads_busy", "gunicorn_threads")
GEVENT = ("gevent_hub_lag_seconds", "gevent_hub_lag_max_seconds")


def runtime_series(service: Service, server: str) -> tuple[str, ...]:
    """The runtime series that a server model must expose besides EVERYWHERE."""
    if service.name == "fastapi":
        return LOOP + ANYIO
    return {
        "gunicorn-gthread": GTHREAD,
        "gunicorn-gevent": GEVENT,
        "uvicorn": LOOP,
        "gunicorn-uvicorn": LOOP,
    }.get(server, ())


def worker_count(server: str) -> int:
    """Two workers wherever a server can have several (every gunicorn model)."""
    return 1 if server == "uvicorn" else 2


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A mock answering in about 50 ms, so that requests overlap and reach both workers."""
    with mock_llm("--ttft-ms", "50", "--itl-ms", "0", "--output-tokens", "2") as base:
        yield base


def scrape(base: str) -> dict[str, list[Sample]]:
    """GET /metrics, parsed as Prometheus' text format: samples by family name."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/plain; version="), response.headers
    families = text_string_to_metric_families(response.text)
    return {family.name: list(family.samples) for family in families}


def total(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    return sum(
        sample.value
        for sample in samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def post_concurrently(base: str, count: int, threads: int) -> list[int]:
    """POST /complete `count` times from `threads` threads over one pooled keep-alive client."""
    with (
        httpx.Client(base_url=base, timeout=30) as client,
        ThreadPoolExecutor(threads) as pool,
    ):
        answers = pool.map(lambda _: client.post("/complete", json=BODY), range(count))
        return [answer.status_code for answer in answers]


def assert_bounded(families: dict[str, list[Sample]], workers: int) -> None:
    pids = set()
    for samples in families.values():
        for sample in samples:
            for label, value in sample.labels.items():
                if label == "pid":
                    pids.add(value)
                elif label not in FORMAT_LABELS:
                    assert value in BOUNDED[label], (sample.name, label, value)
    assert len(pids) <= workers, pids


@pytest.mark.parametrize(
    ("service", "server"),
    SERVER_MODELS,
    ids=[f"{service.name}-{server}" for service, server in SERVER_MODELS],
)
def test_metrics_count_every_worker(service: Service, server: str, upstream: str) -> None:
    workers = worker_count(server)
    with serve(service, upstream, server, workers=workers, env=METRICS_ON) as live:
        statuses = post_concurrently(live.base, REQUESTS, threads=10)
        assert statuses == [200] * REQUESTS
        # Process figures are published every second: wait for one round of them.
        time.sleep(1.2)
        families = scrape(live.base)
        again = scrape(live.base)

    requests = families["http_request_duration_seconds"]
    complete = {"handler": "/complete", "method": "POST", "status": "2xx"}
    assert total(requests, "http_request_duration_seconds_count", **complete) == REQUESTS
    # The health checks of the start-up are counted as well; the scrapes are not.
    assert total(requests, "http_request_duration_seconds_count", handler="/health") >= 1
    upstream_calls = families["llm_upstream_call_duration_seconds"]
    ok = {"kind": "complete", "outcome": "ok"}
    assert total(upstream_calls, "llm_upstream_call_duration_seconds_count", **ok) == REQUESTS
    assert total(families["http_requests_in_progress"], "http_requests_in_progress") == 0
    assert total(families["llm_upstream_calls_in_progress"], "llm_upstream_calls_in_progress") == 0
    # Every series is there, and every live worker's per-process gauges.
    for name in EVERYWHERE + runtime_series(service, server):
        assert families.get(name), (name, sorted(families))
    assert len(families["worker_process_cpu_seconds"]) == workers
    assert total(families["python_gc_pause_seconds"], "python_gc_pause_seconds_count") > 0
    runtime_checks(service, server, families)
    assert_bounded(families, workers)
    # A scrape is not a request of the service: the second one counts nothing more.
    assert total(again["http_request_duration_seconds"], "http_request_duration_seconds_count") == (
        total(requests, "http_request_duration_seconds_count")
    )


def runtime_checks(service: Service, server: str, families: dict[str, list[Sample]]) -> None:
    """What each runtime series says after the load of the test above."""
    names = runtime_series(service, server)
    if "event_loop_lag_seconds" in names:
        assert total(families["event_loop_lag_seconds"], "event_loop_lag_seconds_count") > 0
    if "gevent_hub_lag_seconds" in names:
        assert total(families["gevent_hub_lag_seconds"], "gevent_hub_lag_seconds_count") > 0


@pytest.mark.parametrize("service", SERVICES, ids=[service.name for service in SERVICES])
def test_metrics_off_is_a_json_404(service: Service, upstream: str) -> None:
    with serve(service, upstream) as live:
        response = httpx.get(f"{live.base}/metrics", timeout=10)
    assert isinstance(assert_json_error(response, 404), str)


FASTAPI = SERVICES[0]
# The blocking variant's upstream call holds the loop for the mock's whole latency.
BLOCK_S = 0.8
# The services' samplers sleep this long at a time (LAG_INTERVAL_S).
LAG_INTERVAL_S = 0.25


def test_loop_lag_reaches_a_blocking_call(upstream: str) -> None:
    """A sync upstream call inside `async def` blocks the loop: the lag shows its length.

    The sampler sleeps LAG_INTERVAL_S (0.25 s) at a time, so a block of D seconds shows
    as a lag between D - 0.25 s and D: the tolerance of this check.
    """
    with (
        mock_llm("--ttft-ms", str(int(BLOCK_S * 1000)), "--itl-ms", "0") as slow,
        serve(FASTAPI, slow, env=METRICS_ON, flags=("--variant", "blocking")) as live,
    ):
        before = scrape(live.base)
        assert total(before["event_loop_lag_max_seconds"], "event_loop_lag_max_seconds") < 0.1
        started = time.perf_counter()
        response = httpx.post(f"{live.base}/complete", json=BODY, timeout=10)
        blocked = time.perf_counter() - started
        assert response.status_code == 200
        time.sleep(LAG_INTERVAL_S + 0.1)  # the sampler's next wake-up after the block
        after = scrape(live.base)
    lag_max = total(after["event_loop_lag_max_seconds"], "event_loop_lag_max_seconds")
    assert BLOCK_S - LAG_INTERVAL_S <= lag_max <= blocked + 0.05, (lag_max, blocked)
    lags = after["event_loop_lag_seconds"]
    slow_lags = total(lags, "event_loop_lag_seconds_count") - total(
        lags, "event_loop_lag_seconds_bucket", le="0.25"
    )
    assert slow_lags >= 1


def test_threadpool_busy_reaches_its_size(upstream: str) -> None:
    """`def` endpoints on a threadpool of 2: under 6 concurrent calls, 2 busy and 4 waiting."""
    with (
        mock_llm("--ttft-ms", "1500", "--itl-ms", "0") as slow,
        serve(FASTAPI, slow, env=METRICS_ON, flags=("--variant", "sync", "--threads", "2")) as live,
        ThreadPoolExecutor(6) as pool,
    ):
        calls = [
            pool.submit(httpx.post, f"{live.base}/complete", json=BODY, timeout=30)
            for _ in range(6)
        ]
        time.sleep(0.8)  # every call is in; the sampler has read the limiter since
        during = scrape(live.base)
        assert [call.result().status_code for call in calls] == [200] * 6

    def gauge(name: str) -> Any:
        return total(during[name], name)

    assert gauge("anyio_threadpool_total_tokens") == 2
    assert gauge("anyio_threadpool_borrowed_tokens") == 2
    assert gauge("anyio_threadpool_waiting_tasks") == 4
    assert gauge("http_requests_in_progress") == 6
    assert gauge("llm_upstream_calls_in_progress") == 2
