"""The field table: a record's file form and schema come from its dataclass, on fixtures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import jsonschema
import pytest

from bench.results import migrations
from bench.results.fields import from_json, json_key, json_schema, schema_of, to_json, unknown
from bench.results.fields import written as figure


@dataclass(frozen=True)
class Inner:
    low: float
    high: float | None = None


@dataclass(frozen=True)
class Outer:
    name: str
    count: int = field(metadata=json_schema(minimum=1))
    kind: Literal["a", "b"]
    info: Inner = field(metadata=json_key("details"))
    maybe: Inner | None = None
    tags: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    pair: tuple[float, float] | None = None
    measured: float = figure(0.0, minimum=0)
    extra: Mapping[str, Any] = unknown()

    DERIVED: ClassVar[tuple[str, ...]] = ("big",)

    @property
    def big(self) -> bool:
        return self.count > 10


def test_a_record_round_trips_through_its_file_form() -> None:
    record = Outer("x", 12, "a", Inner(1, 2.5), None, ("t",), {"503": 2}, (1.0, 2.0), 3.0)
    data = to_json(record)
    assert data["details"] == {"low": 1, "high": 2.5} and "info" not in data
    assert data["tags"] == ["t"] and data["pair"] == [1.0, 2.0] and data["maybe"] is None
    assert data["big"] is True  # derived: written for readers
    assert from_json(Outer, data) == record
    jsonschema.validate(data, schema_of(Outer))


def test_reading_converts_numbers_fills_defaults_and_keeps_unknown_keys() -> None:
    data = {"name": "x", "count": 2, "kind": "b", "details": {"low": 1}, "big": False,
            "future": [1, 2]}  # fmt: skip
    record = from_json(Outer, data)
    assert isinstance(record.info.low, float) and record.tags == () and record.measured == 0.0
    assert record.extra == {"future": [1, 2]}  # kept, and written back
    assert to_json(record)["future"] == [1, 2]
    assert "big" not in record.extra  # a derived value is never read back


def test_the_schema_requires_what_every_file_has() -> None:
    schema = schema_of(Outer)
    assert set(schema["required"]) == {"name", "count", "kind", "details", "measured", "big"}
    properties = schema["properties"]
    assert properties["count"] == {"type": "integer", "minimum": 1}
    assert properties["kind"] == {"enum": ["a", "b"]}
    assert properties["maybe"]["anyOf"][1] == {"type": "null"}
    assert properties["counts"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "count": 0, "kind": "a", "details": {"low": 1},
                             "measured": 0, "big": False}, schema)  # fmt: skip


def test_a_record_without_a_needed_field_is_refused() -> None:
    with pytest.raises(KeyError, match="missing details"):
        from_json(Outer, {"name": "x", "count": 2, "kind": "a"})
    with pytest.raises(TypeError, match="expected an object"):
        from_json(Outer, [])  # type: ignore[arg-type]


def test_version_4_points_move_their_nested_figures_to_the_top() -> None:
    point = {
        "server": {"model": "uvicorn", "cpu_pct": 40.0, "rss_mb": 80.0, "cores_busy_pct": 50.0},
        "generator": {"cpu_pct": 20.0, "processes": 2, "hosts": 1},
        "in_flight": {"mean": 9.5, "peak": 12},
        "load": {"mode": "users", "users": 10, "locust_users": 10},
    }
    document: dict[str, Any] = {
        "points": [point],
        "capacity": [{"points": [], "latency": {"answer_ms": 100}}],
    }
    migrations.v4_to_v5(document)
    assert point == {
        "server": {"cpu_pct": 40.0, "rss_mb": 80.0},
        "server_model": "uvicorn",
        "server_cores_busy_pct": 50.0,
        "generator": {"cpu_pct": 20.0},
        "generator_processes": 2,
        "generator_hosts": 1,
        "in_flight_mean": 9.5,
        "in_flight_peak": 12,
        "load": {"mode": "users", "users": 10},
        "locust_users": 10,
    }
    assert document["capacity"][0]["latency"] == {"answer_ms": 100, "name": "?", "p99_ms": 100}
