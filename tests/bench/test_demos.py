"""Every teaching demo end to end in its quick form, with tiny windows."""

from __future__ import annotations

import html
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.demos.catalog import DEMOS
from bench.results import store
from tests.bench.runs import bench, free_ports
from tests.support import REPO_ROOT

pytestmark = pytest.mark.process


def test_list_names_every_demo() -> None:
    done = subprocess.run(
        bench("demo", "--list"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    for name in DEMOS:
        assert name in done.stdout


def test_unknown_demo_is_exit_2() -> None:
    done = subprocess.run(
        bench("demo", "nope"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "unknown demo nope" in done.stderr


@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_runs_end_to_end(name: str, tmp_path: Path) -> None:
    out = tmp_path / name
    done = subprocess.run(
        bench(
            "demo",
            name,
            "--quick",
            "--out",
            str(out),
            *free_ports(),
            "--duration",
            "1",
            "--warmup",
            "0.5",
        ),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    demo = DEMOS[name]
    # The question and prediction come first, the lesson (drawn from the data) last.
    assert done.stdout.index("Question:") < done.stdout.index("Prediction:")
    assert "As predicted" in done.stdout or "Not as predicted" in done.stdout
    run = store.load(out)
    assert run.points and all(p.ok for p in run.points)
    assert run.info.preset == f"demo:{name}"
    ET.fromstring((out / "chart.svg").read_text())  # well-formed SVG
    page = (out / "demo.html").read_text()
    assert "<svg" in page and html.escape(demo.question[:40]) in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert (out / "demo.md").read_text().startswith(f"# Demo: {name}")
