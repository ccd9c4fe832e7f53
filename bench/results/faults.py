"""Faults, client disconnects and long windows: what a point records about each, and the
verdicts on it (docs/methodology.md, "Faults, disconnects and soaks").

Pure code. Three records a point may carry:

- `Faults`: the upstream fault model injected during the window (rate, faults, and the
  stretch of the window they covered), what the mock injected and accepted, what the
  clients got back by status and kind, which of those break the contract, and how long
  throughput took to come back after the faults ended (recovery).
- `Cancel`: the clients of scenario `disconnect` hung up after a few deltas; how long the
  service took to close each upstream call (the mock's timings), and how many it never
  closed.
- `Growth`: the server's memory, open files and threads over a soak window, and their
  slope per 10,000 requests.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

# What a service may answer when its upstream fails (docs/contract.md, Errors); a stream
# that already started reports the failure in an `event: error` with a `detail`.
CONTRACT_STATUSES = frozenset({"502", "503", "504"})
STREAM_ERROR_EVENT = "StreamEventError"
RECOVERY_BAND = 0.05  # back within 5 % of the throughput before the faults
RECOVERY_MIN_SMOOTH_S = 3

# Scenario `disconnect`: a call closed later than this many token intervals is slow.
CANCEL_INTERVALS = 5
CANCEL_FLOOR_MS = 100.0

# Soak: growth per 10,000 requests that makes a warning, over the window's second half,
# when the growth over the whole window is also larger than the floor.
GROWTH_LIMITS = {"rss_mb": (1.0, 5.0), "fds": (1.0, 10.0), "threads": (1.0, 5.0)}
GROWTH_UNITS = {"rss_mb": "MB", "fds": "open files", "threads": "threads"}


# The fault records' file forms (each record writes its own: see bench.results.fields).
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
_NUMBER = {"type": ["number", "null"]}
FAULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["rate", "codes", "window", "injected", "responses", "violations"],
    "properties": {
        "rate": {"type": "number", "minimum": 0, "maximum": 1},
        "codes": {"type": "array", "items": {"type": "string"}},
        "window": {"type": ["array", "null"], "items": {"type": "number"}},
        "injected": _COUNTS,
        "upstream_requests": {"type": ["integer", "null"]},
        "responses": _COUNTS,
        "violations": _COUNTS,
        "baseline_rps": _NUMBER,
        "recovery_s": _NUMBER,
    },
}
CANCEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["streams", "missed", "drop_after", "itl_ms"],
    "properties": {
        "streams": {"type": "integer", "minimum": 0},
        "missed": {"type": "integer", "minimum": 0},
        **dict.fromkeys(("mean_ms", "max_ms", "p50_ms", "p99_ms"), _NUMBER),
        "drop_after": {"type": "integer", "minimum": 1},
        "itl_ms": {"type": "number"},
    },
}
_TREND = {
    "type": "object",
    "required": ["start", "end", "per_10k", "late_per_10k"],
    "additionalProperties": {"type": "number"},
}
GROWTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["samples"],
    "properties": {
        "samples": {"type": "integer"},
        "rss_mb": _TREND,
        "fds": _TREND,
        "threads": _TREND,
    },
}


@dataclass(frozen=True)
class FaultPlan:
    """The upstream faults a run injects: a share of calls, the faults drawn, and when.

    `window` is (start, end) in seconds from the start of each point's measured window;
    None injects from the warm-up to the end of the window.
    """

    rate: float
    codes: tuple[str, ...]
    window: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "codes": list(self.codes),
            "window": list(self.window) if self.window else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultPlan:
        window = data.get("window")
        return cls(
            rate=float(data["rate"]),
            codes=tuple(str(code) for code in data["codes"]),
            window=(float(window[0]), float(window[1])) if window else None,
        )

    def describe(self) -> str:
        """One line: '10 % of upstream calls fail with 429, 500 from 10 s to 20 s'."""
        when = (
            f" from {self.window[0]:g} s to {self.window[1]:g} s of the window"
            if self.window
            else ""
        )
        return f"{self.rate:.0%} of upstream calls fail with {', '.join(self.codes)}{when}"


PHASES = ("before", "during", "after")


@dataclass(frozen=True)
class ProbeStats:
    """The probes of one path in one phase: how many, how many failed, how long they took."""

    count: int
    failed: int  # no 200 within the probe's timeout
    p50_ms: float | None
    p99_ms: float | None  # nearest rank: with few probes, close to the largest
    max_ms: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "failed": self.failed,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProbeStats:
        return cls(
            int(data["count"]),
            int(data["failed"]),
            _float(data.get("p50_ms")),
            _float(data.get("p99_ms")),
            _float(data.get("max_ms")),
        )


Probes = dict[str, dict[str, ProbeStats]]  # path -> phase -> figures


def probe_phases(
    probes: Sequence[tuple[float, str, float, bool]],
    window_start: float,
    window_end: float,
    fault_window: tuple[float, float],
) -> Probes:
    """Split probes (sent at, path, latency ms, answered) into before/during/after faults.

    A probe belongs to the phase in which it was sent; a failed probe counts with the
    time it waited (its timeout) in the latencies, since that is what a checker saw.
    """
    bounds = (
        window_start,
        window_start + fault_window[0],
        window_start + fault_window[1],
        window_end,
    )
    found: dict[str, dict[str, list[tuple[float, bool]]]] = {}
    for at, path, latency, ok in probes:
        for phase, low, high in zip(PHASES, bounds, bounds[1:], strict=False):
            if low <= at < high:
                found.setdefault(path, {}).setdefault(phase, []).append((latency, ok))
    return {
        path: {phase: _probe_stats(phases.get(phase, [])) for phase in PHASES}
        for path, phases in sorted(found.items())
    }


def _probe_stats(samples: list[tuple[float, bool]]) -> ProbeStats:
    latencies = sorted(latency for latency, _ in samples)
    failed = sum(1 for _, ok in samples if not ok)
    if not latencies:
        return ProbeStats(0, 0, None, None, None)
    return ProbeStats(
        len(latencies),
        failed,
        _nearest_rank(latencies, 0.50),
        _nearest_rank(latencies, 0.99),
        latencies[-1],
    )


def _nearest_rank(ordered: Sequence[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Faults:
    """What one point measured while upstream faults were injected."""

    plan: FaultPlan
    injected: dict[str, int] = field(default_factory=dict)  # by the mock, in the window
    upstream_requests: int | None = None  # chat calls the mock accepted in the window
    responses: dict[str, int] = field(default_factory=dict)  # what clients got, by kind
    violations: dict[str, int] = field(default_factory=dict)  # of those, off the contract
    baseline_rps: float | None = None  # before the faults (a fault window only)
    recovery_s: float | None = None  # after them, back within 5 % of the baseline
    probes: Probes = field(default_factory=dict)  # /health, /hello by phase (a fault window)

    JSON_SCHEMA: ClassVar[dict[str, Any]] = FAULTS_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "injected": dict(self.injected),
            "upstream_requests": self.upstream_requests,
            "responses": dict(self.responses),
            "violations": dict(self.violations),
            "baseline_rps": self.baseline_rps,
            "recovery_s": self.recovery_s,
            "probes": {
                path: {phase: stats.to_dict() for phase, stats in phases.items()}
                for path, phases in self.probes.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Faults:
        return cls(
            plan=FaultPlan.from_dict(data),
            injected=_counts(data.get("injected")),
            upstream_requests=_int(data.get("upstream_requests")),
            responses=_counts(data.get("responses")),
            violations=_counts(data.get("violations")),
            baseline_rps=_float(data.get("baseline_rps")),
            recovery_s=_float(data.get("recovery_s")),
            probes={
                path: {phase: ProbeStats.from_dict(stats) for phase, stats in phases.items()}
                for path, phases in (data.get("probes") or {}).items()
            },
        )


def responses(successes: int, errors: Mapping[str, int]) -> dict[str, int]:
    """What the clients got: "200" for the successes, then each failure kind."""
    got = {"200": successes} if successes else {}
    for kind, count in errors.items():
        got[kind] = got.get(kind, 0) + count
    return dict(sorted(got.items()))


def violations(scenario: str, errors: Mapping[str, int]) -> dict[str, int]:
    """The failures that break the contract: anything but 502/503/504 with a `detail`.

    A stream's `event: error` with a `detail` is the contract's answer once the stream
    has started. A 500, an error without its `detail`, a connection the service dropped,
    a stream that ended without `done` or `error`, or a client timeout all break it.
    """
    allowed = CONTRACT_STATUSES | ({STREAM_ERROR_EVENT} if scenario != "complete" else set())
    return {kind: n for kind, n in sorted(errors.items()) if kind not in allowed and n}


def smoothing_s(latency_ms: float) -> int:
    """Seconds averaged to judge recovery: 3, or two answer latencies when longer."""
    return max(RECOVERY_MIN_SMOOTH_S, math.ceil(2 * latency_ms / 1000))


def recovery(
    per_second: Sequence[int], window: tuple[float, float], smooth_s: int
) -> tuple[float | None, float | None]:
    """Return (baseline req/s, recovery s) of a window's successes per second.

    `per_second[i]` counts the successes of second i of the measured window; the faults
    covered [window[0], window[1]) seconds. The baseline is the mean rate before them;
    recovery is the time from their end to the first second from which the mean over
    `smooth_s` seconds is within the band of the baseline (`recovery_band`; None: not
    within the window).
    """
    start, end = math.floor(window[0]), math.ceil(window[1])
    before = list(per_second[:start])
    if not before:
        return None, None
    baseline = statistics.fmean(before)
    if baseline <= 0:
        return baseline, None
    band = recovery_band(before, smooth_s)
    for second in range(end, len(per_second) - smooth_s + 1):
        mean = statistics.fmean(per_second[second : second + smooth_s])
        if abs(mean - baseline) <= band * baseline:
            return baseline, float(second - end)
    return baseline, None


def recovery_band(before: Sequence[int], smooth_s: int) -> float:
    """How far from the baseline a mean over `smooth_s` seconds may be and count as back.

    5 %, or two standard errors of such a mean when the seconds before the faults were
    noisier: closed-loop users finishing in cohorts make per-second counts alternate
    (e.g. 40, 60, 43, 57 at 50 req/s), and a band narrower than that noise would call a
    recovered target unrecovered depending on the phase of its cohorts.
    """
    if len(before) < 2:
        return RECOVERY_BAND
    baseline = statistics.fmean(before)
    noise = 2 * statistics.stdev(before) / math.sqrt(smooth_s) / baseline
    return max(RECOVERY_BAND, noise)


@dataclass
class Cancel:
    """Scenario `disconnect`: how long the service took to close a dropped stream's call."""

    streams: int  # dropped streams whose upstream call closed
    missed: int  # dropped streams the upstream generated to the end anyway
    mean_ms: float | None
    max_ms: float | None
    p50_ms: float | None  # the upper bound of the bucket holding the median
    p99_ms: float | None
    drop_after: int
    itl_ms: float

    JSON_SCHEMA: ClassVar[dict[str, Any]] = CANCEL_SCHEMA

    def limit_ms(self) -> float:
        """Slower than this is a slow cancel: a few token intervals, never under 100 ms."""
        return max(CANCEL_INTERVALS * self.itl_ms, CANCEL_FLOOR_MS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "streams": self.streams,
            "missed": self.missed,
            "mean_ms": self.mean_ms,
            "max_ms": self.max_ms,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "drop_after": self.drop_after,
            "itl_ms": self.itl_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cancel:
        return cls(
            streams=int(data["streams"]),
            missed=int(data["missed"]),
            mean_ms=_float(data.get("mean_ms")),
            max_ms=_float(data.get("max_ms")),
            p50_ms=_float(data.get("p50_ms")),
            p99_ms=_float(data.get("p99_ms")),
            drop_after=int(data["drop_after"]),
            itl_ms=float(data["itl_ms"]),
        )


def cancel_from_stats(
    before: Mapping[str, Any], after: Mapping[str, Any], drop_after: int, itl_ms: float
) -> Cancel:
    """The window's cancels from two of the mock's /stats `cancel` entries."""
    count = int(after["count"]) - int(before["count"])
    buckets = {
        bound: int(n) - int((before.get("buckets_ms") or {}).get(bound, 0))
        for bound, n in (after.get("buckets_ms") or {}).items()
    }
    total_ms = (after.get("mean_ms") or 0) * int(after["count"]) - (
        before.get("mean_ms") or 0
    ) * int(before["count"])
    return Cancel(
        streams=count,
        missed=int(after["missed"]) - int(before["missed"]),
        mean_ms=total_ms / count if count > 0 else None,
        # The largest since the mock started: an upper bound for the window's.
        max_ms=_float(after.get("max_ms")) if count > 0 else None,
        p50_ms=_bucket_quantile(buckets, 0.50),
        p99_ms=_bucket_quantile(buckets, 0.99),
        drop_after=drop_after,
        itl_ms=itl_ms,
    )


def _bucket_quantile(buckets: Mapping[str, int], q: float) -> float | None:
    total = sum(buckets.values())
    if total <= 0:
        return None
    seen = 0
    for bound, n in sorted(buckets.items(), key=lambda item: _bound(item[0])):
        seen += n
        if seen >= q * total:
            return _bound(bound)
    return math.inf


def _bound(text: str) -> float:
    return math.inf if text == "inf" else float(text)


@dataclass
class Trend:
    """One resource over a soak window: first and last sample, and its growth."""

    start: float
    end: float
    per_10k: float  # least-squares slope against requests served, over the whole window
    late_per_10k: float  # the same over the window's second half (past any warm-up)

    def to_dict(self) -> dict[str, float]:
        return {
            "start": self.start,
            "end": self.end,
            "per_10k": self.per_10k,
            "late_per_10k": self.late_per_10k,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trend:
        return cls(
            float(data["start"]),
            float(data["end"]),
            float(data["per_10k"]),
            float(data["late_per_10k"]),
        )


@dataclass
class Growth:
    """The server's RSS, open files and threads over a soak window."""

    samples: int
    trends: dict[str, Trend]  # "rss_mb", "fds", "threads"

    JSON_SCHEMA: ClassVar[dict[str, Any]] = GROWTH_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, **{k: t.to_dict() for k, t in self.trends.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Growth:
        trends = {k: Trend.from_dict(data[k]) for k in GROWTH_LIMITS if data.get(k)}
        return cls(int(data["samples"]), trends)

    def excessive(self) -> dict[str, Trend]:
        """The resources whose late slope and whole growth are both past their limits."""
        return {
            name: trend
            for name, trend in self.trends.items()
            if trend.late_per_10k > GROWTH_LIMITS[name][0]
            and trend.end - trend.start > GROWTH_LIMITS[name][1]
        }


def growth(requests: Sequence[float], series: Mapping[str, Sequence[float]]) -> Growth | None:
    """Fit each resource against the cumulative requests served when it was sampled.

    `requests[i]` is how many requests had completed at sample i; `series[name][i]` the
    resource then. None with fewer than 4 samples or no requests served.
    """
    n = len(requests)
    if n < 4 or requests[-1] - requests[0] <= 0:
        return None
    trends = {}
    for name, values in series.items():
        if len(values) != n:
            raise ValueError(f"{name}: {len(values)} samples for {n} request counts")
        half = n // 2
        trends[name] = Trend(
            start=float(values[0]),
            end=float(values[-1]),
            per_10k=_slope(requests, values) * 10_000,
            late_per_10k=_slope(requests[half:], values[half:]) * 10_000,
        )
    return Growth(n, trends)


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    if len(xs) < 2 or max(xs) == min(xs):
        return 0.0
    slope, _ = statistics.linear_regression(xs, ys)
    return float(slope)


def _counts(data: Mapping[str, Any] | None) -> dict[str, int]:
    return {str(k): int(v) for k, v in (data or {}).items()}


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
