"""The service's Prometheus series, their bounded labels, and their exposition.

One `Series` per worker process. In multiprocess mode (PROMETHEUS_MULTIPROC_DIR set by
the launcher before the server started, so before prometheus_client was first imported)
every value lives in a memory-mapped file of that directory, and the exposition merges
the files of every worker: whichever worker answers GET /metrics reports them all. With
one process (uvicorn alone) the values stay in memory and the registry reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

# Requests and upstream calls: the mock's set latencies (tens of milliseconds to
# seconds) up to the 30 s upstream timeout and a long stream.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# How late a timer fires: a healthy loop's millisecond up to a loop blocked for seconds.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A generation-0 collection takes tens of microseconds; a full one of a big heap, more.
GC_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

# Bounded label values: a method outside this set, which a client may invent, is "other";
# a path that no route matches is "none" (never the raw path).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED = "none"
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


def method_label(method: str) -> str:
    """Return the method, or "other" for one outside the bounded set."""
    return method if method in METHODS else OTHER_METHOD


@dataclass(slots=True)
class RequestSeries:
    """The children of one (handler, method): its in-progress gauge, a histogram per class.

    Looked up once per request from a dict, so that the hot path formats no label and
    takes no lock beyond the value's own.
    """

    in_progress: Gauge
    durations: Histogram
    handler: str
    method: str
    by_class: dict[int, Histogram] = field(default_factory=dict)

    def observe(self, status: int, seconds: float) -> None:
        """Record one finished request with its status."""
        key = status // 100
        child = self.by_class.get(key)
        if child is None:
            label = STATUS_CLASSES.get(key, "5xx")
            child = self.durations.labels(self.handler, self.method, label)
            self.by_class[key] = child
        child.observe(seconds)


class Series:
    """Every series of one worker process, registered in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get(MULTIPROC_DIR))
        own: CollectorRegistry | None = self.registry
        if self.multiprocess:
            # The files are the registry: the series themselves register nowhere.
            MultiProcessCollector(self.registry)
            own = None
        else:
            # The `_created` samples exist only outside multiprocess mode; without them
            # both modes expose the same series.
            disable_created_metrics()
        self._requests: dict[tuple[str, str], RequestSeries] = {}
        self._define_http(own)
        self._define_runtime(own)

    def _define_http(self, registry: CollectorRegistry | None) -> None:
        self.requests_in_progress = Gauge(
            "http_requests_in_progress",
            "Requests being served now, by route template and method.",
            ["handler", "method"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.request_duration = Histogram(
            "http_request_duration_seconds",
            "Requests served, from the first byte the app sees to the last it sends, "
            "by route template, method and status class.",
            ["handler", "method", "status"],
            registry=registry,
            buckets=DURATION_BUCKETS,
        )
        self.upstream_in_progress = Gauge(
            "llm_upstream_calls_in_progress",
            "Upstream (LLM) calls open now, by kind (complete, stream).",
            ["kind"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.upstream_duration = Histogram(
            "llm_upstream_call_duration_seconds",
            "Upstream (LLM) calls, from sending to the end of the answer or stream, by kind "
            "and outcome (ok, error, cancelled).",
            ["kind", "outcome"],
            registry=registry,
            buckets=DURATION_BUCKETS,
        )

    def _define_runtime(self, registry: CollectorRegistry | None) -> None:
        self.loop_lag = Histogram(
            "event_loop_lag_seconds",
            "How late the event loop ran a timer (the sampler's own sleep).",
            registry=registry,
            buckets=LAG_BUCKETS,
        )
        self.loop_lag_max = Gauge(
            "event_loop_lag_max_seconds",
            "The largest event-loop lag of the last 30 to 60 s (the largest of all workers).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.threadpool_borrowed = Gauge(
            "anyio_threadpool_borrowed_tokens",
            "Threads of AnyIO's default limiter busy now (sync endpoints and iterators).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.threadpool_total = Gauge(
            "anyio_threadpool_total_tokens",
            "The size of AnyIO's default thread limiter.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.threadpool_waiting = Gauge(
            "anyio_threadpool_waiting_tasks",
            "Tasks waiting for a thread of AnyIO's default limiter.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.gc_pauses = Histogram(
            "python_gc_pause_seconds",
            "Garbage collections and how long each stopped the process, by generation.",
            ["generation"],
            registry=registry,
            buckets=GC_BUCKETS,
        )
        self.cpu_seconds = Gauge(
            "worker_process_cpu_seconds",
            "CPU time (user + system) that each worker process has used.",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.resident_memory = Gauge(
            "worker_process_resident_memory_bytes",
            "Resident memory of each worker process.",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.threads = Gauge(
            "worker_process_threads",
            "Operating-system threads of each worker process.",
            registry=registry,
            multiprocess_mode="liveall",
        )

    def request(self, handler: str, method: str) -> RequestSeries:
        """Return the cached children of (handler, method); both come from bounded sets."""
        # Normalised first, so that an invented method cannot grow the cache either.
        key = (handler, method_label(method))
        series = self._requests.get(key)
        if series is None:
            series = RequestSeries(
                self.requests_in_progress.labels(*key),
                self.request_duration,
                *key,
            )
            self._requests[key] = series
        return series

    def exposition(self) -> bytes:
        """Return every series in Prometheus' text format."""
        return generate_latest(self.registry)
