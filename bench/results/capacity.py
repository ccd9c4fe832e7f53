"""Capacity: the three figures the field compares, each decided with stated confidence.

Pure code: how a step is judged, which load to measure next, and what the measured steps
say. The process side (bench.running.capacity) runs the steps, one Locust process per
phase, each step as long as its verdict needs.

Three figures per target, scenario and upstream latency (docs/methodology.md):

- saturation throughput: the most requests per second completed whatever their latency,
  by closed-loop users climbing until throughput stops growing (what wrk and
  TechEmpower publish);
- goodput rate: the highest open-loop Poisson arrival rate whose p99 response time is
  within the SLO with errors <= 1 % (vLLM's and guidellm's "max rate under SLO");
- max in flight: the most closed-loop users held at >= 90 % of users / latency within
  the same SLO (each user has one request in flight).

A step's verdict rests on a distribution-free 95 % interval of its p99 (bench.results.
quantiles): it is within the SLO when the whole interval is, over it when the whole
interval is over it, and a step is measured until one of the two holds (or its window
reaches its cap: then it is undecided, never held, and the searches steer by its own
estimates: above it when its p99 estimate was within the SLO, below it otherwise). With
too few answers to bound p99 from above, a step is within the SLO only if every answer
was. Searches refine the goodput rate and the users held until the boundary is known
within 5 %; saturation is the plateau, from the climbing steps past the knee (each
measured 5 s at least), with the interval of the best one's per-second throughput.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from bench.results import analysis, limits, quantiles, stats
from bench.results.model import Capacity, Figure, Limit, Objectives, Point

SLO_FACTOR = 1.25
SLO_SLACK_MS = 50.0
MAX_ERROR_SHARE = 0.01
MIN_EFFICIENCY = 0.90
STILL_GROWING = 1.05  # a step whose throughput beats the best before it by this still grows
RESOLUTION = 1.05  # searches refine until the boundary is known within this factor
# A climbing step not held (past the knee, where the saturation is) measures at least
# this long: a 2-s window gave an interval from 0 to twice the figure (Student's t on two
# seconds), and moved by up to 29 % between runs. Measuring the best step again once the
# climb had stopped was tried and read low: it followed an overload whose abandoned
# requests the server was still serving.
SATURATION_WINDOW_S = 5
# A climbing step deep in overload (server cores this busy, p99 at least this many SLOs)
# ends the climb: more users only lengthen the queue.
DEEP_CPU_PCT = 95.0
DEEP_SLOS = 2.0
# With nothing known about a target, the ladder starts as if one core served this many
# requests a second (a middle guess: one core serves 300 to 2,000 short answers a second).
GUESS_RPS_PER_CORE = 1000.0
# The steps around a declared limit: a fifth above it shows it binding; a fifth below it
# is where connections spread unevenly over workers may already fill one (300 users on
# 3 x 100 threads hold about 240).
NEAR_DECLARED = 0.2
# The goodput search starts at this share of the saturation throughput (the issue's
# measurements: about 0.55 for an event loop at 100 ms), and gives up below 1/64 of it.
GOODPUT_START = 0.5
GOODPUT_FLOOR = 1 / 64
CONFIDENCE = 0.95

Verdict = Literal["held", "served", "failed", "undecided"]


def default_slo_ms(answer_latency_ms: float) -> float:
    """The p99 that still counts as served: the set latency x 1.25 + 50 ms."""
    return answer_latency_ms * SLO_FACTOR + SLO_SLACK_MS


# --- judging one step ------------------------------------------------------------------


@dataclass(frozen=True)
class Criteria:
    """When a step counts as served (its requests within the objectives) and as held.

    With `objectives` (what the generator judged each request against: a complete's whole
    answer, a stream's first token and gaps), `share` of the requests must meet every one
    that applies; without, p99 must be within `slo_p99_ms`. The two are one rule: p99
    within a limit means 99 % of the requests within it, and the interval of a quantile
    and the count of requests within its limit give the same verdict (bench.results.
    quantiles: the u-th smallest answer is within the limit when u answers are).
    """

    slo_p99_ms: float
    share: float = 0.99
    max_error_share: float = MAX_ERROR_SHARE
    min_efficiency: float = MIN_EFFICIENCY
    objectives: Objectives | None = None

    def verdict(self, point: Point, final: bool) -> Verdict | None:
        """The step's verdict, or None while it needs more time (never when `final`).

        held: within the SLO, errors <= 1 %, and every user's request in flight (closed
        loop: efficiency >= 90 %) or no queue growing (open loop); served: within the
        SLO, not held; failed: over it, or too many errors, or not measured. A tail over
        the SLO while the load generator or the mock fell behind (the step's own limit)
        holds their delay, not only the target's: such a step measures on, and at its cap
        it is undecided, never failed.
        """
        tail = self._tail(point, final)
        if tail is None:
            return None
        if tail == "failed" and self._harness_bound(point):
            return "undecided" if final else None
        if tail != "within":
            return tail
        if self._held(point):
            return "held"
        if self._may_hold(point):
            return "undecided" if final else None
        return "served"

    def _may_hold(self, point: Point) -> bool:
        """Closed loop, under 90 % of users / latency on its estimate, while the 95 %
        interval of its throughput (Student's t over the window's seconds) reaches 90 %:
        the share is not decided yet, and the step measures on. Judged on the estimate
        alone, a 3-s step at LLM latency (about one answer per user) served 89.9 % at 660
        users and ended fastapi-uvicorn's max in flight at 632, where a run before had
        held 1,040."""
        if point.load.open_loop or not point.ceiling_rps or int(point.window_s) < 2:
            return False
        _, high = _throughput_interval(point)
        return high is not None and high >= self.min_efficiency * point.ceiling_rps

    def _tail(self, point: Point, final: bool) -> Literal["within", "failed", "undecided"] | None:
        total = point.requests + point.failed_requests
        if not point.ok or total == 0:
            return "failed" if final or not point.ok else None
        if point.failed_requests / total > self.max_error_share and (final or total >= 100):
            return "failed"
        if point.judged:
            return self._counted(point.judged, point.met or 0, point.met_clumping, final)
        low, high = point.p99_low_ms, point.p99_high_ms
        if low is not None and low > self.slo_p99_ms:
            return "failed"
        if high is not None and high <= self.slo_p99_ms:
            return "within"
        if not final:
            return None
        slowest = point.value(("latency_ms", "max"))
        # Too few answers to bound p99: within only if every answer was.
        if high is None and slowest is not None and slowest <= self.slo_p99_ms:
            return "within"
        return "undecided"

    def _counted(
        self, judged: int, met: int, clumping: float | None, final: bool
    ) -> Literal["within", "failed", "undecided"] | None:
        """`met` of `judged` requests met every objective: is the share met, at 95 %?
        Misses that came in clumps (a pause failing every stream in flight) count as
        fewer independent answers (bench.results.quantiles)."""
        low, high = quantiles.share_ranks(judged, self.share, clumping or 1.0)
        if met < low:
            return "failed"
        if high is not None and met >= high:
            return "within"
        if not final:
            return None
        # Too few requests to bound the share: within only if every one met them.
        return "within" if high is None and met == judged else "undecided"

    def _harness_bound(self, point: Point) -> bool:
        """Measured, with few errors, while the generator or the mock bound it."""
        total = point.requests + point.failed_requests
        return (
            point.ok
            and total > 0
            and point.failed_requests / total <= self.max_error_share
            and point.limit is not None
            and point.limit.kind in limits.HARNESS
        )

    def leans_held(self, point: Point) -> bool:
        """What the step's own estimates say, decided or not: its p99 (or the share of
        requests that met the objectives) within the SLO, errors at most 1 %, and held
        otherwise (efficient, or no queue growing)."""
        total = point.requests + point.failed_requests
        if not point.ok or total == 0 or point.failed_requests / total > self.max_error_share:
            return False
        if point.judged:
            within = (point.met or 0) >= self.share * point.judged
        else:
            p99 = point.value(("latency_ms", "p99"))
            within = p99 is not None and p99 <= self.slo_p99_ms
        return within and self._held(point)

    def steers_up(self, point: Point) -> bool:
        """Whether a search looks above this step: held, or undecided with its estimates
        on the held side. An undecided step steered the searches down once: two runs then
        found flask-gunicorn-gthread's goodput at 681 and 1,000 req/s, the first below a
        rate of p99 119 ms left undecided by its clumped tail."""
        return held(point) or (point.decision == "undecided" and self.leans_held(point))

    def _held(self, point: Point) -> bool:
        if point.load.open_loop:
            return analysis.backlog(point) is None
        efficiency = point.efficiency
        return efficiency is None or efficiency >= self.min_efficiency


def decided(point: Point) -> Verdict:
    """A measured step's verdict as the search recorded it (undecided when it has none)."""
    verdict = point.decision
    return verdict if verdict in ("held", "served", "failed") else "undecided"  # type: ignore[return-value]


