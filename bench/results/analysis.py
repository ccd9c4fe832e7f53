"""Turn one window's raw measurements into a point, exactly as docs/metrics.md defines.

Pure functions: no processes, no clocks. The runner gathers the raw figures; this
module computes throughput, percentiles, ceilings and efficiency, and every
validity warning (as data: bench.results.model.Warning, its code decides its meaning).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from bench.results import faults, limits, quantiles
from bench.results.faults import Cancel, FaultPlan, Faults
from bench.results.histogram import Histogram
from bench.results.model import (
    IO_BOUND,
    Objectives,
    Telemetry,
    Percentiles,
    PerSecond,
    Point,
    Usage,
    Warning,
    by_level,
)

REQUEST_NAMES = {
    "hello": "/hello",
    "complete": "/complete",
    "stream": "/complete/stream",
    "disconnect": "/complete/stream",
}

ERROR_LIMIT = 0.01  # docs/metrics.md: more than 1 % errors marks a point
GENERATOR_CPU_LIMIT = 90.0
UPSTREAM_TOLERANCE = 0.01
LITTLE_TOLERANCE = 0.25
LITTLE_SLACK_MS = 5.0
REPEAT_STDEV_LIMIT = 0.10
REPEAT_RANGE_LIMIT = 0.50
CALIBRATION_MARGIN = 0.10
RATE_SHORTFALL_LIMIT = 0.05
BASELINE = "baseline-uvicorn"

# Warning codes: what a warning is, whatever its text says.
FAILED = "failed"
NO_REQUESTS = "no-requests"
ERRORS = "errors"
UPSTREAM_MISMATCH = "upstream-mismatch"
GENERATOR_CPU = "generator-cpu"
LITTLES_LAW = "littles-law"
RATE_SHORTFALL = "rate-shortfall"
BACKLOG = "backlog"
DROPPED = "dropped"
CHUNK_FIDELITY = "chunk-fidelity"
REPETITIONS = "repetitions"
CALIBRATION = "calibration"
EXTERNAL_TARGET = "external-target"
CONTRACT = "contract"
NO_RECOVERY = "no-recovery"
CANCEL_MISSED = "cancel-missed"
SLOW_CANCEL = "slow-cancel"
GROWTH = "growth"


@dataclass(frozen=True)
class Measurement:
    """Everything measured for one point's window, before analysis."""

    scenario: str
    mode: str  # "users" | "rate"
    users: int
    rate: float | None
    window_s: float
    locust: dict[str, Any]  # the plugin's document (bench.locustfiles.totals)
    server_cpu_pct: float | None
    server_rss_mb: float | None
    generator_cpu_pct: float | None
    mock_cpu_pct: float | None
    upstream_calls: int | None  # the mock's completed answers in the window
    upstream_latency_ms: float  # ttft + (n - 1) itl for the answer asked for
    model_concurrency: int | None  # requests the server model can hold at once
    server_cores: int | None = None
    server_cores_busy_pct: float | None = None  # the cores, whoever kept them busy
    declared: dict[str, int] | None = None  # every declared concurrency limit, whole server
    in_flight: tuple[float, int] | None = None  # the mock's (mean, peak) in flight
    faults: FaultPlan | None = None  # upstream faults injected during the point
    upstream_accepted: int | None = None  # chat calls the mock accepted in the window
    # Seconds the mock's counts were read after the window's edges (both, summed).
    mock_read_late_s: float = 0.0
    injected: dict[str, int] | None = None  # faults the mock injected in the window
    cancel: Cancel | None = None  # scenario disconnect: the mock's timings of the closes
    resources: dict[str, list[float]] | None = None  # a soak: "at", "rss_mb", "fds", "threads"
    probes: list[tuple[float, str, float, bool]] | None = None  # sent at, path, ms, answered
    open_loop: bool = False  # arrivals fixed in advance (`latency` is the response time)
    # A window shorter than this many p99s cannot be trusted (bench.results.limits); a
    # capacity step, whose verdict rests on its p99's interval instead, needs one.
    window_p99s: float = limits.WINDOW_P99S
    server_cpu_per_second: dict[int, float | None] | None = None  # Unix second -> CPU %
    objectives: Objectives | None = None  # what each request was judged against
    slo_share: float = 0.99  # ... and the share that must meet them
    telemetry: Telemetry | None = None  # the server's own /metrics over the window




