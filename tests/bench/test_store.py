"""The results file: schema, atomic writes, loading errors, migrations, the model's round trip."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bench.results import analysis, migrations, store
from bench.results.files import write_json_atomic
from bench.results.model import Run
from tests.bench.factories import make_run, point_dict, run_document, warning
from tests.support import REPO_ROOT

REFERENCE = REPO_ROOT / "results" / "reference"


def test_round_trip_through_an_atomic_write(tmp_path: Path) -> None:
    run = make_run([point_dict(warnings=[warning("a note")])])
    store.save(tmp_path / "results.json", run)
    assert store.load(tmp_path) == run
    assert store.load(tmp_path / "results.json").to_dict() == run.to_dict()
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp files left


def test_written_files_are_readable_as_the_umask_allows(tmp_path: Path) -> None:
    # Not mkstemp's owner-only 0600: a report is served, shared, read by a container user.
    umask = os.umask(0o022)
    os.umask(umask)
    store.save(tmp_path / "results.json", make_run([point_dict()]))
    assert (tmp_path / "results.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_refuses_nan_and_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    store.save(path, make_run([point_dict()]))
    broken = make_run([point_dict(throughput_rps=float("nan"))])
    with pytest.raises(ValueError):
        store.save(path, broken)
    assert store.load(path) == make_run([point_dict()])
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such results file"),
        ('{"schema_version": 1, "run": ', "not valid JSON"),
        ("[1, 2]", "not a results file"),
        ('{"schema_version": 99}', "schema version 99 is unknown"),
        ('{"schema_version": 1, "run": {}}', "do not match schema"),
        (b"\x00\xff binary", "not UTF-8"),
    ],
)
def test_bad_files_give_one_clear_line(
    tmp_path: Path, content: str | bytes | None, needle: str
) -> None:
    path = tmp_path / "results.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(store.ResultsError) as info:
        store.load(tmp_path)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_a_point_missing_a_field_is_rejected(tmp_path: Path) -> None:
    point = point_dict()
    del point["throughput_rps"]
    write_json_atomic(tmp_path / "results.json", run_document([point]))
    with pytest.raises(store.ResultsError, match="throughput_rps"):
        store.load(tmp_path)


def test_migrations_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    old = copy.deepcopy(run_document([point_dict()]))
    old["schema_version"] = store.SCHEMA_VERSION
    old["points"][0]["renamed"] = old["points"][0].pop("tag")

    def rename(doc: dict[str, Any]) -> dict[str, Any]:
        for point in doc["points"]:
            point["tag"] = point.pop("renamed")
        return doc

    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)
    monkeypatch.setitem(store._MIGRATIONS, store.SCHEMA_VERSION - 1, rename)
    migrated = store.migrate(old)
    assert migrated["schema_version"] == store.SCHEMA_VERSION
    assert migrated["points"][0]["tag"] == "realistic"


V1_WARNINGS = [
    ("INVALID: failed: the target died (exit -9)", analysis.FAILED, True, {}),
    ("INVALID: no request completed in the window", analysis.NO_REQUESTS, True, {}),
    ("INVALID: 5.0% of requests failed (limit 1%)", analysis.ERRORS, True,
     {"failed_pct": 5.0, "limit_pct": 1.0}),
    ("INVALID: the mock answered 151 upstream calls for 160 completed requests (must match "
     "within 1 % or one cohort of users)", analysis.UPSTREAM_MISMATCH, True,
     {"upstream_calls": 151.0, "requests": 160.0}),
    ("load generator at 94 % CPU: the generator may be the bottleneck (a lower bound)",
     analysis.GENERATOR_CPU, False, {"cpu_pct": 94.0}),
    ("Little's law does not hold: 50 users / 7370.2 req/s = 7 ms, but the mean latency is "
     "3 ms (harness or generator problem?)", analysis.LITTLES_LAW, False,
     {"users": 50.0, "throughput_rps": 7370.2, "implied_ms": 7.0, "mean_ms": 3.0}),
    ("open loop fell 38% short of 400 req/s (achieved 250.0): queueing hides in the "
     "shortfall", analysis.RATE_SHORTFALL, False, {}),
    ("chunk fidelity 0.90 < 1: something between mock and client buffers",
     analysis.CHUNK_FIDELITY, False, {"fidelity": 0.9}),
    ("repetitions disagree: throughput stdev 12% of the mean, range 30%",
     analysis.REPETITIONS, False, {"stdev_pct": 12.0, "range_pct": 30.0}),
    ("within 10% of the baseline-uvicorn ceiling (7441 req/s): generator- or stack-bound, "
     "a lower bound", analysis.CALIBRATION, False, {"margin_pct": 10.0, "ceiling_rps": 7441.0}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "code", "invalid", "figures"), V1_WARNINGS)
def test_version_1_warnings_become_objects(
    text: str, code: str, invalid: bool, figures: dict[str, float]
) -> None:
    found = migrations.warning_from_v1(text)
    assert found["code"] == code and found["invalid"] is invalid
    assert found["text"] == text.removeprefix("INVALID: ")
    assert found["figures"] == figures


def test_the_committed_version_1_reference_still_loads() -> None:
    raw = json.loads((REFERENCE / "results.json").read_text())
    assert raw["schema_version"] == 1
    run = store.load(REFERENCE)
    assert isinstance(run, Run) and run.schema_version == store.SCHEMA_VERSION
    assert len(run.points) == len(raw["points"])
    old = [w for p in raw["points"] for w in p["warnings"]]
    new = [w.display() for p in run.points for w in p.warnings]
    assert new == old  # the texts survive the migration exactly
    assert {w.code for p in run.points for w in p.warnings} <= {
        analysis.LITTLES_LAW, analysis.REPETITIONS, analysis.GENERATOR_CPU,
        analysis.CALIBRATION,
    }  # fmt: skip


def test_unknown_fields_survive_a_round_trip(tmp_path: Path) -> None:
    document = run_document([point_dict(future_figure=1.5)], future_section={"a": 1})
    run = Run.from_dict(document)
    assert run.to_dict()["future_section"] == {"a": 1}
    assert run.points[0].to_dict()["future_figure"] == 1.5


OUTAGE = REPO_ROOT / "tests" / "bench" / "fixtures" / "demo-all-quick" / "09-upstream-outage"
CANCEL = {"streams": 40, "missed": 1, "mean_ms": 12.5, "max_ms": 80.0, "p50_ms": 10.0,
          "p99_ms": 50.0, "drop_after": 3, "itl_ms": 20.0}  # fmt: skip
TREND = {"start": 80.0, "end": 81.0, "per_10k": 0.1, "late_per_10k": 0.0}
GROWTH = {"samples": 120, "rss_mb": TREND, "fds": TREND, "threads": TREND}


def _version_3(points: list[dict[str, Any]]) -> dict[str, Any]:
    document = copy.deepcopy(run_document(points))
    document["schema_version"] = 3
    return document


@pytest.mark.parametrize("faulted", [False, True], ids=["plain", "with-fault-records"])
def test_version_3_files_with_or_without_fault_records_load_as_the_current(
    tmp_path: Path, faulted: bool
) -> None:
    point = point_dict(cancel=CANCEL, growth=GROWTH) if faulted else point_dict()
    write_json_atomic(tmp_path / "results.json", _version_3([point]))
    run = store.load(tmp_path)
    assert run.schema_version == store.SCHEMA_VERSION
    loaded = run.points[0]
    assert (loaded.cancel is not None, loaded.growth is not None) == (faulted, faulted)
    assert loaded.pins == () and loaded.packages is None and not loaded.extra
    if faulted:
        assert loaded.to_dict()["cancel"] == CANCEL and loaded.to_dict()["growth"] == GROWTH
    # Saved again it is a valid file of the current version with the same content.
    store.save(tmp_path / "again.json", run)
    assert store.load(tmp_path / "again.json") == run


def test_the_fault_runs_of_version_3_keep_their_records_in_version_4() -> None:
    raw = json.loads((OUTAGE / "results.json").read_text())
    assert raw["schema_version"] == 3
    run = store.load(OUTAGE)
    assert run.schema_version == store.SCHEMA_VERSION
    old = [p.get("faults") for p in raw["points"]]
    assert any(old) and [p.faults.to_dict() if p.faults else None for p in run.points] == old


def test_a_variant_point_under_faults_keeps_both_in_a_round_trip(tmp_path: Path) -> None:
    faulted = json.loads((OUTAGE / "results.json").read_text())["points"][0]["faults"]
    point = point_dict(
        target="fastapi-uvicorn@pydantic==2.9.*",
        pins=["pydantic==2.9.*"],
        packages={"pydantic": "2.9.2", "pydantic-core": "2.23.4"},
        faults=faulted,
        cancel=CANCEL,
    )
    run = make_run([point])
    store.save(tmp_path / "results.json", run)
    again = store.load(tmp_path)
    assert again == run and again.points[0].pins == ("pydantic==2.9.*",)
    assert again.points[0].faults is not None and again.points[0].faults.to_dict() == faulted