def held(point: Point) -> bool:
    return point.decision == "held"


def within(point: Point) -> bool:
    """Its p99 was within the SLO (held or served)."""
    return point.decision in ("held", "served")


# --- where the ladder of users starts ---------------------------------------------------


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
    what is expected to bind (the in-flight count its CPU cost predicts, or a guess)."""
    if declared is not None and 0 < declared <= expected:
        # A count of workers or threads is exact, where a prediction from CPU is not.
        return max(1, math.floor(declared / 2))
    return max(1, math.floor(expected / 4))


def rungs(declared: int | None, expected: float, max_users: int) -> list[int]:
    """The ladder: doubling from the start, and a declared limit tried a fifth below, at and
    a fifth above it (when it binds before the CPU does, measuring around it shows it)."""
    steps = ladder(start_users(declared, expected), max_users)
    if declared is not None and 0 < declared <= expected:
        near = max(1, round(declared * NEAR_DECLARED))
        around = {declared - near, declared, declared + near}
        steps = sorted({*steps, *around} & set(range(1, max_users + 1)))
    return steps


# --- the searches -----------------------------------------------------------------------


def _between(low: float, high: float, whole: bool) -> float | None:
    """The next load between a held `low` and a not-held `high`, or None once the
    boundary is known within RESOLUTION (geometric bisection; rates to 3 figures)."""
    if high / low <= RESOLUTION or (whole and high - low <= 1):
        return None
    middle = math.sqrt(low * high)
    if whole:
        return float(min(max(round(middle), int(low) + 1), int(high) - 1))
    return _figures(middle)


def _figures(rate: float) -> float:
    """A rate to three significant figures (a load people can read and type again)."""
    return float(f"{rate:.3g}")


@dataclass
class UserSearch:
    """Closed loop: climb the rungs until throughput stops growing, then refine the users
    held. Saturation is the plateau the climb found; max in flight the users held."""

    rungs: list[int]
    max_users: int
    refine: bool = True
    plateau: bool = True  # climbing steps not held measure SATURATION_WINDOW_S at least
    # The SLO on p99: a step deep in overload past it stops the climb (`_stopped`).
    slo_p99_ms: float | None = None
    # Which steps the refinement looks above (Criteria.steers_up); held ones by default.
    steers_up: Callable[[Point], bool] = held
    points: list[Point] = field(default_factory=list)
    climbing: bool = True

    def record(self, point: Point) -> None:
        self.points.append(point)
        if self.climbing and self._stopped():
            self.climbing = False  # refining from now on, never climbing again

    def next(self) -> int | None:
        """The users of the next step, or None when the search is done."""
        rung = self.next_rung()
        if rung is not None or not self._going():
            return rung
        return self._refinement({_users(p) for p in self.points}) if self.refine else None

    def next_rung(self) -> int | None:
        """The climb's next step, or None once it has stopped (`next` then refines: in a
        Locust process of its own, after the server has drained what the climb left)."""
        if not self.climbing or not self._going():
            return None
        measured = {_users(p) for p in self.points}
        rest = [u for u in self.rungs if u not in measured and u > self._top()]
        if rest:
            return rest[0]
        self.climbing = False
        return None

    def _going(self) -> bool:
        """False once a step failed (the target died or Locust did): nothing later can be
        trusted."""
        return not self.points or self.points[-1].ok

    def unheld_window_s(self) -> int | None:
        """The shortest window of the next step if it is not held: a climbing step past
        the knee may be the saturation (SATURATION_WINDOW_S); any other, what its
        verdict needs (None)."""
        return SATURATION_WINDOW_S if self.plateau and self.climbing else None

    def _top(self) -> int:
        return max((_users(p) for p in self.points), default=0)

    def _stopped(self) -> bool:
        """The last step was not held, and its throughput did not grow past the best before,
        or it was deep in overload: its server's cores saturated and its p99 a multiple of
        the SLO, where more users only lengthen the queue. Doubling on from there (4,144
        streams at LLM latency after 2,072 at 100 % CPU) left the server and the generator
        so loaded that the refinement after it measured 32 users failing at 15 % CPU."""
        if not self.points:
            return False
        last = self.points[-1]
        if held(last):
            return False
        before = [p.throughput_rps for p in self.points[:-1] if p.ok]
        return last.throughput_rps <= STILL_GROWING * max(before, default=0.0) or self._deep(last)

    def _deep(self, point: Point) -> bool:
        cpu, cores = point.server.cpu_pct, point.server_cores or 1
        p99 = point.value(("latency_ms", "p99"))
        if cpu is None or p99 is None or self.slo_p99_ms is None:
            return False
        return cpu >= DEEP_CPU_PCT * cores and p99 >= DEEP_SLOS * self.slo_p99_ms

    def _refinement(self, measured: set[int]) -> int | None:
        by_users = {_users(p): p for p in self.points}
        up = self.steers_up
        low = max((u for u, p in by_users.items() if up(p)), default=0)
        above = [u for u, p in by_users.items() if u > low and not up(p)]
        if not above:
            return None
        high = min(above)
        if low == 0:
            # Nothing held: from a quarter of the first failure, down to one user.
            below = [u for u in ladder(max(1, high // 4), high) if u < high]
            return next((u for u in below if u not in measured), None)
        found = _between(low, high, whole=True)
        return int(found) if found is not None and int(found) not in measured else None


@dataclass
class RateSearch:
    """Open loop: the highest Poisson arrival rate held, bisected within RESOLUTION."""

    saturation_rps: float
    steers_up: Callable[[Point], bool] = held  # as UserSearch's
    points: list[Point] = field(default_factory=list)

    def record(self, point: Point) -> None:
        self.points.append(point)

    def next(self) -> float | None:
        """The arrival rate of the next step, or None when the search is done."""
        if self.saturation_rps <= 0 or (self.points and not self.points[-1].ok):
            return None
        proposed = self._propose()
        measured = {p.load.amount for p in self.points}
        return None if proposed is None or proposed in measured else proposed

    def _propose(self) -> float | None:
        rates = [(p.load.amount, self.steers_up(p)) for p in self.points]
        low = max((r for r, ok in rates if ok), default=None)
        high = min((r for r, ok in rates if not ok and (low is None or r > low)), default=None)
        if low is None and high is None:
            return _figures(GOODPUT_START * self.saturation_rps)
        if low is None and high is not None:
            below = _figures(high / 2)
            return below if below >= GOODPUT_FLOOR * self.saturation_rps else None
        if high is None and low is not None:
            # Everything so far held: on toward saturation, which no open loop can hold.
            if low >= self.saturation_rps:
                return None
            return _figures(min(low * 1.5, self.saturation_rps))
        assert low is not None and high is not None
        return _between(low, high, whole=False)


def _users(point: Point) -> int:
    return point.load.users or 0


# --- the figures --------------------------------------------------------------------------


def rate_interval(per_second: Sequence[int], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The interval of a step's mean throughput from its whole seconds (Student's t on
    the per-second counts; with one second, the count's Poisson interval)."""
    counts = [float(n) for n in per_second]
    mean = statistics.fmean(counts)
    if len(counts) < 2:
        half = 1.96 * math.sqrt(max(mean, 1.0))
        return max(mean - half, 0.0), mean + half
    spread = statistics.stdev(counts) / math.sqrt(len(counts))
    half = stats.t_quantile(0.5 + confidence / 2, len(counts) - 1) * spread
    return max(mean - half, 0.0), mean + half


