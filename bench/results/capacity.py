"""Capacity: the most a target serves and holds at once, found by a search over the load.

Pure code: which loads to measure, when to stop, and what the measured points say.
The process side (bench.running.capacity) runs each list of loads as one load ramp.

Two figures per target, scenario and upstream latency:

- max throughput: the highest req/s among points with errors <= 1 % and p99 within
  the SLO (default: the set latency x 1.25 + 50 ms);
- max concurrency (in flight): the most users held at >= 90 % of users / latency
  within the same SLO (closed loop: each user has one request in flight).

The search climbs a ladder of user counts, doubling from a quarter of what is expected to
bind: the CPU a request cost at another latency, else a guess of one core's rate at this
latency; or from half a declared concurrency limit when that is lower (then the ladder
also tries a fifth below the limit, the limit itself and a fifth above it). It stops once
a step fails and throughput has stopped growing, then refines between the last step that
held and the first that did not (at most two steps: a boundary known within about 25 %).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.results import limits
from bench.results.model import Capacity, Limit, Point

SLO_FACTOR = 1.25
SLO_SLACK_MS = 50.0
MAX_ERROR_SHARE = 0.01
MIN_EFFICIENCY = 0.90
STILL_GROWING = 1.05  # a failing step whose throughput beats the best by this is not the end
RESOLUTION = 1.26  # refine until the boundary is known within this factor (2 ** (1/3))
MAX_REFINE_STEPS = 2  # a doubling split in three, in one ramp
# With nothing known about a target, the ladder starts as if one core served this many
# requests a second (a middle guess: one core serves 300 to 2,000 short answers a second).
GUESS_RPS_PER_CORE = 1000.0
# Fewer answers than this in a window: one answer is 2 % or more of the count.
FEW_ANSWERS = 50
# The steps around a declared limit: a fifth above it shows it binding; a fifth below it
# is where connections spread unevenly over workers may already fill one (300 users on
# 3 x 100 threads hold about 240), and within the search's resolution of the limit.
NEAR_DECLARED = 0.2


def default_slo_ms(answer_latency_ms: float) -> float:
    """The p99 that still counts as served: the set latency x 1.25 + 50 ms."""
    return answer_latency_ms * SLO_FACTOR + SLO_SLACK_MS


@dataclass(frozen=True)
class Criteria:
    """When a point counts as served (throughput) and as held (concurrency)."""

    slo_p99_ms: float
    max_error_share: float = MAX_ERROR_SHARE
    min_efficiency: float = MIN_EFFICIENCY

    def served(self, point: Point) -> bool:
        """Errors within the limit and p99 within the SLO (and a window to trust)."""
        if not point.ok or point.requests == 0:
            return False
        total = point.requests + point.failed_requests
        p99 = point.value(("latency_ms", "p99"))
        trusted = point.limit is None or point.limit.kind != "window"
        return (
            point.failed_requests / total <= self.max_error_share
            and p99 is not None
            and p99 <= self.slo_p99_ms
            and trusted
        )

    def held(self, point: Point) -> bool:
        """Served, and at >= 90 % of users / latency: every user's request was in flight.

        Where the window holds too few answers for a count to tell 90 % from 100 % (one
        user, 2.5 s answers, a 12 s window: 4 or 5 answers, 82 % or 102 %), the mock's mean
        in flight, sampled four times a second, says it instead.
        """
        if not self.served(point):
            return False
        efficiency = point.efficiency
        if efficiency is not None and efficiency >= self.min_efficiency:
            return True
        expected = (point.ceiling_rps or 0.0) * point.window_s
        users = point.load.users or 0
        return (
            0 < expected < FEW_ANSWERS
            and point.in_flight_mean is not None
            and point.in_flight_mean >= self.min_efficiency * users
        )


def _users(point: Point) -> int:
    return point.load.users or 0


def ladder(start: int, max_users: int, factor: float = 2.0) -> list[int]:
    """User counts from `start` growing by `factor`, ending at max_users."""
    steps: list[int] = []
    users = max(1, start)
    while users < max_users:
        steps.append(users)
        users = max(users + 1, round(users * factor))
    steps.append(max_users)
    return steps


def guess_in_flight(cores: int, answer_latency_ms: float) -> float:
    """In flight at a guessed rate, for a target about which nothing is known."""
    return GUESS_RPS_PER_CORE * max(cores, 1) * answer_latency_ms / 1000


def start_users(declared: int | None, expected: float) -> int:
    """Where the ladder starts: half a declared limit that binds first, else a quarter of
    what is expected to bind.

    Args:
        declared: the tightest declared concurrency limit of the target.
        expected: the in-flight count its CPU cost predicts (rate x latency), or a guess.
    """
    if declared is not None and 0 < declared <= expected:
        # A count of workers or threads is exact, where a prediction from CPU is not.
        return max(1, math.floor(declared / 2))
    return max(1, math.floor(expected / 4))


def rungs(declared: int | None, expected: float, max_users: int) -> list[int]:
    """The ladder: doubling from the start, and a declared limit tried a fifth below, at and
    a fifth above it.

    When a declared limit (workers, threads) is lower than what the CPU would allow, it is
    what binds: measuring around it shows it, with no refining needed.
    """
    steps = ladder(start_users(declared, expected), max_users)
    if declared is not None and 0 < declared <= expected:
        near = max(1, round(declared * NEAR_DECLARED))
        around = {declared - near, declared, declared + near}
        steps = sorted({*steps, *around} & set(range(1, max_users + 1)))
    return steps


def should_stop(point: Point, before: Sequence[Point], criteria: Criteria) -> bool:
    """Stop climbing: this step was not held, and the throughput has stopped growing."""
    if criteria.held(point):
        return False
    best = max((p.throughput_rps for p in before if criteria.served(p)), default=0.0)
    return not criteria.served(point) or point.throughput_rps <= STILL_GROWING * best


def refinement(points: Iterable[Point], criteria: Criteria) -> list[int]:
    """User counts between the last that held and the first above it that did not."""
    by_users = {_users(p): p for p in points}
    held = [u for u, p in by_users.items() if criteria.held(p)]
    low = max(held, default=0)
    above = [u for u, p in by_users.items() if u > low and not criteria.held(p)]
    if not above:
        return []
    high = min(above)
    if low == 0:
        # Nothing held: climb to the first failure from a quarter of it (not to within the
        # resolution of it: 652 users say nothing that 654 did not).
        climb = ladder(max(1, high // 4), high)
        return [u for u in climb if u * RESOLUTION < high and u not in by_users]
    if high / low <= RESOLUTION or high - low <= 1:
        return []
    count = min(MAX_REFINE_STEPS, math.ceil(math.log(high / low) / math.log(RESOLUTION)) - 1)
    ratio = high / low
    found = {round(low * ratio ** (i / (count + 1))) for i in range(1, count + 1)}
    return sorted(u for u in found if low < u < high and u not in by_users)


def conclude(capacity: Capacity, criteria: Criteria, unfinished: str | None = None) -> Capacity:
    """Fill in the two figures and their limits from the points measured."""
    points = sorted(capacity.points, key=_users)
    served = [p for p in points if criteria.served(p)]
    held = [p for p in points if criteria.held(p)]
    answer_ms = capacity.latency.answer_ms
    if served:
        best = max(served, key=lambda p: p.throughput_rps)
        capacity.max_rps, capacity.max_rps_users = best.throughput_rps, _users(best)
        capacity.rps_limit = _binding(best, points, criteria.served, answer_ms)
    if held:
        top = max(held, key=_users)
        capacity.max_in_flight, capacity.in_flight_measured = _users(top), top.in_flight_mean
        capacity.limit = _next_failure(top, points, criteria.held, answer_ms)
    elif points:
        capacity.max_in_flight = 0
        capacity.limit = limits.cause(points[0], answer_ms)
    capacity.unknown = unfinished or _unknown(capacity, points, criteria)
    return capacity


def _binding(best: Point, points: list[Point], ok: Any, answer_ms: float | None) -> Limit | None:
    """The limit at the best point, unless it sat at its ceiling: then the limit of the
    first load above it that failed, or that was served without growing past it and names
    what held it back (3 users on 2 sync workers whose cycles interleave each wait half an
    answer: p99 within the SLO, throughput that of 2 users, limit the workers)."""
    if best.limit is not None and best.limit.kind not in ("none",):
        return best.limit

    def at_ceiling(point: Point) -> bool:
        return bool(ok(point)) and (point.limit is None or point.limit.kind == "none")

    return _next_failure(best, points, at_ceiling, answer_ms) or best.limit


def _next_failure(
    top: Point, points: list[Point], ok: Any, answer_ms: float | None
) -> Limit | None:
    """What made the first load above `top` fail (behind a window flag: its cause)."""
    above = [p for p in points if _users(p) > _users(top) and not ok(p)]
    if not above:
        return None
    return limits.cause(min(above, key=_users), answer_ms)


def _unknown(capacity: Capacity, points: list[Point], criteria: Criteria) -> str | None:
    if not points:
        return "nothing was measured"
    if capacity.limit is None and capacity.max_in_flight == capacity.max_users:
        return (
            f"every load up to --max-users {capacity.max_users:,} was held: the limit lies above it"
        )
    return None
