"""`bench capacity` against real servers on loopback, with short ramps."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.results import store
from bench.results.model import Capacity
from tests.bench.runs import bench, free_ports, watched
from tests.support import REPO_ROOT, free_port

# Its assertions are measured figures: it runs only beside the other light measured tests
# (Makefile, `-m measures`). Beside the whole suite, a shared core moves a p99 across the
# SLO below the pool's limit, and the limit named changes with it.
pytestmark = [pytest.mark.process, pytest.mark.measures]

SYNC = "flask-gunicorn-sync{workers=2}"
POOLED = "fastapi-uvicorn{pool=20}"


@dataclass
class Searched:
    found: Capacity
    snapshots: list[dict]  # what the live view published while the search ran


def _search(tmp_path_factory: pytest.TempPathFactory, target: str, *extra: str) -> Searched:
    out = tmp_path_factory.mktemp("capacity") / "run"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = bench(
        "capacity", "--targets", target, "--scenarios", "complete", "--latencies", "short",
        "--max-users", "32", "--out", str(out), *free_ports(), "--no-summary",
        "--live-port", str(port), *extra,
    )  # fmt: skip
    with watched(command, url) as (proc, events):
        output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-6000:]
    assert "saturation" in output
    # The arrivals of the goodput search meet the target restarted after the climb.
    assert (
        "restarting " + target.split("{", maxsplit=1)[0] in output
        and "fresh from its start" in output
    )
    events.thread.join(timeout=10)
    run = store.load(out)
    assert (out / "report.html").is_file() and "## Capacity" in (out / "report.md").read_text()
    [found] = run.capacity
    assert found.target == target
    return Searched(found, [s for _, s in events.snapshots()])


# One search per target, so that the two can run in two processes side by side
# (scripts/pytest-measures.sh).
@pytest.fixture(scope="module")
def sync_searched(tmp_path_factory: pytest.TempPathFactory) -> Searched:
    return _search(tmp_path_factory, SYNC)


@pytest.fixture(scope="module")
def sync_search(sync_searched: Searched) -> Capacity:
    return sync_searched.found


@pytest.fixture(scope="module")
def pooled_search(tmp_path_factory: pytest.TempPathFactory) -> Capacity:
    # What this search shows is which limit binds, and the pool binds by throughput (a
    # step above 20 users cannot keep 90 % of them busy), whatever the SLO. The default
    # SLO (175 ms) leaves a tail 75 ms of room, and beside the other measured queues a
    # clean-clone run once had 16 users' p99 over it at 7 ms added on average: the
    # search stopped below the pool and named server-latency. 300 ms tolerates such a
    # tail (a p99 three times the answer) without moving where the pool binds.
    return _search(tmp_path_factory, POOLED, "--slo-p99-ms", "300").found


def test_sync_workers_serve_littles_law_and_name_their_workers(sync_search: Capacity) -> None:
    sync = sync_search
    # 2 workers x 1 request / 100 ms = 20 req/s, whatever the users: the plateau.
    saturation = sync.saturation
    assert saturation is not None and saturation.value == pytest.approx(20.0, rel=0.2)
    assert saturation.note is None  # a step with more users served no more
    assert saturation.limit is not None and saturation.limit.kind == "target-concurrency"
    assert "worker processes" in saturation.limit.detail
    assert sync.max_in_flight == 2
    # Open-loop arrivals queue for the two workers well before 20 a second: the rate held
    # within the SLO is below the saturation, and bracketed by the search.
    goodput = sync.goodput
    assert goodput is not None and 0 < goodput.value < saturation.value
    assert goodput.high is not None and goodput.high > goodput.value
    assert sync.latency.answer_ms == 100.0 and sync.slo_p99_ms == 175.0
    for point in sync.points:  # each step carries its verdict and its p99's interval
        assert point.decision in ("held", "served", "failed", "undecided")
        assert point.p99_low_ms is not None


def test_the_live_view_follows_each_step_of_a_search(sync_searched: Searched) -> None:
    # Each step is announced as it starts, its window no longer than its cap, and its
    # seconds drawn while it runs; every step measured is listed once it is done.
    during = [s for s in sync_searched.snapshots if s["status"] == "measuring" and s["point"]]
    labels = {s["point"]["label"] for s in during}
    assert any(label.endswith(" users") for label in labels), labels
    assert any("req/s Poisson" in label for label in labels), labels  # the goodput steps
    assert any(s["point"]["seconds"] for s in during)
    for snapshot in during:
        [(opens, closes)] = snapshot["point"]["windows"]
        assert closes - opens == 5  # at most its cap: 5 s at a 175-ms SLO
    assert sync_searched.snapshots[-1]["measured"] == len(sync_searched.found.points)


def test_an_async_target_serves_far_more_and_names_its_small_pool(
    pooled_search: Capacity,
) -> None:
    # A pool of 20 upstream connections at 100 ms: 200 req/s at most, ten times the two
    # sync workers, and the pool (not the core: a fifth of it) is what binds.
    pooled = pooled_search
    assert pooled.slo_p99_ms == 300.0
    saturation = pooled.saturation
    assert saturation is not None and saturation.value == pytest.approx(200.0, rel=0.2)
    assert pooled.goodput is not None and pooled.goodput.value > 4 * 20.0
    assert pooled.limit is not None and pooled.limit.kind == "target-concurrency"
    assert "upstream connection pool: 20" in pooled.limit.detail
    assert pooled.max_in_flight is not None and 16 <= pooled.max_in_flight <= 24
    binding = [p for p in pooled.points if p.limit and p.limit.kind == "target-concurrency"]
    assert binding and all(p.in_flight_peak is not None and p.in_flight_peak <= 20 for p in binding)
    # Every point carries its figures and conditions.
    for point in pooled.points:
        assert point.cpu_us_per_request is not None and point.cpu_us_per_request > 0
        assert point.limit is not None and point.server_cores == 1
        assert point.concurrency["pool"] == 20


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for args, needle in (
        (["--scenarios", "hello"], "not hello"),
        (["--scenarios", "complete,disconnect"], "not disconnect"),
        (["--latencies", "glacial"], "unknown latency glacial"),
        (["--latencies", "short", "--mock-ttft-ms", "50"], "not both"),
        (["--targets", "flask-gunicorn-sync{procs=2}"], "counts are workers=N"),
    ):
        done = subprocess.run(
            bench("capacity", *args, "--out", str(tmp_path / "x")),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and needle in done.stderr
