"""`bench history`: runs in order, intervals, significant changes, changed conditions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.cli import main as bench_main
from bench.reports import history_html
from bench.results import significance, store
from bench.results.files import write_json_atomic
from bench.results.history import CONDITIONS_DIFFER, Reading, Timeline
from tests.bench.factories import (
    capacity_dict,
    figure_dict,
    point_dict,
    run_document,
    windowed_point,
)

STEADY = [1.00, 1.02, 0.98, 1.01, 0.99]


def _run(
    tmp_path: Path,
    name: str,
    started: str,
    level: float,
    *,
    commit: str = "c0ffee0000",
    cpu_model: str = "AMD EPYC",
    extra: list[dict[str, Any]] | None = None,
    **sections: Any,
) -> str:
    points = [windowed_point([round(level * f) for f in STEADY]), *(extra or [])]
    document = run_document(points, name, **sections)
    document["run"].update(started_at=started, git_commit=commit)
    document["environment"]["cpu_model"] = cpu_model
    store.validate(document)
    write_json_atomic(tmp_path / name / store.RESULTS_NAME, document)
    return str(tmp_path / name)


def _history(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> dict[str, Any]:
    code = bench_main(["history", *argv, "--format", "json", "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, err
    parsed: dict[str, Any] = json.loads(out)
    return parsed


def _series(document: dict[str, Any], metric: str = "throughput") -> dict[str, Any]:
    return next(s for s in document["series"] if s["metric"] == metric)


def test_runs_line_up_by_time_and_changes_are_judged_like_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    third = _run(tmp_path, "c", "2026-11-03T00:00:00+00:00", 400, commit="cccccccccc")
    first = _run(tmp_path, "a", "2026-11-01T00:00:00+00:00", 500, commit="aaaaaaaaaa")
    second = _run(tmp_path, "b", "2026-11-02T00:00:00+00:00", 505, commit="bbbbbbbbbb")
    document = _history(capsys, tmp_path, third, first, second)
    assert [run["id"] for run in document["runs"]] == ["a", "b", "c"]
    assert not any(run["conditions_differ"] for run in document["runs"])
    figures = _series(document)["figures"]
    assert [f["value"] for f in figures] == [500, 505, 400]
    assert figures[0]["change"] is None  # nothing before it
    assert figures[1]["change"] == significance.NOT_SIGNIFICANT
    assert figures[2]["change"] == significance.REGRESSION and figures[2]["significant"]
    assert figures[2]["low"] < 400 < figures[2]["high"]  # the window's interval
    page = (tmp_path / "out" / "history.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "http" not in page and "<script" not in page
    assert "▼" in page and "<svg" in page
    assert json.loads((tmp_path / "out" / "history.json").read_text()) == document


def test_a_change_of_conditions_is_marked_and_never_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [
        _run(tmp_path, "a", "2026-11-01T00:00:00+00:00", 500),
        _run(tmp_path, "b", "2026-11-02T00:00:00+00:00", 300, cpu_model="Intel Xeon"),
        _run(tmp_path, "c", "2026-11-03T00:00:00+00:00", 310, cpu_model="Intel Xeon"),
    ]
    document = _history(capsys, tmp_path, *runs)
    assert [run["conditions_differ"] for run in document["runs"]] == [False, True, False]
    fields = [d["field"] for d in document["runs"][1]["differences"]]
    assert fields == ["environment.cpu_model"]
    figures = _series(document)["figures"]
    assert figures[1]["change"] == CONDITIONS_DIFFER and not figures[1]["significant"]
    assert figures[2]["change"] == significance.NOT_SIGNIFICANT
    # Declared as varying, the machine is joined like any other run.
    declared = _history(capsys, tmp_path, *runs, "--varying", "code,machine")
    assert _series(declared)["figures"][1]["change"] == significance.REGRESSION
    # The table names the runs and the condition that changed.
    assert bench_main(["history", *runs, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "≠ #2 b: environment.cpu_model" in out and "#1 11-01 00:00 c0ffee0" in out


def test_a_level_missing_from_a_run_is_compared_with_the_last_run_that_had_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = windowed_point([100] * 5, target="flask-gunicorn-gthread")
    runs = [
        _run(tmp_path, "a", "2026-11-01T00:00:00+00:00", 500, extra=[other]),
        _run(tmp_path, "b", "2026-11-02T00:00:00+00:00", 500),
        _run(tmp_path, "c", "2026-11-03T00:00:00+00:00", 500, extra=[
            windowed_point([70, 71, 69, 70, 70], target="flask-gunicorn-gthread")]),
    ]  # fmt: skip
    document = _history(capsys, tmp_path, *runs)
    flask = next(s for s in document["series"] if s["key"].startswith("flask"))
    assert [f["value"] for f in flask["figures"]] == [100, None, 70]
    assert flask["figures"][2]["change"] == significance.REGRESSION


def test_repetitions_give_a_t_interval_and_capacity_figures_follow_their_resolution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def capacity(rps: float) -> dict[str, Any]:
        return capacity_dict(saturation=figure_dict(rps, rps * 0.97, rps * 1.03))

    reps = [point_dict(throughput=t, repetition=i + 1) for i, t in enumerate((200, 204, 196))]
    first = _run(tmp_path, "a", "2026-11-01T00:00:00+00:00", 500, extra=[
        *reps], capacity=[capacity(1800.0)])  # fmt: skip
    second = _run(tmp_path, "b", "2026-11-02T00:00:00+00:00", 500, capacity=[capacity(2400.0)])
    document = _history(capsys, tmp_path, first, second)
    repeated = next(s for s in document["series"] if "complete / 50 users" in s["key"])
    figure = repeated["figures"][0]
    assert figure["n"] == 4 and figure["low"] < figure["value"] < figure["high"]
    saturation = next(s for s in document["series"] if s["metric"] == "saturation throughput")
    assert saturation["key"] == "fastapi-uvicorn / complete / short"
    # 1,800 (1,746 to 1,854) then 2,400 (2,328 to 2,472): the intervals do not overlap.
    assert saturation["figures"][1]["change"] == significance.IMPROVEMENT


def test_a_glob_finds_the_run_folders_and_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(tmp_path, "a", "2026-11-01T00:00:00+00:00", 500)
    _run(tmp_path, "b", "2026-11-02T00:00:00+00:00", 500)
    (tmp_path / "notes.md").write_text("not a run")
    (tmp_path / "empty").mkdir()
    document = _history(capsys, tmp_path, str(tmp_path / "*"))
    assert [run["id"] for run in document["runs"]] == ["a", "b"]
    # What a shell's results/* passes besides the runs is left out, and said so.
    everything = [str(p) for p in sorted(tmp_path.iterdir())]
    assert bench_main(["history", *everything, "--out", str(tmp_path / "out")]) == 0
    assert "left out, not run folders" in capsys.readouterr().out
    assert bench_main(["history", str(tmp_path / "nothing-*")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no run folder" in err
    assert bench_main(["history", str(tmp_path / "missing")]) == 2
    assert "no such results file" in capsys.readouterr().err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / store.RESULTS_NAME).write_text("{")
    assert bench_main(["history", str(tmp_path / "a"), str(tmp_path / "broken")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not valid JSON" in err


def test_a_chart_never_draws_a_latency_below_zero() -> None:
    # A small p99 with a wide interval (106 ± 116 ms) reaches below zero on paper only.
    wide = Reading(106.0, -10.0, 222.0, 1)
    series = Timeline("drf / hello / 50 users", "hello", "latency p99", "ms", False, [wide, None])
    axis = history_html._axis(series)
    assert axis.lo == 0.0 and min(axis.ticks) == 0.0
    assert history_html._floor(wide) == 0.0
    # A figure that can be negative keeps its interval.
    assert history_html._floor(Reading(-5.0, -9.0, -1.0, 1)) == -9.0
