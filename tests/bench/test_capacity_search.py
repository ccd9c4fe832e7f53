"""The capacity search on fixture points: the ladder, when to stop, refining, the figures."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from bench.results import capacity
from bench.results.model import Capacity, LatencyModel, Limit, Percentiles, Point
from bench.running.capacity import schedule
from bench.running.launch import leftovers_mark
from tests.bench.factories import latency, make_point

CRITERIA = capacity.Criteria(slo_p99_ms=capacity.default_slo_ms(100.0))  # 175 ms


def step(users: int, rps: float, p99: float, limit: str = "none", errors: int = 0) -> Point:
    ceiling = users / 0.1
    found = make_point(users=users, throughput=rps, ceiling_rps=ceiling, efficiency=rps / ceiling)
    return replace(
        found,
        latency_ms=Percentiles.of(latency(p99 / 1.05)),  # p99 = 1.05 x p50
        errors={"503": errors} if errors else {},
        limit=Limit(limit, f"{limit} binds"),  # type: ignore[arg-type]  # any kind
    )


def test_the_slo_is_the_set_latency_with_room() -> None:
    assert capacity.default_slo_ms(100.0) == 175.0
    assert capacity.default_slo_ms(2460.0) == 3125.0


def test_served_and_held() -> None:
    assert CRITERIA.held(step(10, 98.0, 120.0))
    saturated = step(400, 1900.0, 170.0, "server-cpu")
    assert CRITERIA.served(saturated) and not CRITERIA.held(saturated)  # 48 % of 4,000
    assert not CRITERIA.served(step(10, 98.0, 200.0))  # p99 over the SLO
    assert not CRITERIA.served(step(10, 98.0, 120.0, errors=10))  # 2 % errors
    assert not CRITERIA.served(step(10, 98.0, 120.0, "window"))  # untrusted


def test_steps_spawn_settle_past_the_slowest_answer_then_measure_three_slos() -> None:
    # 100 ms answers, SLO 175 ms: 25 users start within an answer, the window opens 1 s
    # later (2 s for a ramp's first step: connections, first requests) and lasts the 2-s
    # minimum.
    short = schedule([25, 50], 1000, 0.1, 0.175)
    assert [(s.users, s.start, s.rate, s.window) for s in short] == [
        (25, 1000, 250.0, (1002, 1004)),
        (50, 1004, 250.0, (1005, 1007)),
    ]
    # 2.46-s answers (p99 3.03 s), SLO 3.79 s: 1,500 new users start within 1.5 s (1,000 a
    # second); the window opens once calls in flight meanwhile have ended, 1.5 + 3.03 +
    # 0.25 s later (5 s, whole seconds), and lasts 3 x the SLO (12 s).
    llm = schedule([1500, 3000], 2000, 2.46, 3.788, 3.03)
    assert [(s.users, s.rate, s.window) for s in llm] == [
        (1500, 1000.0, (2005, 2017)),
        (3000, 1000.0, (2022, 2034)),
    ]
    # 300 users start within half a second: 0.5 + 3.03 + 0.25 s (4 s).
    few = schedule([300, 600], 0, 2.46, 3.788, 3.03)
    assert [(s.users, s.rate, s.window) for s in few] == [
        (300, 600.0, (4, 16)),
        (600, 600.0, (20, 32)),
    ]
    # Without the upstream's p99, its mean answer: 1.5 + 2.46 + 0.25 s (5 s) again, and
    # 0.5 s + an answer for 500 users more (4 s).
    assert schedule([1500, 2000], 0, 2.46, 3.788)[1].window == (21, 33)


def test_a_window_of_few_answers_is_held_by_the_calls_in_flight() -> None:
    # One user, 2.5 s answers, 12 s: 4 answers where 4.9 fit (82 %), one call always open.
    criteria = capacity.Criteria(slo_p99_ms=3800.0)
    one = make_point(users=1, throughput=4 / 12, ceiling_rps=0.4, efficiency=0.82)
    one = replace(
        one, window_s=12.0, latency_ms=Percentiles.of(latency(2500.0)), limit=Limit("none", "-")
    )
    assert not criteria.held(one)  # nothing says where the calls were
    assert criteria.held(replace(one, in_flight_mean=0.98))
    # Half the time the user's call sat in the server.
    assert not criteria.held(replace(one, in_flight_mean=0.5))
    # Plenty of answers: the count decides, whatever the mock saw.
    many = make_point(users=100, throughput=35.0, ceiling_rps=40.0, efficiency=0.875)
    many = replace(many, window_s=12.0, latency_ms=Percentiles.of(latency(2500.0)),
                   limit=Limit("none", "-"), in_flight_mean=99.0)  # fmt: skip
    assert not criteria.held(many)


def test_the_ladder_doubles_to_the_maximum() -> None:
    assert capacity.ladder(8, 100) == [8, 16, 32, 64, 100]
    assert capacity.ladder(1, 4) == [1, 2, 4]
    assert capacity.ladder(3000, 2000) == [2000]


def test_the_start_is_a_quarter_of_what_is_expected_or_half_a_declared_limit() -> None:
    guess = capacity.guess_in_flight(1, 100.0)  # nothing known: a guessed rate x 100 ms
    assert guess == 100.0 and capacity.start_users(None, guess) == 25
    assert capacity.guess_in_flight(2, 2460.0) == pytest.approx(4920.0)
    assert capacity.start_users(None, 4000.0) == 1000  # the CPU's prediction
    assert capacity.start_users(30_000, 100.0) == 25  # gevent's 30,000: the CPU ends first
    # A declared limit below the prediction is exact: from half of it.
    assert capacity.start_users(3, 4000.0) == 1  # 3 sync workers
    assert capacity.start_users(300, 4000.0) == 150  # 300 threads bind before the CPU


def test_a_declared_limit_that_binds_first_is_tried_around_it() -> None:
    assert capacity.rungs(3, 4000.0, 10_000)[:5] == [1, 2, 3, 4, 8]  # 3 sync workers
    assert capacity.rungs(300, 740.0, 10_000)[:5] == [150, 240, 300, 360, 600]
    # A limit the CPU is expected to reach first adds nothing to the doubling.
    assert capacity.rungs(30_000, 100.0, 400) == [25, 50, 100, 200, 400]
    assert capacity.rungs(None, 4000.0, 2500) == [1000, 2000, 2500]


def test_climbing_stops_once_the_target_is_saturated() -> None:
    before = [step(64, 620.0, 110.0), step(128, 1200.0, 120.0)]
    still_growing = step(256, 1800.0, 150.0, "server-cpu")  # not held, but +50 %
    assert not capacity.should_stop(still_growing, before, CRITERIA)
    flat = step(512, 1850.0, 170.0, "server-cpu")  # served, +3 %: the end
    assert capacity.should_stop(flat, [*before, still_growing], CRITERIA)
    assert capacity.should_stop(step(1024, 1700.0, 600.0), before, CRITERIA)  # not served
    assert not capacity.should_stop(step(32, 320.0, 105.0), [], CRITERIA)  # held


def test_refinement_fills_the_gap_between_held_and_not() -> None:
    points = [step(64, 620.0, 110.0), step(128, 800.0, 160.0, "server-cpu")]
    assert capacity.refinement(points, CRITERIA) == [81, 102]  # two steps: within 26 %
    close = [step(100, 980.0, 110.0), step(120, 1000.0, 160.0)]
    assert capacity.refinement(close, CRITERIA) == []  # known within 25 %
    nothing = [step(8, 20.0, 400.0, "target-concurrency")]
    assert capacity.refinement(nothing, CRITERIA) == [2, 4]  # climb from a quarter
    served = [step(654, 232.0, 170.0, "server-cpu")]  # served at 87 %: not held
    assert capacity.refinement(served, CRITERIA) == [163, 326]  # not 652 again


def _found(points: list[Point]) -> Capacity:
    return Capacity(
        target="t",
        scenario="complete",
        latency=LatencyModel("short", 100.0, 0.0, 1, answer_ms=100.0, p99_ms=100.0),
        slo_p99_ms=CRITERIA.slo_p99_ms,
        max_users=10_000,
        server_cores=1,
        points=points,
    )


def test_a_sync_target_finds_its_workers_and_names_them() -> None:
    sync = [
        step(1, 9.8, 110.0),
        step(2, 19.6, 112.0),
        step(4, 19.5, 230.0, "target-concurrency"),
        step(3, 19.6, 190.0, "target-concurrency"),
    ]
    found = capacity.conclude(_found(sync), CRITERIA)
    assert (found.max_rps, found.max_rps_users, found.max_in_flight) == (19.6, 2, 2)
    # At 2 users the point sat at its ceiling; what stops it is the next point's limit.
    assert found.rps_limit is not None and found.rps_limit.kind == "target-concurrency"
    assert found.limit is not None and found.limit.kind == "target-concurrency"
    assert found.unknown is None


def test_a_load_served_without_growing_names_what_held_it_back() -> None:
    # 3 users on 2 sync workers in step: each waits half an answer, p99 within the SLO,
    # throughput that of 2 users; not held, so the ladder ends there.
    sync = [
        step(1, 9.8, 110.0),
        step(2, 19.6, 112.0),
        step(3, 19.5, 160.0, "target-concurrency"),
    ]
    found = capacity.conclude(_found(sync), CRITERIA)
    assert (found.max_rps, found.max_rps_users, found.max_in_flight) == (19.6, 2, 2)
    assert found.rps_limit is not None and found.rps_limit.kind == "target-concurrency"
    # A load above that was served at its own ceiling says nothing of what binds.
    noisy = capacity.conclude(_found([step(2, 19.6, 112.0), step(3, 19.5, 160.0)]), CRITERIA)
    assert noisy.rps_limit is not None and noisy.rps_limit.kind == "none"


def test_an_async_target_is_cpu_bound_and_serves_past_its_held_concurrency() -> None:
    asgi = [
        step(128, 1250.0, 110.0),
        step(256, 1900.0, 140.0, "server-cpu"),
        step(512, 1950.0, 270.0, "server-cpu"),
        step(160, 1560.0, 112.0),
        step(200, 1750.0, 118.0, "server-cpu"),
    ]
    found = capacity.conclude(_found(asgi), CRITERIA)
    assert found.max_rps == 1900.0 and found.max_rps_users == 256  # served, not held
    assert found.rps_limit is not None and found.rps_limit.kind == "server-cpu"
    assert found.max_in_flight == 160 and found.limit is not None
    assert found.limit.kind == "server-cpu"
    assert found.max_rps_per_core == 1900.0


def test_holding_every_load_leaves_the_limit_unknown_above() -> None:
    found = _found([step(5000, 49000.0, 110.0), step(10_000, 98000.0, 120.0)])
    found = capacity.conclude(found, CRITERIA)
    assert found.max_in_flight == 10_000 and found.limit is None
    assert found.unknown is not None and "above it" in found.unknown


def test_a_spent_budget_is_said() -> None:
    found = capacity.conclude(_found([step(8, 78.0, 110.0)]), CRITERIA, "the budget was spent")
    assert found.unknown == "the budget was spent" and found.max_in_flight == 8


def test_calls_left_in_flight_drain_into_the_next_ramp_only_below_a_full_worker() -> None:
    # 3 sync workers, all holding a call: a queue may wait behind them, so the calls must
    # finish (and answers stop) before the next ramp; with a worker free, new calls must
    # stop; with nothing that can queue (an event loop), new calls alone must stop.
    full = {"in_flight": 3, "requests": 40, "completed": 37}
    spare = {"in_flight": 2, "requests": 40, "completed": 38}
    idle = {"in_flight": 0, "requests": 40, "completed": 40}
    assert leftovers_mark(full, drain_below=0.75 * 3) is None
    assert leftovers_mark(spare, drain_below=0.75 * 3) == 40
    assert leftovers_mark(full, drain_below=math.inf) == 40
    assert leftovers_mark(full, drain_below=0) is None
    assert leftovers_mark(idle, drain_below=0) == 40
