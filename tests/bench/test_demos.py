"""Teaching demos end to end in their quick form, with tiny windows.

One demo of each kind runs here: several targets at a load (wsgi-vs-asgi) and upstream
faults (upstream-outage). The others use the same engine; their lessons, charts and
tables are tested on a real quick run's stored results (test_lessons.py,
test_handout.py), and `demo all` runs one more (test_demo_all.py).
"""

from __future__ import annotations

import html
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.demos import catalog, outage
from bench.results import store
from tests.bench.runs import bench, free_ports
from tests.support import REPO_ROOT

# Its assertions are measured figures: it runs alone (Makefile, `-m measures`).
pytestmark = [pytest.mark.process, pytest.mark.measures]


def test_list_names_every_demo() -> None:
    done = subprocess.run(
        bench("demo", "--list"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    for name in catalog.names():
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


def _demo(name: str, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        bench("demo", name, "--quick", "--out", str(out), *free_ports(), *flags),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    name = "wsgi-vs-asgi"
    out = tmp_path / name
    done = _demo(name, out, "--duration", "1", "--warmup", "0.5")
    _check_outputs(name, out, done)


def _check_outputs(name: str, out: Path, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    demo = catalog.find(name)
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


def test_the_outage_starves_the_thread_pool_and_not_the_event_loop(tmp_path: Path) -> None:
    """/health during a full upstream stall: one async and one threaded target."""
    out = tmp_path / "outage"
    # Its window is its plan: the stall needs seconds before and after it.
    done = _demo("upstream-outage", out)
    _check_outputs("upstream-outage", out, done)
    points = {p.target: p for p in store.load(out).points}
    loop, threads = points["fastapi-uvicorn"], points[outage.QUICK_TARGETS[1]]
    for point in (loop, threads):
        assert point.faults is not None and point.faults.violations == {}
        assert point.faults.responses.get("504", 0) > 0
        health = point.faults.probes["/health"]
        assert health["before"].count >= 5 and health["during"].count >= 1
    during = loop.faults.probes["/health"]["during"] if loop.faults else None
    assert during is not None and during.p99_ms is not None and during.p99_ms < 1000
    assert not outage.starved(loop) and outage.starved(threads)
    # The thread pool was full: every thread held a stalled call.
    assert threads.in_flight_peak == 40
