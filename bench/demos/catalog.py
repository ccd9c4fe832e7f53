"""Teaching demos: small fixed experiments run by the same engine as `bench run`.

Each demo states its question and prediction, measures with bench.running.runner (no
second measurement path), then prints a short table and the lesson drawn from the
numbers it just measured (bench.demos.lessons), and writes a chart and a small report
into its results folder beside the usual results.json.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.demos import mechanisms, outage
from bench.demos.lessons import LESSONS, Lesson, cpu_allows, rss_per_request_kib
from bench.reports import charts
from bench.results.model import Load, Point, Run
from bench.running.capacity import CapacityPlan, CapacityRunner
from bench.running.live import LiveView
from bench.running.plan import MockSettings, Plan, default_cpus
from bench.running.progress import LiveProgress
from bench.running.runner import Options, Runner, new_run_id

_IO = MockSettings(ttft_ms=200.0, itl_ms=0.0, tokens=1)


@dataclass(frozen=True)
class Demo:
    """One experiment: what it asks, what it expects, and how it measures."""

    name: str
    question: str
    prediction: str
    look_at: str  # what to point at in the chart
    targets: tuple[str, ...]
    scenarios: tuple[str, ...]
    users: tuple[int, ...]
    quick_users: tuple[int, ...]
    quick_targets: tuple[str, ...] | None = None
    mock: MockSettings = _IO
    clients: tuple[str, ...] | None = None
    x: str = "users"  # the chart's x axis: "users", "workers" or "target"
    y: str = "throughput_rps"  # or "ttft_p50"
    # A capacity demo: each target's users held, searched (and refined within 5 %) up to
    # this many users, at this capacity latency.
    search_users: int | None = None
    quick_search_users: int | None = None
    latency: str = "second"

    @property
    def searched(self) -> bool:
        return self.search_users is not None

    def capacity_plan(self, quick: bool) -> CapacityPlan:
        """The capacity demo's plan: each target's users held, no goodput search."""
        server, load = default_cpus()
        users = self.quick_search_users if quick and self.quick_search_users else self.search_users
        return CapacityPlan(
            targets=list(self.quick_targets if quick and self.quick_targets else self.targets),
            scenarios=list(self.scenarios),
            latencies=[self.latency],
            max_users=users or 1,
            server_cpus=server,
            load_cpus=load,
            preset=f"demo:{self.name}",
            goodput=False,
        )

    def plan(self, quick: bool, duration_s: float | None, warmup_s: float | None) -> Plan:
        """Return the run plan of the demo (shorter and smaller with quick)."""
        if self.x == "outage":
            return outage.outage_plan(quick)
        server, load = default_cpus()
        users = self.quick_users if quick else self.users
        return Plan(
            targets=list(self.quick_targets if quick and self.quick_targets else self.targets),
            scenarios=list(self.scenarios),
            loads={s: [Load("users", u) for u in users] for s in self.scenarios},
            # Two minutes at most for the largest demo (12 points) on 2 cores.
            duration_s=duration_s or 2.0,
            warmup_s=warmup_s or 1.0,
            repeat=1,
            mock=self.mock,
            server_cpus=server,
            load_cpus=load,
            preset=f"demo:{self.name}",
            clients=list(self.clients) if self.clients else None,
        )


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            name="wsgi-vs-asgi",
            question="ASGI is said to serve 'orders of magnitude' more concurrent requests. "
            "How many more, against what, and what do threads and green threads recover?",
            prediction="Sync workers stop at workers / latency whatever the users; FastAPI on "
            "uvicorn follows users / latency; gevent and gthread recover most of the gap.",
            look_at="the flat line of flask-gunicorn-sync at its workers/latency ceiling, and "
            "how far the other lines climb along the users/latency ceiling",
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
        Demo(
            name="blocking-the-loop",
            question="What happens when an `async def` endpoint makes a blocking upstream call?",
            prediction="The event loop freezes for every call: the server answers one request "
            "at a time, while the proper async call and `def` endpoints scale with users.",
            look_at="the blocking line stuck at 1 / latency while the others rise",
            targets=("fastapi-uvicorn", "fastapi-uvicorn-blocking", "fastapi-uvicorn-sync"),
            scenarios=("complete",),
            users=(1, 10, 50),
            quick_users=(20,),
            mock=MockSettings(ttft_ms=100.0, itl_ms=0.0, tokens=1),
        ),
        Demo(
            name="threadpool-limit",
            question="FastAPI runs `def` endpoints in a threadpool. What happens when users "
            "outnumber its threads, and what does raising the limit do?",
            prediction="Past 40 users (AnyIO's default), throughput stays at 40 / latency; "
            "with 200 threads it keeps rising until the core is busy.",
            look_at="where the default line flattens (40 users) and the raised line goes on",
            targets=("fastapi-uvicorn-sync", "fastapi-uvicorn-sync{threads=200}"),
            scenarios=("complete",),
            users=(20, 40, 80, 160),
            quick_users=(100,),
        ),
        Demo(
            name="client-pool",
            question="Does the HTTP client that calls the LLM matter as much as the framework?",
            prediction="At high concurrency the clients differ widely with the framework "
            "unchanged (httpx's pool degrades with many connections; aiohttp holds up).",
            look_at="the spread between the lines at the highest user count",
            targets=("fastapi-uvicorn",),
            clients=("aiohttp", "openai-aiohttp", "openai", "httpx"),
            scenarios=("complete",),
            users=(50, 200),
            quick_users=(200,),
        ),
        Demo(
            name="streaming-ttft",
            question="Does every framework and server relay the first token as soon as the "
            "LLM sends it, or does something buffer the stream?",
            prediction="None buffers: time to first token is the mock's TTFT plus a few ms "
            "everywhere, and every token arrives as its own event.",
            look_at="bars far above the mock's TTFT (300 ms): those buffer",
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
            x="target",
            y="ttft_p50",
        ),
        Demo(
            name="workers-scaling",
            question="What do more gunicorn workers buy on the cores given to the server?",
            prediction="On an I/O-bound endpoint sync workers scale throughput with their "
            "count; on a CPU-bound one they stop at the cores.",
            look_at="complete rising with workers while hello stays flat",
            targets=(
                "flask-gunicorn-sync{workers=1}",
                "flask-gunicorn-sync{workers=2}",
                "flask-gunicorn-sync{workers=4}",
            ),
            quick_targets=("flask-gunicorn-sync{workers=1}", "flask-gunicorn-sync{workers=4}"),
            scenarios=("hello", "complete"),
            users=(20,),
            quick_users=(20,),
            x="workers",
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
            targets=(
                "flask-gunicorn-sync",
                "flask-gunicorn-gthread",
                "flask-gunicorn-gevent",
                "fastapi-uvicorn",
            ),
            quick_targets=("flask-gunicorn-sync", "flask-gunicorn-gthread", "fastapi-uvicorn"),
            scenarios=("complete",),
            users=(),
            quick_users=(),
            search_users=2000,
            quick_search_users=1000,
            x="capacity",
        ),
        Demo(
            name=outage.NAME,
            question=outage.QUESTION,
            prediction=outage.PREDICTION,
            look_at="the /health bars during the stall: short for the event loop, seconds "
            "for the thread pool whose threads all wait on the stalled upstream",
            targets=outage.TARGETS,
            quick_targets=outage.QUICK_TARGETS,
            scenarios=("complete",),
            users=(),
            quick_users=(),
            x="outage",
        ),
    )
}


def _users(point: Point) -> float:
    return float(point.load.users or 0)


def _own_ceiling(point: Point) -> float | None:
    """The server model's ceiling where it binds (below users / latency), else None."""
    model, ceiling = point.model_ceiling_rps, point.ceiling_rps
    return model if model and (not ceiling or model < ceiling) else None


