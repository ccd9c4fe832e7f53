"""The concurrency demo's lesson: how many LLM calls each server model held at once, against
what its model says it can hold, and what ended it.

What each model should hold (`expected`): a sync worker one call, so its workers; a
gthread worker its threads (connections spread unevenly over the workers, so one
worker's threads may all be busy from a fifth below the total); gevent and the event
loop what their core's CPU allows at this latency (`cpu_allows`: the requests per second
the core serves, 1 / the CPU a request costs, x the latency). On a machine that is not
quiet other processes take part of the server's core: `cpu_left` is what the share they
left allows, from the core's and the server's own CPU where the search ended.

Pure functions on a run's capacity searches (bench.results.capacity).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.demos.lessons import Lesson
from bench.demos.rows import name
from bench.results.model import Capacity, Point, Run

# What may end an async server's concurrency for the lesson to stand: its core (or the
# time it adds per request), the ceiling, or the generator; not a declared limit.
CPU_OR_NOTHING = ("server-cpu", "server-latency", "none", "unexplained", "generator")
# A gthread server's connections spread unevenly over its workers: one worker's threads
# may all be busy from this share of the total (300 users on 3 x 100 threads hold ~240).
UNEVEN_SHARE = 0.8
# Other processes took at least this much of a core (%) where a search ended: what the
# CPU allows is then counted with the share they left (below it, the CPU a request costs
# varies more than they took).
SHARED_PCT = 25.0
# What ended a count, in words (the limit kinds of bench.results.limits).
ENDED_BY = {
    "server-cpu": "its core's CPU",
    "server-latency": "the time it adds to each answer (CPU, waiting for its core)",
    "none": "nothing the measurements name",
    "unexplained": "nothing the measurements name",
    "generator": "the load generator",
    "target-concurrency": "a declared limit",
}
MODELS = {"sync": "sync workers", "gthread": "threads", "gevent": "green threads",
          "asyncio": "event loop"}  # fmt: skip


def held(found: Capacity | None) -> int:
    return found.users_held or 0 if found else 0


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def rss_per_request_kib(found: Capacity) -> float | None:
    """Memory each request in flight costs: RSS growth over in-flight growth (KiB); None
    when too few calls were added to tell, or when the memory did not grow with them."""
    measured = sorted(
        (p for p in found.points if p.ok and p.server.rss_mb and p.in_flight_mean),
        key=lambda p: p.in_flight_mean or 0.0,
    )
    if len(measured) < 2:
        return None
    low, high = measured[0], measured[-1]
    grown = (high.in_flight_mean or 0.0) - (low.in_flight_mean or 0.0)
    if grown < 10:
        return None
    # A process keeps what it allocated: a step measured after a bigger one shows that
    # memory with fewer calls, and a difference at or below 0 says nothing per call.
    kib = ((high.server.rss_mb or 0.0) - (low.server.rss_mb or 0.0)) * 1024 / grown
    return kib if kib > 0 else None


def cpu_allows(found: Capacity) -> float | None:
    """The calls one server's cores could hold at this latency by their CPU alone: the
    requests per second they serve (1 / the CPU a request cost, per core) x the latency."""
    costs = [p.cpu_us_per_request for p in found.points if p.ok and p.cpu_us_per_request]
    if not costs:
        return None
    per_second = max(found.server_cores, 1) * 1e6 / statistics.median(costs)
    return per_second * found.latency.answer_ms / 1000


def ended_at(found: Capacity) -> Point | None:
    """The step where the count ended: the first load not held above the most held."""
    above = found.in_flight.high if found.in_flight else None
    return next((p for p in found.points if p.ok and p.load.users == above), None)


def shared_core(found: Capacity) -> tuple[float, float] | None:
    """Where the count ended on cores other processes shared: the server's own CPU and how
    busy its cores were (%, 100 = one core); None when the server had them, or when the
    others took too little to tell from the estimate's own noise."""
    step = ended_at(found)
    if step is None:
        return None
    own, busy = step.server.cpu_pct, step.server_cores_busy_pct
    if own is None or busy is None:
        return None
    others = busy * max(found.server_cores, 1) - own
    return (own, busy) if others >= SHARED_PCT else None


