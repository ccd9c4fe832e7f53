"""`bench` command line: target list, plans from flags, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.cli import build_parser, main
from bench.cli.capacity import plan_from_args as capacity_plan
from bench.cli.run import plan_from_args
from bench.running.targets import DEFAULT_TARGETS, TARGETS
from tests.support import REPO_ROOT


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def bench_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Done]:
    """Run `bench <args>` in this process; return its status and output."""

    def run(*args: str) -> Done:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Done(code, out, err)

    return run


@pytest.mark.process
def test_the_console_script_module_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.cli", "targets"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "fastapi-uvicorn" in done.stdout


def test_targets_lists_every_target_with_its_model(bench_cli: Callable[..., Done]) -> None:
    done = bench_cli("targets")
    assert done.returncode == 0
    for target in TARGETS:
        assert target.name in done.stdout
    assert "gthread" in done.stdout and "calibration" in done.stdout


def test_flags_override_the_preset() -> None:
    args = build_parser().parse_args(
        ["run", "--preset", "quick", "--users", "5,10", "--repeat", "2", "--mock-tokens", "4"]
    )
    plan = plan_from_args(args)
    assert "baseline-uvicorn" in plan.targets
    assert [load.amount for load in plan.loads["complete"]] == [5, 10]
    assert plan.repeat == 2 and plan.mock.tokens == 4
    assert set(plan.server_cpus).isdisjoint(plan.load_cpus)


def test_locusts_names_and_ours_are_the_same_flags() -> None:
    ours = ["run", "--locust-master", "--master-port", "6000", "--locust-processes", "2"]
    locusts = ["run", "--master", "--master-bind-port", "6000", "--processes", "2"]
    parse = build_parser().parse_args
    for args in (parse(ours), parse(locusts)):
        assert args.locust_master and args.master_port == 6000 and args.locust_processes == 2


def test_capacity_searches_complete_and_stream_by_default() -> None:
    plan = capacity_plan(build_parser().parse_args(["capacity"]))
    assert plan.scenarios == ["complete", "stream"]
    assert plan.latencies == ["short", "llm"] and plan.in_flight_only == []


def test_the_capacity_presets_search_what_fits_their_time() -> None:
    quick = capacity_plan(build_parser().parse_args(["capacity", "--preset", "capacity-quick"]))
    assert quick.targets == list(DEFAULT_TARGETS)
    assert (quick.scenarios, quick.latencies, quick.in_flight_only) == (["complete"], ["short"], [])
    whole = capacity_plan(build_parser().parse_args(["capacity", "--preset", "capacity"]))
    assert (whole.scenarios, whole.latencies) == (["complete"], ["short", "llm"])
    assert whole.in_flight_only == ["llm"]
    # The preset's scope follows the latencies asked for; flags beside it override it.
    short = ["capacity", "--preset", "capacity", "--latencies", "short"]
    assert capacity_plan(build_parser().parse_args(short)).in_flight_only == []
    both = ["capacity", "--preset", "capacity", "--scenarios", "complete,stream"]
    assert capacity_plan(build_parser().parse_args(both)).scenarios == ["complete", "stream"]


def test_faults_soak_and_disconnect_flags_make_the_plan() -> None:
    args = build_parser().parse_args(
        ["run", "--duration", "20", "--mock-error-rate", "0.1", "--fault-window", "5:12",
         "--upstream-timeout", "2", "--drop-after", "4", "--scenarios", "disconnect"]
    )  # fmt: skip
    plan = plan_from_args(args)
    assert plan.faults is not None and plan.faults.codes == ("429", "500")
    assert plan.faults.window == (5.0, 12.0)
    assert plan.target_env() == (("LLM_TIMEOUT_S", "2"),)
    assert plan.drop_after == 4 and plan.scenarios == ["disconnect"]
    assert plan.loads["disconnect"] == plan.loads["stream"]
    assert type(plan).from_dict(plan.to_dict()) == plan
    soak = plan_from_args(build_parser().parse_args(["run", "--soak", "10"]))
    assert soak.soak and soak.duration_s == 600 and soak.scenarios == ["complete"]
    assert soak.repeat == 1 and [load.amount for load in soak.loads["complete"]] == [50]
    # By default a run measures hello, complete and stream: hanging up is asked for.
    assert plan_from_args(build_parser().parse_args(["run"])).scenarios == [
        "hello", "complete", "stream",
    ]  # fmt: skip


def test_the_plan_skips_scenarios_a_target_lacks() -> None:
    args = build_parser().parse_args(["run", "--targets", "baseline-uvicorn", "--users", "5"])
    specs = plan_from_args(args).points()
    assert {scenario for _, scenario, _, _ in specs} == {"hello"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--targets", "nope"], "unknown target nope"),
        (["run", "--users", "10,abc"], "not a comma-separated list"),
        (["run", "--users", "0"], "positive"),
        (["run", "--users", "5", "--rate", "5"], "not both"),
        (["run", "--scenarios", "hello,chat"], "unknown scenario chat"),
        (["run", "--server-cpus", "0", "--load-cpus", "0"], "overlap"),
        (["run", "--server-cpus", "7"], "not within the usable cores"),
        (["run", "--resume", "/nonexistent/run"], "no such results file"),
        (["run", "--duration", "-1"], "must be positive"),
        (["show", "/nonexistent/run"], "no such results file"),
        (["frobnicate"], "invalid choice"),
        (["run", "--mock-error-rate", "1.5"], "not a share"),
        (["run", "--mock-error-rate", "0.1", "--mock-error-codes", "teapot"], "is not a fault"),
        (["run", "--fault-window", "5:10"], "need --mock-error-rate"),
        (["run", "--mock-error-rate", "0.1", "--fault-window", "2:4"], "START:END"),
        (["run", "--mock-error-rate", "0.1", "--fault-window", "3:4"], "must end at least 3 s"),
        (
            ["run", "--mock-error-rate", "0.1", "--upstream-url", "http://127.0.0.1:9/v1"],
            "sets the suite's mock",
        ),
        (["run", "--soak", "1", "--duration", "30"], "drop --duration"),
        (["run", "--drop-after", "0"], "must be at least 1"),
        (["run", "--rate", "0"], "positive"),
        (["run", "--arrivals", "poisson"], "give --rate R"),
        (["run", "--seed", "3", "--users", "5"], "give --rate R"),
        (["run", "--rate", "10", "--burstiness", "0.5"], "add --arrivals gamma"),
        (["run", "--rate", "10", "--arrivals", "gamma", "--burstiness", "0"], "positive"),
        (["run", "--rate", "5000"], "give --locust-processes 4"),
        (["run", "--slo", "ttfb=100"], "unknown SLO 'ttfb'"),
        (["run", "--slo", "ttft=-1"], "positive number"),
        (["run", "--slo", "ttft=300", "--scenarios", "complete"], "none of them is planned"),
        (["run", "--slo-share", "1.5"], "at most 1"),
        (["capacity", "--slo", "itl=0"], "positive number"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    bench_cli: Callable[..., Done], args: list[str], needle: str
) -> None:
    done = bench_cli(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], done.stderr


def test_occupied_port_is_refused(bench_cli: Callable[..., Done], tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = bench_cli("run", "--port", str(port), "--out", str(tmp_path / "run"))
    assert done.returncode == 2
    assert f"port {port} is in use" in done.stderr


def test_corrupt_resume_folder(bench_cli: Callable[..., Done], tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text('{"schema_version": 1, "points": [')
    done = bench_cli("run", "--resume", str(tmp_path))
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr


def test_target_specs_set_client_and_counts() -> None:
    from bench.running.targets import UnknownTarget, parse

    target = parse("fastapi-uvicorn-sync[httpx]{threads=200,workers=2}")
    assert (target.threads, target.workers) == (200, 2)
    assert dict(target.env)["LLM_CLIENT"] == "httpx"
    assert parse(target.name) == target  # names round-trip through results files
    with pytest.raises(UnknownTarget, match="workers=N"):
        parse("flask-gunicorn-sync{procs=2}")


def test_progress_off_a_terminal_prints_a_line_per_point() -> None:
    import io

    from rich.console import Console

    from bench.results.model import Load
    from bench.running.measure import PointTask
    from bench.running.plan import Plan
    from bench.running.progress import LiveProgress
    from bench.running.targets import parse

    buffer = io.StringIO()
    console = Console(file=buffer, width=200)
    plan = Plan(targets=["fastapi-uvicorn"], scenarios=["hello"], loads={})
    tasks = [PointTask(parse("fastapi-uvicorn"), "hello", Load("users", u), 1) for u in (1, 2)]
    with LiveProgress(console, tasks, plan) as progress:
        for task in tasks:
            progress.update(task.label(), task)
        progress.update("a message", None)
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("[1/2] fastapi-uvicorn · hello · 1 users")
    assert lines[1].startswith("[2/2]") and "min to go" in lines[1]
    assert lines[2] == "a message"


def test_the_key_variable_is_one_name() -> None:
    import bench.cli
    from bench.running import upstream

    assert bench.cli.KEY_VARIABLE == upstream.KEY_VARIABLE


def test_recorded_command_lines_never_hold_a_key() -> None:
    from bench.running.runner import redacted

    assert redacted(["bench", "run", "--upstream-key", "k1", "--upstream-key=k2", "--users"]) == [
        "bench", "run", "--upstream-key", "***", "--upstream-key=***", "--users",
    ]  # fmt: skip


def test_the_help_of_run_and_capacity_is_grouped(bench_cli: Callable[..., Done]) -> None:
    run = bench_cli("run", "--help").stdout
    for heading in ("targets:", "load:", "mock LLM", "faults, disconnects and soaks:",
                    "upstream and deployment", "Locust, the load generator",
                    "this machine: cores and ports:", "output and exit status:",
                    "live view:"):  # fmt: skip
        assert f"\n{heading}" in run, heading
    assert "quick (~3 min), standard (~23 min), full (everything)" in run
    capacity = bench_cli("capacity", "--help").stdout
    assert "\nthe search:" in capacity and "\nLocust" not in capacity
    assert "capacity (every realistic target, ~35 min), capacity-" in capacity


def test_save_requests_into_a_folder_it_cannot_write_is_one_line(
    bench_cli: Callable[..., Done], tmp_path: Path
) -> None:
    blocked = tmp_path / "run"
    blocked.mkdir()
    (blocked / "requests").write_text("a file where the folder would go")
    done = bench_cli("run", "--save-requests", "--out", str(blocked))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--save-requests cannot write" in lines[0]