def _histogram(data: dict[str, Any] | None) -> Histogram | None:
    if not data:
        return None
    histogram = Histogram.from_dict(data)
    return histogram if histogram.count else None


def _summary(histogram: Histogram | None) -> Percentiles | None:
    if histogram is None:
        return None
    return Percentiles.of(histogram.summary())


def ceilings(window: Measurement) -> tuple[float | None, float | None]:
    """Return (Little's-law ceiling, server-model ceiling) in req/s for I/O-bound scenarios.

    Closed loop: users / upstream latency is the most any server could do. A server
    model that holds only C requests at once cannot beat C / latency.
    """
    if window.scenario not in IO_BOUND or window.upstream_latency_ms <= 0:
        return None, None
    latency_s = window.upstream_latency_ms / 1000
    offered = window.users / latency_s if window.mode == "users" else window.rate
    model = window.model_concurrency / latency_s if window.model_concurrency else None
    return offered, model


def analyse(window: Measurement, identity: Point) -> Point:
    """The point: its identity (set by the runner) with the window's figures and verdicts."""
    name = REQUEST_NAMES[window.scenario]
    entry = window.locust.get("requests", {}).get(name, {"count": 0, "errors": {}})
    latency = _histogram(entry.get("latency"))
    requests = int(entry.get("count", 0))
    series = window.locust.get("series") or {}
    tail = _tail(latency, series, name)
    measured = replace(
        identity,
        window_s=window.window_s,
        requests=requests,
        errors={str(k): int(v) for k, v in entry.get("errors", {}).items()},
        throughput_rps=requests / window.window_s if window.window_s > 0 else 0.0,
        latency_ms=_summary(latency),
        p99_low_ms=tail.low if tail else None,
        p99_high_ms=tail.high if tail else None,
        p99_clumping=tail.clumping if tail else None,
        server=Usage(window.server_cpu_pct, window.server_rss_mb),
        server_cores=window.server_cores,
        server_cores_busy_pct=window.server_cores_busy_pct,
        concurrency=dict(window.declared or {}),
        # In master mode the local figure is the master's alone; workers run elsewhere.
        generator=Usage(window.generator_cpu_pct),
        generator_processes=int(window.locust.get("processes", 1)),
        generator_hosts=int(window.locust.get("hosts", 1)),
        mock=Usage(window.mock_cpu_pct),
        upstream_calls=window.upstream_calls,
        in_flight_mean=window.in_flight[0] if window.in_flight else None,
        in_flight_peak=window.in_flight[1] if window.in_flight else None,
        seconds=per_second(series, name, window.open_loop, window.server_cpu_per_second),
        cancel=window.cancel,
        telemetry=window.telemetry,
        **_stream_figures(window),
        **_open_figures(window, entry),
        **_objective_figures(window),
    )
    figured = replace(measured, **_derived_figures(window, measured))
    figured = replace(
        figured, faults=_fault_record(window, figured), growth=_growth(window, figured)
    )
    mean = latency.mean if latency is not None else None
    warnings = (*_warnings(window, figured, mean), *_fault_warnings(window, figured))
    return replace(
        figured,
        warnings=warnings,
        limit=limits.classify(figured, window.upstream_latency_ms or None, window.window_p99s),
    )


def _tail(
    latency: Histogram | None, series: dict[str, Any], name: str
) -> quantiles.QuantileInterval | None:
    """p99's interval, widened by how clumped the window's slowest answers were."""
    if latency is None:
        return None
    seconds = [_histogram(((b.get("requests") or {}).get(name) or {}).get("latency"))
               for b in series.values()]  # fmt: skip
    return quantiles.clustered(latency, [h for h in seconds if h is not None], 0.99)


