"""The results file: schema, atomic writes, loading errors, migrations."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bench import results


def _point(**overrides: Any) -> dict[str, Any]:
    point: dict[str, Any] = {
        "target": "fastapi-uvicorn", "framework": "fastapi", "worker_class": "asyncio",
        "workers": 1, "threads": 1, "tag": "realistic", "scenario": "complete",
        "load": {"mode": "users", "users": 50}, "repetition": 1, "window_s": 5.0,
        "requests": 1000, "errors": {}, "throughput_rps": 200.0,
        "latency_ms": {"p50": 250.0, "p90": 251.0, "p99": 260.0, "p999": 270.0, "max": 280.0,
                       "mean": 250.5},
        "server": {"model": "uvicorn", "cpu_pct": 40.0, "rss_mb": 80.0},
        "generator": {"cpu_pct": 20.0, "processes": 1}, "upstream_calls": 1000,
        "ceiling_rps": 200.0, "efficiency": 1.0, "valid": True, "warnings": [], "status": "ok",
    }  # fmt: skip
    point.update(overrides)
    return point


def document(points: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "schema_version": results.SCHEMA_VERSION,
        "run": {"id": "r1", "started_at": "2026-11-26T00:00:00+00:00", "finished_at": None,
                "command": "bench run", "preset": None, "git_commit": None},
        "environment": {"host": "h", "os": "Linux", "cpu_model": "cpu", "cores": 2,
                        "server_cpus": [0], "load_cpus": [1], "python": "3.11.7",
                        "packages": {"fastapi": "1"}},
        "mock": {"ttft_ms": 200.0, "itl_ms": 20.0, "output_tokens": 10},
        "points": points if points is not None else [_point()],
    }  # fmt: skip


def test_round_trip_through_an_atomic_write(tmp_path: Path) -> None:
    doc = document()
    results.write_atomic(tmp_path / "results.json", doc)
    assert results.load(tmp_path) == doc
    assert results.load(tmp_path / "results.json") == doc
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp files left


def test_write_refuses_nan_and_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    results.write_atomic(path, document())
    broken = document([_point(throughput_rps=float("nan"))])
    with pytest.raises(ValueError):
        results.write_atomic(path, broken)
    assert results.load(path) == document()
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such results file"),
        ('{"schema_version": 1, "run": ', "not valid JSON"),
        ("[1, 2]", "not a results file"),
        ('{"schema_version": 99}', "schema version 99 is unknown"),
        ('{"schema_version": 1, "run": {}}', "do not match schema"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path: Path, content: str | None, needle: str) -> None:
    if content is not None:
        (tmp_path / "results.json").write_text(content)
    with pytest.raises(results.ResultsError) as info:
        results.load(tmp_path)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_a_point_missing_a_field_is_rejected(tmp_path: Path) -> None:
    point = _point()
    del point["throughput_rps"]
    (tmp_path / "results.json").write_text(json.dumps(document([point])))
    with pytest.raises(results.ResultsError, match="throughput_rps"):
        results.load(tmp_path)


def test_migrations_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    old = copy.deepcopy(document())
    old["schema_version"] = 1
    old["points"][0]["renamed"] = old["points"][0].pop("tag")

    def one_to_two(doc: dict[str, Any]) -> dict[str, Any]:
        for point in doc["points"]:
            point["tag"] = point.pop("renamed")
        return doc

    monkeypatch.setattr(results, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(results._MIGRATIONS, 1, one_to_two)
    migrated = results.migrate(old)
    assert migrated["schema_version"] == 2
    assert migrated["points"][0]["tag"] == "realistic"


def test_point_key() -> None:
    assert results.point_key(_point()) == ("fastapi-uvicorn", "complete", "users", 50.0, 1)
