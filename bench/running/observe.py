"""What a runner tells a watcher (the live view, `--live`) while it measures.

The runners (bench.running.runner and bench.running.capacity) call an Observer, when
one is given in their Options, at two moments: when Locust starts on a point or a
load ramp (`started`, with the file Locust rewrites every second, BENCH_LIVE_FILE) and
when a point (or a ramp's step) is measured (`finished`). Without an observer nothing
changes: no live file is written and nothing is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.results.model import Point, Telemetry


@dataclass(frozen=True)
class Watched:
    """The point or load ramp the generator runs now, with what its ceilings need."""

    label: str
    target: str
    scenario: str
    live_file: Path  # Locust's BENCH_LIVE_FILE for this point or ramp
    started: float  # Unix time at which Locust starts
    windows: tuple[tuple[float, float], ...]  # the measured windows, [start, end)
    latency_ms: float | None  # the upstream answer latency (None for hello)
    concurrency: int | None  # requests the server model holds at once (None: unbounded)
    offered_rps: float | None = None  # a paced open loop's rate
    # The server's own series so far (its /metrics, with --telemetry), or None.
    inside: Callable[[], Telemetry | None] | None = None

    @property
    def own_ceiling_rps(self) -> float | None:
        """The server model's own ceiling: what it holds at once / the latency."""
        if self.concurrency is None or not self.latency_ms:
            return None
        return self.concurrency * 1000.0 / self.latency_ms


class Observer(Protocol):
    """Told what the generator runs now and what each point measured."""

    def started(self, watched: Watched) -> None: ...

    def finished(self, point: Point) -> None: ...
