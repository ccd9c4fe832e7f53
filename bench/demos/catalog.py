"""The teaching demos, one object each, in `bench demo all`'s teaching order.

The order tells one story: the big picture (wsgi-vs-asgi), why sync servers need
workers (workers-scaling), what a queue of independent clients does to them and what a
closed loop hides (open-vs-closed), how many LLM calls each server model holds at once
(concurrency), then the event loop's pitfalls (blocking-the-loop, threadpool-limit),
what the HTTP client adds (client-pool), streaming (streaming-ttft), and what an upstream
outage does to each server model (upstream-outage). `bench demo all` ends with the
tutorials' claims (bench.demos.suite), drawn from everything measured before.

Each demo (bench.demos.demo) measures with the same engine as `bench run` and `bench
capacity` (no second measurement path); bench.demos.perform runs one.
"""

from __future__ import annotations

from bench.demos import concurrency, lessons, mechanisms, openloop, outage, views
from bench.demos.demo import Demo, Grid, Planned, Ramp
from bench.running.plan import MockSettings

DEMOS: tuple[Demo, ...] = (
    Demo(
        name="wsgi-vs-asgi",
        question="ASGI is said to serve 'orders of magnitude' more concurrent requests. "
        "How many more, against what, and what do threads and green threads recover?",
        prediction="Sync workers stop at workers / latency whatever the users; FastAPI on "
        "uvicorn follows users / latency; gevent and gthread recover most of the gap.",
        look_at="the flat line of flask-gunicorn-sync at its workers/latency ceiling, and "
        "how far the other lines climb along the users/latency ceiling",
        measure=Grid(
            targets=(
                "flask-gunicorn-sync",
                "flask-gunicorn-gevent",
                "drf-gunicorn-gthread",
                "fastapi-uvicorn",
            ),
            scenarios=("complete",),
            users=(10, 50, 200),
            quick_users=(50,),
        ),
        lesson=lessons.of_points(lessons.wsgi_vs_asgi),
        mechanism=mechanisms.WSGI_VS_ASGI,
        draw=views.throughput_chart,
        tabulate=views.points_table,
    ),
    Demo(
        name="workers-scaling",
        question="What do more gunicorn workers buy on the cores given to the server?",
        prediction="On an I/O-bound endpoint sync workers scale throughput with their "
        "count; on a CPU-bound one they stop at the cores.",
        look_at="complete rising with workers while hello stays flat",
        measure=Grid(
            targets=(
                "flask-gunicorn-sync{workers=1}",
                "flask-gunicorn-sync{workers=2}",
                "flask-gunicorn-sync{workers=4}",
            ),
            quick_targets=("flask-gunicorn-sync{workers=1}", "flask-gunicorn-sync{workers=4}"),
            scenarios=("hello", "complete"),
            users=(20,),
            quick_users=(20,),
        ),
        lesson=lessons.of_points(lessons.workers_scaling),
        mechanism=mechanisms.WORKERS_SCALING,
        draw=views.speedup_chart,
        tabulate=views.points_table,
    ),
    Demo(
        name=openloop.NAME,
        question=openloop.QUESTION,
        prediction=openloop.PREDICTION,
        look_at="the open-loop line at 30 req/s climbing second by second while 3 "
        "closed-loop users (the same rate by Little's law) stay flat, and the gap between "
        "the open and closed lines at 10 req/s (the tail a closed loop hides)",
        measure=Planned(openloop.plans),
        lesson=openloop.lesson,
        mechanism=mechanisms.OPEN_VS_CLOSED,
        draw=lambda _demo, run: openloop.chart(run),
        tabulate=lambda _demo, run: openloop.table(run),
    ),
    Demo(
        name="concurrency",
        question="ASGI is said to handle 'orders of magnitude more concurrent requests' "
        "for I/O-bound AI calls. How many LLM calls does each server model hold at once "
        "on one core, what does each one cost, and what ends it?",
        prediction="Sync workers hold one call each; threads hold their thread count; "
        "green threads and the event loop hold what their core's CPU allows at that "
        "latency (the requests per second one core serves x the latency).",
        look_at="the bars of calls held at once, from the sync workers' handful to what "
        "one core allows the green threads and the event loop, and what binds each",
        measure=Ramp(
            targets=(
                "flask-gunicorn-sync",
                "flask-gunicorn-gthread",
                "flask-gunicorn-gevent",
                "fastapi-uvicorn",
            ),
            quick_targets=("flask-gunicorn-sync", "flask-gunicorn-gthread", "fastapi-uvicorn"),
            # About 3 minutes (quick: 1.5) on 2 cores: one core holds several hundred
            # calls of 965 ms at most, and quick brackets each with the ladder's steps.
            max_users=1200,
            quick_refine=False,
        ),
        lesson=concurrency.of_run,
        mechanism=mechanisms.CONCURRENCY,
        draw=views.capacity_chart,
        tabulate=views.capacity_table,
    ),
    Demo(
        name="blocking-the-loop",
        question="What happens when an `async def` endpoint makes a blocking upstream call?",
        prediction="The event loop freezes for every call: the server answers one request "
        "at a time, while the proper async call and `def` endpoints scale with users.",
        look_at="the blocking line stuck at 1 / latency while the others rise",
        measure=Grid(
            targets=("fastapi-uvicorn", "fastapi-uvicorn-blocking", "fastapi-uvicorn-sync"),
            scenarios=("complete",),
            users=(1, 10, 50),
            quick_users=(20,),
            mock=MockSettings(ttft_ms=100.0, itl_ms=0.0, tokens=1),
            telemetry=True,
        ),
        lesson=lessons.of_points(lessons.blocking_the_loop),
        mechanism=mechanisms.BLOCKING_THE_LOOP,
        draw=views.throughput_chart,
        tabulate=views.points_table,
    ),
    Demo(
        name="threadpool-limit",
        question="FastAPI runs `def` endpoints in a threadpool. What happens when users "
        "outnumber its threads, and what does raising the limit do?",
        prediction="Past 40 users (AnyIO's default), throughput stays at 40 / latency; "
        "with 200 threads it keeps rising until the core is busy.",
        look_at="where the default line flattens (40 users) and the raised line goes on",
        measure=Grid(
            targets=("fastapi-uvicorn-sync", "fastapi-uvicorn-sync{threads=200}"),
            scenarios=("complete",),
            users=(20, 40, 80, 160),
            quick_users=(100,),
            telemetry=True,
        ),
        lesson=lessons.of_points(lessons.threadpool_limit),
        mechanism=mechanisms.THREADPOOL_LIMIT,
        draw=views.throughput_chart,
        tabulate=views.points_table,
    ),
    Demo(
        name="client-pool",
        question="Does the HTTP client that calls the LLM matter as much as the framework?",
        prediction="At high concurrency the clients differ widely with the framework "
        "unchanged (httpx's pool degrades with many connections; aiohttp holds up).",
        look_at="the spread between the lines at the highest user count",
        measure=Grid(
            targets=("fastapi-uvicorn",),
            clients=("aiohttp", "openai-aiohttp", "openai", "httpx"),
            scenarios=("complete",),
            users=(50, 200),
            quick_users=(200,),
        ),
        lesson=lessons.of_points(lessons.client_pool),
        mechanism=mechanisms.CLIENT_POOL,
        draw=views.throughput_chart,
        tabulate=views.points_table,
    ),
    Demo(
        name="streaming-ttft",
        question="Does every framework and server relay the first token as soon as the "
        "LLM sends it, or does something buffer the stream?",
        prediction="None buffers: time to first token is the mock's TTFT plus a few ms "
        "everywhere, and every token arrives as its own event.",
        look_at="bars far above the mock's TTFT (300 ms): those buffer",
        measure=Grid(
            targets=(
                "fastapi-uvicorn",
                "fastapi-gunicorn-asgi",
                "flask-gunicorn-gthread",
                "flask-gunicorn-gevent",
                "drf-gunicorn-gthread",
                "drf-uvicorn",
            ),
            quick_targets=("fastapi-uvicorn", "flask-gunicorn-gthread", "drf-uvicorn"),
            scenarios=("stream",),
            users=(10,),
            quick_users=(10,),
            mock=MockSettings(ttft_ms=300.0, itl_ms=30.0, tokens=10),
        ),
        lesson=lessons.of_points(lessons.streaming_ttft),
        mechanism=mechanisms.STREAMING_TTFT,
        draw=views.ttft_chart,
        tabulate=views.points_table,
    ),
    Demo(
        name=outage.NAME,
        question=outage.QUESTION,
        prediction=outage.PREDICTION,
        look_at="the /health bars during the stall: short for the event loop, seconds "
        "for the thread pool whose threads all wait on the stalled upstream",
        measure=Planned(lambda quick: [outage.outage_plan(quick)]),
        lesson=outage.outage_lesson,
        mechanism=mechanisms.UPSTREAM_OUTAGE,
        draw=lambda _demo, run: outage.chart(run),
        tabulate=lambda _demo, run: outage.table(run),
    ),
)

BY_NAME: dict[str, Demo] = {demo.name: demo for demo in DEMOS}


def names() -> list[str]:
    """Every demo's name, in teaching order."""
    return [demo.name for demo in DEMOS]


def find(name: str) -> Demo:
    """The demo of that name (KeyError for another)."""
    return BY_NAME[name]
