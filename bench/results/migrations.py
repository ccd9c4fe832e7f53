"""Migrations of results documents from one schema version to the next.

Each function takes a document of version N and returns it as version N + 1 (the
store sets the number). They work on JSON, not on the model, because the model only
knows the current version. Old files never change on disk.
"""

from __future__ import annotations

import re
from typing import Any

# Version 1 stored warnings as free text. These are the texts that version 1 of the
# suite wrote, frozen: the only place where wording decides what a warning is.
_V1_CODES: tuple[tuple[str, str], ...] = (
    ("failed: ", "failed"),
    ("no request completed", "no-requests"),
    ("% of requests failed", "errors"),
    ("the mock answered", "upstream-mismatch"),
    ("load generator at", "generator-cpu"),
    ("little's law does not hold", "littles-law"),
    ("open loop fell", "rate-shortfall"),
    ("chunk fidelity", "chunk-fidelity"),
    ("repetitions disagree", "repetitions"),
    ("of the baseline-uvicorn ceiling", "calibration"),
    ("external target:", "external-target"),
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# The figures each version-1 text cites, in order of appearance.
_V1_FIGURES: dict[str, tuple[str, ...]] = {
    "errors": ("failed_pct", "limit_pct"),
    "upstream-mismatch": ("upstream_calls", "requests"),
    "generator-cpu": ("cpu_pct",),
    "littles-law": ("users", "throughput_rps", "implied_ms", "mean_ms"),
    "repetitions": ("stdev_pct", "range_pct"),
    "calibration": ("margin_pct", "ceiling_rps"),
    "chunk-fidelity": ("fidelity",),
}


def warning_from_v1(text: str) -> dict[str, Any]:
    """Turn a version-1 warning string into a version-2 warning object."""
    invalid = text.startswith("INVALID: ")
    body = text.removeprefix("INVALID: ")
    lowered = body.lower()
    code = next((code for words, code in _V1_CODES if words in lowered), "note")
    names = _V1_FIGURES.get(code, ())
    numbers = [float(n) for n in _NUMBER.findall(body.replace(",", ""))]
    figures = dict(zip(names, numbers, strict=False))
    return {"code": code, "invalid": invalid, "text": body, "figures": figures}


def v1_to_v2(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2: warnings become objects {code, invalid, text, figures}."""
    for point in document.get("points", []):
        point["warnings"] = [
            warning_from_v1(w) if isinstance(w, str) else w for w in point.get("warnings", [])
        ]
    return document


def v2_to_v3(document: dict[str, Any]) -> dict[str, Any]:
    """Version 3: capacity figures.

    CPU per request follows from what older points stored (the server tree's CPU over the
    window and the requests completed in it); what binds them, and the requests in flight,
    were not measured: unknown.
    """
    for point in document.get("points", []):
        point.setdefault("limit", None)
        cpu = (point.get("server") or {}).get("cpu_pct")
        requests, window = point.get("requests") or 0, point.get("window_s") or 0
        if "cpu_us_per_request" not in point:
            point["cpu_us_per_request"] = (
                cpu / 100 * window / requests * 1e6 if cpu is not None and requests > 0 else None
            )
    document.setdefault("capacity", [])
    return document


def v3_to_v4(document: dict[str, Any]) -> dict[str, Any]:
    """Version 4: package variants (`pins`, `packages`) and streams' per-second TTFT.

    Both are new measurements, absent from older points: nothing to convert. The
    optional `faults`, `cancel` and `growth` of version-3 points keep their form.
    """
    return document


def _flat_point(point: dict[str, Any]) -> None:
    """Version 5's point: the nested usage objects' identity and counts move to the top."""
    moves = (
        ("server", "model", "server_model"),
        ("server", "cores_busy_pct", "server_cores_busy_pct"),
        ("generator", "processes", "generator_processes"),
        ("generator", "hosts", "generator_hosts"),
        ("in_flight", "mean", "in_flight_mean"),
        ("in_flight", "peak", "in_flight_peak"),
        ("load", "locust_users", "locust_users"),
    )
    for section, key, flat in moves:
        inner = point.get(section)
        if isinstance(inner, dict) and key in inner:
            point[flat] = inner.pop(key)
    point.pop("in_flight", None)


def v4_to_v5(document: dict[str, Any]) -> dict[str, Any]:
    """Version 5: the file is the typed model's field table (store's version list says how)."""
    for point in document.get("points", []):
        _flat_point(point)
        load = point.get("load") or {}
        if load.get("mode") == "rate":
            load["arrivals"] = "paced"  # closed-loop users, each paced to its share
    for found in document.get("capacity") or []:
        for point in found.get("points", []):
            _flat_point(point)
        latency = found.get("latency") or {}
        latency.setdefault("name", "?")
        latency.setdefault("p99_ms", latency.get("answer_ms"))
        _three_figures(found)
    return document


def _three_figures(found: dict[str, Any]) -> None:
    """A version-4 search had max req/s within the SLO and max in flight: in version 5 the
    users held become the in-flight figure (no interval was measured), the most its steps
    completed a saturation figure (said to be so), and its max req/s is dropped (the SLO
    figure is now the goodput rate, which it did not measure)."""
    held, limit = found.pop("max_in_flight", None), found.pop("limit", None)
    for key in ("max_rps", "max_rps_users", "rps_limit"):
        found.pop(key, None)
    found["in_flight"] = None if held is None else {
        "value": held, "low": None, "high": None, "limit": limit, "load": held, "note": None
    }  # fmt: skip
    served = [p for p in found.get("points", []) if p.get("status") == "ok"]
    best = max(served, key=lambda p: p.get("throughput_rps") or 0.0, default=None)
    found["saturation"] = None if best is None else {
        "value": best.get("throughput_rps") or 0.0, "low": None, "high": None,
        "limit": best.get("limit"), "load": (best.get("load") or {}).get("users"),
        "note": "the most an older search's steps completed (it did not look for a plateau)",
    }  # fmt: skip
    found["goodput"] = None