def _met_clumping(series: dict[str, Any]) -> float | None:
    """How clumped the requests that missed an objective were across the window's seconds."""
    counts = [(b.get("slo") or {}) for b in series.values()]
    judged = [int(c.get("judged", 0)) for c in counts]
    if not any(judged):
        return None
    missed = [j - int(c.get("met", 0)) for j, c in zip(judged, counts, strict=True)]
    return quantiles.dispersion(missed, judged)


def _objective_figures(window: Measurement) -> dict[str, Any]:
    """With objectives: the requests judged, those that met all, each; goodput."""
    if window.objectives is None:
        return {}
    slo = window.locust.get("slo") or {}
    met = int(slo.get("met", 0))
    return {
        "met_clumping": _met_clumping(window.locust.get("series") or {}),
        "objectives": window.objectives,
        "slo_share": window.slo_share,
        "judged": int(slo.get("judged", 0)),
        "met": met,
        "met_by": {str(k): int(v) for k, v in (slo.get("by") or {}).items()},
        "goodput_rps": met / window.window_s if window.window_s > 0 else 0.0,
    }


def _open_figures(window: Measurement, entry: dict[str, Any]) -> dict[str, Any]:
    """Open loop: service time, the generator's lateness, dropped arrivals, peak in flight."""
    if not window.open_loop:
        return {}
    opened = window.locust.get("open") or {}
    lateness = _histogram(opened.get("lateness"))
    return {
        "service_ms": _summary(_histogram(entry.get("service"))),
        "lateness_ms": _summary(lateness),
        "sent": lateness.count if lateness is not None else 0,
        "dropped": int(opened.get("dropped", 0)),
        "outstanding_peak": int(opened.get("outstanding", 0)),
    }


def _derived_figures(window: Measurement, point: Point) -> dict[str, Any]:
    """Ceilings and efficiencies, an open loop's shortfall, the CPU a request cost."""
    ceiling, model_ceiling = ceilings(window)
    figures: dict[str, Any] = {
        "ceiling_rps": ceiling,
        "model_ceiling_rps": model_ceiling,
        "efficiency": point.throughput_rps / ceiling if ceiling else None,
        "model_efficiency": point.throughput_rps / model_ceiling if model_ceiling else None,
    }
    if window.mode == "rate" and window.rate:
        achieved = (point.requests + point.failed_requests) / window.window_s
        figures.update(achieved_rate=achieved, rate_shortfall=max(0.0, 1 - achieved / window.rate))
    cpu = window.server_cpu_pct
    if cpu is not None and point.requests:
        figures["cpu_us_per_request"] = cpu / 100 * window.window_s / point.requests * 1e6
    return figures


def _fault_record(window: Measurement, point: Point) -> Faults | None:
    """Under injected faults: what the clients got, what breaks the contract, recovery."""
    if window.faults is None:
        return None
    record = Faults(
        plan=window.faults,
        injected=dict(window.injected or {}),
        upstream_requests=window.upstream_accepted,
        responses=faults.responses(point.requests, point.errors),
        violations=faults.violations(window.scenario, point.errors),
    )
    seconds = point.seconds
    start = (window.locust.get("window") or {}).get("start")
    if window.faults.window is not None and seconds is not None and start is not None:
        # The series starts at its first second with a completion: align it on the window.
        offset = seconds.start - int(start)
        successes = [0] * max(offset, 0) + list(seconds.requests[max(-offset, 0) :])
        smooth = faults.smoothing_s(window.upstream_latency_ms)
        record.baseline_rps, record.recovery_s = faults.recovery(
            successes, window.faults.window, smooth
        )
        if window.probes:
            record.probes = faults.probe_phases(
                window.probes, float(start), float(start) + window.window_s, window.faults.window
            )
    return record


