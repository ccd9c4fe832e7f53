"""`bench demo all` and the --live flags: one-line errors, and one demo end to end into a
handout (the handout of every demo is tested on stored results in test_handout.py)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from bench.cli import main
from bench.demos import handout
from bench.results import store
from tests.bench.runs import bench, free_ports
from tests.support import REPO_ROOT


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["demo", "nope"], "unknown demo nope"),
        (["demo", "all", "--only", "nope"], "--only: unknown demo nope"),
        (["demo", "wsgi-vs-asgi", "--only", "claims"], "--only goes with `bench demo all`"),
    ],
)
def test_bad_demo_input_is_one_line_and_exit_2(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_an_occupied_live_port_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        status = main(["run", "--out", str(tmp_path / "run"), *free_ports(),
                       "--live-port", str(port)])  # fmt: skip
    assert status == 2
    assert f"port {port} is in use; pick another with --live-port" in capsys.readouterr().err


@pytest.mark.process
def test_demo_all_runs_in_order_and_writes_the_handout(tmp_path: Path) -> None:
    out = tmp_path / "suite"
    done = subprocess.run(
        bench("demo", "all", "--quick", "--only", "threadpool-limit", "--out", str(out),
              *free_ports(), "--duration", "1", "--warmup", "0.5"),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "What happened inside:" in done.stdout and "handout: " in done.stdout
    assert store.load(out / "01-threadpool-limit").points
    page = (out / handout.HANDOUT_NAME).read_text()
    assert "<section id='threadpool-limit'>" in page and "<svg" in page
    assert "What happened inside." in page and "wall time" in page
    assert "http://" not in page