def _capacity_bars(demo: Demo, run: Run) -> str:
    bars: dict[str, dict[str, float | None]] = {
        c.target: {"calls held at once": float(c.max_in_flight or 0)} for c in run.capacity
    }
    latency = run.capacity[0].latency.answer_ms if run.capacity else 0.0
    return charts.bar_chart(
        bars,
        title=f"{demo.name}: LLM calls held at once on one core ({latency:,.0f} ms answers)",
        value_label="calls in flight at >= 90 % of users / latency",
        unit="calls",
    )


def chart(demo: Demo, run: Run) -> str:
    """Return the demo's chart as an SVG string."""
    if demo.x == "outage":
        return outage.chart(run)
    return _points_chart(demo, run)


def _points_chart(demo: Demo, run: Run) -> str:
    if demo.x == "capacity":
        return _capacity_bars(demo, run)
    ok = [p for p in run.points if p.ok]
    if demo.x == "target":
        return _ttft_bars(demo, ok, run.mock.ttft_ms)
    if demo.x == "workers":
        return _speedup_chart(demo, ok)
    if len({p.load for p in ok}) == 1:
        return _throughput_bars(demo, ok)
    series: dict[str, list[tuple[float, float]]] = {}
    ceilings: dict[str, list[tuple[float, float]]] = {}
    for point in ok:
        x = _users(point)
        series.setdefault(point.target, []).append((x, point.throughput_rps))
        if point.ceiling_rps:
            ceilings.setdefault("users / latency", []).append((x, point.ceiling_rps))
        # A server model's own ceiling is drawn only where it binds (below users /
        # latency); a gevent worker's 1,000 connections would only flatten the chart.
        if (own := _own_ceiling(point)) is not None and point.ceiling_rps:
            ceilings.setdefault(f"{point.target} ceiling", []).append((x, own))
    return charts.line_chart(
        {name: sorted(values) for name, values in series.items()},
        title=f"{demo.name}: throughput as users rise",
        x_label="concurrent users",
        y_label="throughput",
        y_unit="req/s",
        log_x="auto",
        ceiling={name: sorted(set(values)) for name, values in ceilings.items()} or None,
    )


