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
from bench.results.fields import schema_of
from bench.results.files import write_json_atomic
from bench.results.model import Run

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
#   5: the file is the typed model's field table (bench.results.fields): a point's
#      `server.model` is `server_model`, `server.cores_busy_pct` is
#      `server_cores_busy_pct`, `generator.processes`/`hosts` are `generator_processes`/
#      `generator_hosts`, `in_flight.mean`/`peak` are `in_flight_mean`/`in_flight_peak`,
#      `load.locust_users` is `locust_users`; every field is written (null when not
#      measured); a capacity search's `latency` always has its `name` and `p99_ms`.
#      A rate's `load` says how its requests arrive (`arrivals`: poisson, constant,
#      gamma with its `burstiness`, or `paced`, the closed-loop users of older files);
#      open-loop points add `service_ms`, `lateness_ms`, `sent`, `dropped`,
#      `outstanding_peak`,
#      and `seconds.outstanding`.
SCHEMA_VERSION = 5

RESULTS_NAME = "results.json"

# Migrations from version N to N + 1.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: migrations.v1_to_v2,
    2: migrations.v2_to_v3,
    3: migrations.v3_to_v4,
    4: migrations.v4_to_v5,
}


class ResultsError(Exception):
    """A results file that cannot be used; the message is one line for the user."""


def _results_schema() -> dict[str, Any]:
    """The file's schema: the model's field table (bench.results.fields), this version."""
    schema = schema_of(Run)
    schema["properties"]["schema_version"] = {"const": SCHEMA_VERSION}
    return schema


RESULTS_SCHEMA: dict[str, Any] = _results_schema()
_VALIDATOR = jsonschema.Draft202012Validator(RESULTS_SCHEMA)


def validate(document: dict[str, Any]) -> None:
    """Raise ResultsError when the document does not match RESULTS_SCHEMA."""
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the document"
        raise ResultsError(
            f"results do not match schema {SCHEMA_VERSION} at {where}: {error.message}"
        )


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
