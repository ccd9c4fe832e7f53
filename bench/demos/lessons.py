"""The lessons of the teaching demos, drawn from the numbers a demo just measured.

Pure functions on result points. Each returns a Lesson whose text quotes the
measured figures; when the data contradicts the expected lesson, it says so
instead of repeating the expectation. A ratio is quoted with its interval (the two
throughputs' 95 % intervals, bench.results.ranking.Ratio) and a prediction holds only
where the whole interval bears it out; where the interval straddles it, the lesson
says the run cannot tell.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.demos.rows import row_name
from bench.results.model import Point, Run
from bench.results.ranking import Ratio, points_span


@dataclass(frozen=True)
class Lesson:
    """What the numbers say, and whether they bear out the prediction."""

    confirmed: bool
    headline: str
    details: list[str] = field(default_factory=list)

    def text(self) -> str:
        verdict = "As predicted" if self.confirmed else "Not as predicted"
        return "\n".join([f"{verdict}: {self.headline}", *(f"- {d}" for d in self.details)])


def _ok(points: list[Point]) -> list[Point]:
    return [p for p in points if p.ok]


def _users(point: Point) -> int:
    return point.load.users or 0


def top_load(points: list[Point], scenario: str | None = None) -> int:
    """The highest user count measured (for one scenario)."""
    chosen = [p for p in _ok(points) if scenario is None or p.scenario == scenario]
    return max((_users(p) for p in chosen), default=0)


def at(points: list[Point], target: str, users: int, scenario: str | None = None) -> Point | None:
    """Return a point standing for (target, users): the median repetition by throughput."""
    chosen = [
        p
        for p in _ok(points)
        if p.target == target
        and _users(p) == users
        and (scenario is None or p.scenario == scenario)
    ]
    if not chosen:
        return None
    chosen.sort(key=lambda p: p.throughput_rps)
    return chosen[len(chosen) // 2]


def _most(series: tuple[float | None, ...]) -> float | None:
    return max((v for v in series if v is not None), default=None)


def loop_lag(point: Point | None) -> str | None:
    """The event loop's lag the server itself measured (p99), when it was instrumented."""
    found = point.telemetry if point is not None else None
    if found is None or found.loop_lag_p99_ms is None:
        return None
    return f"{found.loop_lag_p99_ms:,.0f} ms"


def threadpool(point: Point | None) -> str | None:
    """AnyIO's threadpool as the server saw it: most threads busy of its size, most waiting."""
    found = point.telemetry if point is not None else None
    busy = _most(found.threadpool_busy) if found is not None else None
    if found is None or busy is None or not found.threadpool_size:
        return None
    waiting = _most(found.threadpool_waiting) or 0.0
    return f"{busy:,.0f} of {found.threadpool_size:,.0f} threads busy, {waiting:,.0f} waiting"


def rps(point: Point | None) -> float:
    return point.throughput_rps if point else 0.0


def _latency_ms(points: list[Point]) -> float:
    """The upstream answer latency the ceilings were computed from."""
    for point in _ok(points):
        if point.ceiling_rps and point.load.users:
            return 1000.0 * _users(point) / point.ceiling_rps
    return 0.0


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def _level(points: list[Point], point: Point) -> list[Point]:
    """The finished points measured as `point` was: its repetitions."""
    return [p for p in _ok(points) if p.level == point.level]


def ratio(points: list[Point], top: Point, bottom: Point) -> Ratio:
    """`top`'s throughput over `bottom`'s, with the interval of their repetitions."""
    return Ratio.of(
        rps(top), rps(bottom), points_span(_level(points, top)), points_span(_level(points, bottom))
    )


def unsure(*ratios: Ratio) -> list[str]:
    """The detail a lesson adds when a ratio it judged by has no interval."""
    if all(r.low is not None for r in ratios):
        return []
    return [
        "A ratio here has no 95 % interval (a window without its per-second counts): "
        "its value alone decided."
    ]


