"""`bench run` against upstreams that are not the suite's mock, and deployments it did not
start; its exit codes; and an API key that never shows up anywhere.

The foreign upstream is FakeAI (PyPI `fakeai`), an OpenAI-compatible server that needs
no model weights, installed in its own virtual environment and started as a stranger's
server would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bench.cli.args import EXIT_FAILED, EXIT_OK, EXIT_SKIPPED
from bench.results import store
from bench.results.model import UpstreamInfo
from bench.running.upstream import KEY_VARIABLE
from tests.bench.runs import bench, free_ports
from tests.support import REPO_ROOT, free_port, mock_llm, running, wait_http_ready

pytestmark = pytest.mark.process

KEY = "sk-test-key-never-shown-4242"
SHORT = ["--scenarios", "complete,stream", "--users", "4", "--duration", "2", "--warmup", "1"]


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """FakeAI in its own venv, on the load core; yields its base URL (…/v1)."""
    venv = tmp_path_factory.mktemp("fakeai") / "venv"
    uv = str(Path(sys.executable).with_name("uv"))
    subprocess.run([uv, "venv", "-q", str(venv), "-p", sys.executable], check=True, timeout=120)
    # Pillow: FakeAI imports it at start-up without declaring it.
    install = [uv, "pip", "install", "-q", "fakeai==0.3.2", "pillow"]
    subprocess.run(install, check=True, timeout=600, env={**os.environ, "VIRTUAL_ENV": str(venv)})
    port = free_port()
    command = [str(venv / "bin" / "fakeai"), "server", "--host", "127.0.0.1", "--port",
               str(port), "--response-delay", "0.05", "--no-random-delay"]  # fmt: skip
    cpus = sorted(os.sched_getaffinity(0))
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        # Away from the server's core, like the suite's own mock.
        preexec_fn=lambda: os.sched_setaffinity(0, cpus[-1:]),  # noqa: PLW1509
    )
    try:
        wait_http_ready(f"http://127.0.0.1:{port}/health", proc, timeout_s=90)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _tree_cmdlines(pid: int) -> str:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return ""
    lines = []
    for proc in procs:
        try:
            lines.append(" ".join(proc.cmdline()))
        except psutil.Error:
            continue
    return "\n".join(lines)


def test_a_real_upstream_is_measured_and_its_key_never_shows(foreign: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    # The key on the command line, the worst case: the runner moves it out of sight.
    proc = subprocess.Popen(
        bench(
            "run",
            "--targets",
            "fastapi-uvicorn",
            "--upstream-url",
            foreign,
            "--upstream-model",
            "gpt-4o",
            "--upstream-key",
            KEY,
            *SHORT,
            "--out",
            str(out),
            *free_ports(),
        ),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = ""
    deadline = time.monotonic() + 240
    time.sleep(1.5)  # the instant before the runner starts again without the key
    while proc.poll() is None and time.monotonic() < deadline:
        seen += _tree_cmdlines(proc.pid)
        time.sleep(1)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_OK, output[-3000:]
    assert "fastapi_app" in seen and KEY not in seen  # process titles of the whole tree
    run = store.load(out)
    assert {p.scenario for p in run.points} == {"complete", "stream"}
    for point in run.points:
        assert point.ok and point.valid, point.warnings
        assert point.ceiling_rps is None and point.efficiency is None  # latency suffered
        assert point.upstream_calls is None and point.chunk_fidelity is None
    assert run.mock.upstream == UpstreamInfo("real", foreign, "gpt-4o", "suffered")
    assert "latency suffered, not set" in run.conditions()
    assert KEY not in run.info.command
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(errors="replace"), path
    assert KEY not in output


def test_a_deployment_alone_starts_nothing(tmp_path: Path) -> None:
    port, mock_port = free_port(), free_port()
    with mock_llm("--ttft-ms", "50", "--itl-ms", "0", "--output-tokens", "3") as upstream:
        env = {"LLM_BASE_URL": upstream}
        url = f"http://127.0.0.1:{port}"
        with running(["-m", "fastapi_app", "--port", str(port)], f"{url}/health", env=env):
            done = subprocess.run(
                bench(
                    "run",
                    "--targets",
                    "fastapi-uvicorn",
                    "--target-url",
                    url,
                    *SHORT,
                    "--mock-port",
                    str(mock_port),
                    "--out",
                    str(tmp_path / "run"),
                ),
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=240,
            )
    assert done.returncode == EXIT_OK, done.stdout[-3000:] + done.stderr[-2000:]
    assert not (tmp_path / "run" / "logs" / "mock.log").exists()  # no mock started
    run = store.load(tmp_path / "run")
    assert run.mock.upstream is not None and run.mock.upstream.kind == "deployment"
    for point in run.points:
        assert point.ok and point.valid and point.upstream_calls is None
        assert point.server.cpu_pct is None  # not our process
    assert "the deployment's own upstream" in run.conditions()


def test_a_skipped_target_exits_3_and_allow_invalid_accepts_it(tmp_path: Path) -> None:
    # The mock is no service: the contract check before the run refuses it.
    with mock_llm() as upstream:
        url = upstream.removesuffix("/v1")
        args = ["run", "--targets", "fastapi-uvicorn", "--target-url", url, *SHORT]
        done = subprocess.run(
            bench(*args, "--out", str(tmp_path / "a")),
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        allowed = subprocess.run(
            bench(*args, "--out", str(tmp_path / "b"), "--allow-invalid"),
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == EXIT_SKIPPED, done.stdout[-2000:]
    assert "exit 3: target(s) skipped: fastapi-uvicorn" in done.stdout
    assert allowed.returncode == EXIT_OK


def test_a_run_that_cannot_start_its_mock_exits_1(tmp_path: Path) -> None:
    # The mock reads its defaults from MOCK_LLM_*; an impossible one stops it at start.
    done = subprocess.run(
        bench(
            "run",
            "--targets",
            "fastapi-uvicorn",
            *SHORT,
            "--out",
            str(tmp_path / "run"),
            *free_ports(),
        ),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MOCK_LLM_WORKERS": "0"},
    )
    assert done.returncode == EXIT_FAILED, done.stdout[-2000:]
    assert "the mock LLM did not start" in done.stdout


def test_upstream_flags_that_contradict_are_refused(tmp_path: Path) -> None:
    for args, needle in (
        (["--upstream-url", "http://x/v1", "--target-url", "http://y"], "already has its own"),
        (["--upstream-key", "k"], "go with --upstream-url"),
        (["--mock-url", "http://m"], "give --target-url too"),
        (["--upstream-url", "http://x/v1", "--mock-ttft-ms", "5"], "--upstream-url has none"),
    ):
        done = subprocess.run(
            bench("run", *args, "--out", str(tmp_path / "x")),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != KEY_VARIABLE},
        )
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and needle in done.stderr, done.stderr
