"""What METRICS=1 costs: the server's CPU time per request with and without it.

For each server model, two copies of the service run side by side on the first core
(`taskset`), one with METRICS=0 and one with METRICS=1, each loaded by its own wrk (one
thread, keep-alive connections, POST /complete) on the last core with the mock (100 ms
answers of 10 tokens). Both warm up, then both are measured over the same seconds: the
CPU time of each service's whole process tree (psutil) over the requests its wrk
completed. Side by side, whatever else the machine runs meanwhile weighs on both alike.
REPEAT pairs (the ports swapped each time); the table gives the medians.

    .venv/bin/python scripts/metrics_overhead.py [--repeat 3] [--seconds 15] [MODEL ...]

MODEL is `service:server` (`fastapi:uvicorn`, `drf:gunicorn-gevent`...); default: all.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil
from pinned import process

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
# Each pair gets ports of its own: a server stopping may still hold the last pair's.
FIRST_PORT, MOCK_PORT = 18700, 18699
pair_ports = itertools.count(FIRST_PORT, 2)


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


def start_wrk(core: int, port: int, connections: int, seconds: int, script: Path) -> Any:
    """Start wrk on `core` against one service's POST /complete."""
    return subprocess.Popen(
        ["taskset", "-c", str(core), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
         "-s", str(script), f"http://127.0.0.1:{port}/complete"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def wrk_result(run: Any) -> tuple[int, int]:
    """Wait for wrk; return (requests completed, non-2xx answers)."""
    out, _ = run.communicate()
    done = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert run.returncode == 0 and done, out
    return int(done.group(1)), int(errors.group(1)) if errors else 0


def load_both(
    ports: tuple[int, int], args: argparse.Namespace, seconds: int, script: Path
) -> list[int]:
    """Load both services for the same seconds; return the requests each completed."""
    runs = [start_wrk(args.load_core, port, args.connections, seconds, script) for port in ports]
    results = [wrk_result(run) for run in runs]
    for port, (_, errors) in zip(ports, results, strict=True):
        if errors:
            print(f"  port {port}: {errors} non-2xx answers", file=sys.stderr)
    return [done for done, _ in results]


def service(model: str, port: int, metrics: bool, args: argparse.Namespace) -> Any:
    """Start one copy of the service on the server core."""
    name, server = model.split(":")
    command = [sys.executable, "-m", MODULES[name], "--server", server, "--port", str(port)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    env = {"LLM_BASE_URL": f"http://127.0.0.1:{MOCK_PORT}/v1", "METRICS": "1" if metrics else "0"}
    return process(command, args.server_core, env, f"http://127.0.0.1:{port}/health")


def measure_pair(model: str, swap: bool, args: argparse.Namespace, script: Path) -> list[float]:
    """One pair: the CPU microseconds per request without metrics, then with."""
    first = next(pair_ports)
    ports = (first + 1, first) if swap else (first, first + 1)
    # --calibrate: both copies without metrics, to see the method's own difference.
    second = not args.calibrate
    with service(model, ports[0], False, args) as off, service(model, ports[1], second, args) as on:
        load_both(ports, args, args.warmup, script)
        before = [tree_cpu(off), tree_cpu(on)]
        done = load_both(ports, args, args.seconds, script)
        used = [tree_cpu(off) - before[0], tree_cpu(on) - before[1]]
    return [cpu / count * 1e6 for cpu, count in zip(used, done, strict=True)]


def parse_args() -> argparse.Namespace:
    cores = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", default=MODELS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=10, help="per copy")
    parser.add_argument("--workers", type=int, help="default: each server's own")
    parser.add_argument("--calibrate", action="store_true", help="both copies without metrics")
    parser.add_argument("--server-core", type=int, default=cores[0])
    parser.add_argument("--load-core", type=int, default=cores[-1])
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    mock = [sys.executable, "-m", "mock_llm", "--port", str(MOCK_PORT)]
    mock += ["--ttft-ms", "100", "--itl-ms", "0", "--output-tokens", "10"]
    print(f"{'model':28} {'off us/req':>11} {'on us/req':>10} {'overhead':>9}   pairs (off/on)")
    with (
        tempfile.TemporaryDirectory() as work,
        process(mock, args.load_core, {}, f"http://127.0.0.1:{MOCK_PORT}/health"),
    ):
        script = Path(work) / "post.lua"
        script.write_text(LUA)
        for model in args.models:
            pairs = [measure_pair(model, i % 2 == 1, args, script) for i in range(args.repeat)]
            off = statistics.median(pair[0] for pair in pairs)
            on = statistics.median(pair[1] for pair in pairs)
            listed = " ".join(f"{a:.0f}/{b:.0f}" for a, b in pairs)
            print(f"{model:28} {off:11.0f} {on:10.0f} {(on / off - 1) * 100:+8.1f}%   {listed}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