def _growth(window: Measurement, point: Point) -> faults.Growth | None:
    """A soak: each resource against the requests served by the time it was sampled."""
    series, seconds = window.resources, point.seconds
    if not series or seconds is None:
        return None
    served = list(itertools.accumulate(seconds.requests))
    bounds = window.locust.get("window") or {}
    start, end = bounds.get("start") or -math.inf, bounds.get("end") or math.inf
    inside = [i for i, at in enumerate(series["at"]) if start <= at <= end]
    # Requests served by the end of the second before the sample.
    requests = [
        float(served[min(int(series["at"][i]) - seconds.start, len(served)) - 1])
        if int(series["at"][i]) > seconds.start
        else 0.0
        for i in inside
    ]
    picked = {name: [series[name][i] for i in inside] for name in faults.GROWTH_LIMITS}
    return faults.growth(requests, picked)


def per_second(
    series: dict[str, Any],
    name: str,
    open_loop: bool = False,
    cpu: dict[int, float | None] | None = None,
) -> PerSecond | None:
    """The window's whole seconds from the generator's per-second buckets (None if none)."""
    if not series:
        return None
    seconds = sorted(int(second) for second in series)
    start, stop = seconds[0], seconds[-1] + 1
    requests: list[int] = []
    errors: list[int] = []
    summaries: list[dict[str, Any]] = []
    ttft: list[float | None] = []
    outstanding: list[int] = []
    met: list[int] = []
    for second in range(start, stop):
        bucket = series.get(str(second)) or {}
        entry = bucket.get("requests", {}).get(name, {})
        requests.append(int(entry.get("count", 0)))
        errors.append(sum(int(v) for v in (entry.get("errors") or {}).values()))
        histogram = _histogram(entry.get("latency"))
        summaries.append(histogram.summary() if histogram else {})
        first = _histogram((bucket.get("stream") or {}).get("ttft"))
        ttft.append(first.summary().get("p50") if first else None)
        outstanding.append(int((bucket.get("open") or {}).get("outstanding", 0)))
        met.append(int((bucket.get("slo") or {}).get("met", 0)))
    return PerSecond(
        start,
        tuple(requests),
        tuple(errors),
        tuple(s.get("mean") for s in summaries),
        tuple(s.get("p50") for s in summaries),
        tuple(s.get("p99") for s in summaries),
        # Streams only: the intervals of TTFT (bench.results.intervals) need it per second.
        tuple(ttft) if name == REQUEST_NAMES["stream"] else None,
        tuple(outstanding) if open_loop else None,
        tuple(cpu.get(second) for second in range(start, stop)) if cpu else None,
        tuple(met) if any((b.get("slo") or {}).get("judged") for b in series.values()) else None,
    )


def _stream_figures(window: Measurement) -> dict[str, Any]:
    """A stream's TTFT, TPOT, ITL and chunk fidelity (nothing for other scenarios)."""
    if window.scenario != "stream":
        return {}
    stream = window.locust.get("stream", {})
    fidelity = stream.get("fidelity", {})
    expected = fidelity.get("expected", 0)
    return {
        "ttft_ms": _summary(_histogram(stream.get("ttft"))),
        "tpot_ms": _summary(_histogram(stream.get("tpot"))),
        "itl_ms": _summary(_histogram(stream.get("itl"))),
        "chunk_fidelity": fidelity.get("events", 0) / expected if expected else None,
    }


def failed_warning(reason: str) -> Warning:
    """The warning of a point that could not be measured (its first line)."""
    return Warning(FAILED, f"failed: {reason.splitlines()[0]}", invalid=True)


def external_target_warning() -> Warning:
    """The note on every point of a deployment the runner did not start."""
    return Warning(
        EXTERNAL_TARGET,
        "external target: workers and threads are the target's defaults for the "
        "given server cores, not read from the deployment; server CPU not measured",
    )


