"""The results file, results/<run-id>/results.json: schema, migrations, loading, saving.

One versioned, self-describing JSON document per run (docs/metrics.md), rewritten
atomically after every finished point, so an interrupted run keeps its points. Files
of every earlier schema version load: they are migrated step by step to the current
one, then validated, then read into the model (bench.results.model).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from bench.results import migrations
from bench.results.files import write_json_atomic
from bench.results.model import LIMIT_KINDS, SCENARIOS, Run

# Schema versions, newest last. Every change gets a line here and, when old files
# must still load, a migration in bench.results.migrations.
#   1: first version (run, environment, mock, plan, points).
#   2: warnings are objects {code, invalid, text, figures} instead of strings.
#   3: capacity: each point's `limit` {kind, detail, evidence}, `server_cores`,
#      `concurrency` (declared limits), `in_flight` {mean, peak} at the mock and
#      `cpu_us_per_request`; the run's `capacity` list. Later writers of version 3 add
#      optional `faults`, `cancel` and `growth` to a point (upstream faults, client
#      disconnects, a soak's growth): a version-3 file has them or not.
#   4: package variants: a point of a spec such as name@django==5.1.* keeps its `pins`
#      and the `packages` its own environment resolved; `seconds` of streams add
#      `ttft_p50_ms`. Older files need no change (no variants, no per-second TTFT; the
#      fault records of version 3 are read as they are).
SCHEMA_VERSION = 4

RESULTS_NAME = "results.json"

# Migrations from version N to N + 1.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: migrations.v1_to_v2,
    2: migrations.v2_to_v3,
    3: migrations.v3_to_v4,
}


class ResultsError(Exception):
    """A results file that cannot be used; the message is one line for the user."""


_PERCENTILES = {
    "type": ["object", "null"],
    "properties": {
        key: {"type": ["number", "null"]} for key in ("p50", "p90", "p99", "p999", "max", "mean")
    },
    "required": ["p50", "p90", "p99", "p999", "max", "mean"],
}

WARNING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "invalid", "text", "figures"],
    "properties": {
        "code": {"type": "string"},
        "invalid": {"type": "boolean"},
        "text": {"type": "string"},
        "figures": {"type": "object", "additionalProperties": {"type": "number"}},
    },
}

LIMIT_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["kind", "detail", "evidence"],
    "properties": {
        "kind": {"enum": list(LIMIT_KINDS)},
        "detail": {"type": "string"},
        "evidence": {"type": "object", "additionalProperties": {"type": "number"}},
    },
}

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
        **{key: _NUMBER for key in ("mean_ms", "max_ms", "p50_ms", "p99_ms")},
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
        "scenario": {"enum": list(SCENARIOS)},
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
        "warnings": {"type": "array", "items": WARNING_SCHEMA},
        "status": {"enum": ["ok", "failed"]},
        "limit": LIMIT_SCHEMA,
        "cpu_us_per_request": {"type": ["number", "null"]},
        "concurrency": {"type": "object", "additionalProperties": {"type": "integer"}},
        "pins": {"type": "array", "items": {"type": "string"}},
        "packages": {
            "type": ["object", "null"],
            "additionalProperties": {"type": ["string", "null"]},
        },
        "faults": FAULTS_SCHEMA,
        "cancel": CANCEL_SCHEMA,
        "growth": GROWTH_SCHEMA,
    },
}

CAPACITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "target",
        "scenario",
        "latency",
        "slo_p99_ms",
        "max_users",
        "server_cores",
        "max_rps",
        "max_rps_users",
        "max_in_flight",
        "rps_limit",
        "limit",
        "unknown",
        "points",
    ],
    "properties": {
        "target": {"type": "string"},
        "scenario": {"enum": list(SCENARIOS)},
        "latency": {"type": "object", "required": ["ttft_ms", "itl_ms", "tokens", "answer_ms"]},
        "slo_p99_ms": {"type": "number"},
        "max_users": {"type": "integer"},
        "server_cores": {"type": "integer"},
        "max_rps": {"type": ["number", "null"]},
        "max_rps_users": {"type": ["integer", "null"]},
        "max_in_flight": {"type": ["integer", "null"]},
        "in_flight_measured": {"type": ["number", "null"]},
        "rps_limit": LIMIT_SCHEMA,
        "limit": LIMIT_SCHEMA,
        "unknown": {"type": ["string", "null"]},
        "points": {"type": "array", "items": POINT_SCHEMA},
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
        "capacity": {"type": "array", "items": CAPACITY_SCHEMA},
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


def save(path: Path, run: Run) -> None:
    """Validate the run and write it to `path` atomically."""
    document = run.to_dict()
    validate(document)
    write_json_atomic(path, document)


def results_path(location: str | Path) -> Path:
    """Accept a run folder or its results.json; return the file's path."""
    path = Path(location)
    return path / RESULTS_NAME if path.is_dir() else path


def load(location: str | Path) -> Run:
    """Load, migrate and validate a results file into the model; ResultsError in one line."""
    return Run.from_dict(load_document(location))


def load_document(location: str | Path) -> dict[str, Any]:
    """Load, migrate and validate a results file as JSON; raise ResultsError in one line."""
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


def main() -> None:
    """`python -m bench.results.store`: print the results file's JSON schema."""
    print(json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema",
                      "title": f"bench results, schema version {SCHEMA_VERSION}",
                      **RESULTS_SCHEMA}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
