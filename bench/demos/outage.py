"""Demo `upstream-outage`: the upstream stalls past the services' timeout; who still answers?

The plan (`outage_plan`): each target gets a steady 80 requests per second on /complete
(paced open loop), and from 8 s to 20 s of a 30 s window every upstream call stalls. The
services give up after their upstream timeout (5 s here) and answer 504, so each stalled
call holds whatever serves it for 5 s: 80 x 5 = 400 calls at once. Meanwhile the runner
asks /health and /hello on a new connection every 0.2 s, as a health checker would.

The lesson (`outage_lesson`) comes from what was measured: /health p99 during the stall
against before it, the calls held at once at the mock against each target's declared
limits, the errors returned, and the recovery once the upstream answers again.
"""

from __future__ import annotations

from bench.demos.lessons import Lesson
from bench.results.faults import FaultPlan, ProbeStats
from bench.results.model import Load, Point, Run
from bench.running.plan import MockSettings, Plan, default_cpus

NAME = "upstream-outage"
QUESTION = (
    "When the LLM upstream stalls for every call, does the service still answer its "
    "health checks? A thread per stalled call can starve a worker pool; an event loop "
    "should not."
)
PREDICTION = (
    "fastapi-uvicorn keeps /health fast while hundreds of calls wait; the gthread "
    "workers run out of threads (300 on one core) and /health waits in their queue."
)
TARGETS = ("fastapi-uvicorn", "flask-gunicorn-gthread")
RATE = 80.0
TIMEOUT_S = 5.0
WINDOW_S = 30.0
STALL = (8.0, 20.0)
# Starved: /health p99 during the stall this many times its p99 before, and past 1 s,
# or any health check that got no answer.
STARVED_FACTOR = 5.0
STARVED_FLOOR_MS = 1000.0


def outage_plan(targets: tuple[str, ...] = TARGETS) -> Plan:
    """Two minutes for the two default targets on 2 cores."""
    server, load = default_cpus()
    return Plan(
        targets=list(targets),
        scenarios=["complete"],
        loads={"complete": [Load("rate", RATE)]},
        duration_s=WINDOW_S,
        warmup_s=2.0,
        repeat=1,
        mock=MockSettings(),
        server_cpus=server,
        load_cpus=load,
        preset=f"demo:{NAME}",
        faults=FaultPlan(1.0, ("stall",), STALL),
        upstream_timeout_s=TIMEOUT_S,
    )


def _health(point: Point, phase: str) -> ProbeStats | None:
    if point.faults is None:
        return None
    return point.faults.probes.get("/health", {}).get(phase)


def starved(point: Point) -> bool:
    """Whether health checks waited (or went unanswered) during the stall."""
    before, during = _health(point, "before"), _health(point, "during")
    if during is None or during.p99_ms is None:
        return False
    if during.failed:
        return True
    base = before.p99_ms if before is not None and before.p99_ms else 0.0
    return during.p99_ms >= max(STARVED_FACTOR * base, STARVED_FLOOR_MS)


def _held(point: Point) -> str:
    limits = {k: v for k, v in point.concurrency.items() if k in ("workers", "threads")}
    named = ", ".join(f"{k} {v:,}" for k, v in limits.items())
    held = f"{point.in_flight_peak:,}" if point.in_flight_peak is not None else "?"
    return f"held {held} upstream calls at once" + (f" (its limit: {named})" if named else "")


def target_line(point: Point) -> str:
    """One target's figures: /health before and during, calls held, errors, recovery."""
    before, during = _health(point, "before"), _health(point, "during")
    record = point.faults
    got = record.responses if record else {}
    errors = ", ".join(f"{n:,} x {kind}" for kind, n in got.items() if kind != "200")
    recovery = (
        "not within the window"
        if record is None or record.recovery_s is None
        else f"{record.recovery_s:g} s"
    )
    unanswered = f", {during.failed} checks unanswered" if during and during.failed else ""
    return (
        f"{point.target}: /health p99 {_ms(during)} during the stall (before: {_ms(before)})"
        f"{unanswered}; {_held(point)}; returned {errors or 'no errors'}; throughput back "
        f"after {recovery}"
    )


def _ms(stats: ProbeStats | None) -> str:
    return "-" if stats is None or stats.p99_ms is None else f"{stats.p99_ms:,.0f} ms"


def outage_lesson(run: Run) -> Lesson:
    """Who kept answering health checks while every upstream call stalled."""
    points = [p for p in run.points if p.ok and p.faults is not None]
    if not points:
        return Lesson(False, "no target was measured: see the failures in the report")
    fine = [p.target for p in points if not starved(p)]
    hungry = [p.target for p in points if starved(p)]
    asynchronous = [p.target for p in points if p.worker_class == "asyncio"]
    confirmed = all(t in fine for t in asynchronous) and bool(hungry)
    if hungry:
        headline = (
            f"{', '.join(hungry)} left health checks waiting while every upstream call "
            f"stalled; {', '.join(fine) or 'no target'} kept answering them."
        )
    else:
        headline = (
            "Every target kept answering its health checks during the stall: at this "
            "load no pool ran out (compare the calls held with each limit)."
        )
    details = [target_line(p) for p in points]
    details.append(
        f"Each stalled call is held for the {TIMEOUT_S:g} s upstream timeout: at "
        f"{RATE:g} req/s that is {RATE * TIMEOUT_S:,.0f} calls at once. An event loop "
        "holds a waiting call as a socket; a thread pool holds it as a thread, and a "
        "health check queued behind them waits for one to free up."
    )
    return Lesson(confirmed, headline, details)
