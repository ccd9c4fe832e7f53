"""The server's own evidence: its /metrics, scraped every second, as a point's figures.

Pure code. The runner (bench.running.telemetry) scrapes each service's `/metrics`
(Prometheus text, docs/metrics.md "Server metrics") every second of a window; here each
scrape is read into sums over the workers, and the window into per-second series and
its summary: requests and upstream calls the server holds, its event loop's or gevent
hub's lag, its threadpool, gthread's threads, garbage-collection pauses, and the time a
request spent in the app against the time of its upstream call.

A histogram's quantile is estimated as Prometheus' `histogram_quantile` does: linear
within the bucket that holds it, the bucket's upper bound at most.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bench.results.model import Telemetry

# One sample line of the exposition format: name, optional {labels}, value (a timestamp
# may follow). Comments (# HELP, # TYPE) and blank lines are not samples.
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

# Gauges summed over every worker (per-pid series) or their label sets.
SUMMED = (
    "http_requests_in_progress",
    "llm_upstream_calls_in_progress",
    "anyio_threadpool_borrowed_tokens",
    "anyio_threadpool_total_tokens",
    "anyio_threadpool_waiting_tasks",
    "gunicorn_threads_busy",
    "gunicorn_threads",
    "worker_process_cpu_seconds",
    "worker_process_resident_memory_bytes",
)
# Gauges already the largest of the workers (a lag's recent maximum).
LARGEST = ("event_loop_lag_max_seconds", "gevent_hub_lag_max_seconds")
HISTOGRAMS = (
    "http_request_duration_seconds",
    "llm_upstream_call_duration_seconds",
    "event_loop_lag_seconds",
    "gevent_hub_lag_seconds",
    "python_gc_pause_seconds",
)


@dataclass(frozen=True)
class Buckets:
    """A histogram summed over its label sets: cumulative counts per upper bound."""

    bounds: tuple[float, ...]  # ascending, +inf last
    counts: tuple[float, ...]  # cumulative
    count: float
    total: float  # the sum of the observations (seconds)

    def minus(self, earlier: Buckets | None) -> Buckets:
        """The observations made since `earlier` (a counter reset counts from zero)."""
        if earlier is None or earlier.bounds != self.bounds or earlier.count > self.count:
            return self
        return Buckets(
            self.bounds,
            tuple(a - b for a, b in zip(self.counts, earlier.counts, strict=True)),
            self.count - earlier.count,
            self.total - earlier.total,
        )

    def quantile(self, q: float) -> float | None:
        """The q-quantile (seconds), linear within its bucket; None without observations."""
        if self.count <= 0:
            return None
        rank = q * self.count
        previous_bound, previous_count = 0.0, 0.0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            if count >= rank:
                if math.isinf(bound):
                    return previous_bound  # beyond the last finite bound: at least it
                share = (rank - previous_count) / (count - previous_count or 1.0)
                return previous_bound + (bound - previous_bound) * share
            previous_bound, previous_count = bound, count
        return previous_bound


@dataclass(frozen=True)
class Scrape:
    """One /metrics answer read into the figures the suite uses."""

    at: float  # Unix time it was taken
    gauges: Mapping[str, float] = field(default_factory=dict)
    histograms: Mapping[str, Buckets] = field(default_factory=dict)


def samples(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """Each sample of a scrape: its name, its labels, its value (the text format)."""
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or line.startswith("#"):
            continue
        name, labels, raw = match.groups()
        try:
            value = float(raw)
        except ValueError:
            continue
        yield name, dict(_LABEL.findall(labels or "")), value


@dataclass
class _Sums:
    """A scrape's samples being added up."""

    gauges: dict[str, float] = field(default_factory=dict)
    buckets: dict[str, dict[float, float]] = field(default_factory=dict)
    counts: dict[str, float] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, labels: dict[str, str], value: float) -> None:
        if name in SUMMED:
            self.gauges[name] = self.gauges.get(name, 0.0) + value
        elif name in LARGEST:
            self.gauges[name] = max(self.gauges.get(name, 0.0), value)
        else:
            base, _, part = name.rpartition("_")
            if base in HISTOGRAMS:
                self._histogram(base, part, labels, value)

    def _histogram(self, base: str, part: str, labels: dict[str, str], value: float) -> None:
        if part == "bucket" and "le" in labels:
            found = self.buckets.setdefault(base, {})
            bound = float(labels["le"])
            found[bound] = found.get(bound, 0.0) + value
        elif part == "count":
            self.counts[base] = self.counts.get(base, 0.0) + value
        elif part == "sum":
            self.totals[base] = self.totals.get(base, 0.0) + value

    def scrape(self, at: float) -> Scrape:
        histograms = {
            name: Buckets(
                tuple(sorted(found)),
                tuple(found[b] for b in sorted(found)),
                self.counts.get(name, 0.0),
                self.totals.get(name, 0.0),
            )  # fmt: skip
            for name, found in self.buckets.items()
        }
        return Scrape(at, dict(self.gauges), histograms)


