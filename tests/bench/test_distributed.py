"""`bench run --locust-master`: the load comes from Locust workers started separately."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.results import store
from tests.bench.runs import bench as bench_command
from tests.bench.runs import free_ports
from tests.support import REPO_ROOT, free_port

# Its assertions are measured figures: it runs alone (Makefile, `-m measures`).
pytestmark = [pytest.mark.process, pytest.mark.measures]


def _worker(master_port: int) -> subprocess.Popen[bytes]:
    # As on another host: a plain Locust worker with every scenario loaded.
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            "bench/locustfiles/",
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(master_port),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_master_mode_sums_its_workers_and_sends_them_the_knobs(tmp_path: Path) -> None:
    # The workers are started with no knob at all: the window, the pacing (--rate) and the
    # tokens each stream must carry (fidelity) reach them from the master, the last two
    # as Locust's own custom arguments.
    out, master_port = tmp_path / "run", free_port()
    bench = subprocess.Popen(
        bench_command(
            "run",
            "--out",
            str(out),
            *free_ports(),
            "--targets",
            "fastapi-uvicorn",
            "--scenarios",
            "stream",
            "--rate",
            "20",
            "--mock-tokens",
            "3",
            "--mock-ttft-ms",
            "20",
            "--mock-itl-ms",
            "5",
            "--duration",
            "3",
            "--warmup",
            "1",
            "--master",
            "--expect-workers",
            "2",
            "--master-bind-port",
            str(master_port),
            "--no-summary",
        ),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("BENCH_")},
    )
    workers = [_worker(master_port) for _ in range(2)]
    try:
        output, _ = bench.communicate(timeout=180)
        for worker in workers:
            worker.wait(timeout=30)  # the master tells its workers to quit
    finally:
        procs: list[subprocess.Popen[Any]] = [bench, *workers]
        for proc in procs:
            proc.kill()
    assert bench.returncode == 0, output
    [point] = store.load_document(out)["points"]
    assert point["status"] == "ok", point
    assert point["generator_processes"] == 2 and point["generator_hosts"] == 1
    assert point["chunk_fidelity"] == 1.0  # 3 deltas expected, not the default 10
    # Paced, not flat out (ten times more): Poisson arrivals at 20 req/s put some 60
    # requests in the 3-s window, give or take 8 (one standard deviation; 73 measured
    # once): +/- 50 % is four of them.
    assert point["achieved_rate"] == pytest.approx(20.0, rel=0.5)
    locust = (out / "points").glob("*/locust.json")
    document = json.loads(next(locust).read_text())
    per_worker = [w["requests"]["/complete/stream"]["count"] for w in document["workers"]]
    assert len(per_worker) == 2 and all(count > 0 for count in per_worker)
    assert sum(per_worker) == point["requests"] > 0
    # The workers had no window of their own: the master sent it. Locust's own count
    # covers the whole run (start-up, warm-up, tail), ours only the 3 s window.
    stats = next((out / "points").glob("*/locust_stats.csv")).read_text().splitlines()
    whole_run = int(next(line for line in stats if ",/complete/stream," in line).split(",")[2])
    assert point["requests"] < 0.75 * whole_run