def cpu_left(found: Capacity) -> float | None:
    """What the CPU allows with the share of the cores that other processes left."""
    allows, shared = cpu_allows(found), shared_core(found)
    if allows is None or shared is None:
        return None
    own, busy = shared
    cores = max(found.server_cores, 1)
    others = max(busy * cores - own, 0.0) / 100  # cores' worth taken by other processes
    return allows * max(cores - others, 0.0) / cores


# A count bound by the CPU agrees with what the CPU allows from this share of it (the
# tail leaves the SLO before the core is full) to this much above it (the CPU a request
# costs is a median over the steps, and other processes' share of a core moves).
CPU_SHARE = 0.5
CPU_SLACK = 1.25


@dataclass(frozen=True)
class Expected:
    """What a server model should hold at once here: from `low` (0: up to) to `high`,
    why, and how far above `high` a measurement still agrees."""

    low: float
    high: float
    why: str
    slack: float = 1.05  # within the searches' resolution

    def agrees(self, found: Capacity) -> bool:
        """The search's bracket, from the most held to below the first not held, meets this
        interval."""
        above = found.in_flight.high if found.in_flight and found.in_flight.high else None
        return held(found) <= self.high * self.slack and (above is None or above > self.low)

    def cell(self) -> str:
        """For a table: "3", "240 to 300", "419 to about 838" (what the CPU allows is an
        estimate)."""
        if self.low == self.high:
            return f"{self.high:,.0f}"
        about = "about " if self.slack == CPU_SLACK else ""
        return f"{self.low:,.0f} to {about}{self.high:,.0f}"


def expected(found: Capacity) -> Expected | None:
    """What the server model should hold: its workers, its threads, or what its CPU allows
    (with the share of the core other processes left it, on a machine that is not quiet)."""
    first = next(iter(found.points), None)
    if first is None:
        return None
    declared = dict(first.concurrency)
    if first.worker_class == "sync":
        workers = declared.get("workers", first.workers)
        return Expected(workers, workers, f"its {workers} workers, one call each")
    cpu = cpu_left(found) or cpu_allows(found)
    threads = declared.get("threads")
    if first.worker_class == "gthread" and threads and (cpu is None or cpu >= threads):
        return Expected(
            UNEVEN_SHARE * threads,
            threads,
            f"its {threads} threads ({first.workers} workers x {first.threads}), from about "
            f"{UNEVEN_SHARE * threads:,.0f} where connections spread unevenly over the workers",
        )
    if cpu is None:
        return None
    before = f"its {threads} threads, or fewer where its CPU gives out first: " if threads else ""
    return Expected(CPU_SHARE * cpu, cpu, before + _cpu_why(found), CPU_SLACK)


def _cpu_why(found: Capacity) -> str:
    """What its CPU allows: on a core of its own, and with what other processes left."""
    allows, left, shared = cpu_allows(found), cpu_left(found), shared_core(found)
    costs = [p.cpu_us_per_request for p in found.points if p.ok and p.cpu_us_per_request]
    cost = statistics.median(costs) / 1000 if costs else 0.0
    why = (
        f"most of what its CPU allows, about {allows or 0:,.0f} on a core of its own ({cost:.1f} "
        f"ms of CPU per request x {found.latency.answer_ms:,.0f} ms)"
    )
    if left is not None and shared is not None:
        why += (
            f", about {left:,.0f} with the share other processes left it (the core "
            f"{shared[1]:.0f} % busy where it ended, the server itself {shared[0]:.0f} %)"
        )
    return why


