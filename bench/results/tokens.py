"""What a stack adds to every token of a stream: the relay's own cost (pure).

The mock sends each stream on a set schedule (its TTFT, then a token every ITL), so what
a client measures beyond that schedule is what the framework, the server and the
upstream client added on the way: docs/metrics.md, "The relay's cost per token".

- TTFT added: the measured TTFT minus the mock's, at p50 and p99;
- ITL added: the measured time between tokens minus the mock's, at p50; its jitter, at
  p99;
- fidelity: deltas received per token the mock sent (1: none merged or split);
- bursts: half the tokens or more reached the client less than half the mock's interval
  after the one before (ITL added at p50 below minus half of it): held back on the way
  and delivered together, with the gaps between bursts in the jitter;
- CPU per token: the server's CPU per stream over the tokens in one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.results.model import MockInfo, Point, Repetitions, repetitions


@dataclass(frozen=True)
class RelayCost:
    """One stream level's cost per token (medians over its repetitions), in ms and µs."""

    target: str
    label: str  # the level's load
    ttft_added_p50_ms: float | None
    ttft_added_p99_ms: float | None
    itl_added_p50_ms: float | None
    itl_jitter_p99_ms: float | None
    fidelity: float | None
    cpu_us_per_token: float | None
    set_itl_ms: float  # the mock's interval between tokens

    @property
    def in_bursts(self) -> bool:
        """Half its tokens came less than half an interval after the one before."""
        added = self.itl_added_p50_ms
        return added is not None and self.set_itl_ms > 0 and added < -self.set_itl_ms / 2


def _minus(value: float | None, base: float) -> float | None:
    return None if value is None else value - base


def relay_cost(level: Repetitions, mock: MockInfo) -> RelayCost:
    """The cost per token of one stream level against the mock's set schedule."""
    cpu = level.median(("cpu_us_per_request",))
    return RelayCost(
        target=level.target,
        label=level.load.label(),
        ttft_added_p50_ms=_minus(level.median(("ttft_ms", "p50")), mock.ttft_ms),
        ttft_added_p99_ms=_minus(level.median(("ttft_ms", "p99")), mock.ttft_ms),
        itl_added_p50_ms=_minus(level.median(("itl_ms", "p50")), mock.itl_ms),
        itl_jitter_p99_ms=_minus(level.median(("itl_ms", "p99")), mock.itl_ms),
        fidelity=level.median(("chunk_fidelity",)),
        cpu_us_per_token=cpu / mock.output_tokens if cpu and mock.output_tokens else None,
        set_itl_ms=mock.itl_ms,
    )


def relay_costs(points: Iterable[Point], mock: MockInfo) -> list[RelayCost]:
    """Every stream level of a run whose upstream latency was set, least TTFT added first."""
    if mock.external:
        return []  # a suffered latency has no schedule to subtract
    levels = [r for r in repetitions(points) if r.level.scenario == "stream" and r.points[0].ok]
    costs = [relay_cost(level, mock) for level in levels]
    return sorted(costs, key=lambda c: (c.label, c.ttft_added_p50_ms or float("inf")))