def served(points: list[Point], point: Point, digits: int = 0) -> str:
    """ "480 req/s (95 % interval 470 to 490)", or the figure alone without one."""
    found = points_span(_level(points, point))
    figure = f"{rps(point):,.{digits}f} req/s"
    return (
        figure if found is None else f"{figure} ({found[0]:,.{digits}f} to {found[1]:,.{digits}f})"
    )


def wsgi_vs_asgi(points: list[Point]) -> Lesson:
    """ASGI against sync workers, green threads and threads, at the highest load."""
    users = top_load(points)
    latency = _latency_ms(points)
    asgi = at(points, "fastapi-uvicorn", users)
    sync = at(points, "flask-gunicorn-sync", users)
    gevent = at(points, "flask-gunicorn-gevent", users)
    gthread = at(points, "drf-gunicorn-gthread", users)
    if asgi is None or sync is None:
        return Lesson(False, "the run lacks fastapi-uvicorn or flask-gunicorn-sync points")
    gap = ratio(points, asgi, sync)
    sync_ceiling = sync.model_ceiling_rps or 0.0
    details = [
        f"At {users} users and {latency:.0f} ms upstream latency (Little's-law ceiling "
        f"{asgi.ceiling_rps or 0:.0f} req/s), FastAPI on uvicorn served {served(points, asgi)} "
        f"({asgi.efficiency or 0:.0%} of the ceiling).",
        f"Flask on {sync.workers} sync workers served {served(points, sync, 1)}; its own ceiling "
        f"is workers / latency = {sync_ceiling:.1f} req/s: each worker holds one request for "
        "the whole upstream wait.",
    ]
    recovered = []
    for name, point in (("gevent (green threads)", gevent), ("gthread (threads)", gthread)):
        if point is not None:
            share = _ratio(rps(point), rps(asgi))
            recovered.append(share)
            details.append(
                f"{point.target} with {name} served {served(points, point)}, "
                f"{share:.0%} of FastAPI's throughput."
            )
    best_recovery = max(recovered, default=0.0)
    confirmed = gap.at_least(2) and best_recovery >= 0.5
    headline = _asgi_headline(gap, best_recovery, confirmed, f"({users} / {sync.workers})")
    return Lesson(confirmed, headline, details + unsure(gap))


def _asgi_headline(
    gap: Ratio, best_recovery: float, confirmed: bool, users_per_workers: str
) -> str:
    """What the ASGI-over-sync ratio and the best threaded recovery say, in one sentence."""
    if confirmed:
        return (
            f"ASGI served {gap.text(0)} more than sync workers here, and that factor is "
            f"users / workers {users_per_workers}, not a law of nature: threads "
            f"or green threads recovered up to {best_recovery:.0%} of it."
        )
    if gap.below(2):
        return (
            f"the expected gap did not appear: ASGI served only {gap.text()} the sync "
            "workers' throughput (too few users to exceed the workers, or the server core "
            "was saturated)."
        )
    if not gap.at_least(2):
        return (
            f"this run cannot tell whether ASGI served twice the sync workers' throughput: "
            f"{gap.text()} reaches both sides of 2x."
        )
    return (
        f"ASGI served {gap.text(0)} more than sync workers, but neither threads nor green "
        f"threads recovered half of it here (best {best_recovery:.0%})."
    )


