"""`bench compare`: decisions, sections, formats, exit codes, on small fixture runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.cli import main as bench_main
from bench.reports import compare
from bench.results import conditions as cond
from bench.results import significance, store
from bench.results.files import write_json_atomic
from bench.results.model import Run
from tests.bench.factories import capacity_dict, figure_dict, point_dict, run_document, warning
from tests.support import REPO_ROOT

LOW = (-1.0, -0.5, 0.0, 0.5, 1.0)  # offsets of five repetitions around a mean


def point(
    throughput: float,
    *,
    valid: bool = True,
    status: str = "ok",
    warnings: list[str] | None = None,
    **key: Any,
) -> dict[str, Any]:
    """One point whose latency follows Little's law from its throughput."""
    data = point_dict(
        throughput=throughput,
        valid=valid,
        status=status,
        warnings=[
            warning(text.removeprefix("INVALID: "), invalid=text.startswith("INVALID: "))
            for text in warnings or []
        ],
        ceiling_rps=None,
        **key,
    )
    if data["scenario"] == "stream" and data["latency_ms"] is not None:
        data["ttft_ms"] = {key: value * 0.5 for key, value in data["latency_ms"].items()}
    return data


def repeated(mean: float, spread: float, n: int = 5, **key: Any) -> list[dict[str, Any]]:
    """n repetitions of a point, spread evenly `spread` (a fraction) around `mean`."""
    offsets = LOW if n == 5 else tuple(i - (n - 1) / 2 for i in range(n))
    return [
        point(mean * (1 + spread * offset), repetition=i + 1, **key)
        for i, offset in enumerate(offsets)
    ]


def document(
    points: list[dict[str, Any]],
    run_id: str = "ref",
    *,
    cpu_model: str = "AMD EPYC",
    fastapi: str = "0.115.0",
    ttft_ms: float = 200.0,
    duration_s: float = 5.0,
) -> dict[str, Any]:
    """A results document valid against the schema."""
    doc = run_document(
        points,
        run_id,
        environment={"host": "h", "os": "Linux", "cpu_model": cpu_model, "cores": 2,
                     "server_cpus": [0], "load_cpus": [1], "python": "3.11.7",
                     "packages": {"fastapi": fastapi, "uvicorn": "0.30.0"}},
        mock={"ttft_ms": ttft_ms, "itl_ms": 20.0, "output_tokens": 10},
        plan={"duration_s": duration_s, "warmup_s": 2.0, "repeat": 5},
    )  # fmt: skip
    store.validate(doc)
    return doc


def save(tmp_path: Path, name: str, doc: dict[str, Any]) -> str:
    """Write a run folder; return its path."""
    write_json_atomic(tmp_path / name / store.RESULTS_NAME, doc)
    return str(tmp_path / name)