def conclude(
    capacity: Capacity, unfinished: str | None = None, with_saturation: bool = True
) -> Capacity:
    """Fill in the three figures and their limits from the steps measured; no saturation
    from a climb not asked for it (its steps past the knee were not measured for it)."""
    answer_ms = capacity.latency.answer_ms
    ladder_points = sorted((p for p in capacity.points if p.load.mode == "users"), key=_users)
    rate_points = sorted(
        (p for p in capacity.points if p.load.mode == "rate"), key=lambda p: p.load.amount
    )
    criteria = Criteria(capacity.slo_p99_ms, capacity.slo_share, objectives=capacity.objectives)
    up = criteria.steers_up
    capacity.saturation = saturation(ladder_points, answer_ms) if with_saturation else None
    capacity.in_flight = in_flight(ladder_points, answer_ms, up)
    top = [p for p in ladder_points if capacity.in_flight is not None
           and _users(p) == capacity.in_flight.value]  # fmt: skip
    capacity.in_flight_measured = top[0].in_flight_mean if top else None
    capacity.goodput = goodput(rate_points, answer_ms, up)
    capacity.undecided = sum(1 for p in capacity.points if p.decision == "undecided")
    capacity.unknown = unfinished or _unknown(capacity, ladder_points)
    return capacity


