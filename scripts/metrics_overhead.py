"""What METRICS=1 costs: the server's CPU time per request with and without it.

For each server model, the service is pinned to the first core (`taskset`) and the mock
(100 ms answers of 10 tokens) and wrk (one thread, keep-alive connections, POST
/complete) to the last; each run warms up, then measures the CPU time of the service's
whole process tree (psutil) over the requests wrk completed. Runs alternate off and on,
REPEAT times, and the table gives the median of each.

    .venv/bin/python scripts/metrics_overhead.py [--repeat 3] [--seconds 15] [MODEL ...]

MODEL is `service:server` (`fastapi:uvicorn`, `drf:gunicorn-gevent`...); default: all.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
MODULES = {"fastapi": "fastapi_app", "flask": "flask_app", "drf": "drf_app"}
MODELS = [
    "fastapi:uvicorn", "fastapi:gunicorn-uvicorn", "fastapi:gunicorn-asgi",
    "flask:gunicorn-sync", "flask:gunicorn-gthread", "flask:gunicorn-gevent",
    "drf:uvicorn", "drf:gunicorn-uvicorn", "drf:gunicorn-gthread", "drf:gunicorn-gevent",
    "drf:gunicorn-sync",
]  # fmt: skip
LUA = """wrk.method = "POST"
wrk.body = '{"prompt": "Say hello in a few words.", "max_tokens": 10}'
wrk.headers["Content-Type"] = "application/json"
"""
SERVICE_PORT, MOCK_PORT = 18750, 18751


@contextmanager
def process(
    args: list[str], core: int, env: dict[str, str], ready: str
) -> Iterator[psutil.Process]:
    """Run a command pinned to `core` in its own session until the block ends."""
    proc = subprocess.Popen(
        ["taskset", "-c", str(core), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(ready, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{args} did not start")
            time.sleep(0.2)
        yield psutil.Process(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def tree_cpu(root: psutil.Process) -> float:
    """CPU seconds (user + system) of a process and all its descendants now."""
    total = 0.0
    for member in [root, *root.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def wrk(core: int, connections: int, seconds: int, script: Path) -> tuple[int, int]:
    """Run wrk on `core`; return (requests completed, non-2xx answers)."""
    out = subprocess.run(
        ["taskset", "-c", str(core), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
         "-s", str(script), f"http://127.0.0.1:{SERVICE_PORT}/complete"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    done = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert done, out
    return int(done.group(1)), int(errors.group(1)) if errors else 0


def measure(model: str, metrics: bool, args: argparse.Namespace, script: Path) -> float:
    """One run: the service's CPU microseconds per completed request."""
    service, server = model.split(":")
    command = [sys.executable, "-m", MODULES[service], "--server", server]
    command += ["--port", str(SERVICE_PORT)]
    env = {"LLM_BASE_URL": f"http://127.0.0.1:{MOCK_PORT}/v1", "METRICS": "1" if metrics else "0"}
    with process(command, args.server_core, env, f"http://127.0.0.1:{SERVICE_PORT}/health") as root:
        wrk(args.load_core, args.connections, args.warmup, script)
        before = tree_cpu(root)
        done, errors = wrk(args.load_core, args.connections, args.seconds, script)
        used = tree_cpu(root) - before
    if errors:
        print(f"  {model} metrics={metrics}: {errors} non-2xx answers", file=sys.stderr)
    return used / done * 1e6


def parse_args() -> argparse.Namespace:
    cores = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", default=MODELS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--server-core", type=int, default=cores[0])
    parser.add_argument("--load-core", type=int, default=cores[-1])
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    mock = [sys.executable, "-m", "mock_llm", "--port", str(MOCK_PORT)]
    mock += ["--ttft-ms", "100", "--itl-ms", "0", "--output-tokens", "10"]
    print(f"{'model':28} {'off us/req':>11} {'on us/req':>10} {'overhead':>9}   runs (off | on)")
    with (
        tempfile.TemporaryDirectory() as work,
        process(mock, args.load_core, {}, f"http://127.0.0.1:{MOCK_PORT}/health"),
    ):
        script = Path(work) / "post.lua"
        script.write_text(LUA)
        for model in args.models:
            runs: dict[bool, list[float]] = {False: [], True: []}
            for repetition in range(args.repeat):
                # Alternate which goes first, so that a drift of the machine hits both.
                for metrics in (False, True) if repetition % 2 == 0 else (True, False):
                    runs[metrics].append(measure(model, metrics, args, script))
            off, on = statistics.median(runs[False]), statistics.median(runs[True])
            listed = " ".join(f"{v:.0f}" for v in runs[False])
            listed += " | " + " ".join(f"{v:.0f}" for v in runs[True])
            print(f"{model:28} {off:11.0f} {on:10.0f} {(on / off - 1) * 100:+8.1f}%   {listed}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