def _throughput_bars(demo: Demo, ok: list[Point]) -> str:
    bars: dict[str, dict[str, float | None]] = {}
    for point in ok:
        bars[point.target] = {"throughput": point.throughput_rps}
        if (own := _own_ceiling(point)) is not None:
            bars[point.target]["own ceiling"] = own
    users = ok[0].load.users if ok else 0
    return charts.bar_chart(
        bars,
        title=f"{demo.name}: throughput at {users} users",
        value_label="throughput",
        unit="req/s",
        ceiling=ok[0].ceiling_rps if ok else None,
        ceiling_label="users / latency",
    )


def _ttft_bars(demo: Demo, ok: list[Point], mock_ttft: float) -> str:
    bars: dict[str, dict[str, float | None]] = {
        p.target: {
            "TTFT p50": p.value(("ttft_ms", "p50")),
            "whole stream p50": p.value(("latency_ms", "p50")),
        }
        for p in ok
    }
    return charts.bar_chart(
        bars,
        title=f"{demo.name}: time to first token",
        value_label="time",
        unit="ms",
        ceiling=mock_ttft,
        ceiling_label="the mock's TTFT",
    )


def _speedup_chart(demo: Demo, ok: list[Point]) -> str:
    """Throughput relative to the fewest workers, per scenario, against the ideal."""
    series: dict[str, list[tuple[float, float]]] = {}
    for scenario in demo.scenarios:
        points = sorted((p for p in ok if p.scenario == scenario), key=lambda p: p.workers)
        if points and points[0].throughput_rps > 0:
            base = points[0].throughput_rps
            series[scenario] = [(p.workers, p.throughput_rps / base) for p in points]
    counts = sorted({p.workers for p in ok})
    ideal = {"ideal (x workers)": [(w, w / counts[0]) for w in counts]} if counts else None
    return charts.line_chart(
        series,
        title=f"{demo.name}: throughput relative to {counts[0] if counts else 1} worker(s)",
        x_label="gunicorn sync workers",
        y_label="speed-up",
        y_unit="x",
        ceiling=ideal,
    )


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def capacity_table(run: Run, demo: Demo) -> Table:
    """The capacity demo's table: per target, calls held (and the first load not held),
    what binds them, what its CPU allows, what each call costs."""
    result = Table(title=demo.name, title_justify="left")
    columns = ("target", "held at once", "not held at", "bound by", "its CPU allows",
               "server CPU at the top", "KiB per call in flight")  # fmt: skip
    for column in columns:
        result.add_column(column, justify="left" if column in ("target", "bound by") else "right")
    for found in run.capacity:
        top = max((p for p in found.points if p.ok), key=lambda p: p.load.users or 0, default=None)
        rss, held = rss_per_request_kib(found), found.in_flight
        result.add_row(
            found.target,
            f"{found.max_in_flight or 0:,}",
            _fmt(held.high if held else None, ",.0f"),
            found.limit.short(60) if found.limit else "nothing within the steps",
            _fmt(cpu_allows(found), ",.0f"),
            _fmt(top.server.cpu_pct if top else None, ".0f"),
            _fmt(rss, ",.0f"),
        )
    return result


