"""What binds a point: the server's CPU, a declared concurrency limit, the generator, the
mock, the window, or nothing (the point sits at its Little's-law ceiling).

Pure code on a measured point. The checks run in an order that puts the most specific
explanation first, and every verdict carries the numbers it stands on (`evidence`):

1. `window`: the window is shorter than 3 x p99, so too few of the slowest requests
   completed inside it; the point cannot be trusted, whatever else is true.
2. `none`: an I/O-bound point at 90 % or more of users / latency (open loop: of the
   arrival rate): the offered load binds.
   A hello point whose server and generator are both idle: the users' round trips bind
   (open loop: the arrival rate, when 90 % of it was answered).
3. `generator` / `mock`: the load generator (per process) or the mock at 90 % CPU or
   more, or, in open loop, a generator that sent its requests late (lateness p99 over
   LATE_MS): the harness, not the target, is the bottleneck.
4. `target-concurrency` (or `open-files`): a declared limit (workers, threads,
   worker_connections, the upstream pool, AnyIO's threadpool) below the users, with
   evidence that it is full: the mock's mean in-flight at 90 % of it or more (or its
   peak at the limit and its mean at 75 %), or, with no mock to ask, throughput at
   90 % of limit / latency. Also a per-worker limit (threads, worker_connections) just
   above the users, with fewer calls upstream than users on a core that is not busy:
   connections spread unevenly over the workers, and the busiest one queues.
5. `server-cpu`: the server's cores 90 % busy or more: by the server's own process tree,
   or by anything (other processes on a machine that is not quiet, which it says).
6. `server-latency`: below the ceiling with nothing saturated, every user busy (Little's
   law holds with the measured mean latency), and each request slower than the upstream:
   the server adds time of its own to every answer (its CPU per request, and waiting for
   a core, its GIL or its event loop well before the core is full).
7. `unexplained`: below the ceiling and none of the above; the detail lists what was
   measured, so that nobody reads it as a framework's result, and says so when the
   slowest answers came in clumps (pauses: CLUMPED_TAIL).

`cause` answers a different question for the capacity search: what made a point fail its
SLO, when its own verdict (`window`, `none`) says that it cannot be trusted or that the
offered load bound it.
"""

from __future__ import annotations

from bench.results import telemetry
from bench.results.model import IO_BOUND, Limit, LimitKind, Point

# The limits that are the harness's, not the target's: their figures measure a core the
# load generator or the mock holds, whatever the target does. Each with its name in prose.
HARNESS: dict[LimitKind, str] = {"generator": "load generator", "mock": "mock"}
SATURATED_PCT = 90.0
AT_CEILING = 0.90
FULL = 0.90  # mean in flight at this share of a limit: full
FULL_AT_PEAK = 0.75  # or: the peak reached the limit and the mean this share of it
WINDOW_P99S = 3.0
PER_WORKER = ("threads", "connections")  # declared limits that each worker holds a share of
NEAR_LIMIT = 0.75  # users at this share of a per-worker limit or more: a worker may fill
LITTLE_TOLERANCE = 0.15  # users / throughput within this of the mean latency: all busy
ADDED_AT_LEAST = 1.05  # a mean latency this far above the upstream's: the server adds time
# A declared limit whose name is not a concurrency model of the target itself.
OPEN_FILES = "open-files"
# Open loop: a generator that sends its requests later than this (p99 of actual - intended
# send) did not keep its schedule. Measured on the 2-core machine: 0.5 ms at the median
# and 2 to 6 ms at p99 while it kept up (200 to 600 req/s per process).
LATE_MS = 10.0
# A tail whose slowest answers bunch in some seconds this much past chance (the design
# effect, bench.results.quantiles) came from pauses, which an unexplained limit says.
CLUMPED_TAIL = 2.0
LIMIT_NAMES = {
    "workers": "worker processes (one request each)",
    "threads": "threads",
    "connections": "gunicorn worker_connections",
    "pool": "upstream connection pool",
    OPEN_FILES: "open-file limit (2 per request)",
}


def classify(
    point: Point, answer_latency_ms: float | None, window_p99s: float = WINDOW_P99S
) -> Limit:
    """Name what binds this point (see the module docstring for the order of checks)."""
    behind = _binding(point, answer_latency_ms)
    window = _window(point, window_p99s)
    if window is None:
        return behind
    # Untrusted, but say what the figures point to, so that nothing is left unsaid.
    return Limit(
        window.kind,
        f"{window.detail}; behind it: {behind.kind} ({behind.detail})",
        {**behind.evidence, **window.evidence},
    )


