"""Results of the current schema for pure tests: points and runs, as JSON or as the model."""

from __future__ import annotations

from typing import Any

from bench.results.model import Point, Run
from bench.results.store import SCHEMA_VERSION


def warning(text: str, code: str = "note", *, invalid: bool = False) -> dict[str, Any]:
    """A warning object as the results file stores it."""
    return {"code": code, "invalid": invalid, "text": text, "figures": {}}


def latency(p50: float) -> dict[str, float]:
    """A plausible latency summary around a median."""
    return {"p50": p50, "p90": p50 * 1.02, "p99": p50 * 1.05, "p999": p50 * 1.1,
            "max": p50 * 1.2, "mean": p50}  # fmt: skip


def point_dict(
    *,
    target: str = "fastapi-uvicorn",
    scenario: str = "complete",
    users: int = 50,
    throughput: float = 200.0,
    repetition: int = 1,
    **overrides: Any,
) -> dict[str, Any]:
    """One point valid against the schema; its latency follows Little's law."""
    p50 = users / throughput * 1000 if throughput else None
    data: dict[str, Any] = {
        "target": target, "framework": target.split("-", 1)[0], "worker_class": "asyncio",
        "variant": None, "workers": 1, "threads": 1, "tag": "realistic", "client": "default",
        "scenario": scenario, "load": {"mode": "users", "users": users},
        "repetition": repetition, "window_s": 5.0,
        "requests": int(throughput * 5), "errors": {}, "throughput_rps": throughput,
        "latency_ms": latency(p50) if p50 else None,
        "server_model": "uvicorn", "server": {"cpu_pct": 40.0, "rss_mb": 80.0},
        "generator": {"cpu_pct": 20.0}, "generator_processes": 1, "mock": {"cpu_pct": 5.0},
        "upstream_calls": int(throughput * 5) if scenario != "hello" else None,
        "ceiling_rps": None, "model_ceiling_rps": None, "efficiency": None,
        "model_efficiency": None, "valid": True, "warnings": [], "status": "ok",
    }  # fmt: skip
    data.update(overrides)
    return data


def make_point(**overrides: Any) -> Point:
    """`point_dict` read into the model."""
    return Point.from_dict(point_dict(**overrides))


def run_document(points: list[dict[str, Any]], run_id: str = "r1", **sections: Any) -> dict:
    """A whole results document of the current schema around these points."""
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run": {"id": run_id, "started_at": "2026-11-26T00:00:00+00:00", "finished_at": None,
                "command": "bench run", "preset": None, "git_commit": None},
        "environment": {"host": "h", "os": "Linux", "cpu_model": "AMD EPYC", "cores": 2,
                        "server_cpus": [0], "load_cpus": [1], "python": "3.11.7",
                        "packages": {"fastapi": "0.115.0", "uvicorn": "0.30.0"}},
        "mock": {"ttft_ms": 200.0, "itl_ms": 20.0, "output_tokens": 10},
        "plan": {"duration_s": 5.0, "warmup_s": 2.0, "repeat": 1},
        "points": points,
    }  # fmt: skip
    document.update(sections)
    return document


def make_run(points: list[dict[str, Any]], run_id: str = "r1", **sections: Any) -> Run:
    """`run_document` read into the model."""
    return Run.from_dict(run_document(points, run_id, **sections))


def seconds_dict(
    requests: list[int], latency_ms: list[float], start: int = 1_800_000_000
) -> dict[str, Any]:
    """A point's per-second series: requests and a latency per second (p99 5 % above)."""
    return {
        "start": start,
        "requests": list(requests),
        "errors": [0] * len(requests),
        "mean_ms": list(latency_ms),
        "p50_ms": list(latency_ms),
        "p99_ms": [v * 1.05 for v in latency_ms],
    }


def windowed_point(
    per_second: list[int],
    latency_ms: list[float] | None = None,
    cpu_pct: list[float] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """One point measured once whose figures are those of its per-second series.

    With `cpu_pct` (the server's CPU each second), its CPU and CPU per request too.
    """
    window = len(per_second)
    throughput = sum(per_second) / window
    users = overrides.pop("users", 50)
    latency_ms = latency_ms or [users / max(r, 1) * 1000 for r in per_second]
    data = point_dict(throughput=throughput, users=users, window_s=float(window), **overrides)
    ordered = sorted(latency_ms)
    data["latency_ms"] = latency(ordered[len(ordered) // 2])
    data["latency_ms"]["p99"] = ordered[len(ordered) // 2] * 1.05
    data["requests"] = sum(per_second)
    data["seconds"] = seconds_dict(per_second, latency_ms)
    if cpu_pct is not None:
        mean_cpu = sum(cpu_pct) / len(cpu_pct)
        data["seconds"]["server_cpu_pct"] = list(cpu_pct)
        data["server"] = {**data["server"], "cpu_pct": mean_cpu}
        data["cpu_us_per_request"] = mean_cpu / 100 * window / sum(per_second) * 1e6
    return data


def figure_dict(value: float, low: float | None = None, high: float | None = None,
                kind: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A capacity figure as the results file stores it."""
    limit = {"kind": kind, "detail": f"{kind} binds", "evidence": {}} if kind else None
    return {"value": value, "low": low, "high": high, "limit": limit, "load": None, "note": None}


def capacity_dict(
    saturation: dict[str, Any] | None = None,
    goodput: dict[str, Any] | None = None,
    in_flight: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """One capacity search of fastapi-uvicorn at the short latency, with these figures."""
    data: dict[str, Any] = {
        "target": "fastapi-uvicorn", "scenario": "complete",
        "latency": {"name": "short", "ttft_ms": 100.0, "itl_ms": 0.0, "tokens": 10,
                    "answer_ms": 100.0, "p99_ms": 100.0},
        "slo_p99_ms": 175.0, "max_users": 10000, "server_cores": 1,
        "saturation": saturation, "goodput": goodput, "in_flight": in_flight,
        "in_flight_measured": None, "undecided": 0, "unknown": None,
        "points": [point_dict(throughput=(saturation or {}).get("value", 100.0), users=160)],
    }  # fmt: skip
    data.update(overrides)
    return data