def _warnings(window: Measurement, point: Point, mean_latency_ms: float | None) -> Iterable[Warning]:
    requests, failed = point.requests, point.failed_requests
    total = requests + failed
    if total == 0:
        yield Warning(NO_REQUESTS, "no request completed in the window", invalid=True)
        return
    if failed / total > ERROR_LIMIT and window.faults is None:  # faults: the contract check
        yield Warning(
            ERRORS,
            f"{failed / total:.1%} of requests failed (limit {ERROR_LIMIT:.0%})",
            invalid=True,
            figures={"failed_pct": 100 * failed / total, "limit_pct": 100 * ERROR_LIMIT},
        )
    cpu = window.generator_cpu_pct
    if cpu is not None and cpu / max(point.generator_processes or 1, 1) > GENERATOR_CPU_LIMIT:
        yield Warning(
            GENERATOR_CPU,
            f"load generator at {cpu:.0f} % CPU: the generator may be the bottleneck "
            "(a lower bound)",
            figures={"cpu_pct": cpu},
        )
    yield from _upstream_warnings(window, requests, failed)
    yield from _client_warnings(window, point, mean_latency_ms)


def _upstream_warnings(window: Measurement, requests: int, failed: int) -> Iterable[Warning]:
    """One request, one upstream call: the mock's count must match the clients'.

    Under faults or disconnects, answers do not all complete: every call the mock
    accepted then counts against every request the clients made, failed ones included.
    """
    accepted = window.upstream_accepted
    if (window.faults is not None or window.scenario == "disconnect") and accepted is not None:
        sent = requests + failed
        if abs(accepted - sent) > upstream_tolerance(window, sent):
            yield _mismatch(window, f"the mock accepted {accepted} upstream calls for {sent} "
                            "requests", accepted, sent)  # fmt: skip
    elif window.scenario in IO_BOUND and window.upstream_calls is not None:
        calls = window.upstream_calls
        if abs(calls - requests) > upstream_tolerance(window, requests):
            yield _mismatch(window, f"the mock answered {calls} upstream calls for {requests} "
                            "completed requests", calls, requests)  # fmt: skip


def _mismatch(window: Measurement, counted: str, calls: int, requests: int) -> Warning:
    return Warning(
        UPSTREAM_MISMATCH,
        f"{counted} (must match within 1 % or one cohort of users per window edge, and what "
        f"came in the {window.mock_read_late_s:.2f} s its counts were read late)",
        invalid=True,
        figures={"upstream_calls": calls, "requests": requests,
                 "read_late_s": round(window.mock_read_late_s, 3)},  # fmt: skip
    )


def _client_warnings(
    window: Measurement, point: Point, mean_latency_ms: float | None
) -> Iterable[Warning]:
    """Little's law, an open loop's shortfall, the chunks that arrived."""
    # Under faults, fast failures change the mix that Little's law would weigh.
    littles = window.faults is None and window.mode == "users"
    if littles and mean_latency_ms and point.throughput_rps > 0:
        implied = window.users / point.throughput_rps * 1000
        # The generator's own time between requests is not in the latency; a few
        # milliseconds of it matter only for sub-millisecond answers, never a fault.
        gap = abs(implied - mean_latency_ms)
        if gap / mean_latency_ms > LITTLE_TOLERANCE and gap > LITTLE_SLACK_MS:
            yield Warning(
                LITTLES_LAW,
                f"Little's law does not hold: {window.users} users / "
                f"{point.throughput_rps:.1f} req/s = {implied:.0f} ms, but the mean "
                f"latency is {mean_latency_ms:.0f} ms (harness or generator problem?)",
                figures={
                    "users": window.users,
                    "throughput_rps": point.throughput_rps,
                    "implied_ms": implied,
                    "mean_ms": mean_latency_ms,
                },
            )
    shortfall = point.rate_shortfall
    if window.open_loop:
        yield from _open_warnings(window, point)
    elif window.mode == "rate" and shortfall is not None and shortfall > RATE_SHORTFALL_LIMIT:
        yield Warning(
            RATE_SHORTFALL,
            f"open loop fell {shortfall:.0%} short of {window.rate:g} req/s "
            f"(achieved {point.achieved_rate or 0:.1f}): queueing hides in the shortfall",
            figures={"shortfall": shortfall, "achieved_rps": point.achieved_rate or 0.0},
        )
    fidelity = point.chunk_fidelity
    if fidelity is not None and fidelity < 0.99:
        yield Warning(
            CHUNK_FIDELITY,
            f"chunk fidelity {fidelity:.2f} < 1: something between mock and client buffers",
            figures={"fidelity": fidelity},
        )