def _binding(point: Point, answer_latency_ms: float | None) -> Limit:
    for check in (_late, _ceiling, _harness):
        found = check(point)
        if found is not None:
            return found
    declared = _declared(point, answer_latency_ms) or _uneven(point)
    if declared is not None:
        return declared
    return (
        _server_cpu(point, answer_latency_ms)
        or _server_latency(point, answer_latency_ms)
        or _unexplained(point)
    )


def cause(point: Point, answer_latency_ms: float | None) -> Limit | None:
    """What made a point that failed its SLO fail: its own limit, unless that is `window`
    (its p99 is past the SLO anyway: say what lies behind) or `none` (at the ceiling in
    throughput, yet with a tail past the SLO: the resource that made the tail)."""
    limit = point.limit
    if limit is None or limit.kind not in ("window", "none"):
        return limit
    found = (
        _late(point)
        or _harness(point)
        or _declared(point, answer_latency_ms)
        or _uneven(point)
        or _server_cpu(point, answer_latency_ms)
        or _server_latency(point, answer_latency_ms)
        or _unexplained(point)
    )
    p99 = point.value(("latency_ms", "p99"))
    past = f"; p99 {p99:,.0f} ms, past the SLO" if p99 is not None else ""
    return Limit(found.kind, f"{found.detail}{past}", found.evidence)


def _window(point: Point, window_p99s: float) -> Limit | None:
    p99 = point.value(("latency_ms", "p99"))
    if p99 is None or point.window_s * 1000 >= window_p99s * p99:
        return None
    return Limit(
        "window",
        f"the {point.window_s:g} s window is shorter than {window_p99s:g} x p99 "
        f"({p99:,.0f} ms): too few of the slowest requests finish inside it, so this "
        "point cannot be trusted",
        {"window_s": point.window_s, "p99_ms": p99},
    )


def _ceiling(point: Point) -> Limit | None:
    if point.scenario in IO_BOUND:
        efficiency = point.efficiency
        if efficiency is None or efficiency < AT_CEILING:
            return None
        if point.load.open_loop:
            return Limit(
                "none",
                f"the target kept up with the arrivals: their rate binds (answered "
                f"{efficiency:.0%} of it)",
                {"efficiency": efficiency},
            )
        return Limit(
            "none",
            f"at the Little's-law ceiling: users / latency binds (efficiency {efficiency:.0%})",
            {"efficiency": efficiency},
        )
    busy = _busy(point.server.cpu_pct, point.server_cores) or _busy(
        point.server_cores_busy_pct, point.server_cores
    )
    if busy or _generator_busy(point):
        return None
    rate = point.load.rate
    if point.load.open_loop and rate:
        answered = point.throughput_rps / rate
        if answered < AT_CEILING:
            return None
        return Limit(
            "none",
            f"neither the server nor the generator is busy and the target kept up with the "
            f"arrivals: their rate binds (answered {answered:.0%} of it)",
            {**_resources(point), "answered": answered},
        )
    return Limit(
        "none",
        "neither the server nor the generator is busy: the users' own round trips bind",
        _resources(point),
    )


def _late(point: Point) -> Limit | None:
    """Open loop: a generator that could not keep its schedule taints every figure."""
    late = point.value(("lateness_ms", "p99"))
    if late is None or late <= LATE_MS:
        return None
    return Limit(
        "generator",
        f"the load generator sent its requests late (lateness p99 {late:,.1f} ms, over "
        f"{LATE_MS:g} ms): it could not keep its arrival schedule, so the response times "
        "hold its delay too",
        {"lateness_p99_ms": late, **_resources(point)},
    )


def _harness(point: Point) -> Limit | None:
    if _generator_busy(point):
        cpu = point.generator.cpu_pct or 0.0
        return Limit(
            "generator",
            f"the load generator ran at {cpu:.0f} % CPU "
            f"({point.generator_processes or 1} process(es)): the figure is a lower bound",
            _resources(point),
        )
    if _busy(point.mock.cpu_pct, 1):
        return Limit(
            "mock",
            f"the mock ran at {point.mock.cpu_pct:.0f} % CPU: the upstream, not the target, "
            "set the pace",
            _resources(point),
        )
    return None