def saturation(points: list[Point], answer_ms: float | None) -> Figure | None:
    """The most completed per second over the climb, whatever the latency; its interval
    from that step's seconds; a note when the climb did not see it stop growing."""
    ok = [p for p in points if p.ok and p.requests]
    if not ok:
        return None
    # Steps measured long enough to say what they served; the 2-s ones only where none is.
    long = [p for p in ok if p.window_s >= SATURATION_WINDOW_S]
    best = max(long or ok, key=lambda p: p.throughput_rps)
    low, high = _throughput_interval(best)
    note = None
    if not _plateau(ok):
        top = max(_users(p) for p in ok)
        note = f"still growing at {top:,} users, the most measured: a lower bound"
    limit = best.limit
    if limit is not None and limit.kind in ("none", "window"):
        limit = _next_failure(best, points, lambda p: False, answer_ms) or limit
    return Figure(best.throughput_rps, low, high, limit, float(_users(best)), note)


def in_flight(
    points: list[Point], answer_ms: float | None, up: Callable[[Point], bool] = held
) -> Figure | None:
    """The most users held, as `_bracketed` finds it (loads: users)."""
    if not points:
        return None
    figure, top, above = _bracketed(points, _users, up, "users")
    if top is not None:
        return replace(figure, limit=_next_failure(top, points, held, answer_ms))
    first = min(above, key=_users)
    return replace(figure, limit=limits.cause(first, answer_ms))