def blocking_the_loop(points: list[Point]) -> Lesson:
    """A blocking call inside `async def` against the proper async call and `def`."""
    users = top_load(points)
    proper = at(points, "fastapi-uvicorn", users)
    blocking = at(points, "fastapi-uvicorn-blocking", users)
    threaded = at(points, "fastapi-uvicorn-sync", users)
    if proper is None or blocking is None:
        return Lesson(False, "the run lacks fastapi-uvicorn or fastapi-uvicorn-blocking points")
    latency = _latency_ms(points)
    serial = 1000.0 / latency * blocking.workers if latency else 0.0
    factor = ratio(points, proper, blocking)
    details = [
        f"At {users} users: async call {served(points, proper)}, blocking call in async def "
        f"{served(points, blocking, 1)} (one request at a time per worker would give "
        f"{serial:.1f}).",
    ]
    if threaded is not None:
        details.append(f"`def` endpoints in the threadpool: {served(points, threaded)}.")
    frozen, smooth = loop_lag(blocking), loop_lag(proper)
    if frozen is not None and smooth is not None:
        details.append(
            f"Inside the server (its own metrics): the event loop lagged {frozen} at p99 "
            f"with the blocking call, {smooth} with the async one."
        )
    confirmed = factor.at_least(3) and rps(blocking) <= 1.5 * serial
    if confirmed:
        headline = (
            f"one blocking call froze the event loop: {factor.text(0)} less throughput than "
            f"the async call, about one request per {latency:.0f} ms as if the server were "
            "serial."
        )
    elif factor.below(3):
        headline = (
            f"the blocking variant was only {factor.text()} slower than the async one at "
            f"{users} users; with this little concurrency the frozen loop does not show."
        )
    else:
        headline = (
            f"the async call served {factor.text()} the blocking one at {users} users: this "
            "run cannot tell whether the frozen loop showed (3x was predicted)."
        )
    return Lesson(confirmed, headline, details + unsure(factor))


def threadpool_limit(points: list[Point]) -> Lesson:
    """`def` endpoints at the default 40 threads against a raised thread limit."""
    users = top_load(points)
    default = [p for p in _ok(points) if p.target == "fastapi-uvicorn-sync"]
    raised = [p for p in _ok(points) if p.target.startswith("fastapi-uvicorn-sync{")]
    if not default or not raised:
        return Lesson(False, "the run lacks the default and the raised threadpool")
    low = at(points, "fastapi-uvicorn-sync", users)
    high = at(points, raised[0].target, users)
    assert low is not None and high is not None
    latency = _latency_ms(points)
    plateau = low.threads * low.workers * 1000.0 / latency if latency else 0.0
    details = [
        f"{low.threads} threads: {served(points, low)} at {users} users "
        f"(threads / latency = {plateau:.0f} req/s).",
        f"{high.threads} threads: {served(points, high)} at {users} users.",
    ]
    full, roomy = threadpool(low), threadpool(high)
    if full is not None and roomy is not None:
        details.append(
            f"Inside the server (its own metrics): at most {full} by default; {roomy} raised."
        )
    gain = ratio(points, high, low)
    confirmed = users > low.threads and gain.at_least(1.3) and rps(low) <= 1.15 * plateau
    if confirmed:
        headline = (
            f"past {low.threads} users the default threadpool caps `def` endpoints at "
            f"about {plateau:.0f} req/s; raising it gave {gain.text()}."
        )
    elif gain.below(1.3) or users <= low.threads:
        headline = (
            f"raising the threadpool gave {gain.text()} at {users} users; the default limit "
            "did not bind here (too few users, or the core was saturated first)."
        )
    else:
        headline = (
            f"raising the threadpool gave {gain.text()} at {users} users: this run cannot "
            "tell whether the default limit bound (1.3x was predicted)."
        )
    return Lesson(confirmed, headline, details + unsure(gain))