def run_compare(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = bench_main(["compare", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, _ = run_compare(capsys, *argv, "--format", "json")
    assert code == 0
    parsed: dict[str, Any] = json.loads(out)
    return parsed


def rows(report: dict[str, Any], metric: str = "throughput_rps") -> list[dict[str, Any]]:
    return [r for r in report["comparisons"][0]["points"] if r["metric"] == metric]


Pair = Callable[..., tuple[str, str]]


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    """Save a reference and a changed run; return their folders."""

    def make(
        ref_points: list[dict[str, Any]], new_points: list[dict[str, Any]], **env: Any
    ) -> tuple[str, str]:
        ref = save(tmp_path, "ref", document(ref_points))
        new = save(tmp_path, "new", document(new_points, "new", **env))
        return ref, new

    return make


def test_identical_runs_have_nothing_significant(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    points = repeated(200.0, 0.01) + repeated(100.0, 0.01, users=10, scenario="stream")
    ref, new = pair(points, points)
    report = as_json(capsys, ref, new)
    decisions = {r["decision"] for r in report["comparisons"][0]["points"]}
    assert decisions == {significance.CANNOT}  # identical samples: nothing to test
    assert not any(r["significant"] for r in report["comparisons"][0]["points"])
    assert report["warnings"] == [] and report["environment_warning"] is None
    assert report["significant_regression"] is False
    code, out, _ = run_compare(capsys, ref, new, "--fail-on-regression")
    assert code == 0
    assert "Significant regressions: none" in out and "WARNING" not in out


def test_a_30_percent_slowdown_with_low_variance_is_a_regression(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    ref, new = pair(repeated(200.0, 0.01), repeated(140.0, 0.01))
    report = as_json(capsys, ref, new)
    throughput = rows(report)[0]
    assert throughput["decision"] == significance.REGRESSION and throughput["significant"]
    assert throughput["test"] == "welch" and throughput["p_value"] < 0.001
    assert throughput["ratio"] == pytest.approx(0.7)
    assert throughput["words"] == "1.43x slower"
    low, high = throughput["relative_change_ci"]
    assert low < -0.3 < high < 0
    assert rows(report, "latency_p99_ms")[0]["decision"] == significance.REGRESSION  # latency up
    assert report["significant_regression"] is True
    code, out, _ = run_compare(capsys, ref, new, "--fail-on-regression")
    assert code == 1
    assert "Significant regressions" in out and "1.43x slower" in out
    assert run_compare(capsys, ref, new)[0] == 0  # without the flag: report only
    # The other way round it is an improvement, and no reason to fail.
    report = as_json(capsys, new, ref)
    assert rows(report)[0]["decision"] == significance.IMPROVEMENT
    assert rows(report)[0]["words"] == "1.43x faster"
    assert run_compare(capsys, new, ref, "--fail-on-regression")[0] == 0


def test_a_noisy_difference_is_not_significant(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    noisy = repeated(200.0, 0.3)
    shuffled = [noisy[i]["throughput_rps"] * 0.9 for i in (3, 0, 4, 1, 2)]
    ref, new = pair(noisy, [point(t, repetition=i + 1) for i, t in enumerate(shuffled)])
    report = as_json(capsys, ref, new, "--fail-on-regression")
    throughput = rows(report)[0]
    assert throughput["decision"] == significance.NOT_SIGNIFICANT
    assert throughput["p_value"] > 0.05 and throughput["reason"].startswith("p=")
    assert throughput["words"] == "1.11x slower"  # the ratio is still reported


def test_a_3_percent_change_is_below_the_minimum_effect(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    ref, new = pair(repeated(200.0, 0.002), repeated(206.0, 0.002))
    throughput = rows(as_json(capsys, ref, new))[0]
    assert throughput["p_value"] < 0.05  # the test alone would call it real
    assert throughput["decision"] == significance.NOT_SIGNIFICANT
    assert "--min-effect 5%" in throughput["reason"]
    # A smaller minimum effect lets the same data through.
    throughput = rows(as_json(capsys, ref, new, "--min-effect", "0.01"))[0]
    assert throughput["decision"] == significance.IMPROVEMENT


def test_one_repetition_each_cannot_be_computed(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    ref, new = pair([point(200.0)], [point(100.0)])
    report = as_json(capsys, ref, new)
    for row in report["comparisons"][0]["points"]:
        assert row["decision"] == significance.CANNOT and not row["significant"]
        assert row["reason"] == "cannot tell (n=1)" and row["p_value"] is None
    assert rows(report)[0]["words"] == "2.00x slower"
    code, out, _ = run_compare(capsys, ref, new, "--fail-on-regression")
    assert code == 0
    assert "Cannot compute" in out and "cannot tell (n=1)" in out


def test_failed_repetitions_leave_the_sample_and_are_listed(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = [point(0.0, repetition=r, valid=False, status="failed") for r in (2, 3)]
    ref, new = pair(repeated(200.0, 0.01, n=3), [point(100.0), *failed])
    report = as_json(capsys, ref, new, "--fail-on-regression")
    throughput = rows(report)[0]
    assert throughput["decision"] == significance.CANNOT
    assert throughput["reason"] == "cannot tell (n=3/1)"
    assert "2 failed repetition(s) in changed" in throughput["flags"]
    became = report["comparisons"][0]["became_invalid"]
    assert became[0]["warnings"][0] == "2 repetition(s) failed"


def test_mann_whitney_is_used_for_skewed_samples_and_needs_enough_repetitions(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    skewed = [100.0, 100.5, 101.0, 100.2, 130.0]
    ref, new = pair(
        [point(t, repetition=i + 1) for i, t in enumerate(skewed)],
        [point(t * 0.7, repetition=i + 1) for i, t in enumerate(skewed[::-1])],
    )
    throughput = rows(as_json(capsys, ref, new))[0]
    assert throughput["test"] == "mannwhitney"
    assert throughput["p_value"] == pytest.approx(2 / 252)
    assert throughput["decision"] == significance.REGRESSION
    assert rows(as_json(capsys, ref, new, "--test", "welch"))[0]["test"] == "welch"


def test_mann_whitney_with_three_repetitions_cannot_tell(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    ref, new = pair(repeated(200.0, 0.01, n=3), repeated(100.0, 0.01, n=3))
    throughput = rows(as_json(capsys, ref, new, "--test", "mannwhitney"))[0]
    assert throughput["decision"] == significance.CANNOT
    assert "Mann-Whitney cannot reach p < 0.05 with n=3/3" in throughput["reason"]
    # auto keeps Welch here, which can tell.
    assert rows(as_json(capsys, ref, new))[0]["decision"] == significance.REGRESSION


@pytest.mark.parametrize("fmt", compare.FORMATS)
def test_different_environments_are_warned_in_every_format(
    pair: Pair, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    ref, new = pair(
        repeated(200.0, 0.01),
        repeated(200.0, 0.02),
        cpu_model="Intel Xeon",
        fastapi="0.116.0",
        ttft_ms=100.0,
        duration_s=10.0,
    )
    code, out, _ = run_compare(capsys, ref, new, "--format", fmt)
    assert code == 0
    assert "WARNING" in out
    for needle in (
        "environment.cpu_model",
        "Intel Xeon",
        "package fastapi",  # packages by name and version
        "0.116.0",
        "mock.ttft_ms",
        "plan.duration_s",
    ):
        assert needle in out, needle
    if fmt == "json":
        report = json.loads(out)
        fields = {d["field"] for d in report["comparisons"][0]["environment_differences"]}
        assert fields == {
            "environment.cpu_model",
            "environment.packages.fastapi",
            "mock.ttft_ms",
            "plan.duration_s",
        }
    else:
        assert out.index("WARNING") < out.index("Significant regressions")


def test_unmatched_points_are_listed_on_both_sides(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    ref, new = pair(
        [point(200.0), point(300.0, users=100)],
        [point(200.0), point(150.0, target="flask-gunicorn-gthread")],
    )
    report = as_json(capsys, ref, new)["comparisons"][0]
    assert report["only_in_reference"] == [
        {
            "target": "fastapi-uvicorn",
            "scenario": "complete",
            "load": {"mode": "users", "users": 100},
        }
    ]
    assert report["only_in_changed"][0]["target"] == "flask-gunicorn-gthread"
    _, out, _ = run_compare(capsys, ref, new, "--format", "markdown")
    section = out[out.index("### Unmatched points") :]
    assert "| fastapi-uvicorn / complete / 100 users | reference |" in section
    assert "| flask-gunicorn-gthread / complete / 50 users | changed |" in section


def test_geometric_mean_per_scenario_over_valid_points(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = ["INVALID: 5.0% of requests failed (limit 1%)"]
    ref, new = pair(
        [point(200.0), point(100.0, users=100), point(1000.0, scenario="hello"),
         point(100.0, users=200)],
        [point(100.0), point(200.0, users=100), point(800.0, scenario="hello"),
         point(10.0, users=200, valid=False, warnings=bad)],
    )  # fmt: skip
    report = as_json(capsys, ref, new)["comparisons"][0]
    means = report["throughput_geometric_mean"]
    assert means["complete"] == {"ratio": pytest.approx(1.0), "points": 2}  # 0.5 and 2.0
    assert means["hello"] == {"ratio": pytest.approx(0.8), "points": 1}
    # The invalid point is still compared, marked, and listed as newly invalid.
    invalid = [r for r in report["points"] if r["load"]["users"] == 200]
    assert invalid and all("INVALID in changed" in r["flags"] for r in invalid)
    assert report["became_invalid"][0]["load"] == {"mode": "users", "users": 200}
    assert report["became_invalid"][0]["warnings"] == bad
    _, out, _ = run_compare(capsys, ref, new)
    assert "1.25x slower" in out  # hello's geometric mean in words
    assert "Points that became invalid" in out and "5.0% of requests failed" in out


def test_streams_compare_ttft_and_json_carries_every_decision(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    stream: dict[str, Any] = {"scenario": "stream", "users": 10}
    ref, new = pair(
        repeated(200.0, 0.01) + repeated(100.0, 0.01, **stream),
        repeated(200.0, 0.01) + repeated(50.0, 0.01, **stream),
    )
    report = as_json(capsys, ref, new)
    metrics = {(r["scenario"], r["metric"]) for r in report["comparisons"][0]["points"]}
    assert ("stream", "ttft_p50_ms") in metrics and ("complete", "ttft_p50_ms") not in metrics
    for row in report["comparisons"][0]["points"]:
        for key in ("decision", "p_value", "ratio", "test", "reason", "relative_change_ci"):
            assert key in row
    ttft = rows(report, "ttft_p50_ms")[0]
    assert ttft["decision"] == significance.REGRESSION and ttft["words"] == "2.00x slower"
    assert report["settings"] == {
        "test": "auto",
        "alpha": 0.05,
        "min_effect": 0.05,
        "varying": ["code"],
        "rule": report["settings"]["rule"],
    }


def test_each_later_run_is_compared_with_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = save(tmp_path, "ref", document(repeated(200.0, 0.01)))
    same = save(tmp_path, "same", document(repeated(200.0, 0.02), "same"))
    slow = save(tmp_path, "slow", document(repeated(100.0, 0.01), "slow"))
    report = as_json(capsys, ref, same, slow)
    assert [c["changed"].split()[0] for c in report["comparisons"]] == ["same", "slow"]
    assert [c["counts"][significance.REGRESSION] for c in report["comparisons"]] == [0, 3]
    assert run_compare(capsys, ref, same, slow, "--fail-on-regression")[0] == 1


def test_html_is_self_contained(pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    ref, new = pair(repeated(200.0, 0.01), repeated(140.0, 0.01), cpu_model="<b>x</b>")
    _, out, _ = run_compare(capsys, ref, new, "--format", "html")
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert "http" not in out and "src=" not in out and "<link" not in out
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<b>x</b>" not in out  # escaped
    assert 'class="warning"' in out


def _corrupt(tmp_path: Path, case: str) -> str:
    path = tmp_path / case / store.RESULTS_NAME
    path.parent.mkdir()
    text = json.dumps(document([point(200.0)]))
    if case == "truncated":
        path.write_text(text[: len(text) // 2])
    elif case == "garbage":
        path.write_bytes(b"\x00\xff not json")
    elif case == "unknown-version":
        path.write_text(
            text.replace(f'"schema_version": {store.SCHEMA_VERSION}', '"schema_version": 99')
        )
    elif case == "no-points":
        path.write_text(json.dumps(document([])))
    elif case == "missing":
        path.parent.rmdir()
    return str(path.parent)


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("missing", "no such results file"),
        ("truncated", "not valid JSON"),
        ("garbage", "not UTF-8 text"),
        ("unknown-version", "schema version 99 is unknown"),
        ("no-points", "the run has no points"),
    ],
)
@pytest.mark.parametrize("side", ["reference", "changed"])
def test_bad_inputs_give_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, needle: str, side: str
) -> None:
    good = save(tmp_path, "good", document([point(200.0)]))
    bad = _corrupt(tmp_path, case)
    argv = [bad, good] if side == "reference" else [good, bad]
    code, out, err = run_compare(capsys, *argv, "--fail-on-regression")
    assert code == 2 and out == ""
    assert err.startswith("bench compare: ") and needle in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [[], ["a", "b", "--alpha", "2"], ["a", "b", "--format", "pdf"], ["a", "--varying", "x"]],
)
def test_bad_arguments_give_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        bench_main(["compare", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bench compare" in err


@pytest.mark.process
def test_module_entry_point(tmp_path: Path) -> None:
    ref = save(tmp_path, "ref", document(repeated(200.0, 0.01)))
    new = save(tmp_path, "new", document(repeated(140.0, 0.01), "new"))
    command = [sys.executable, "-m", "bench.cli", "compare"]
    done = subprocess.run(
        [*command, ref, new, "--fail-on-regression"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "1.43x slower" in done.stdout
    done = subprocess.run(
        [*command, ref], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1


def test_the_parser_reads_every_option() -> None:
    from bench.cli import build_parser

    args = build_parser().parse_args(
        ["compare", "a", "b", "c", "--test", "welch", "--format", "json"]
    )
    assert args.command == "compare" and args.reference == "a" and args.changed == ["b", "c"]
    assert args.test == "welch" and args.alpha == 0.05 and args.min_effect == 0.05


def test_capacities_compare_beyond_their_intervals_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = capacity_dict(
        saturation=figure_dict(1800.0, 1750.0, 1850.0, "server-cpu"),
        goodput=figure_dict(700.0, 700.0, 735.0, "server-latency"),
        in_flight=figure_dict(160.0, 160.0, 168.0, "server-cpu"),
    )
    after = capacity_dict(
        saturation=figure_dict(1900.0, 1820.0, 1980.0, "server-cpu"),
        goodput=figure_dict(600.0, 600.0, 630.0, "server-latency"),
        in_flight=figure_dict(400.0, 400.0, 420.0, "target-concurrency"),
    )
    ref = save(tmp_path, "ref", {**document([]), "capacity": [before]})
    new = {**document([], "new"), "capacity": [after]}
    report = as_json(capsys, ref, save(tmp_path, "new", new))
    rows = {row["figure"]: row for row in report["comparisons"][0]["capacity"]}
    assert rows["saturation throughput"]["verdict"].startswith("the same (1.06x; within")
    assert rows["goodput rate"]["verdict"].startswith("lower (0.86x; the intervals")
    assert rows["max in flight"]["verdict"].startswith("higher (2.50x; the intervals")
    assert rows["max in flight"]["limits"] == "server-cpu -> target-concurrency"
    code, out, _ = run_compare(capsys, ref, str(tmp_path / "new"), "--format", "markdown")
    assert code == 0 and "### Capacity" in out and "2.50x" in out


def _timed(start: float, end: float | None) -> Run:
    document = run_document([point_dict()])
    document["environment"]["core_speed"] = {"start": start, "end": end}
    return Run.from_dict(document)


def test_cores_that_ran_at_different_speeds_are_a_difference() -> None:
    # One quiet core's readings range over about a fifth: 18 % apart is its own noise.
    assert cond.differences(_timed(100.0, 98.0), _timed(96.0, 80.0)) == []
    # The slower end of each run bounds its figures: 98 against 60 is 39 % slower.
    [found] = cond.differences(_timed(100.0, 98.0), _timed(96.0, 60.0))
    assert found.category == cond.MACHINE and (found.reference, found.changed) == (98.0, 60.0)
    assert found.text().startswith("the server's cores ran 39% slower in the changed run")
    assert found.change() == "server core speed 98 \N{RIGHTWARDS ARROW} 60"
    # A run without the figure (older files, a deployment) compares nothing.
    assert cond.differences(_timed(100.0, None), Run.from_dict(run_document([point_dict()]))) == []


def test_a_run_says_its_cores_speed_and_whether_it_moved() -> None:
    assert "server core speed 100 at the start, 98 at the end" in _timed(100.0, 98.0).where()
    slowed = _timed(100.0, 70.0).where()
    assert "30% slower at the end: figures bound by the server's CPU moved" in slowed
    assert "core speed" not in Run.from_dict(run_document([point_dict()])).where()