def _declared(point: Point, answer_latency_ms: float | None) -> Limit | None:
    """The tightest declared limit that is below the users and shown to be full."""
    users = _demand(point)
    for name, value in sorted(point.concurrency.items(), key=lambda item: item[1]):
        if value >= users:
            continue
        evidence = _full(point, value, answer_latency_ms)
        if evidence is None:
            continue
        kind: LimitKind = "open-files" if name == OPEN_FILES else "target-concurrency"
        cpu = point.server.cpu_pct
        also = f"; server CPU {cpu:.0f} %" if cpu is not None else ""
        counted = telemetry.held(point.telemetry) if point.telemetry else None
        also += f"; {counted}" if counted else ""
        return Limit(
            kind,
            f"{LIMIT_NAMES.get(name, name)}: {value:,} in all, full "
            f"({evidence['observed']:,.0f} in flight){also}",
            {"limit": float(value), **evidence, **_resources(point)},
        )
    return None


def _uneven(point: Point) -> Limit | None:
    """A per-worker limit just above the users, with requests queued in the server.

    Threads and worker_connections are per worker process, and the kernel hands each
    worker whichever connections it accepts first: with 300 users on 3 x 100 threads,
    one worker holds 110 connections and queues 10 while another idles. Evidence: fewer
    calls in flight upstream than users (the rest wait in the server) on a core that is
    not busy.
    """
    users = _demand(point)
    workers, mean = point.workers or 1, point.in_flight_mean
    if workers < 2 or mean is None or mean >= FULL * users:
        return None
    if _busy(point.server.cpu_pct, point.server_cores):
        return None
    for name in PER_WORKER:
        value = point.concurrency.get(name)
        if value is None or not users <= value < users / NEAR_LIMIT:
            continue
        return Limit(
            "target-concurrency",
            f"{LIMIT_NAMES[name]}: {value:,} in all, {value // workers:,} in each of {workers} "
            f"workers, for {users:,} users: connections spread unevenly over the workers, "
            f"so the busiest one's are full and its requests queue ({mean:,.0f} in flight)",
            {"limit": float(value), "observed": mean, "workers": float(workers),
             **_resources(point)},
        )  # fmt: skip
    return None


def _full(point: Point, value: int, answer_latency_ms: float | None) -> dict[str, float] | None:
    """Evidence that `value` requests are in flight: the mock's count, else Little's law."""
    mean, peak = point.in_flight_mean, point.in_flight_peak
    if mean is not None:
        # A small limit is never quite full on average (a worker parses and answers
        # between upstream calls); its peak at the limit shows it all the same.
        at_peak = peak is not None and peak >= value and mean >= FULL_AT_PEAK * value
        if mean >= FULL * value or at_peak:
            return {"observed": mean, "mock_peak": float(peak or 0)}
        return None
    if answer_latency_ms and point.scenario in IO_BOUND:
        implied = point.throughput_rps * answer_latency_ms / 1000
        if implied >= FULL * value:
            return {"observed": implied}
    return None


def _server_cpu(point: Point, answer_latency_ms: float | None) -> Limit | None:
    cores = point.server_cores or 1
    if _busy(point.server.cpu_pct, point.server_cores):
        # What the full core's queue did inside the server, where it says (a loop that
        # lags, collections that stop it): the same figures server-latency cites.
        found = _own_figures(point, answer_latency_ms)
        return Limit(
            "server-cpu",
            f"the server's {cores} core(s) ran at {point.server.cpu_pct or 0:.0f} % CPU "
            f"(100 % = one core){'; its own figures: ' + '; '.join(found) if found else ''}",
            {**_resources(point), **_evidence(point)},
        )
    busy = point.server_cores_busy_pct
    if not _busy(busy, point.server_cores):
        return None
    return Limit(
        "server-cpu",
        f"the server's {cores} core(s) were {busy or 0:.0f} % busy, the server itself "
        f"{point.server.cpu_pct or 0:.0f} %: other processes took the rest (this machine "
        "was not quiet; the figure is not the target's own)",
        {**_resources(point), "cores_busy_pct": busy or 0.0},
    )


