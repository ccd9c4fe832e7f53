"""Demo `upstream-outage`: the upstream stalls past the services' timeout; who still answers?

The plan (`outage_plan`): each target gets a steady 80 requests per second on /complete
(open-loop arrivals, one every 12.5 ms), and from 8 s to 20 s of a 30 s window every
upstream call stalls. The services give up after their upstream timeout (5 s here) and
answer 504, so each stalled call holds whatever serves it for 5 s: 80 x 5 = 400 calls at
once. Meanwhile the runner asks /health and /hello on a new connection every 0.2 s, as a
health checker would.

The lesson (`outage_lesson`) comes from what was measured: /health p99 during the stall
against before it, the calls held at once at the mock against each target's declared
limits, the errors returned, and the recovery once the upstream answers again.
"""

from __future__ import annotations

from rich.table import Table

from bench.demos.lessons import Lesson
from bench.reports import charts
from bench.results.faults import PHASES, FaultPlan, ProbeStats
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
    "workers run out of threads (every one waits on a stalled call) and /health waits in "
    "their queue."
)
TARGETS = ("fastapi-uvicorn", "flask-gunicorn-gthread")
RATE = 80.0
TIMEOUT_S = 5.0
WINDOW_S = 30.0
STALL = (8.0, 20.0)
# Quick (about a minute): half the rate, a 3 s timeout (120 calls at once), a shorter
# window, and one gthread worker of 40 threads (100 req/s of healthy answers), so that a
# smaller outage shows the same.
QUICK_TARGETS = ("fastapi-uvicorn", "flask-gunicorn-gthread{workers=1,threads=40}")
QUICK_RATE, QUICK_TIMEOUT_S, QUICK_WINDOW_S, QUICK_STALL = 40.0, 3.0, 16.0, (4.0, 10.0)
# Starved: /health p99 during the stall this many times its p99 before, and past 1 s,
# or any health check that got no answer.
STARVED_FACTOR = 5.0
STARVED_FLOOR_MS = 1000.0


def outage_plan(quick: bool = False) -> Plan:
    """Under two minutes for the two targets on 2 cores (about one with quick)."""
    server, load = default_cpus()
    return Plan(
        targets=list(QUICK_TARGETS if quick else TARGETS),
        scenarios=["complete"],
        # Requests one every 1 / rate seconds, whatever the answers: a steady stream.
        loads={"complete": [Load.open(QUICK_RATE if quick else RATE, "constant")]},
        duration_s=QUICK_WINDOW_S if quick else WINDOW_S,
        warmup_s=2.0,
        repeat=1,
        mock=MockSettings(),
        server_cpus=server,
        load_cpus=load,
        preset=f"demo:{NAME}",
        faults=FaultPlan(1.0, ("stall",), QUICK_STALL if quick else STALL),
        upstream_timeout_s=QUICK_TIMEOUT_S if quick else TIMEOUT_S,
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
    rate = points[0].load.rate or 0.0
    timeout = _timeout_s(run)
    details.append(
        f"Each stalled call is held for the {timeout:g} s upstream timeout: at "
        f"{rate:g} req/s that is {rate * timeout:,.0f} calls at once. An event loop "
        "holds a waiting call as a socket; a thread pool holds it as a thread, and a "
        "health check queued behind them waits for one to free up."
    )
    return Lesson(confirmed, headline, details)


def _timeout_s(run: Run) -> float:
    plan = run.plan or {}
    return float(plan.get("upstream_timeout_s") or TIMEOUT_S)


def chart(run: Run) -> str:
    """/health p99 before, during and after the stall, per target."""
    bars: dict[str, dict[str, float | None]] = {}
    for point in run.points:
        if point.ok and point.faults is not None:
            bars[point.target] = {
                f"/health p99 {phase}": (_health(point, phase) or _EMPTY).p99_ms for phase in PHASES
            }
    return charts.bar_chart(
        bars,
        title=f"{NAME}: health checks while every upstream call stalls",
        value_label="/health p99",
        unit="ms",
    )


_EMPTY = ProbeStats(0, 0, None, None, None)


def table(run: Run) -> Table:
    """Per target: health checks by phase, calls held, errors, recovery."""
    result = Table(title=NAME, title_justify="left")
    for column in ("target", "/health p99 before", "during", "after", "unanswered",
                   "calls held", "504s", "recovery"):  # fmt: skip
        result.add_column(column, justify="left" if column == "target" else "right")
    for point in run.points:
        record = point.faults
        if not point.ok or record is None:
            result.add_row(point.target, "[red]failed[/]")
            continue
        phases = [_health(point, phase) or _EMPTY for phase in PHASES]
        result.add_row(
            point.target,
            *(_ms(stats) for stats in phases),
            str(sum(stats.failed for stats in phases)),
            f"{point.in_flight_peak or 0:,}",
            f"{record.responses.get('504', 0):,}",
            "-" if record.recovery_s is None else f"{record.recovery_s:g} s",
        )
    return result
