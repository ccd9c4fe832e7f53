"""A run's points as plain rows, for notebooks: `bench show --format json|csv`.

One row per point, the same columns in both formats: what was measured (target, its
pins, scenario, load, repetition), under which conditions (workers, threads, client,
window), every figure, each headline figure's 95 % interval from the point's own window
(bench.results.intervals; empty where the window cannot give one), what binds the
point and its warnings by code. JSON adds the run, its environment, the mock, the plan
and the capacity searches around the rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from bench.results import fields, intervals
from bench.results.model import Percentiles, Point, Run

CONFIDENCE = 0.95
INTERVAL_METRICS = ("throughput_rps", "latency_p50_ms", "latency_p99_ms", "ttft_p50_ms")


def _percentile(attr: str, key: str) -> Callable[[Point], float | None]:
    def get(point: Point) -> float | None:
        value: Percentiles | None = getattr(point, attr)
        return None if value is None else getattr(value, key)

    return get


FIGURES: tuple[tuple[str, Callable[[Point], Any]], ...] = (
    ("requests", lambda p: p.requests),
    ("errors", lambda p: p.failed_requests),
    ("error_kinds", lambda p: ";".join(f"{k}:{v}" for k, v in sorted(p.errors.items()))),
    ("throughput_rps", lambda p: p.throughput_rps),
    *((f"latency_{k}_ms", _percentile("latency_ms", k)) for k in ("mean", "p50", "p90", "p99")),
    ("latency_p999_ms", _percentile("latency_ms", "p999")),
    ("latency_max_ms", _percentile("latency_ms", "max")),
    ("ttft_p50_ms", _percentile("ttft_ms", "p50")),
    ("ttft_p99_ms", _percentile("ttft_ms", "p99")),
    ("tpot_p50_ms", _percentile("tpot_ms", "p50")),
    ("itl_p99_ms", _percentile("itl_ms", "p99")),
    ("chunk_fidelity", lambda p: p.chunk_fidelity),
    ("ceiling_rps", lambda p: p.ceiling_rps),
    ("efficiency", lambda p: p.efficiency),
    ("model_ceiling_rps", lambda p: p.model_ceiling_rps),
    ("server_cpu_pct", lambda p: p.server.cpu_pct),
    ("server_rss_mb", lambda p: p.server.rss_mb),
    ("server_cores_busy_pct", lambda p: p.server_cores_busy_pct),
    ("generator_cpu_pct", lambda p: p.generator.cpu_pct),
    ("mock_cpu_pct", lambda p: p.mock.cpu_pct),
    ("upstream_calls", lambda p: p.upstream_calls),
    ("cpu_us_per_request", lambda p: p.cpu_us_per_request),
    ("in_flight_mean", lambda p: p.in_flight_mean),
    ("achieved_rate", lambda p: p.achieved_rate),
)

IDENTITY: tuple[tuple[str, Callable[[Point], Any]], ...] = (
    ("target", lambda p: p.target),
    ("base_target", lambda p: p.base_target),
    ("pins", lambda p: ",".join(p.pins)),
    ("packages", lambda p: ";".join(f"{k}={v}" for k, v in sorted((p.packages or {}).items()))),
    ("framework", lambda p: p.framework),
    ("server_model", lambda p: p.server_model),
    ("worker_class", lambda p: p.worker_class),
    ("variant", lambda p: p.variant),
    ("client", lambda p: p.client),
    ("workers", lambda p: p.workers),
    ("threads", lambda p: p.threads),
    ("scenario", lambda p: p.scenario),
    ("load_mode", lambda p: p.load.mode),
    ("load", lambda p: p.load.amount),
    ("users", lambda p: p.locust_users),
    ("repetition", lambda p: p.repetition),
    ("window_s", lambda p: p.window_s),
    ("status", lambda p: p.status),
    ("valid", lambda p: p.valid),
)

VERDICTS: tuple[tuple[str, Callable[[Point], Any]], ...] = (
    ("limit", lambda p: p.limit.kind if p.limit else None),
    ("warnings", lambda p: ";".join(w.code for w in p.warnings)),
    ("invalid_warnings", lambda p: ";".join(w.code for w in p.warnings if w.invalid)),
)


def interval_columns() -> list[str]:
    """The columns of the intervals: <metric>_low and <metric>_high."""
    return [f"{metric}_{side}" for metric in INTERVAL_METRICS for side in ("low", "high")]


def columns() -> list[str]:
    """Every column, in order."""
    named = [name for name, _ in (*IDENTITY, *FIGURES)]
    return ["run_id", *named, *interval_columns(), "interval_method", *(n for n, _ in VERDICTS)]


def _intervals(point: Point) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    for metric in INTERVAL_METRICS:
        bounds = intervals.of_point(point, metric).bounds(CONFIDENCE)
        found[f"{metric}_low"] = None if bounds is None else bounds[0]
        found[f"{metric}_high"] = None if bounds is None else bounds[1]
    return found


def row(run: Run, point: Point) -> dict[str, Any]:
    """One point as a flat row of `columns()`."""
    data: dict[str, Any] = {"run_id": run.info.id}
    data.update((name, get(point)) for name, get in (*IDENTITY, *FIGURES))
    data.update(_intervals(point))
    data["interval_method"] = f"{intervals.METHOD} ({intervals.BATCHES} batches, 95 %)"
    data.update((name, get(point)) for name, get in VERDICTS)
    return data


def rows(run: Run) -> list[dict[str, Any]]:
    """Every point of the run, in the order measured."""
    return [row(run, point) for point in run.points]


def to_csv(run: Run) -> str:
    """One header line and one line per point."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(), lineterminator="\n")
    writer.writeheader()
    for found in rows(run):
        writer.writerow({k: "" if v is None else v for k, v in found.items()})
    return out.getvalue()


def to_json(run: Run) -> str:
    """The run around its rows: info, conditions, environment, mock, plan, capacity."""
    capacity = [
        {k: v for k, v in fields.to_json(found).items() if k != "points"} for found in run.capacity
    ]
    document = {
        "schema_version": run.schema_version,
        "run": fields.to_json(run.info),
        "conditions": run.conditions(),
        "environment": fields.to_json(run.environment),
        "mock": run.mock.to_dict(),
        "plan": run.plan,
        "columns": columns(),
        "points": rows(run),
        "capacity": capacity,
    }
    return json.dumps(document, indent=1, allow_nan=False)