def backlog(point: Point) -> int | None:
    """Open loop: how many more requests were in flight at the window's end than at its
    start (sent in it minus answered in it), when that is more than chance: the queue
    grew. Poisson arrivals send about sqrt(n) more or fewer than their mean in any window,
    so a growth within twice that (and five) is noise, not a queue."""
    if point.sent is None:
        return None
    grown = point.sent - point.requests - point.failed_requests
    return grown if grown > max(5.0, 2 * math.sqrt(point.sent)) else None


def _open_warnings(window: Measurement, point: Point) -> Iterable[Warning]:
    """Open loop: arrivals that outran the target (its queue grows), arrivals dropped."""
    grown = backlog(point)
    if grown is not None:
        window_s = window.window_s or 1.0
        sent, answered = (point.sent or 0) / window_s, point.requests / window_s
        seconds = point.seconds.outstanding if point.seconds else None
        peaks = (
            f" (in flight: {seconds[0]:,} in its first second, {seconds[-1]:,} in its last)"
            if seconds
            else ""
        )
        yield Warning(
            BACKLOG,
            f"arrivals outran the target: {sent:,.1f} req/s were sent, {answered:,.1f} "
            f"answered, and {grown:,} more requests waited at the window's end than at its "
            f"start{peaks}: the queue grows for as long as they arrive, and the response "
            "times with it",
            figures={"sent_rps": sent, "answered_rps": answered, "grown": float(grown)},
        )
    if point.dropped:
        yield Warning(
            DROPPED,
            f"{point.dropped:,} arrivals were dropped: the generator had its cap of requests "
            "in flight (--max-outstanding) already; they were not sent",
            figures={"dropped": float(point.dropped)},
        )


def _fault_warnings(window: Measurement, point: Point) -> Iterable[Warning]:
    """Answers off the contract, no recovery, dropped streams not cancelled, growth."""
    record = point.faults
    if record is not None and record.violations:
        shown = ", ".join(f"{kind} x{n}" for kind, n in record.violations.items())
        yield Warning(
            CONTRACT,
            f"answers off the contract under upstream faults: {shown} (expected 200, "
            "or 502/503/504 with a detail)",
            invalid=True,
            figures={"violations": sum(record.violations.values())},
        )
    if record is not None and record.plan.window and record.recovery_s is None:
        yield Warning(
            NO_RECOVERY,
            f"throughput was not back within {faults.RECOVERY_BAND:.0%} (or the noise of "
            f"the seconds before) of its level before the faults "
            f"({record.baseline_rps or 0:.1f} req/s) by the end of the window",
            figures={"baseline_rps": record.baseline_rps or 0.0},
        )
    yield from _cancel_warnings(window.cancel)
    if point.growth is not None:
        for name, trend in point.growth.excessive().items():
            yield Warning(
                GROWTH,
                f"{name} grew by {trend.late_per_10k:.1f} {faults.GROWTH_UNITS[name]} per "
                f"10,000 requests late in the window ({trend.start:g} to {trend.end:g})",
                figures={"per_10k": trend.late_per_10k, "start": trend.start, "end": trend.end},
            )


def _cancel_warnings(cancel: Cancel | None) -> Iterable[Warning]:
    if cancel is None:
        return
    if cancel.missed:
        yield Warning(
            CANCEL_MISSED,
            f"{cancel.missed} streams that clients dropped were generated to the end: "
            "the service did not close its upstream call",
            figures={"missed": cancel.missed},
        )
    if cancel.p99_ms is not None and cancel.p99_ms > cancel.limit_ms():
        yield Warning(
            SLOW_CANCEL,
            f"dropped streams took up to {cancel.p99_ms:g} ms (p99) to close upstream, "
            f"more than {cancel.limit_ms():g} ms (a few token intervals)",
            figures={"p99_ms": cancel.p99_ms, "limit_ms": cancel.limit_ms()},
        )


