"""The concurrency demo's lesson on fixture searches: each server model against what its
model allows (workers, threads, its CPU), a shared core named, no division by zero."""

from __future__ import annotations

from typing import Any

import pytest

from bench.demos import concurrency
from bench.results.fields import from_json
from bench.results.model import Capacity
from tests.bench.factories import capacity_dict, figure_dict, point_dict

SECOND = {"name": "second", "ttft_ms": 300.0, "itl_ms": 35.0, "tokens": 20,
          "answer_ms": 965.0, "p99_ms": 1183.0}  # fmt: skip


def _step(users: int, decision: str, **extra: Any) -> dict[str, Any]:
    return point_dict(users=users, throughput=users / 0.965, decision=decision, **extra)


def _search(
    target: str,
    model: dict[str, Any],
    steps: list[tuple[int, str]],
    held: int,
    above: int | None,
    limit: dict[str, Any],
    cpu_us: float = 1000.0,
    core_busy_pct: float | None = None,
) -> Capacity:
    """A search's steps (users, decision); at each, the server's own CPU is what its CPU
    per request costs at that rate, and its core as busy as `core_busy_pct` (else that)."""
    points = []
    for users, decision in steps:
        own = users / 0.965 * cpu_us / 1e4
        points.append(
            _step(users, decision, cpu_us_per_request=cpu_us, in_flight_mean=float(users),
                  server={"cpu_pct": own, "rss_mb": 80.0},
                  server_cores_busy_pct=core_busy_pct or own, **model)
        )  # fmt: skip
    in_flight = figure_dict(float(held), float(held), above)
    in_flight["limit"] = limit
    return from_json(
        Capacity, capacity_dict(target=target, latency=SECOND, in_flight=in_flight, points=points)
    )


def _limit(kind: str, **evidence: float) -> dict[str, Any]:
    return {"kind": kind, "detail": f"{kind} binds", "evidence": evidence}


SYNC = _search(
    "flask-gunicorn-sync",
    {"worker_class": "sync", "workers": 3, "concurrency": {"workers": 3}},
    [(1, "held"), (2, "held"), (3, "held"), (4, "served")],
    3,
    4,
    _limit("target-concurrency"),
    cpu_us=2000.0,
)
GTHREAD = _search(
    "flask-gunicorn-gthread",
    {"worker_class": "gthread", "workers": 3, "threads": 100, "concurrency": {"threads": 300}},
    [(150, "held"), (240, "held"), (300, "failed")],
    240,
    300,
    _limit("target-concurrency"),
    cpu_us=1600.0,
)
UVICORN = _search(
    "fastapi-uvicorn",
    {"worker_class": "asyncio"},
    [(241, "held"), (482, "held"), (964, "held"), (1200, "failed")],
    964,
    1200,
    _limit("server-cpu", server_cpu_pct=95.0),
)


def test_each_model_against_what_it_allows() -> None:
    lesson = concurrency.lesson([SYNC, GTHREAD, UVICORN])
    assert lesson.confirmed, lesson.text()
    assert "held 964 LLM calls at once on one core, 321x the 3 of the sync workers" in (
        lesson.headline
    )
    assert "recovered up to 25% of it (flask-gunicorn-gthread); its core's CPU ended it." in (
        lesson.headline
    )
    sync, gthread, uvicorn = lesson.details
    assert "held 3 calls at once, not 4, as its model says: its 3 workers" in sync
    assert "as its model says: its 300 threads (3 workers x 100), from about 240" in gthread
    # 1 ms of CPU per request x 965 ms answers: 965 calls.
    assert "as its model says: most of what its CPU allows, about 965" in uvicorn
    assert "it held 100% of that" in uvicorn


def test_a_core_shared_with_other_processes_is_counted_and_said() -> None:
    shared = _search(
        "fastapi-uvicorn",
        {"worker_class": "asyncio"},
        [(241, "held"), (341, "held"), (356, "failed")],
        341,
        356,
        _limit("server-cpu"),
        cpu_us=1150.0,
        core_busy_pct=98.0,
    )
    # At 356 users the server took 42.4 % of the core, others 55.6 %: 839 calls on a core
    # of its own, 373 with the 44.4 % they left.
    assert concurrency.cpu_allows(shared) == pytest.approx(839.1, abs=0.1)
    assert concurrency.cpu_left(shared) == pytest.approx(372.8, abs=0.1)
    lesson = concurrency.lesson([SYNC, shared])
    assert "a core shared with other processes: the server itself had 42 % of it" in (
        lesson.headline
    )
    assert (
        "about 373 with the share other processes left it (the core 98 % busy"
        in (lesson.details[-1])
    )
    truth = concurrency.expected(shared)
    assert truth is not None and truth.cell() == "186 to about 373" and truth.agrees(shared)


def test_sync_workers_that_held_fewer_than_their_count_are_not_as_predicted() -> None:
    broken = _search(
        "flask-gunicorn-sync",
        {"worker_class": "sync", "workers": 3, "concurrency": {"workers": 3}},
        [(1, "held"), (2, "held"), (3, "failed")],
        2,
        3,
        _limit("target-concurrency"),
    )
    lesson = concurrency.lesson([broken, UVICORN])
    assert not lesson.confirmed and "did not appear" in lesson.headline
    assert "unlike what its model says" in lesson.details[0]


def test_nothing_held_divides_by_nothing() -> None:
    none = _search(
        "flask-gunicorn-sync",
        {"worker_class": "sync", "workers": 3, "concurrency": {"workers": 3}},
        [(1, "failed")],
        0,
        1,
        _limit("window"),
    )
    lesson = concurrency.lesson([none, UVICORN])
    assert "964 calls in flight against 0" in lesson.headline
    more = _search(
        "flask-gunicorn-gevent",
        {"worker_class": "gevent", "concurrency": {"connections": 30000}},
        [(1000, "held"), (1200, "failed")],
        1000,
        1200,
        _limit("server-cpu"),
    )
    assert "flask-gunicorn-gevent held more than that here (104% of it)" in (
        concurrency.lesson([SYNC, more, UVICORN]).headline
    )
    assert concurrency.lesson([]).headline == "the run lacks fastapi-uvicorn or flask-gunicorn-sync"


def test_memory_per_call_only_where_it_grew() -> None:
    steps = [
        _step(60, "held", in_flight_mean=60.0, server={"cpu_pct": 14.0, "rss_mb": 195.0}),
        _step(240, "failed", in_flight_mean=198.0, server={"cpu_pct": 31.0, "rss_mb": 184.0}),
    ]
    shrank = from_json(Capacity, capacity_dict(latency=SECOND, points=steps))
    assert concurrency.rss_per_request_kib(shrank) is None
    steps[1]["server"]["rss_mb"] = 209.0
    grew = from_json(Capacity, capacity_dict(latency=SECOND, points=steps))
    assert concurrency.rss_per_request_kib(grew) == (209.0 - 195.0) * 1024 / 138


def test_an_event_loop_far_below_what_its_cpu_allows_is_not_as_predicted() -> None:
    stopped = _search(
        "fastapi-uvicorn",
        {"worker_class": "asyncio"},
        [(241, "held"), (300, "failed")],
        241,
        300,
        _limit("unexplained"),
    )
    lesson = concurrency.lesson([SYNC, stopped])
    assert not lesson.confirmed
    assert "but only 25% of the about 965 its CPU allows" in lesson.headline
    assert "unlike what its model says" in lesson.details[-1]
