"""What binds a point, on fixture points: every kind, and evidence that contradicts itself."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bench.results.limits import cause, classify
from bench.results.model import Load, Percentiles, Point, Usage
from tests.bench.factories import latency, make_point

LATENCY_MS = 100.0  # the fixtures' upstream answer latency


def point(users: int = 100, rps: float = 1000.0, **fields: Any) -> Point:
    """A complete point at `users`, 100 ms upstream; efficiency follows from rps."""
    ceiling = users / (LATENCY_MS / 1000)
    found = make_point(
        users=users,
        throughput=rps,
        ceiling_rps=ceiling,
        efficiency=rps / ceiling,
        latency_ms=latency(users / rps * 1000),
    )
    defaults: dict[str, Any] = {
        "window_s": 5.0, "server_cores": 1, "server": Usage(40.0, 80.0),
        "generator": Usage(30.0), "generator_processes": 1, "mock": Usage(10.0),
    }  # fmt: skip
    return replace(found, **{**defaults, **fields})


def kind(found: Point) -> str:
    return classify(found, LATENCY_MS).kind


def test_at_the_ceiling_nothing_but_the_offered_load_binds() -> None:
    limit = classify(point(rps=980.0), LATENCY_MS)
    assert limit.kind == "none" and "98%" in limit.detail
    assert limit.evidence["efficiency"] == pytest.approx(0.98)


def test_a_short_window_is_never_trusted_and_says_what_lies_behind() -> None:
    slow = point(rps=50.0, server=Usage(97.0, 80.0))  # p99 ~2.1 s in a 5 s window
    limit = classify(slow, LATENCY_MS)
    assert limit.kind == "window"
    assert "cannot be trusted" in limit.detail and "behind it: server-cpu" in limit.detail
    assert limit.evidence["window_s"] == 5.0


def test_the_harness_is_named_before_the_target() -> None:
    assert kind(point(rps=500.0, generator=Usage(96.0))) == "generator"
    # Two generator processes at 150 % in all are 75 % each: not the generator.
    assert kind(point(rps=500.0, generator=Usage(150.0), generator_processes=2)) != "generator"
    assert kind(point(rps=500.0, mock=Usage(95.0))) == "mock"


def test_a_full_thread_pool_is_named_with_its_number_and_evidence() -> None:
    limited = point(
        users=1000, rps=3000.0, concurrency={"threads": 300, "pool": 30000},
        in_flight_mean=297.0, in_flight_peak=300,
    )  # fmt: skip
    limit = classify(limited, LATENCY_MS)
    assert limit.kind == "target-concurrency"
    assert "threads: 300" in limit.detail and "297 in flight" in limit.detail
    assert limit.evidence["limit"] == 300 and limit.evidence["observed"] == 297.0


def test_a_small_limit_full_at_its_peak_counts_though_its_mean_is_lower() -> None:
    sync = point(users=4, rps=19.0, concurrency={"workers": 2}, in_flight_mean=1.7,
                 in_flight_peak=2)  # fmt: skip
    assert kind(sync) == "target-concurrency"
    idle = point(users=4, rps=19.0, concurrency={"workers": 2}, in_flight_mean=1.0,
                 in_flight_peak=2)  # fmt: skip
    assert kind(idle) == "unexplained"


def test_threads_just_above_the_users_bind_when_workers_share_them_unevenly() -> None:
    # 300 users on 3 x 100 threads, 260 calls upstream, the core idle: a worker queues.
    uneven = point(users=300, rps=2600.0, concurrency={"threads": 300, "pool": 30000},
                   in_flight_mean=260.0, in_flight_peak=280, workers=3)  # fmt: skip
    limit = classify(uneven, LATENCY_MS)
    assert limit.kind == "target-concurrency"
    assert "100 in each of 3 workers" in limit.detail and "260 in flight" in limit.detail
    # One process holds every thread: nothing to share unevenly.
    assert kind(replace(uneven, workers=1)) == "server-latency"
    # Every user's call upstream: nothing queued in the server.
    assert kind(replace(uneven, in_flight_mean=295.0)) != "target-concurrency"


def test_a_saturated_cpu_with_a_full_limit_names_the_limit_and_the_cpu() -> None:
    # Contradicting evidence: both the threads and the core are at their end. The
    # limit is the more specific explanation (the server admitted no more); the CPU is
    # said too.
    both = point(users=1000, rps=2900.0, concurrency={"threads": 300},
                 in_flight_mean=299.0, in_flight_peak=300, server=Usage(96.0, 90.0))  # fmt: skip
    limit = classify(both, LATENCY_MS)
    assert limit.kind == "target-concurrency" and "server CPU 96 %" in limit.detail


def test_a_saturated_cpu_below_a_roomy_limit_is_the_cpu() -> None:
    busy = point(users=1000, rps=1900.0, concurrency={"pool": 10000, "open-files": 9968},
                 in_flight_mean=190.0, in_flight_peak=260, server=Usage(98.0, 90.0))  # fmt: skip
    limit = classify(busy, LATENCY_MS)
    assert limit.kind == "server-cpu" and "98 %" in limit.detail


def test_a_pool_binds_before_the_open_files() -> None:
    pooled = point(users=100, rps=200.0, concurrency={"pool": 20, "open-files": 9968},
                   in_flight_mean=20.0, in_flight_peak=20)  # fmt: skip
    limit = classify(pooled, LATENCY_MS)
    assert limit.kind == "target-concurrency" and "upstream connection pool: 20" in limit.detail


def test_the_open_file_limit_has_its_own_kind() -> None:
    files = point(users=12000, rps=9900.0, concurrency={"open-files": 9968},
                  in_flight_mean=9950.0, in_flight_peak=9968)  # fmt: skip
    assert kind(files) == "open-files"


def test_without_a_mock_littles_law_is_the_evidence() -> None:
    external = point(users=1000, rps=2950.0, concurrency={"threads": 300})
    assert external.in_flight_mean is None
    assert kind(external) == "target-concurrency"  # 2950 req/s x 0.1 s = 295 in flight


def test_a_limit_above_the_users_never_binds() -> None:
    roomy = point(users=100, rps=600.0, concurrency={"threads": 300}, in_flight_mean=99.0)
    assert kind(roomy) != "target-concurrency"


def test_below_the_ceiling_with_every_user_busy_the_server_adds_its_own_time() -> None:
    # 100 users at 700 req/s: 143 ms each against the upstream's 100 (Little's law holds).
    slow = point(rps=700.0, cpu_us_per_request=571.0)
    limit = classify(slow, LATENCY_MS)
    assert limit.kind == "server-latency"
    assert "took 143 ms against the upstream's 100 ms" in limit.detail
    assert "adds 43 ms" in limit.detail and "0.6 ms of CPU" in limit.detail
    assert "40 % busy" in limit.detail
    assert limit.evidence["mean_ms"] == pytest.approx(142.9, abs=0.1)


def test_nothing_known_below_the_ceiling_is_unexplained_and_says_what_was_seen() -> None:
    # Requests as fast as the upstream, yet 30 % short: some users were not busy.
    idle_users = point(rps=700.0, latency_ms=Percentiles.of(latency(100.0)))
    limit = classify(idle_users, LATENCY_MS)
    assert limit.kind == "unexplained"
    assert "efficiency 70%" in limit.detail and "server_cpu_pct 40" in limit.detail
    assert "clumps" not in limit.detail
    # Its slowest answers bunched in some seconds: what pauses look like from outside.
    paused = classify(replace(idle_users, p99_clumping=12.0), LATENCY_MS)
    assert paused.kind == "unexplained" and paused.evidence["p99_clumping"] == 12.0
    assert "came in clumps (x12)" in paused.detail and "--telemetry" in paused.detail


def test_a_failed_point_names_its_cause_behind_a_window_or_the_ceiling() -> None:
    # Untrusted (p99 past a third of the window), the core full behind it.
    slow = point(rps=50.0, server=Usage(97.0, 80.0))
    slow = replace(slow, limit=classify(slow, LATENCY_MS))
    found = cause(slow, LATENCY_MS)
    assert found is not None and found.kind == "server-cpu" and "past the SLO" in found.detail
    # At the ceiling in throughput, yet its tail past the SLO: the resource that made it.
    tail = point(rps=980.0, server=Usage(96.0, 80.0))
    tail = replace(tail, limit=classify(tail, LATENCY_MS))
    assert tail.limit is not None and tail.limit.kind == "none"
    found = cause(tail, LATENCY_MS)
    assert found is not None and found.kind == "server-cpu"
    full = point(users=1000, rps=2900.0, concurrency={"threads": 300}, in_flight_mean=299.0)
    full = replace(full, limit=classify(full, LATENCY_MS))
    assert cause(full, LATENCY_MS) == full.limit  # its own verdict stands


def test_hello_is_generator_or_server_bound_or_round_trip_bound() -> None:
    def hello(**fields: Any) -> Point:
        found = make_point(scenario="hello", users=50, throughput=5000.0)
        return replace(found, **{"window_s": 5.0, "server_cores": 1, **fields})

    assert classify(hello(generator=Usage(99.0)), None).kind == "generator"
    assert classify(hello(server=Usage(97.0)), None).kind == "server-cpu"
    assert classify(hello(server=Usage(20.0), generator=Usage(20.0)), None).kind == "none"
    # Open loop: the arrival rate binds when the target answered 90 % of it, else nothing
    # explains the shortfall yet.
    kept_up = classify(hello(load=Load.open(5100.0), server=Usage(20.0)), None)
    assert kept_up.kind == "none" and "kept up with the arrivals" in kept_up.detail
    assert kept_up.evidence["answered"] == pytest.approx(5000 / 5100)
    short = classify(hello(load=Load.open(8000.0), server=Usage(20.0)), None)
    assert short.kind != "none"


def test_cores_busy_with_other_processes_are_said_to_be_so() -> None:
    crowded = point(rps=700.0, server_cores_busy_pct=97.0)  # the server itself at 40 %
    limit = classify(crowded, LATENCY_MS)
    assert limit.kind == "server-cpu" and "other processes" in limit.detail
    assert limit.evidence["cores_busy_pct"] == 97.0
