"""What the load generators measured inside the window, second by second, and its document.

Pure code (no Locust import): `plugin` feeds it from Locust's events, and tests and
the runner can read the document with it.

Everything is recorded once, into the bucket of the wall-clock second in which it
completed; the window's totals are the merge of its buckets, and any stretch of whole
seconds (one step of a load ramp, one second of a live view) is the merge of the
buckets it covers.

The document written to BENCH_RESULT_FILE:

    {"window": {"start": float, "end": float},
     "processes": int,
     "requests": {name: {"count": int, "errors": {kind: int}, "latency": histogram,
                         "service": histogram}},
     "stream": {"ttft": histogram, "tpot": histogram, "itl": histogram,
                "fidelity": {"events": int, "expected": int, "streams": int}},
     "open": {"lateness": histogram, "dropped": int, "outstanding": int},
     "slo": {"judged": int, "met": int, "by": {name: int}},
     "series": {"<unix second>": {"requests": ..., "stream": ..., "open": ...}, ...}}

`count` and `latency` cover successful requests; `errors` counts failures by kind
(`error_kind`). Histograms are `bench.results.histogram.Histogram.to_dict()`.

Open loop (bench.locustfiles.arrivals) adds: `latency` is then the response time, from
each request's intended send time, and `service` the time from its actual send; `open`
holds the generator's lateness (actual - intended send, recorded when sent), the
arrivals dropped because the requests in flight were at their cap (recorded at their
intended time), and the most requests in flight at once (in one second: the sum of the
processes' peaks, an upper bound; over several seconds: the largest second's).

With objectives (bench.locustfiles.slo), `slo` counts the requests judged (successes and
failures, when they completed), those that met every objective that applies, and, by
objective, those that met it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.results.histogram import Histogram

STREAM_METRICS = ("ttft", "tpot", "itl")


@dataclass(frozen=True)
class Window:
    """The measurement window [start, end) in Unix seconds; None means unbounded."""

    start: float | None = None
    end: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Window:
        """Read BENCH_WINDOW_START and BENCH_WINDOW_END (either may be absent)."""
        env = os.environ if env is None else env
        start, end = env.get("BENCH_WINDOW_START"), env.get("BENCH_WINDOW_END")
        return cls(float(start) if start else None, float(end) if end else None)

    def contains(self, at: float) -> bool:
        """Tell whether something that completed at `at` counts."""
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


class WithoutDetail(Exception):
    """An error status whose body is not the contract's JSON object with a `detail`."""


def error_kind(exception: BaseException | None, status_code: int | None) -> str:
    """Name a failure: the HTTP status when there is one >= 400, else the exception class.

    An error status whose body lacks the contract's `detail` is "<status> without detail".
    A failure with neither (a listener fired with no exception and no error status)
    is "unknown".
    """
    if status_code is not None and status_code >= 400:
        if isinstance(exception, WithoutDetail):
            return f"{status_code} without detail"
        return str(status_code)
    if exception is not None:
        return type(exception).__name__
    return "unknown"