def table(points: list[Point], demo: Demo) -> Table:
    """The demo's short table: one row per point."""
    result = Table(title=demo.name, title_justify="left")
    columns = ["target", "scenario", "users", "workers", "req/s", "users/latency",
               "own ceiling", "efficiency", "p50 ms"]  # fmt: skip
    stream = "stream" in demo.scenarios
    if stream:
        columns += ["TTFT p50 ms", "fidelity"]
    for column in columns:
        result.add_column(column, justify="left" if column in ("target", "scenario") else "right")
    for p in points:
        users = str(p.load.users)
        if not p.ok:
            result.add_row(p.target, p.scenario, users, "-", "[red]failed[/]")
            continue
        row = [
            p.target, p.scenario, users, str(p.workers), f"{p.throughput_rps:.1f}",
            _fmt(p.ceiling_rps, ".0f"), _fmt(_own_ceiling(p), ".0f"),
            _fmt(p.efficiency, ".0%"), f"{p.value(('latency_ms', 'p50')) or 0:.1f}",
        ]  # fmt: skip
        if stream:
            row += [f"{p.value(('ttft_ms', 'p50')) or 0:.1f}", f"{p.chunk_fidelity or 0:.2f}"]
        result.add_row(*row)
    return result


def _write_outputs(folder: Path, demo: Demo, run: Run, lesson: Lesson) -> None:
    svg = chart(demo, run)
    (folder / "chart.svg").write_text(svg)
    details = "\n".join(f"- {d}" for d in lesson.details)
    verdict = "As predicted" if lesson.confirmed else "Not as predicted"
    markdown = (
        f"# Demo: {demo.name}\n\n**Question.** {demo.question}\n\n"
        f"**Prediction.** {demo.prediction}\n\n**Conditions.** {run.conditions()}\n\n"
        f"**{verdict}.** {lesson.headline}\n\n{details}\n\n![chart](chart.svg)\n\n"
        f"**In the chart, point at** {demo.look_at}.\n\n{mechanisms.markdown(demo.name)}"
    )
    (folder / "demo.md").write_text(markdown)
    items = "".join(f"<li>{html.escape(d)}</li>" for d in lesson.details)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Demo: {html.escape(demo.name)}</title><style>body{{font-family:sans-serif;"
        "max-width:60rem;margin:2rem auto;line-height:1.4}}</style></head><body>"
        f"<h1>Demo: {html.escape(demo.name)}</h1><p><b>Question.</b> "
        f"{html.escape(demo.question)}</p><p><b>Prediction.</b> {html.escape(demo.prediction)}"
        f"</p><p><b>Conditions.</b> {html.escape(run.conditions())}</p>"
        f"<p><b>{verdict}.</b> {html.escape(lesson.headline)}</p><ul>{items}</ul>{svg}"
        f"<p><b>In the chart, point at</b> {html.escape(demo.look_at)}.</p>"
        f"{mechanisms.html_block(demo.name)}</body></html>\n"
    )
    (folder / "demo.html").write_text(page)


def run_demo(
    name: str,
    console: Console,
    *,
    quick: bool = False,
    out: Path | None = None,
    port: int = 8000,
    mock_port: int = 8900,
    duration_s: float | None = None,
    warmup_s: float | None = None,
    live: LiveView | None = None,
) -> tuple[Path, Lesson]:
    """Run one demo; return its folder and lesson (with `live`, shown as it runs)."""
    demo = DEMOS[name]
    folder = out or Path("results") / f"demo-{name}-{new_run_id()}"
    console.print(f"[bold]Demo {name}[/]{' (quick)' if quick else ''}")
    console.print(f"[bold]Question:[/] {demo.question}")
    console.print(f"[bold]Prediction:[/] {demo.prediction}")
    options = Options(out=folder, port=port, mock_port=mock_port, observer=live)
    if live is not None:
        live.section(f"Demo {name}", f"{demo.question}\nPrediction: {demo.prediction}")
    if demo.searched:
        runner = CapacityRunner(demo.capacity_plan(quick), options)
        run = runner.execute(lambda message, _task: console.print(message))
        shown = capacity_table(run, demo)
    else:
        plan = demo.plan(quick, duration_s, warmup_s)
        points = Runner(plan, options)
        with LiveProgress(console, points.tasks(), plan) as progress:
            if live is not None:
                live.listen(progress.rate)
            run = points.execute(progress.update)
        shown = outage.table(run) if demo.x == "outage" else table(run.points, demo)
    lesson = LESSONS[name](run)
    console.print(shown)
    _write_outputs(folder, demo, run, lesson)
    console.print(lesson.text())
    console.print(mechanisms.text(name))
    console.print(f"chart and report: {folder / 'demo.html'}")
    return folder, lesson
