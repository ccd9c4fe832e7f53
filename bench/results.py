"""The results file, results/<run-id>/results.json: schema, atomic writes, loading.

One versioned, self-describing JSON document per run (METRICS.md), rewritten
atomically after every finished point, so an interrupted run keeps its points.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

# Schema versions, newest last. Every change gets a line here and, when old files
# must still load, a migration in _MIGRATIONS.
#   1: first version (run, environment, mock, plan, points).
SCHEMA_VERSION = 1

RESULTS_NAME = "results.json"

# Migrations from version N to N + 1.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class ResultsError(Exception):
    """A results file that cannot be used; the message is one line for the user."""


_PERCENTILES = {
    "type": ["object", "null"],
    "properties": {
        key: {"type": ["number", "null"]} for key in ("p50", "p90", "p99", "p999", "max", "mean")
    },
    "required": ["p50", "p90", "p99", "p999", "max", "mean"],
}

POINT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "target",
        "framework",
        "server",
        "worker_class",
        "workers",
        "threads",
        "tag",
        "scenario",
        "load",
        "repetition",
        "window_s",
        "requests",
        "errors",
        "throughput_rps",
        "latency_ms",
        "generator",
        "upstream_calls",
        "ceiling_rps",
        "efficiency",
        "valid",
        "warnings",
        "status",
    ],
    "properties": {
        "target": {"type": "string"},
        "framework": {"type": "string"},
        # The server model and what the server process tree used in the window.
        "server": {
            "type": "object",
            "required": ["model", "cpu_pct", "rss_mb"],
            "properties": {"model": {"type": "string"}},
        },
        "workers": {"type": "integer", "minimum": 1},
        "threads": {"type": "integer", "minimum": 1},
        "scenario": {"enum": ["hello", "complete", "stream"]},
        "load": {
            "type": "object",
            "required": ["mode"],
            "properties": {
                "mode": {"enum": ["users", "rate"]},
                "users": {"type": "integer", "minimum": 1},
                "rate": {"type": "number", "exclusiveMinimum": 0},
            },
        },
        "repetition": {"type": "integer", "minimum": 1},
        "window_s": {"type": "number"},
        "requests": {"type": "integer", "minimum": 0},
        "errors": {"type": "object", "additionalProperties": {"type": "integer"}},
        "throughput_rps": {"type": "number", "minimum": 0},
        "latency_ms": _PERCENTILES,
        "ttft_ms": _PERCENTILES,
        "tpot_ms": _PERCENTILES,
        "itl_ms": _PERCENTILES,
        "chunk_fidelity": {"type": ["number", "null"]},
        "generator": {"type": "object"},
        "upstream_calls": {"type": ["integer", "null"]},
        "ceiling_rps": {"type": ["number", "null"]},
        "efficiency": {"type": ["number", "null"]},
        "valid": {"type": "boolean"},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "status": {"enum": ["ok", "failed"]},
    },
}

RESULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "run", "environment", "mock", "points"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "run": {
            "type": "object",
            "required": ["id", "started_at", "finished_at", "command", "preset", "git_commit"],
        },
        "environment": {
            "type": "object",
            "required": [
                "host",
                "os",
                "cpu_model",
                "cores",
                "server_cpus",
                "load_cpus",
                "python",
                "packages",
            ],
        },
        "mock": {"type": "object", "required": ["ttft_ms", "itl_ms", "output_tokens"]},
        "plan": {"type": "object"},
        "points": {"type": "array", "items": POINT_SCHEMA},
    },
}


def validate(document: dict[str, Any]) -> None:
    """Raise ResultsError when the document does not match RESULTS_SCHEMA."""
    try:
        jsonschema.validate(document, RESULTS_SCHEMA)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the document"
        raise ResultsError(
            f"results do not match schema {SCHEMA_VERSION} at {where}: {exc.message}"
        ) from None


def write_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write JSON to `path` through a temporary file and a rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=1, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def results_path(location: str | Path) -> Path:
    """Accept a run folder or its results.json; return the file's path."""
    path = Path(location)
    return path / RESULTS_NAME if path.is_dir() else path


def load(location: str | Path) -> dict[str, Any]:
    """Load, migrate and validate a results file; raise ResultsError in one line."""
    path = results_path(location)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ResultsError(
            f"{path}: no such results file (give a run folder or its {RESULTS_NAME})"
        ) from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{path}: not a results file (not UTF-8 text)") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"{path}: not valid JSON (truncated or corrupt?) at line {exc.lineno}: {exc.msg}"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("schema_version"), int):
        raise ResultsError(f"{path}: not a results file (no integer schema_version)")
    document = migrate(document, path)
    try:
        validate(document)
    except ResultsError as exc:
        raise ResultsError(f"{path}: {exc}") from None
    return document


def migrate(document: dict[str, Any], path: Path | str = "results") -> dict[str, Any]:
    """Bring an older document up to SCHEMA_VERSION; refuse unknown versions."""
    version = document["schema_version"]
    if version > SCHEMA_VERSION or version < 1:
        raise ResultsError(
            f"{path}: schema version {version} is unknown to this suite "
            f"(it reads 1 to {SCHEMA_VERSION}); update the suite"
        )
    while version < SCHEMA_VERSION:
        document = _MIGRATIONS[version](document)
        version += 1
        document["schema_version"] = version
    return document


def point_key(point: dict[str, Any]) -> tuple[str, str, str, float, int]:
    """Identify a point within a run: target, scenario, load, repetition."""
    load = point["load"]
    amount = load.get("users") if load["mode"] == "users" else load.get("rate")
    return (point["target"], point["scenario"], load["mode"], float(amount), point["repetition"])