def upstream_tolerance(window: Measurement, requests: int) -> float:
    """How far the mock's count may differ from the client's without a real fault.

    The mock finishes an answer a few milliseconds before the client has read it, so
    answers finishing right at a window edge are counted on one side only. With no
    jitter, closed-loop users move in step, and a whole cohort (up to every request in
    flight) can finish within those milliseconds, at each of the window's two edges. A
    retry (twice the calls) or a cache (far fewer) is still far outside this. Open-loop
    arrivals wait for no answer: what was in flight at an edge is what the generator had
    outstanding, which its few sending users do not count. And the runner reads the
    mock's counts over HTTP at each edge, and on a busy machine a read can come late: what
    the clients did meanwhile is allowed for at the window's rate (a busy run once had a
    3-s window's count 16 short of 72; how late its reads were was not recorded then).
    """
    in_flight = window.users
    if window.open_loop:
        opened = window.locust.get("open") or {}
        in_flight = max(in_flight, int(opened.get("outstanding", 0)))
    if window.model_concurrency is not None:
        in_flight = min(in_flight, window.model_concurrency)
    late = requests / window.window_s * window.mock_read_late_s if window.window_s > 0 else 0.0
    return max(UPSTREAM_TOLERANCE * requests, 2, 2 * in_flight) + late


def repetition_warnings(points: list[Point]) -> list[Point]:
    """Mark repetitions that disagree (stdev >= 10 % of the mean, or range >= 50 %)."""
    marked = {id(p): p.without(REPETITIONS) for p in points}
    for group in by_level(p for p in points if p.ok).values():
        values = [p.throughput_rps for p in group]
        if len(values) < 2:
            continue
        mean = statistics.fmean(values)
        if mean <= 0:
            continue
        spread = statistics.stdev(values) / mean
        span = (max(values) - min(values)) / mean
        if spread >= REPEAT_STDEV_LIMIT or span >= REPEAT_RANGE_LIMIT:
            warning = Warning(
                REPETITIONS,
                f"repetitions disagree: throughput stdev {spread:.0%} of the mean, "
                f"range {span:.0%}",
                figures={"stdev_pct": 100 * spread, "range_pct": 100 * span},
            )
            for point in group:
                marked[id(point)] = marked[id(point)].warned(warning)
    return [marked[id(p)] for p in points]


def calibration_warnings(points: list[Point], baseline: str = BASELINE) -> list[Point]:
    """Flag hello points within 10 % of the framework-less baseline at the same load."""
    ceiling: dict[Any, list[float]] = {}
    for point in points:
        if point.target == baseline and point.scenario == "hello" and point.valid:
            ceiling.setdefault(point.load, []).append(point.throughput_rps)
    return [_calibrated(point, ceiling, baseline) for point in points]


def _calibrated(point: Point, ceiling: dict[Any, list[float]], baseline: str) -> Point:
    if point.scenario != "hello" or point.target == baseline:
        return point
    point = point.without(CALIBRATION)
    # An open-loop point's throughput is the rate it was offered, not a ceiling.
    if point.load not in ceiling or not point.ok or point.load.open_loop:
        return point
    best = statistics.fmean(ceiling[point.load])
    if point.throughput_rps < (1 - CALIBRATION_MARGIN) * best:
        return point
    return point.warned(
        Warning(
            CALIBRATION,
            f"within {CALIBRATION_MARGIN:.0%} of the {baseline} ceiling "
            f"({best:.0f} req/s): generator- or stack-bound, a lower bound",
            figures={"margin_pct": 100 * CALIBRATION_MARGIN, "ceiling_rps": best},
        )
    )


def finish(points: list[Point]) -> list[Point]:
    """The points again, with what depends on several of them computed anew."""
    return calibration_warnings(repetition_warnings(points))