def goodput(
    points: list[Point], answer_ms: float | None, up: Callable[[Point], bool] = held
) -> Figure | None:
    """The highest arrival rate held, as `_bracketed` finds it (loads: req/s)."""
    if not points:
        return None
    figure, top, above = _bracketed(points, lambda p: p.load.amount, up, "req/s")
    # What bound it: the step decided against, else the first undecided one above.
    failure = _bound_above(above, lambda p: p.load.amount)
    stopped = failure or min(above, key=lambda p: p.load.amount, default=None)
    if stopped is not None:
        return replace(figure, limit=limits.cause(stopped, answer_ms))
    return replace(figure, limit=top.limit if top is not None else None)


def _bracketed(
    points: list[Point], load: Callable[[Point], float], up: Callable[[Point], bool], unit: str
) -> tuple[Figure, Point | None, list[Point]]:
    """A figure from its search's steps, the highest step held, and the steps not held
    above it. The interval runs from that step (0 when none was held) to the lowest load
    decided against above it (undecided steps between lie inside it; none decided: open
    above). The value is the highest load below that bound whose own estimates were on
    the held side (`up`: held, or undecided leaning held), the best estimate of where the
    boundary lies; verdicts, not estimates, bound it."""
    kept = [p for p in points if held(p)]
    top = max(kept, key=load) if kept else None
    floor = load(top) if top is not None else 0.0
    above = [p for p in points if load(p) > floor and not held(p)]
    failure = _bound_above(above, load)
    high = load(failure) if failure is not None else None
    leaning = [load(p) for p in above if up(p) and (high is None or load(p) < high)]
    value = max([floor, *leaning])
    figure = Figure(value, floor, high, top.limit if top is not None else None,
                    value or None, _undecided_note(above, unit))  # fmt: skip
    return figure, top, above


def _undecided_note(above: list[Point], unit: str) -> str | None:
    """Name the loads above a figure that were left undecided (they lie in its interval)."""
    undecided = sorted(p.load.amount for p in above if p.decision == "undecided")
    if not undecided:
        return None
    return f"undecided at {', '.join(f'{load:,.0f}' for load in undecided)} {unit}"


def _bound_above(above: list[Point], load: Callable[[Point], float]) -> Point | None:
    """The lowest load above the figure known not to hold it: a step decided against (over
    the SLO, or within it but not held); undecided steps lie inside the interval, since
    their truth could be either. Only undecided ones above: none (the interval is open
    above; the lowest undecided step bounded it once, and a second run of capacity-quick
    then held fastapi-uvicorn's goodput at 381 req/s above an interval of 154 to 161
    whose 161 was undecided)."""
    decided = [p for p in above if p.decision != "undecided"]
    return min(decided, key=load, default=None)


def _plateau(points: list[Point]) -> bool:
    """Some step served no more than the best with fewer users (within 5 %): the climb
    saw throughput stop growing."""
    for point in points:
        fewer = [p.throughput_rps for p in points if _users(p) < _users(point)]
        if fewer and point.throughput_rps <= STILL_GROWING * max(fewer):
            return True
    return False


