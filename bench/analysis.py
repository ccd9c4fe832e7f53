"""Turn one window's raw measurements into a point, exactly as METRICS.md defines.

Pure functions: no processes, no clocks. The runner gathers the raw figures; this
module computes throughput, percentiles, ceilings and efficiency, and every
validity warning.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.histogram import Histogram

REQUEST_NAMES = {"hello": "/hello", "complete": "/complete", "stream": "/complete/stream"}
IO_BOUND = ("complete", "stream")

ERROR_LIMIT = 0.01  # METRICS.md: more than 1 % errors marks a point
GENERATOR_CPU_LIMIT = 90.0
UPSTREAM_TOLERANCE = 0.01
LITTLE_TOLERANCE = 0.25
LITTLE_SLACK_MS = 5.0
REPEAT_STDEV_LIMIT = 0.10
REPEAT_RANGE_LIMIT = 0.50
CALIBRATION_MARGIN = 0.10
RATE_SHORTFALL_LIMIT = 0.05


@dataclass(frozen=True)
class Window:
    """Everything measured for one point, before analysis."""

    scenario: str
    mode: str  # "users" | "rate"
    users: int
    rate: float | None
    window_s: float
    locust: dict[str, Any]  # the plugin's document
    server_cpu_pct: float | None
    server_rss_mb: float | None
    generator_cpu_pct: float | None
    mock_cpu_pct: float | None
    upstream_calls: int | None  # the mock's completed answers in the window
    upstream_latency_ms: float  # ttft + (n - 1) itl for the answer asked for
    model_concurrency: int | None  # requests the server model can hold at once


def _summary(data: dict[str, Any] | None) -> dict[str, float | None] | None:
    if not data:
        return None
    histogram = Histogram.from_dict(data)
    if histogram.count == 0:
        return None
    summary = histogram.summary()
    return {key: summary[key] for key in ("p50", "p90", "p99", "p999", "max", "mean")}


def _mean(data: dict[str, Any] | None) -> float | None:
    if not data:
        return None
    histogram = Histogram.from_dict(data)
    return histogram.mean if histogram.count else None


def ceilings(window: Window) -> tuple[float | None, float | None]:
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


def analyse(window: Window) -> dict[str, Any]:
    """Return the measured part of a point: figures, ceilings, warnings, validity."""
    name = REQUEST_NAMES[window.scenario]
    entry = window.locust.get("requests", {}).get(name, {"count": 0, "errors": {}})
    requests = int(entry.get("count", 0))
    errors = {str(k): int(v) for k, v in entry.get("errors", {}).items()}
    failed = sum(errors.values())
    throughput = requests / window.window_s if window.window_s > 0 else 0.0
    latency = _summary(entry.get("latency"))
    point: dict[str, Any] = {
        "window_s": window.window_s,
        "requests": requests,
        "errors": errors,
        "throughput_rps": throughput,
        "latency_ms": latency,
        "server": {"cpu_pct": window.server_cpu_pct, "rss_mb": window.server_rss_mb},
        "generator": {
            # In master mode the local figure is the master's alone; workers run elsewhere.
            "cpu_pct": window.generator_cpu_pct,
            "processes": window.locust.get("processes", 1),
            "hosts": window.locust.get("hosts", 1),
        },
        "mock": {"cpu_pct": window.mock_cpu_pct},
        "upstream_calls": window.upstream_calls,
    }
    if window.scenario == "stream":
        stream = window.locust.get("stream", {})
        fidelity = stream.get("fidelity", {})
        point["ttft_ms"] = _summary(stream.get("ttft"))
        point["tpot_ms"] = _summary(stream.get("tpot"))
        point["itl_ms"] = _summary(stream.get("itl"))
        expected = fidelity.get("expected", 0)
        point["chunk_fidelity"] = fidelity.get("events", 0) / expected if expected else None
    ceiling, model_ceiling = ceilings(window)
    point["ceiling_rps"] = ceiling
    point["model_ceiling_rps"] = model_ceiling
    point["efficiency"] = throughput / ceiling if ceiling else None
    point["model_efficiency"] = throughput / model_ceiling if model_ceiling else None
    if window.mode == "rate" and window.rate:
        point["achieved_rate"] = (requests + failed) / window.window_s
        point["rate_shortfall"] = max(0.0, 1 - point["achieved_rate"] / window.rate)
    warnings = list(_warnings(window, point, failed, _mean(entry.get("latency"))))
    point["warnings"] = warnings
    point["valid"] = not any(w.startswith("INVALID") for w in warnings)
    return point


def _warnings(
    window: Window, point: dict[str, Any], failed: int, mean_latency_ms: float | None
) -> Iterable[str]:
    requests = point["requests"]
    total = requests + failed
    if total == 0:
        yield "INVALID: no request completed in the window"
        return
    if failed / total > ERROR_LIMIT:
        yield f"INVALID: {failed / total:.1%} of requests failed (limit {ERROR_LIMIT:.0%})"
    cpu = window.generator_cpu_pct
    if cpu is not None and cpu / max(point["generator"]["processes"], 1) > GENERATOR_CPU_LIMIT:
        yield (
            f"load generator at {cpu:.0f} % CPU: the generator may be the bottleneck "
            "(a lower bound)"
        )
    if window.scenario in IO_BOUND and window.upstream_calls is not None:
        calls = window.upstream_calls
        if abs(calls - requests) > upstream_tolerance(window, requests):
            yield (
                f"INVALID: the mock answered {calls} upstream calls for {requests} "
                "completed requests (must match within 1 % or one cohort of users)"
            )
    if window.mode == "users" and mean_latency_ms and point["throughput_rps"] > 0:
        implied = window.users / point["throughput_rps"] * 1000
        # The generator's own time between requests is not in the latency; a few
        # milliseconds of it matter only for sub-millisecond answers, never a fault.
        gap = abs(implied - mean_latency_ms)
        if gap / mean_latency_ms > LITTLE_TOLERANCE and gap > LITTLE_SLACK_MS:
            yield (
                f"Little's law does not hold: {window.users} users / "
                f"{point['throughput_rps']:.1f} req/s = {implied:.0f} ms, but the mean "
                f"latency is {mean_latency_ms:.0f} ms (harness or generator problem?)"
            )
    if window.mode == "rate" and point.get("rate_shortfall", 0) > RATE_SHORTFALL_LIMIT:
        yield (
            f"open loop fell {point['rate_shortfall']:.0%} short of {window.rate:g} req/s "
            f"(achieved {point['achieved_rate']:.1f}): queueing hides in the shortfall"
        )
    fidelity = point.get("chunk_fidelity")
    if fidelity is not None and fidelity < 0.99:
        yield f"chunk fidelity {fidelity:.2f} < 1: something between mock and client buffers"


def upstream_tolerance(window: Window, requests: int) -> float:
    """How far the mock's count may differ from the client's without a real fault.

    The mock finishes an answer a few milliseconds before the client has read it, so
    answers finishing right at a window edge are counted on one side only. With no
    jitter, closed-loop users move in step, and a whole cohort (up to every request in
    flight) can finish within those milliseconds. A retry (twice the calls) or a cache
    (far fewer) is still far outside this.
    """
    in_flight = window.users
    if window.model_concurrency is not None:
        in_flight = min(in_flight, window.model_concurrency)
    return max(UPSTREAM_TOLERANCE * requests, 2, in_flight)


def _group_key(point: dict[str, Any]) -> tuple[Any, ...]:
    load = point["load"]
    return (point["target"], point["scenario"], load["mode"], load.get("users"), load.get("rate"))


def repetition_warnings(points: list[dict[str, Any]]) -> None:
    """Mark repetitions that disagree (stdev >= 10 % of the mean, or range >= 50 %)."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for point in points:
        if point.get("status") == "ok":
            groups.setdefault(_group_key(point), []).append(point)
    for group in groups.values():
        for point in group:
            point["warnings"] = [w for w in point["warnings"] if not w.startswith("repetitions")]
        values = [p["throughput_rps"] for p in group]
        if len(values) < 2:
            continue
        mean = statistics.fmean(values)
        if mean <= 0:
            continue
        spread = statistics.stdev(values) / mean
        span = (max(values) - min(values)) / mean
        if spread >= REPEAT_STDEV_LIMIT or span >= REPEAT_RANGE_LIMIT:
            text = (
                f"repetitions disagree: throughput stdev {spread:.0%} of the mean, range {span:.0%}"
            )
            for point in group:
                point["warnings"].append(text)


def calibration_warnings(points: list[dict[str, Any]], baseline: str = "baseline-uvicorn") -> None:
    """Flag hello points within 10 % of the framework-less baseline at the same load."""
    ceiling: dict[tuple[Any, ...], list[float]] = {}
    for point in points:
        if point["target"] == baseline and point["scenario"] == "hello" and point["valid"]:
            key = (point["load"]["mode"], point["load"].get("users"), point["load"].get("rate"))
            ceiling.setdefault(key, []).append(point["throughput_rps"])
    for point in points:
        if point["scenario"] != "hello" or point["target"] == baseline:
            continue
        point["warnings"] = [w for w in point["warnings"] if not w.startswith("within")]
        key = (point["load"]["mode"], point["load"].get("users"), point["load"].get("rate"))
        if key in ceiling and point["status"] == "ok":
            best = statistics.fmean(ceiling[key])
            if point["throughput_rps"] >= (1 - CALIBRATION_MARGIN) * best:
                point["warnings"].append(
                    f"within {CALIBRATION_MARGIN:.0%} of the {baseline} ceiling "
                    f"({best:.0f} req/s): generator- or stack-bound, a lower bound"
                )