def read(text: str, at: float) -> Scrape:
    """A scrape's text (Prometheus exposition format) as sums over workers and labels."""
    sums = _Sums()
    for name, labels, value in samples(text):
        sums.add(name, labels, value)
    return sums.scrape(at)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _largest(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def summarize(scrapes: Sequence[Scrape], start: float, end: float, missed: int) -> Telemetry:
    """A window's telemetry: per second (each scrape against the one before) and in all
    (the last scrape before the window against the first after it; the nearest ones when
    a blocked server answered late)."""
    ordered = sorted(scrapes, key=lambda s: s.at)
    before = [s for s in ordered if s.at <= start]
    after = [s for s in ordered if s.at >= end]
    first = before[-1] if before else ordered[0]
    last = after[0] if after else ordered[-1]
    inside = [s for s in ordered if first.at <= s.at <= last.at]
    pairs = list(zip(inside, inside[1:], strict=False))
    # A pair covers the second its earlier scrape was taken in (scrapes start just after
    # each whole second), the second a latency bucket of the same name covers. Labelled
    # by the later one, a GC pause showed beside the second after its slow answers.
    seconds = [p for p in pairs if start <= p[0].at < end]

    def gauge(name: str) -> tuple[float | None, ...]:
        return tuple(later.gauges.get(name) for _, later in seconds)

    def lag(name: str) -> tuple[float | None, ...]:
        return tuple(_ms(_delta(a, b, name).quantile(0.99)) for a, b in seconds)

    whole = (first, last) if last.at > first.at else None
    return Telemetry(
        start=int(seconds[0][0].at) if seconds else int(start),
        scrapes=len(inside),
        missed=missed,
        in_progress=gauge("http_requests_in_progress"),
        upstream_in_progress=gauge("llm_upstream_calls_in_progress"),
        loop_lag_ms=lag("event_loop_lag_seconds"),
        hub_lag_ms=lag("gevent_hub_lag_seconds"),
        threadpool_busy=gauge("anyio_threadpool_borrowed_tokens"),
        threadpool_waiting=gauge("anyio_threadpool_waiting_tasks"),
        threads_busy=gauge("gunicorn_threads_busy"),
        gc_pause_ms=tuple(_ms(_delta(a, b, "python_gc_pause_seconds").total) for a, b in seconds),
        **_window_figures(whole),
    )


def _delta(earlier: Scrape, later: Scrape, name: str) -> Buckets:
    found = later.histograms.get(name)
    if found is None:
        return Buckets((math.inf,), (0.0,), 0.0, 0.0)
    return found.minus(earlier.histograms.get(name))


# The services' max gauges cover at least the last 30 s (fastapi_app/metrics/runtime.py).
MAX_GAUGE_SPAN_S = 30.0


def _bounded(p99: float | None, largest: float | None, span_s: float) -> float | None:
    """A histogram's p99, bounded by the largest value seen when that covers the span.

    The quantile interpolates inside its bucket (a lag of 15 ms in the 10-25 ms bucket
    reads as 23 ms at p99); the max gauge, where it covers the whole span, is exact.
    """
    if p99 is None or largest is None or span_s > MAX_GAUGE_SPAN_S:
        return p99
    return min(p99, largest)


def _window_figures(whole: tuple[Scrape, Scrape] | None) -> dict[str, float | None]:
    """What the window as a whole shows: quantiles and totals from its first and last
    scrape, the largest gauges and each pool's size."""
    if whole is None:
        return {}
    first, last = whole

    def of(name: str) -> Buckets:
        return _delta(first, last, name)

    request, upstream = (
        of("http_request_duration_seconds"),
        of("llm_upstream_call_duration_seconds"),
    )
    gc = of("python_gc_pause_seconds")
    span = last.at - first.at
    loop_max = _ms(last.gauges.get("event_loop_lag_max_seconds"))
    hub_max = _ms(last.gauges.get("gevent_hub_lag_max_seconds"))
    return {
        "loop_lag_p99_ms": _bounded(
            _ms(of("event_loop_lag_seconds").quantile(0.99)), loop_max, span
        ),
        "loop_lag_max_ms": loop_max,
        "hub_lag_p99_ms": _bounded(_ms(of("gevent_hub_lag_seconds").quantile(0.99)), hub_max, span),
        "hub_lag_max_ms": hub_max,
        "threadpool_size": last.gauges.get("anyio_threadpool_total_tokens"),
        "threads_size": last.gauges.get("gunicorn_threads"),
        "gc_pauses": gc.count,
        "gc_pause_ms_total": gc.total * 1000.0,
        "request_ms_mean": request.total / request.count * 1000.0 if request.count else None,
        "upstream_ms_mean": upstream.total / upstream.count * 1000.0 if upstream.count else None,
        "requests_served": request.count,
    }


# What the server's own figures must show before a limit names them (docs/methodology.md,
# "Limits from evidence"): a lag worth a twentieth of an answer at p99, a pool or thread
# count full, collections that stopped the server for 1 % of the window.
LAG_SHARE = 0.05
LAG_FLOOR_MS = 2.0
GC_SHARE = 0.01


def mechanisms(found: Telemetry, window_s: float, answer_ms: float | None) -> list[str]:
    """What inside the server held requests back, each with its own figures."""
    said = []
    floor = max(LAG_FLOOR_MS, LAG_SHARE * (answer_ms or 0.0))
    for name, p99, top in (("event-loop lag", found.loop_lag_p99_ms, found.loop_lag_max_ms),
                           ("gevent hub lag", found.hub_lag_p99_ms, found.hub_lag_max_ms)):  # fmt: skip
        if p99 is not None and p99 >= floor:
            most = f", max {top:,.0f} ms" if top is not None else ""
            said.append(f"{name} p99 {p99:,.0f} ms{most}")
    said += _pools(found)
    if found.gc_pause_ms_total and found.gc_pause_ms_total >= GC_SHARE * window_s * 1000:
        said.append(f"GC {found.gc_pauses or 0:,.0f} pauses, {found.gc_pause_ms_total:,.0f} ms")
    if found.request_ms_mean is not None and found.upstream_ms_mean is not None:
        own = found.request_ms_mean - found.upstream_ms_mean
        said.append(f"{own:,.1f} ms in the app around each upstream call")
    return said


def _pools(found: Telemetry) -> list[str]:
    said = []
    busy, size = _largest(found.threadpool_busy), found.threadpool_size
    if busy is not None and size and busy >= size:
        waiting = _largest(found.threadpool_waiting) or 0.0
        said.append(f"threadpool {busy:,.0f}/{size:,.0f} busy, {waiting:,.0f} waiting")
    threads, count = _largest(found.threads_busy), found.threads_size
    if threads is not None and count and threads >= count:
        said.append(f"gthread threads {threads:,.0f}/{count:,.0f} busy")
    return said


def held(found: Telemetry) -> str | None:
    """The server's own count of what it held at most: requests and upstream calls."""
    requests, calls = _largest(found.in_progress), _largest(found.upstream_in_progress)
    # A blocked worker answers its scrape only between requests: nothing in progress then.
    if not requests and not calls:
        return None
    parts = []
    if requests is not None:
        parts.append(f"{requests:,.0f} requests in progress")
    if calls is not None:
        parts.append(f"{calls:,.0f} upstream calls")
    return "the server's own counters: " + ", ".join(parts) + " at most"