@dataclass
class RequestTotals:
    """One request name: successes with their latency, failures by kind."""

    count: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latency: Histogram = field(default_factory=Histogram)
    service: Histogram = field(default_factory=Histogram)  # open loop: from the actual send

    def merge(self, other: RequestTotals) -> None:
        self.count += other.count
        for kind, n in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n
        self.latency.merge(other.latency)
        self.service.merge(other.service)

    def to_dict(self) -> dict[str, Any]:
        errors = dict(sorted(self.errors.items()))
        return {
            "count": self.count,
            "errors": errors,
            "latency": self.latency.to_dict(),
            "service": self.service.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RequestTotals:
        errors = {str(k): int(v) for k, v in data["errors"].items()}
        service = data.get("service")
        return cls(
            int(data["count"]),
            errors,
            Histogram.from_dict(data["latency"]),
            Histogram.from_dict(service) if service else Histogram(),
        )


class Bucket:
    """Everything one process (or, merged, every process) measured in one stretch of time."""

    def __init__(self) -> None:
        self.requests: dict[str, RequestTotals] = {}
        self.stream = {metric: Histogram() for metric in STREAM_METRICS}
        self.events = 0
        self.expected = 0
        self.streams = 0
        self.lateness = Histogram()  # open loop: actual - intended send, ms
        self.dropped = 0  # open loop: arrivals over the cap of requests in flight
        self.outstanding = 0  # open loop: the most requests in flight at once
        self.judged = 0  # requests judged against the objectives
        self.met = 0  # ... that met every one that applies
        self.met_by: dict[str, int] = {}  # ... that met each

    def _request(self, name: str) -> RequestTotals:
        totals = self.requests.get(name)
        if totals is None:
            totals = self.requests[name] = RequestTotals()
        return totals

    def add_success(self, name: str, response_time_ms: float, service_ms: float | None) -> None:
        totals = self._request(name)
        totals.count += 1
        totals.latency.record(response_time_ms)
        if service_ms is not None:
            totals.service.record(service_ms)

    def add_failure(self, name: str, kind: str) -> None:
        errors = self._request(name).errors
        errors[kind] = errors.get(kind, 0) + 1

    def add_figure(self, metric: str, value_ms: float) -> None:
        if metric not in self.stream:
            raise ValueError(f"unknown stream metric {metric!r}, expected one of {STREAM_METRICS}")
        self.stream[metric].record(value_ms)

    def add_judged(self, met: dict[str, bool]) -> None:
        self.judged += 1
        self.met += all(met.values())
        for name, ok in met.items():
            self.met_by[name] = self.met_by.get(name, 0) + ok

    def add_fidelity(self, events_received: int, tokens_expected: int) -> None:
        self.events += events_received
        self.expected += tokens_expected
        self.streams += 1

    def merge(self, other: Bucket, concurrent: bool = False) -> None:
        """Add another bucket: of another process in the same second (`concurrent`), whose
        peaks in flight add up, or of another second, whose peak is the larger."""
        for name, request in other.requests.items():
            self._request(name).merge(request)
        for metric, hist in other.stream.items():
            self.stream[metric].merge(hist)
        self.events += other.events
        self.expected += other.expected
        self.streams += other.streams
        self.lateness.merge(other.lateness)
        self.dropped += other.dropped
        if concurrent:
            self.outstanding += other.outstanding
        else:
            self.outstanding = max(self.outstanding, other.outstanding)
        self.judged += other.judged
        self.met += other.met
        for name, n in other.met_by.items():
            self.met_by[name] = self.met_by.get(name, 0) + n

    def to_dict(self) -> dict[str, Any]:
        """Return {"requests": ..., "stream": ..., "open": ...} as in the module docstring."""
        stream: dict[str, Any] = {m: h.to_dict() for m, h in self.stream.items()}
        stream["fidelity"] = {
            "events": self.events,
            "expected": self.expected,
            "streams": self.streams,
        }
        requests = {name: self.requests[name].to_dict() for name in sorted(self.requests)}
        opened = {
            "lateness": self.lateness.to_dict(),
            "dropped": self.dropped,
            "outstanding": self.outstanding,
        }
        slo = {"judged": self.judged, "met": self.met, "by": dict(sorted(self.met_by.items()))}
        return {"requests": requests, "stream": stream, "open": opened, "slo": slo}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bucket:
        totals = cls()
        for name, request in data["requests"].items():
            totals.requests[name] = RequestTotals.from_dict(request)
        for metric in STREAM_METRICS:
            totals.stream[metric] = Histogram.from_dict(data["stream"][metric])
        fidelity = data["stream"]["fidelity"]
        totals.events = int(fidelity["events"])
        totals.expected = int(fidelity["expected"])
        totals.streams = int(fidelity["streams"])
        slo = data.get("slo") or {}
        if slo:
            totals.judged, totals.met = int(slo["judged"]), int(slo["met"])
            totals.met_by = {str(k): int(v) for k, v in slo["by"].items()}
        opened = data.get("open") or {}
        if opened:
            totals.lateness = Histogram.from_dict(opened["lateness"])
            totals.dropped = int(opened["dropped"])
            totals.outstanding = int(opened["outstanding"])
        return totals


class Totals:
    """Buckets of whole wall-clock seconds; the window's totals are their merge."""

    def __init__(self) -> None:
        self.buckets: dict[int, Bucket] = {}

    def at(self, when: float) -> Bucket:
        """The bucket of the second in which `when` (Unix seconds) falls."""
        second = int(when)
        bucket = self.buckets.get(second)
        if bucket is None:
            bucket = self.buckets[second] = Bucket()
        return bucket

    def add_success(
        self, name: str, response_time_ms: float, when: float, service_ms: float | None = None
    ) -> None:
        self.at(when).add_success(name, response_time_ms, service_ms)

    def add_failure(self, name: str, kind: str, when: float) -> None:
        self.at(when).add_failure(name, kind)

    def add_figure(self, metric: str, value_ms: float, when: float) -> None:
        self.at(when).add_figure(metric, value_ms)

    def add_fidelity(self, events_received: int, tokens_expected: int, when: float) -> None:
        self.at(when).add_fidelity(events_received, tokens_expected)

    def add_lateness(self, lateness_ms: float, when: float) -> None:
        self.at(when).lateness.record(max(lateness_ms, 0.0))

    def add_judged(self, met: dict[str, bool], when: float) -> None:
        self.at(when).add_judged(met)

    def add_dropped(self, when: float) -> None:
        self.at(when).dropped += 1

    def add_outstanding(self, in_flight: int, when: float) -> None:
        bucket = self.at(when)
        bucket.outstanding = max(bucket.outstanding, in_flight)

    def merge(self, other: Totals) -> None:
        for second, bucket in other.buckets.items():
            mine = self.buckets.get(second)
            if mine is None:
                mine = self.buckets[second] = Bucket()
            mine.merge(bucket, concurrent=True)

    def between(self, start: float | None = None, end: float | None = None) -> Bucket:
        """Merge the buckets of the seconds in [start, end) (every bucket by default)."""
        merged = Bucket()
        for second, bucket in self.buckets.items():
            if (start is None or second >= start) and (end is None or second < end):
                merged.merge(bucket)
        return merged

    def to_dict(self) -> dict[str, Any]:
        """Return the merged {"requests", "stream"} and the "series" of buckets."""
        series = {str(second): self.buckets[second].to_dict() for second in sorted(self.buckets)}
        return {**self.between().to_dict(), "series": series}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Totals:
        """Read `to_dict`'s form; a document without series becomes one bucket at second 0."""
        totals = cls()
        series = data.get("series")
        if series is None:
            totals.buckets[0] = Bucket.from_dict(data)
            return totals
        for second, bucket in series.items():
            totals.buckets[int(second)] = Bucket.from_dict(bucket)
        return totals


def document(start: float, end: float, processes: int, totals: Totals) -> dict[str, Any]:
    """Return the result document (see the module docstring)."""
    return {"window": {"start": start, "end": end}, "processes": processes, **totals.to_dict()}


class LiveText:
    """A live file's text: users now, and the buckets of the last `seconds` seconds, as
    `{"now": float, "users": int, "series": {"<unix second>": bucket, ...}}`.

    Only the buckets: merging them too (what `Totals.to_dict` adds) would cost the
    generator's event loop milliseconds every second for figures no reader takes. Each
    second's bucket is serialised once.

    The file is rewritten every second on the generator's event loop, which sends no
    arrival and reads no answer meanwhile: serialising 120 seconds of buckets at 600
    req/s took 20 to 27 ms a write, and the answers it held back went into that second's
    tail. A bucket whose second ended `SETTLED_S` ago takes no more records (each is
    filed under the second it completed in, as it completes), so its text is kept;
    `keep=False` for a master, whose buckets are merged from workers' reports that
    arrive late.
    """

    SETTLED_S = 2

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self._settled: dict[int, str] = {}

    def text(self, totals: Totals, users: int, now: float, seconds: int) -> str:
        cutoff, settled = int(now) - seconds, int(now) - self.SETTLED_S
        self._settled = {s: text for s, text in self._settled.items() if s >= cutoff}
        parts = []
        for second in sorted(s for s in totals.buckets if s >= cutoff):
            text = self._settled.get(second)
            if text is None:
                text = json.dumps(totals.buckets[second].to_dict(), separators=(",", ":"))
                if self.keep and second <= settled:
                    self._settled[second] = text
            parts.append(f'"{second}":{text}')
        return f'{{"now":{json.dumps(now)},"users":{users},"series":{{{",".join(parts)}}}}}'
