"""How fast the server's cores run Python now: a fixed piece of work timed on them.

Machines of one kind differ (one measured twice as fast as another), and one machine
differs from hour to hour (a busy neighbour on its host, a lower clock): every figure
that a server's CPU bounds moves with them. So a run times this work on the server's
cores as it starts and as it ends, and results.json keeps both
(`environment.core_speed`): a comparison of two runs says when their cores ran at
different speeds, and a run whose cores slowed while it ran says so.

The work is a request's worth of what a framework does, in miniature: build a dict,
serialise it to JSON, parse it back, format a line. Its figure is the rate of that
work in thousands a second, the best of several tries (the scheduler can make a try
slower, never faster).

`python -m bench.running.speed` prints the figure for the core it runs on.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Sequence

from bench.running.cpus import child_setup

# Light: every run times its cores twice, and make test starts dozens of runs side by side.
TRIES = 3
UNITS = 5_000  # one try: 25-45 ms at the rates read on the 2-core machine (113-204)
TIMEOUT_S = 30.0


def _work(units: int) -> None:
    for i in range(units):
        body = {"id": i, "model": "mock", "choices": [{"index": 0, "text": "token " * 8}]}
        parsed = json.loads(json.dumps(body))
        f"{parsed['id']}:{parsed['model']}:{len(parsed['choices'])}"


def rate(tries: int = TRIES, units: int = UNITS) -> float:
    """The work's best rate in this process, in thousands of units a second."""
    best = math.inf
    for _ in range(tries):
        started = time.perf_counter()
        _work(units)
        best = min(best, time.perf_counter() - started)
    return units / best / 1000


def measure(cpus: Sequence[int]) -> float | None:
    """The rate on `cpus`, timed in a child pinned to them (None where it could not run)."""
    if not cpus:
        return None
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.running.speed"],
            preexec_fn=child_setup(cpus),  # pinning, before exec, as every child
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        return float(done.stdout) if done.returncode == 0 else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


if __name__ == "__main__":
    print(f"{rate():.2f}")
