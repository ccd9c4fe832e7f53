"""`bench run --live` for real: the page and its event stream follow a short run, and a
headless Chromium opened mid-run draws the chart."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.bench.runs import Events, bench, free_ports, watched
from tests.support import free_port, require_tool

pytestmark = pytest.mark.process


def _wait_for_seconds(events: Events, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any((s.get("point") or {}).get("seconds") for _, s in events.snapshots()):
            return
        time.sleep(0.1)
    raise AssertionError("no second was measured while the run went on")


def _chromium(url: str, tmp_path: Path) -> tuple[str, Path]:
    """The page's DOM after its script ran, and a screenshot of it."""
    flags = [
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else "chromium",
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1000",
    ]  # fmt: skip
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    shot = tmp_path / "live.png"
    done = subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return dom.stdout, shot


def test_the_live_view_follows_a_run_and_closes_with_it(tmp_path: Path) -> None:
    require_tool("chromium")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = bench(
        "run", "--targets", "fastapi-uvicorn", "--scenarios", "complete", "--users", "10,30",
        "--duration", "5", "--warmup", "1", "--out", str(tmp_path / "run"), *free_ports(),
        "--live-port", str(port), "--no-summary", "--telemetry",
    )  # fmt: skip
    with watched(command, url) as (proc, events):
        _wait_for_seconds(events, proc)
        dom, shot = _chromium(url, tmp_path)
        running = proc.poll() is None
        output, _ = proc.communicate(timeout=120)
        ended = time.time()
    assert proc.returncode == 0, output
    assert f"live view: {url}" in output
    events.thread.join(timeout=10)
    assert not events.thread.is_alive()  # the stream closed when the run ended
    snapshots = events.snapshots()
    during = [s for at, s in snapshots if at < ended - 0.5 and s["status"] == "measuring"]
    seconds = [len(s["point"]["seconds"]) for s in during]
    assert len(during) >= 3 and max(seconds) >= 3  # a second at a time, while it ran
    assert all(row["rps"] > 0 for row in during[-1]["point"]["seconds"])
    assert snapshots[-1][1]["status"] == "done" and snapshots[-1][1]["measured"] == 2
    assert [line for _, line in events.lines if line][-2:][0] == "event: done"
    # Chromium opened the page mid-run: the charts are drawn, with the measured seconds.
    assert running
    rate = re.search(r'<div id="rate-chart">(.*?)</div>', dom, flags=re.S)
    assert rate and "<svg" in rate.group(1) and "<circle" in rate.group(1)
    # With --telemetry the server's own series beside them: what it held at once.
    inside = during[-1]["point"]["inside"]
    assert inside is not None and max(inside["held"]["requests in progress"]) > 0
    held = re.search(r'<div id="held-chart">(.*?)</div>', dom, flags=re.S)
    assert held and "requests in progress" in held.group(1)
    assert shot.stat().st_size > 20_000  # a page with charts, not a blank one
    if os.environ.get("BENCH_KEEP_SCREENSHOT"):
        shot.replace(os.environ["BENCH_KEEP_SCREENSHOT"])