def _throughput_interval(point: Point) -> tuple[float | None, float | None]:
    seconds = point.seconds
    window = int(point.window_s)
    if seconds is None or window < 1:
        return None, None
    counts = list(seconds.requests[-window:])
    return rate_interval(counts) if counts else (None, None)


def _next_failure(
    top: Point, points: Iterable[Point], ok: Callable[[Point], bool], answer_ms: float | None
) -> Limit | None:
    """What made the first load above `top` fail (behind a window flag: its cause)."""
    above = [p for p in points if _users(p) > _users(top) and not ok(p)]
    if not above:
        return None
    return limits.cause(min(above, key=_users), answer_ms)


def _unknown(capacity: Capacity, points: list[Point]) -> str | None:
    if not capacity.points:
        return "nothing was measured"
    found = capacity.in_flight
    if found is not None and found.high is None and found.value >= capacity.max_users:
        return (
            f"every load up to --max-users {capacity.max_users:,} was held: the limit lies above it"
        )
    return None


# --- leaders ---------------------------------------------------------------------------

FIGURES = ("saturation", "goodput", "in_flight")
FIGURE_NAMES = {
    "saturation": "saturation throughput",
    "goodput": "goodput rate",
    "in_flight": "max in flight",
}


def figure_of(found: Capacity, name: str) -> Figure | None:
    """One of the three figures of a search by its name (FIGURES)."""
    figure: Figure | None = getattr(found, name)
    return figure


@dataclass(frozen=True)
class Lead:
    """Who leads one figure among the searches of a latency and scenario, and whether the
    lead is real: the leader's interval lies wholly above every other's."""

    latency: str
    scenario: str
    figure: str
    leader: Capacity
    runner_up: Capacity | None
    separated: bool


def leads(capacity: Sequence[Capacity]) -> list[Lead]:
    """For each latency, scenario and figure measured by two or more targets, the leader
    by value, and whether its interval separates it from the runner-up's."""
    groups: dict[tuple[str, str], list[Capacity]] = {}
    for found in capacity:
        groups.setdefault((found.latency.name, found.scenario), []).append(found)
    found_leads = []
    for (latency, scenario), group in groups.items():
        for name in FIGURES:
            measured = [c for c in group if figure_of(c, name) is not None]
            if len(measured) < 2:
                continue
            ordered = sorted(measured, key=lambda c: _per_core(c, name), reverse=True)
            first, second = ordered[0], ordered[1]
            top, next_ = figure_of(first, name), figure_of(second, name)
            assert top is not None and next_ is not None
            found_leads.append(
                Lead(latency, scenario, name, first, second, top.separated_from(next_))
            )
    return found_leads


def _per_core(found: Capacity, name: str) -> float:
    figure = figure_of(found, name)
    if figure is None:
        return 0.0
    return figure.value if name == "in_flight" else figure.value / max(found.server_cores, 1)


# --- two runs ------------------------------------------------------------------------

Change = Literal["higher", "lower", "same", "open", "missing"]


def change(before: Figure | None, after: Figure | None) -> tuple[Change, str]:
    """How a figure moved between two runs, and why that is the verdict.

    Beyond noise when the intervals do not overlap. When they overlap because the lower
    figure's interval is open above (no step above it was decided against), that figure
    is a lower bound and the move cannot be told ("open"). A figure without an interval
    on either side is judged against the searches' resolution instead (RESOLUTION).
    """
    if before is None or after is None or not before.value:
        return "missing", "measured in one run only"
    ratio = after.value / before.value
    if after.separated_from(before):
        return "higher", f"{ratio:.2f}x; the intervals do not overlap"
    if before.separated_from(after):
        return "lower", f"{ratio:.2f}x; the intervals do not overlap"
    lower = before if before.value <= after.value else after
    if lower.low is not None and lower.high is None:
        side = "reference" if lower is before else "changed run"
        return "open", (
            f"{ratio:.2f}x; the {side}'s interval is open above, so its figure is a lower bound"
        )
    if before.low is not None and after.low is not None:
        return "same", f"{ratio:.2f}x; within each other's intervals"
    if ratio >= RESOLUTION:
        return "higher", f"{ratio:.2f}x; beyond the search's resolution ({RESOLUTION:g}x)"
    if ratio <= 1 / RESOLUTION:
        return "lower", f"{ratio:.2f}x; beyond the search's resolution ({RESOLUTION:g}x)"
    return "same", f"{ratio:.2f}x; within the search's resolution ({RESOLUTION:g}x)"
