"""Lessons of the demos, on fixture points: derived from data, honest when it disagrees."""

from __future__ import annotations

from typing import Any

from bench.demos import lessons
from bench.results.fields import to_json
from bench.results.model import Point, Telemetry
from tests.bench.factories import latency, make_point, make_run


def _p(target: str, users: int, rps: float, **extra: Any) -> Point:
    fields: dict[str, Any] = {
        "ceiling_rps": users / 0.2,
        "efficiency": rps / (users / 0.2),
        "latency_ms": latency(200.0),
        **extra,
    }
    return make_point(target=target, users=users, throughput=rps, **fields)


def test_wsgi_vs_asgi_quotes_the_worker_ceiling() -> None:
    points = [
        _p("fastapi-uvicorn", 200, 950.0),
        _p("flask-gunicorn-sync", 200, 14.9, workers=3, model_ceiling_rps=15.0),
        _p("flask-gunicorn-gevent", 200, 700.0),
        _p("drf-gunicorn-gthread", 200, 400.0),
    ]
    lesson = lessons.wsgi_vs_asgi(points)
    assert lesson.confirmed
    assert "64x" in lesson.headline and "200 / 3" in lesson.headline
    assert any("15.0 req/s" in d for d in lesson.details)


def test_wsgi_vs_asgi_says_so_when_the_gap_is_missing() -> None:
    points = [
        _p("fastapi-uvicorn", 2, 10.0),
        _p("flask-gunicorn-sync", 2, 9.8, workers=3, model_ceiling_rps=15.0),
    ]
    lesson = lessons.wsgi_vs_asgi(points)
    assert not lesson.confirmed
    assert "did not appear" in lesson.headline
    assert lesson.text().startswith("Not as predicted")


def test_blocking_the_loop() -> None:
    points = [  # 100 ms upstream: 500 req/s for 50 users
        _p("fastapi-uvicorn", 50, 480.0, ceiling_rps=500.0),
        _p("fastapi-uvicorn-blocking", 50, 9.9, ceiling_rps=500.0),
        _p("fastapi-uvicorn-sync", 50, 240.0, ceiling_rps=500.0),
    ]
    lesson = lessons.blocking_the_loop(points)
    assert lesson.confirmed and "froze" in lesson.headline
    low = [
        _p("fastapi-uvicorn", 1, 9.9, ceiling_rps=10.0),
        _p("fastapi-uvicorn-blocking", 1, 9.8, ceiling_rps=10.0),
    ]
    assert not lessons.blocking_the_loop(low).confirmed
    assert not any("Inside the server" in d for d in lesson.details)  # not instrumented


def test_blocking_the_loop_cites_the_servers_own_loop_lag() -> None:
    def lag(p99: float) -> dict[str, Any]:
        return to_json(Telemetry(0, 2, 0, loop_lag_p99_ms=p99))

    points = [
        _p("fastapi-uvicorn", 50, 480.0, telemetry=lag(2.0)),
        _p("fastapi-uvicorn-blocking", 50, 9.9, telemetry=lag(4_900.0)),
    ]
    details = "\n".join(lessons.blocking_the_loop(points).details)
    assert "the event loop lagged 4,900 ms at p99 with the blocking call, 2 ms" in details


def test_threadpool_limit() -> None:
    points = [
        _p("fastapi-uvicorn-sync", 160, 199.0, threads=40),
        _p("fastapi-uvicorn-sync{threads=200}", 160, 700.0, threads=200),
    ]
    lesson = lessons.threadpool_limit(points)
    assert lesson.confirmed and "200 req/s" in lesson.headline
    flat = [
        _p("fastapi-uvicorn-sync", 20, 99.0, threads=40),
        _p("fastapi-uvicorn-sync{threads=200}", 20, 99.5, threads=200),
    ]
    assert not lessons.threadpool_limit(flat).confirmed


def test_threadpool_limit_cites_the_servers_own_pool() -> None:
    def pool(size: float, busy: float, waiting: float) -> dict[str, Any]:
        found = Telemetry(0, 2, 0, threadpool_busy=(busy - 1, busy, None),
                          threadpool_waiting=(waiting, None), threadpool_size=size)  # fmt: skip
        return to_json(found)

    raised = "fastapi-uvicorn-sync{threads=200}"
    points = [
        _p("fastapi-uvicorn-sync", 160, 199.0, threads=40, telemetry=pool(40, 40, 120)),
        _p(raised, 160, 700.0, threads=200, telemetry=pool(200, 160, 0)),
    ]
    said = "\n".join(lessons.threadpool_limit(points).details)
    assert "at most 40 of 40 threads busy, 120 waiting by default; 160 of 200" in said