def _server_latency(point: Point, answer_latency_ms: float | None) -> Limit | None:
    """Every user busy, each request slower than the upstream: the server's own time."""
    mean = point.value(("latency_ms", "mean"))
    users = _demand(point)
    if (
        point.load.open_loop  # arrivals that outrun the server queue: not its own time
        or point.scenario not in IO_BOUND
        or not answer_latency_ms
        or mean is None
        or point.throughput_rps <= 0
        or mean < ADDED_AT_LEAST * answer_latency_ms
    ):
        return None
    # A declared limit below the users makes requests queue for it: that is not the
    # server's own time, and its evidence (not full) contradicts itself; say so instead.
    if any(value < users for value in point.concurrency.values()):
        return None
    implied = users / point.throughput_rps * 1000
    if abs(implied - mean) > LITTLE_TOLERANCE * mean:
        return None  # some users were not busy: not the server's time
    cpu, cost = point.server.cpu_pct, point.cpu_us_per_request
    own = f"{cost / 1000:.1f} ms of CPU per request, " if cost else ""
    busy = f" ({cpu:.0f} % busy)" if cpu is not None else ""
    found = _own_figures(point, answer_latency_ms)
    why = (
        f"; its own figures: {'; '.join(found)}"
        if found
        else f" ({own}and waiting for its core{busy}, its GIL or its event loop)"
    )
    return Limit(
        "server-latency",
        f"each request took {mean:,.0f} ms against the upstream's {answer_latency_ms:,.0f} "
        f"ms: the server adds {mean - answer_latency_ms:,.0f} ms of its own{why}",
        {"mean_ms": mean, "upstream_ms": answer_latency_ms, **_resources(point),
         **_evidence(point)},
    )  # fmt: skip


def _unexplained(point: Point) -> Limit:
    parts = [f"{key} {value:.0f}" for key, value in _resources(point).items()]
    efficiency = point.efficiency
    below = f"efficiency {efficiency:.0%}; " if efficiency is not None else ""
    clumped = point.p99_clumping
    evidence = _resources(point)
    pauses = ""
    if clumped is not None and clumped >= CLUMPED_TAIL:
        # Not a resource, yet not nothing: what a tail of pauses looks like from outside.
        # fastapi-uvicorn's open-loop tail at 100 ms was its collector's (methodology).
        pauses = (
            f"; its slowest answers came in clumps (x{clumped:.0f}), as when one pause "
            "delays every request in flight: a garbage collection or a stalled loop in the "
            "server, the generator or the mock (--telemetry shows the server's own)"
        )
        evidence = {**evidence, "p99_clumping": clumped}
    return Limit(
        "unexplained",
        f"below the ceiling with nothing saturated and no declared limit full ({below}"
        f"{', '.join(parts) or 'no resource figures'}){pauses}",
        evidence,
    )


def _demand(point: Point) -> int:
    """The requests the clients wanted in flight: the users (closed loop), or the most the
    generator had in flight (open loop)."""
    if point.load.open_loop:
        return point.outstanding_peak or 0
    return point.locust_users or point.load.users or 0


def _busy(cpu_pct: float | None, cores: int | None) -> bool:
    return cpu_pct is not None and cpu_pct >= SATURATED_PCT * (cores or 1)


def _generator_busy(point: Point) -> bool:
    cpu = point.generator.cpu_pct
    return cpu is not None and cpu / max(point.generator_processes or 1, 1) >= SATURATED_PCT


def _own_figures(point: Point, answer_latency_ms: float | None) -> list[str]:
    """What the server's own series show held requests back (none without telemetry)."""
    if point.telemetry is None:
        return []
    return telemetry.mechanisms(point.telemetry, point.window_s, answer_latency_ms)


def _evidence(point: Point) -> dict[str, float]:
    """The server's own figures that a limit cites (its telemetry)."""
    found = point.telemetry
    if found is None:
        return {}
    figures = {
        "loop_lag_p99_ms": found.loop_lag_p99_ms,
        "hub_lag_p99_ms": found.hub_lag_p99_ms,
        "gc_pause_ms": found.gc_pause_ms_total,
        "app_ms": found.request_ms_mean,
        "app_upstream_ms": found.upstream_ms_mean,
    }
    return {key: value for key, value in figures.items() if value is not None}


def _resources(point: Point) -> dict[str, float]:
    figures = {
        "server_cpu_pct": point.server.cpu_pct,
        "generator_cpu_pct": point.generator.cpu_pct,
        "mock_cpu_pct": point.mock.cpu_pct,
        "in_flight_mean": point.in_flight_mean,
    }
    return {key: value for key, value in figures.items() if value is not None}