def client_pool(points: list[Point]) -> Lesson:
    """The same FastAPI service on each upstream client, at the highest load."""
    users = top_load(points)
    repetitions: dict[str, list[Point]] = {}
    for point in sorted(_ok(points), key=rps):
        if _users(point) == users:
            repetitions.setdefault(row_name(point), []).append(point)
    # Each client's median repetition by throughput, as `at` chooses.
    by_client = {name: group[len(group) // 2] for name, group in repetitions.items()}
    if len(by_client) < 2:
        return Lesson(False, "the run has fewer than two upstream clients")
    ranked = sorted(by_client.items(), key=lambda kv: rps(kv[1]), reverse=True)
    (best, best_point), (worst, worst_point) = ranked[0], ranked[-1]
    spread = ratio(points, best_point, worst_point)
    details = [f"{name}: {served(points, point)}" for name, point in ranked]
    confirmed = spread.at_least(1.5)
    if confirmed:
        headline = (
            f"at {users} users the upstream client decided the throughput: {best} served "
            f"{spread.text()} more than {worst}, with the framework unchanged."
        )
    elif spread.below(1.5):
        headline = (
            f"at {users} users the clients performed alike (highest {best}, {spread.text(2)} "
            f"the lowest, {worst}): the pool effect did not show at this load."
        )
    else:
        headline = (
            f"at {users} users {best} served {spread.text()} what {worst} served: this run "
            "cannot tell whether the upstream client decided the throughput (1.5x was "
            "predicted)."
        )
    return Lesson(confirmed, headline, details + unsure(spread))


def streaming_ttft(points: list[Point]) -> Lesson:
    """Time to first token through each framework and server: which ones buffer."""
    rows = []
    for point in _ok(points):
        if point.scenario != "stream" or point.ttft_ms is None:
            continue
        ttft = point.ttft_ms.p50 or 0.0
        e2e = point.latency_ms.p50 if point.latency_ms and point.latency_ms.p50 else 0.0
        rows.append((point.target, ttft, e2e, point.chunk_fidelity))
    if not rows:
        return Lesson(False, "the run has no stream points")
    first = min(r[1] for r in rows)
    buffered = [
        name
        for name, ttft, e2e, fidelity in rows
        if ttft > first + 0.5 * (e2e - first) or (fidelity is not None and fidelity < 0.99)
    ]
    details = [
        f"{name}: TTFT p50 {ttft:.1f} ms, whole stream {e2e:.1f} ms, fidelity "
        f"{fidelity if fidelity is not None else float('nan'):.2f}"
        for name, ttft, e2e, fidelity in rows
    ]
    if not buffered:
        spread = max(r[1] for r in rows) - first
        return Lesson(
            True,
            f"every target relayed the first token as it arrived (TTFT within {spread:.1f} ms "
            "of each other): none buffers the stream.",
            details,
        )
    return Lesson(
        False,
        f"{', '.join(buffered)} delivered the first token late or merged chunks: something "
        "buffers the stream there.",
        details,
    )


def workers_scaling(points: list[Point]) -> Lesson:
    """Sync workers: I/O-bound work scales with workers, CPU-bound work with cores."""
    counts = sorted({p.workers for p in _ok(points)})
    if len(counts) < 2:
        return Lesson(False, "the run has fewer than two worker counts")
    low, high = counts[0], counts[-1]

    def measured(scenario: str, workers: int) -> list[Point]:
        return [p for p in _ok(points) if p.scenario == scenario and p.workers == workers]

    def median(scenario: str, workers: int) -> float:
        values = [p.throughput_rps for p in measured(scenario, workers)]
        return statistics.median(values) if values else 0.0

    def scaled(scenario: str) -> Ratio:
        top, bottom = measured(scenario, high), measured(scenario, low)
        return Ratio.of(
            median(scenario, high), median(scenario, low), points_span(top), points_span(bottom)
        )

    io, cpu = scaled("complete"), scaled("hello")
    expected = high / low
    details = [
        f"complete (I/O-bound): {median('complete', low):.1f} -> {median('complete', high):.1f} "
        f"req/s from {low} to {high} workers ({io.text()}).",
        f"hello (CPU-bound): {median('hello', low):.0f} -> {median('hello', high):.0f} req/s "
        f"({cpu.text()}).",
    ]
    confirmed = io.at_least(0.6 * expected) and cpu.below(1.5)
    if confirmed:
        headline = (
            f"{high / low:.0f}x the workers gave {io.text()} on the I/O-bound endpoint but only "
            f"{cpu.text()} on the CPU-bound one: workers beyond the cores only help while "
            "they wait."
        )
    else:
        headline = (
            f"workers scaled the I/O-bound endpoint {io.text()} and the CPU-bound one "
            f"{cpu.text()}: not the expected contrast, or not by the whole of its interval."
        )
    return Lesson(confirmed, headline, details + unsure(io, cpu))


def of_points(lesson: Callable[[list[Point]], Lesson]) -> Callable[[Run], Lesson]:
    """A lesson on a run's points, as a demo draws it from its run."""
    return lambda run: lesson(run.points)
