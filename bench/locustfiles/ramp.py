"""A load ramp in steps on the wall clock: `locust -f <scenario>.py,bench/locustfiles/ramp.py`.

BENCH_STEPS is a JSON list of `[start, users, spawn_rate]`, `start` in Unix seconds,
ascending; BENCH_RAMP_END (Unix seconds) ends the test. From each step's start the
shape asks for its users, spawned at its rate; the runner measures each step in a
window of whole seconds near its end, from the plugin's per-second buckets. Steps on the
wall clock, not on Locust's run time, so that the runner, which sampled the server and
the mock in the same windows, and Locust agree on when each step happened.
"""

from __future__ import annotations

import json
import os
import time

from locust import LoadTestShape


def steps_from_env() -> list[tuple[float, int, float]]:
    """Read BENCH_STEPS (empty when unset)."""
    raw = os.environ.get("BENCH_STEPS", "")
    steps = json.loads(raw or "[]")
    return [(float(start), int(users), float(rate)) for start, users, rate in steps]


class StepRamp(LoadTestShape):
    """Users in steps at set wall-clock times; stops at BENCH_RAMP_END."""

    # Only a ramp the runner asked for: `locust -f bench/locustfiles/` (workers, or anyone
    # exploring) loads this file too, and a shape would take over their test.
    abstract = not os.environ.get("BENCH_STEPS")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Locust is untyped
        self.steps = steps_from_env()
        self.end = float(os.environ.get("BENCH_RAMP_END", "0"))

    def tick(self) -> tuple[int, float] | None:
        now = time.time()
        if not self.steps or now >= self.end:
            return None
        current = [step for step in self.steps if step[0] <= now]
        _, users, rate = current[-1] if current else self.steps[0]
        return users, rate