def test_client_pool_names_best_and_worst_by_their_client() -> None:
    points = [
        _p("fastapi-uvicorn[aiohttp]", 200, 900.0, client="aiohttp"),
        _p("fastapi-uvicorn[httpx]", 200, 90.0, client="httpx"),
        _p("fastapi-uvicorn", 200, 400.0, client="openai"),  # the client in its field only
    ]
    lesson = lessons.client_pool(points)
    assert lesson.confirmed
    assert "fastapi-uvicorn (aiohttp) served 10.0x more than fastapi-uvicorn (httpx)" in (
        lesson.headline
    )
    assert "fastapi-uvicorn (openai): 400 req/s" in lesson.details
    alike = [_p("fastapi-uvicorn[aiohttp]", 200, 900.0), _p("fastapi-uvicorn[httpx]", 200, 850.0)]
    assert "alike" in lessons.client_pool(alike).headline
    # One window each, without their per-second counts: the lesson says so.
    assert any("no 95 % interval" in d for d in lesson.details)


def test_a_ratio_is_judged_over_its_interval() -> None:
    # Two repetitions each (figures set for the example): 1.6x at the medians, but the
    # repetitions spread so far that the ratio's interval reaches below the 1.5x predicted.
    def client(name: str, *rates: float) -> list[Point]:
        return [_p(f"fastapi-uvicorn[{name}]", 200, r, client=name, repetition=i)
                for i, r in enumerate(rates, start=1)]  # fmt: skip

    unsure = client("aiohttp", 900.0, 1000.0) + client("httpx", 500.0, 700.0)
    lesson = lessons.client_pool(unsure)
    assert not lesson.confirmed and "cannot tell" in lesson.headline
    assert "(95 % interval" in lesson.headline
    assert not any("no 95 % interval" in d for d in lesson.details)
    # Repetitions that agree: the whole interval clears 1.5x, and the headline quotes it.
    clear = client("aiohttp", 950.0, 960.0) + client("httpx", 400.0, 410.0)
    lesson = lessons.client_pool(clear)
    assert lesson.confirmed and "(95 % interval" in lesson.headline
    assert "fastapi-uvicorn (aiohttp): 960 req/s (891 to 1,019)" in "\n".join(lesson.details)


def _stream(target: str, ttft: float, e2e: float, fidelity: float = 1.0) -> Point:
    return _p(
        target,
        10,
        15.0,
        scenario="stream",
        ttft_ms=latency(ttft),
        latency_ms=latency(e2e),
        chunk_fidelity=fidelity,
    )


def test_streaming_ttft_finds_the_buffering_target() -> None:
    clean = [_stream("fastapi-uvicorn", 301.0, 572.0), _stream("drf-uvicorn", 303.0, 575.0)]
    assert lessons.streaming_ttft(clean).confirmed
    buffered = [*clean, _stream("flask-gunicorn-gthread", 570.0, 571.0, 0.1)]
    lesson = lessons.streaming_ttft(buffered)
    assert not lesson.confirmed
    assert "flask-gunicorn-gthread" in lesson.headline


def test_workers_scaling_contrasts_io_and_cpu() -> None:
    def both(workers: int, io: float, cpu: float) -> list[Point]:
        target = f"flask-gunicorn-sync{{workers={workers}}}"
        return [
            _p(target, 20, io, workers=workers),
            _p(target, 20, cpu, workers=workers, scenario="hello"),
        ]

    lesson = lessons.workers_scaling(both(1, 5.0, 2800.0) + both(4, 19.8, 2700.0))
    assert lesson.confirmed and "4x the workers" in lesson.headline
    contrary = lessons.workers_scaling(both(1, 5.0, 1000.0) + both(4, 6.0, 2900.0))
    assert not contrary.confirmed and "not the expected contrast" in contrary.headline


def test_every_demo_draws_a_lesson_even_from_a_run_without_its_figures() -> None:
    from bench.demos.catalog import DEMOS

    for demo in DEMOS:
        lesson = demo.lesson(make_run([]))
        assert not lesson.confirmed and lesson.headline, demo.name
