"""`bench show --format json|csv`: a run's points as rows, with their intervals."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from bench.cli import main as bench_main
from bench.reports import export
from bench.reports.summary import print_summary
from bench.results import store
from bench.results.files import write_json_atomic
from tests.bench.factories import make_run, point_dict, run_document, warning, windowed_point
from tests.support import REPO_ROOT


@pytest.fixture
def run_dir(tmp_path: Path) -> str:
    points = [
        windowed_point([100, 104, 96, 102, 98], target="fastapi-uvicorn"),
        windowed_point([50, 52, 48, 51, 49], target="drf-gunicorn-gthread@django==5.1.*",
                       pins=["django==5.1.*"], packages={"django": "5.1.14"}),
        point_dict(throughput=30.0, target="flask-gunicorn-gthread"),  # no per-second series
    ]  # fmt: skip
    document = run_document(points, "r1")
    store.validate(document)
    write_json_atomic(tmp_path / "r1" / store.RESULTS_NAME, document)
    return str(tmp_path / "r1")


def test_csv_has_one_row_per_point_with_intervals(
    run_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_main(["show", run_dir, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 3 and list(rows[0]) == export.columns()
    first, variant, old = rows
    assert first["run_id"] == "r1" and float(first["throughput_rps"]) == 100.0
    assert float(first["throughput_rps_low"]) < 100 < float(first["throughput_rps_high"])
    assert variant["base_target"] == "drf-gunicorn-gthread" and variant["pins"] == "django==5.1.*"
    assert variant["packages"] == "django=5.1.14"
    assert old["throughput_rps_low"] == "" and old["throughput_rps"] == "30.0"


def test_json_holds_the_run_and_the_same_rows(
    run_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_main(["show", run_dir, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["run"]["id"] == "r1" and document["schema_version"] == store.SCHEMA_VERSION
    assert document["columns"] == export.columns() and len(document["points"]) == 3
    point = document["points"][0]
    assert point["throughput_rps_low"] < 100 < point["throughput_rps_high"]
    assert point["interval_method"].startswith("batch-means")
    assert "window" in document["conditions"]


def test_the_table_shows_the_interval_of_a_point_measured_once(
    run_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_main(["show", run_dir]) == 0
    out = capsys.readouterr().out
    assert "100.0 ±" in out and "95 % interval" in out


def test_a_missing_run_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_main(["show", str(tmp_path / "nope"), "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such results file" in err


def test_a_capacity_run_shows_its_capacity_table(capsys: pytest.CaptureFixture[str]) -> None:
    # The committed capacity reference: no points of its own, every one in its searches.
    reference = REPO_ROOT / "results" / "capacity-reference" / "run-1"
    assert bench_main(["show", str(reference)]) == 0
    out = capsys.readouterr().out
    assert "capacity (ranked by saturation per server core" in out and "fastapi-uvicorn" in out


CALIBRATION = (
    "within 10% of the framework-less baseline-uvicorn at the same load: generator- or "
    "stack-bound, a lower bound"
)


@pytest.mark.parametrize("width", [100, 160])
def test_the_terminal_table_wraps_warnings_instead_of_cutting_them(width: int) -> None:
    generator = "load generator at 94 % CPU: the generator may be the bottleneck (a lower bound)"
    little = (
        "Little's law does not hold: 20 users / 7370.0 req/s = 3 ms, but the mean latency "
        "is 2 ms (harness or generator problem?)"
    )
    notes = [warning(text) for text in (little, generator, CALIBRATION)]
    run = make_run([point_dict(scenario="hello", throughput=7370.0, warnings=notes)])
    console = Console(width=width, record=True)
    print_summary(run, console)
    out = console.export_text()
    assert "…" not in out
    # The warnings are the last column: its lines, read in order, hold every character.
    column = "".join(line.split("│")[-2] for line in out.splitlines() if line.startswith("│"))
    said = f"{little}; {generator}; {CALIBRATION}"
    assert said.replace(" ", "") in column.replace(" ", "")
