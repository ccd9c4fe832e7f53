"""`bench compare` on runs measured once, and with a declared variable (--varying)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.cli import main as bench_main
from bench.results import significance, store
from bench.results.files import write_json_atomic
from tests.bench.factories import point_dict, run_document, windowed_point

STEADY = [1.00, 1.02, 0.98, 1.01, 0.99]  # a steady window, second by second
NOISY = [1.00, 1.30, 0.70, 1.25, 0.75]


def window(level: float, shape: list[float] = STEADY, **key: Any) -> dict[str, Any]:
    """A complete point measured once at `level` req/s, its seconds shaped by `shape`."""
    return windowed_point([round(level * f) for f in shape], **key)


def save(tmp_path: Path, name: str, points: list[dict[str, Any]], **sections: Any) -> str:
    document = run_document(points, name, **sections)
    store.validate(document)
    write_json_atomic(tmp_path / name / store.RESULTS_NAME, document)
    return str(tmp_path / name)


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = bench_main(["compare", *argv, "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0, out
    parsed: dict[str, Any] = json.loads(out)
    return parsed


def row(document: dict[str, Any], metric: str = "throughput_rps") -> dict[str, Any]:
    rows = [r for r in document["comparisons"][0]["points"] if r["metric"] == metric]
    assert len(rows) == 1
    return rows[0]


def test_a_20_percent_drop_in_one_window_each_is_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = save(tmp_path, "ref", [window(500)])
    new = save(tmp_path, "new", [window(400, STEADY[::-1])])
    throughput = row(report(capsys, ref, new))
    assert throughput["method"] == "window" and throughput["test"] == "batch-means"
    assert throughput["decision"] == significance.REGRESSION and throughput["p_value"] < 0.001
    interval = throughput["reference"]["interval"]
    assert interval["low"] < 500 < interval["high"] and interval["df"] == 4
    assert interval["batch_s"] == 1
    low, high = throughput["relative_change_ci"]
    assert low < -0.2 < high < -0.05
    # Latency follows Little's law here: it rose by a quarter.
    assert row(report(capsys, ref, new), "latency_p50_ms")["decision"] == significance.REGRESSION
    bench_main(["compare", ref, new])
    out = capsys.readouterr().out
    assert "95 % CI" in out and "batch means of each window's seconds" in out


def test_the_same_window_twice_or_a_noisy_change_is_not_significant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = save(tmp_path, "ref", [window(500, NOISY)])
    same = save(tmp_path, "same", [window(505, NOISY[::-1])])
    noisy = save(tmp_path, "noisy", [window(450, NOISY[1:] + NOISY[:1])])
    assert row(report(capsys, ref, same))["decision"] == significance.NOT_SIGNIFICANT
    changed = row(report(capsys, ref, noisy))
    assert changed["decision"] == significance.NOT_SIGNIFICANT and changed["p_value"] > 0.05
    assert changed["words"] == "1.11x slower"


def test_a_small_change_within_tight_windows_stays_below_the_minimum_effect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = save(tmp_path, "ref", [window(5000, [1.0, 1.001, 0.999, 1.0, 1.0])])
    new = save(tmp_path, "new", [window(4850, [1.0, 1.001, 0.999, 1.0, 1.0])])
    throughput = row(report(capsys, ref, new))
    assert throughput["p_value"] < 0.05 and throughput["decision"] == significance.NOT_SIGNIFICANT
    assert "within --min-effect" in throughput["reason"]


def test_figures_without_a_per_second_series_cannot_be_computed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = save(tmp_path, "ref", [window(500, cpu_us_per_request=800.0)])
    new = save(tmp_path, "new", [window(400, cpu_us_per_request=900.0)])
    cpu = row(report(capsys, ref, new), "cpu_us_per_request")
    assert cpu["decision"] == significance.CANNOT and not cpu["significant"]
    assert cpu["reason"] == "cannot tell (n=1, no per-second series of it)"
    old = save(tmp_path, "old", [point_dict(throughput=400.0)])  # before per-second series
    assert row(report(capsys, ref, old))["reason"] == (
        "cannot tell (n=1, changed: no per-second series)"
    )


def test_the_same_value_with_no_variance_in_either_window_is_no_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steady = windowed_point([100] * 5, [201.6] * 5)
    ref, new = save(tmp_path, "ref", [steady]), save(tmp_path, "new", [steady])
    p50 = row(report(capsys, ref, new), "latency_p50_ms")
    assert p50["decision"] == significance.NOT_SIGNIFICANT and not p50["significant"]
    assert p50["reason"] == "identical, with no variance" and p50["words"] == "no change"


def cpu_window(level: float, us_per_request: float, shape: list[float] = STEADY) -> dict[str, Any]:
    """A point measured once whose server spent `us_per_request` of CPU on each request."""
    requests = [round(level * f) for f in shape]
    # Each second's CPU follows its requests, with a little noise of its own.
    cpu = [
        r * us_per_request / 1e6 * 100 * (1 + (i % 2 - 0.5) / 50) for i, r in enumerate(requests)
    ]
    return windowed_point(requests, cpu_pct=cpu)


def test_cpu_per_request_of_one_window_each_is_judged_from_its_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = save(tmp_path, "ref", [cpu_window(500, 800.0)])
    same = save(tmp_path, "same", [cpu_window(500, 810.0, STEADY[::-1])])
    doubled = save(tmp_path, "doubled", [cpu_window(500, 1600.0)])
    cpu = row(report(capsys, ref, doubled), "cpu_us_per_request")
    assert cpu["method"] == "window" and cpu["test"] == "batch-means"
    assert cpu["decision"] == significance.REGRESSION and cpu["words"] == "2.00x slower"
    interval = cpu["reference"]["interval"]
    assert interval["low"] < 800 < interval["high"] and interval["run_noise"] == 0.2
    assert "20% noise between runs added" in cpu["reason"]
    steady = row(report(capsys, ref, same), "cpu_us_per_request")
    assert steady["decision"] == significance.NOT_SIGNIFICANT
    # A file from before the CPU series, on one side: that side cannot be judged.
    old = save(tmp_path, "old", [window(500, cpu_us_per_request=800.0)])
    assert row(report(capsys, ref, old), "cpu_us_per_request")["reason"] == (
        "cannot tell (n=1, changed: no per-second series of it)"
    )


def test_a_window_on_a_busy_machine_is_not_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    busy = {"cpu_pct": 40.0, "rss_mb": 80.0}
    ref = save(tmp_path, "ref", [window(500)])
    new = save(
        tmp_path, "new", [window(400, server=busy, server_cores_busy_pct=95.0, server_cores=1)]
    )
    throughput = row(report(capsys, ref, new))
    assert throughput["decision"] == significance.CANNOT
    assert "other processes took 55 % of the server's cores" in throughput["reason"]


def test_repetitions_keep_their_own_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reps = [window(500 + i, repetition=i + 1) for i in range(3)]
    slower = [window(400 + i, repetition=i + 1) for i in range(3)]
    throughput = row(report(capsys, save(tmp_path, "a", reps), save(tmp_path, "b", slower)))
    assert throughput["method"] == "repetitions" and throughput["test"] == "welch"


def _environment(**changes: Any) -> dict[str, Any]:
    environment = {
        "host": "h", "os": "Linux", "cpu_model": "AMD EPYC", "cores": 2, "server_cpus": [0],
        "load_cpus": [1], "python": "3.11.7",
        "packages": {"django": "5.2.8", "fastapi": "0.115.0", "uvicorn": "0.30.0"},
    }  # fmt: skip
    environment.update(changes)
    return environment


def _run_info(run_id: str, commit: str) -> dict[str, Any]:
    return {"id": run_id, "started_at": "2026-11-26T00:00:00+00:00", "finished_at": None,
            "command": "bench run", "preset": None, "git_commit": commit}  # fmt: skip


def test_the_declared_variable_titles_the_comparison_and_is_not_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older = {"django": "5.1.4", "fastapi": "0.115.0", "uvicorn": "0.30.0"}
    ref = save(tmp_path, "ref", [window(500)], environment=_environment(packages=older))
    new = save(tmp_path, "new", [window(500)], environment=_environment())
    declared = report(capsys, ref, new, "--varying", "packages")
    assert declared["warnings"] == [] and declared["environment_warning"] is None
    comparison = declared["comparisons"][0]
    assert comparison["subject"] == "Django 5.1.4 → 5.2.8"
    assert comparison["title"].startswith("Django 5.1.4 → 5.2.8 (new")
    assert comparison["packages"] == [
        {"package": "django", "scope": None, "reference": "5.1.4", "changed": "5.2.8",
         "intended": True}
    ]  # fmt: skip
    # Undeclared, the same difference is a condition that changed: loud.
    undeclared = report(capsys, ref, new)
    assert undeclared["environment_warning"] is not None
    assert undeclared["warnings"] == [
        "new (" + new + "): package django: 5.1.4 (reference) vs 5.2.8 (changed)"
    ]
    bench_main(["compare", ref, new, "--varying", "packages"])
    out = capsys.readouterr().out
    assert "Django 5.1.4 → 5.2.8" in out and "WARNING" not in out


def test_what_was_not_declared_stays_a_loud_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = save(tmp_path, "ref", [window(500)], run=_run_info("ref", "aaaaaaaaaaaa1"))
    new = save(
        tmp_path,
        "new",
        [window(500)],
        run=_run_info("new", "bbbbbbbbbbbb2"),
        environment=_environment(cpu_model="Intel Xeon", python="3.12.1"),
    )
    document = report(capsys, ref, new, "--varying", "python")
    assert document["comparisons"][0]["subject"] == "Python 3.11.7 → 3.12.1"
    warned = " ".join(document["warnings"])
    assert "environment.cpu_model" in warned and "run.git_commit" in warned
    assert "environment.python" not in warned
    # By default the code is what varies: the commits title it, the machine is warned.
    default = report(capsys, ref, new)
    assert default["comparisons"][0]["subject"] == "commit aaaaaaaaaa → bbbbbbbbbb"
    assert "run.git_commit" not in " ".join(default["warnings"])
    # Declared but unchanged: the title says so.
    same = report(capsys, ref, ref, "--varying", "mock")
    assert same["comparisons"][0]["subject"] == "no difference in mock"


def _variant(point: dict[str, Any], pins: list[str], packages: dict[str, str]) -> dict:
    target = point["target"] + "@" + ",".join(pins)
    return {**point, "target": target, "pins": pins, "packages": packages}


def test_the_package_variants_of_one_run_are_compared_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = window(500, target="drf-gunicorn-gthread")
    older = _variant(
        window(400, STEADY[::-1], target="drf-gunicorn-gthread"),
        ["django==5.1.*"],
        {"django": "5.1.14", "asgiref": "3.8.1"},
    )
    other = window(300, target="flask-gunicorn-gthread")
    run = save(tmp_path, "run", [base, older, other], environment=_environment())
    document = report(capsys, run)
    assert document["warnings"] == []  # the packages are what varies
    comparison = document["comparisons"][0]
    # asgiref: the run did not record it, so it is unknown there, not absent.
    assert comparison["subject"] == "Django 5.2.8 → 5.1.14"
    assert comparison["reference"].startswith("drf-gunicorn-gthread in run")
    assert comparison["changed"].startswith("drf-gunicorn-gthread@django==5.1.* in run")
    throughput = row(document)
    assert throughput["target"] == "drf-gunicorn-gthread"
    assert throughput["decision"] == significance.REGRESSION
    assert len(document["comparisons"]) == 1  # flask has one package set only


def test_a_run_without_variants_needs_a_second_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = save(tmp_path, "run", [window(500)])
    assert bench_main(["compare", run]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give a changed run to compare with" in err


def test_variants_across_two_runs_name_the_target_whose_packages_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pinned = ["django==5.1.*"]
    ref = save(
        tmp_path, "ref", [_variant(window(500), pinned, {"django": "5.1.13"})],
        environment=_environment(),
    )  # fmt: skip
    new = save(
        tmp_path, "new", [_variant(window(500), pinned, {"django": "5.1.14"})],
        environment=_environment(),
    )  # fmt: skip
    document = report(capsys, ref, new)
    assert document["warnings"] == [
        f"new ({new}): package django (fastapi-uvicorn@django==5.1.* only): "
        "5.1.13 (reference) vs 5.1.14 (changed)"
    ]


def test_a_package_only_one_run_recorded_is_unknown_not_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    more = {"django": "5.2.8", "fastapi": "0.115.0", "uvicorn": "0.30.0", "asgiref": "3.8.1"}
    ref = save(tmp_path, "ref", [window(500)], environment=_environment())
    new = save(tmp_path, "new", [window(500)], environment=_environment(packages=more))
    assert report(capsys, ref, new)["warnings"] == []


def test_a_window_the_load_generator_bound_is_not_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generator = {"kind": "generator", "detail": "Locust at 98 % CPU", "evidence": {}}
    cpu = [50.0, 52.0, 49.0, 51.0, 50.0]
    ref = save(tmp_path, "ref", [windowed_point([5000] * 5, cpu_pct=cpu, scenario="hello")])
    new = save(tmp_path, "new", [windowed_point([3000] * 5, cpu_pct=cpu, scenario="hello",
                                                limit=generator)])  # fmt: skip
    document = report(capsys, ref, new)
    throughput = row(document)
    assert throughput["decision"] == significance.CANNOT
    assert throughput["reason"] == "cannot tell (n=1, changed: the load generator binds it)"
    # The server's CPU per request is its own whoever binds: the same CPU for 40 % fewer
    # requests is a regression of the target, and is judged.
    cost = row(document, "cpu_us_per_request")
    assert cost["decision"] != significance.CANNOT and cost["relative_change"] > 0.6


def test_a_cpu_heavy_point_carries_the_noise_between_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heavy = {"cpu_pct": 95.0, "rss_mb": 80.0}
    tight = [1.0, 1.001, 0.999, 1.0, 1.0]
    ref = save(
        tmp_path,
        "ref",
        [window(5000, tight, server=heavy, server_cores_busy_pct=96.0, server_cores=1)],
    )
    new = save(
        tmp_path,
        "new",
        [window(4000, tight, server=heavy, server_cores_busy_pct=96.0, server_cores=1)],
    )
    throughput = row(report(capsys, ref, new))
    # Its window is tight, but such a point moves by ~20 % between runs on its own.
    assert throughput["decision"] == significance.NOT_SIGNIFICANT
    assert throughput["reference"]["interval"]["run_noise"] == 0.2
    light = save(tmp_path, "light", [window(4000, tight)])
    assert (
        row(report(capsys, save(tmp_path, "ref2", [window(5000, tight)]), light))["decision"]
        == significance.REGRESSION
    )