def target_line(found: Capacity) -> str:
    """One search: held, the first not held, against what its model allows, the limit."""
    model = MODELS.get(found.points[0].worker_class, "") if found.points else ""
    above = found.in_flight.high if found.in_flight else None
    not_held = f", not {above:,.0f}" if above else ""
    line = f"{name(found.target)} ({model}): held {held(found):,} calls at once{not_held}"
    truth = expected(found)
    parts = [line]
    if truth is not None:
        verdict = "as its model says" if truth.agrees(found) else "unlike what its model says"
        parts = [f"{line}, {verdict}: {truth.why}"]
        cpu = cpu_allows(found)
        if truth.slack == CPU_SLACK:
            parts.append(f"it held {_ratio(held(found), truth.high):.0%} of that")
        elif cpu is not None:
            parts.append(f"its CPU alone would allow about {cpu:,.0f}")
    kind = found.limit.kind if found.limit else "nothing up to the largest step"
    parts.append(f"bound by {kind}")
    if (rss := rss_per_request_kib(found)) is not None:
        parts.append(f"{rss:,.0f} KiB of memory per call in flight")
    return "; ".join(parts) + "."


def _recovery(by_target: dict[str, Capacity], asgi: Capacity) -> str:
    """How much of the event loop's count threads or green threads held, or that one held
    more (on a noisy machine, or where green threads cost less CPU per call)."""
    shares = {
        name(other): _ratio(held(by_target[other]), held(asgi))
        for other in ("flask-gunicorn-gthread", "flask-gunicorn-gevent")
        if other in by_target
    }
    if not shares:
        return ""
    best, share = max(shares.items(), key=lambda item: item[1])
    if share <= 1:
        return f"; threads or green threads recovered up to {share:.0%} of it ({best})"
    return f"; {best} held more than that here ({share:.0%} of it)"


def lesson(capacity: list[Capacity]) -> Lesson:
    """The most concurrent LLM calls each server model held on one core, and why not more."""
    by_target = {c.target: c for c in capacity}
    asgi, sync = by_target.get("fastapi-uvicorn"), by_target.get("flask-gunicorn-sync")
    if asgi is None or sync is None:
        return Lesson(False, "the run lacks fastapi-uvicorn or flask-gunicorn-sync")
    details = [target_line(found) for found in sorted(capacity, key=held)]
    gap = _ratio(held(asgi), max(held(sync), 1))
    kind = asgi.limit.kind if asgi.limit else "none"
    ends = ENDED_BY.get(kind, kind)
    sync_truth, asgi_truth = expected(sync), expected(asgi)
    one_each = sync_truth is not None and sync_truth.agrees(sync)
    shared = shared_core(asgi)
    on_shared = (
        f" (a core shared with other processes: the server itself had {shared[0]:.0f} % of it)"
        if shared
        else ""
    )
    if not (gap >= 10 and kind in CPU_OR_NOTHING and one_each):
        return Lesson(
            False,
            f"the expected picture did not appear: FastAPI held {held(asgi):,} calls in flight "
            f"against {held(sync):,} for the sync workers ({gap:.1f}x; one each would be "
            f"{sync_truth.high if sync_truth else '?':g}), and {ends} ended FastAPI's.",
            details,
        )
    if asgi_truth is not None and not asgi_truth.agrees(asgi):
        return Lesson(
            False,
            f"FastAPI on uvicorn held {held(asgi):,} LLM calls at once, {gap:,.0f}x the "
            f"{held(sync)} of the sync workers, but only {_ratio(held(asgi), asgi_truth.high):.0%}"
            f" of the about {asgi_truth.high:,.0f} its CPU allows, and {ends} ended it"
            f"{on_shared}: something other than its core stopped it here (a machine that is "
            "not quiet moves these figures; run it again).",
            details,
        )
    headline = (
        f"with {asgi.latency.answer_ms:,.0f} ms answers, FastAPI on uvicorn held "
        f"{held(asgi):,} LLM calls at once on one core, {gap:,.0f}x the {held(sync)} of the "
        f"sync workers (one each){_recovery(by_target, asgi)}; {ends} ended it{on_shared}."
    )
    return Lesson(True, headline, details)


def of_run(run: Run) -> Lesson:
    """The lesson drawn from a run's capacity searches."""
    return lesson(run.capacity)
