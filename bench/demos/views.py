"""The charts and tables of the demos that measure points or ramps, drawn from a run.

Each function takes the demo and its run (a `Demo`'s `draw` or `tabulate`) and names rows
by bench.demos.rows' rule. Pure rendering: SVG through bench.reports.charts, tables as
Rich tables (the handout turns them into HTML).
"""

from __future__ import annotations

from rich.table import Table

from bench.demos.concurrency import cpu_allows, ended_at, expected, rss_per_request_kib
from bench.demos.demo import Demo
from bench.demos.rows import name, row_name
from bench.reports import charts
from bench.results.model import Capacity, Point, Run


def _users(point: Point) -> float:
    return float(point.load.users or 0)


def _ok(run: Run) -> list[Point]:
    return [p for p in run.points if p.ok]


def own_ceiling(point: Point) -> float | None:
    """The server model's ceiling where it binds (below users / latency), else None."""
    model, ceiling = point.model_ceiling_rps, point.ceiling_rps
    return model if model and (not ceiling or model < ceiling) else None


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


# --- charts -----------------------------------------------------------------------------


def throughput_chart(demo: Demo, run: Run) -> str:
    """Throughput as users rise, one line per row, with the ceilings (bars at one load)."""
    ok = _ok(run)
    if len({p.load for p in ok}) == 1:
        return _throughput_bars(demo, ok)
    series: dict[str, list[tuple[float, float]]] = {}
    ceilings: dict[str, list[tuple[float, float]]] = {}
    for point in ok:
        x = _users(point)
        series.setdefault(row_name(point), []).append((x, point.throughput_rps))
        if point.ceiling_rps:
            ceilings.setdefault("users / latency", []).append((x, point.ceiling_rps))
        # A server model's own ceiling is drawn only where it binds (below users /
        # latency); a gevent worker's 1,000 connections would only flatten the chart.
        if (own := own_ceiling(point)) is not None and point.ceiling_rps:
            ceilings.setdefault(f"{row_name(point)} ceiling", []).append((x, own))
    return charts.line_chart(
        {row: sorted(values) for row, values in series.items()},
        title=f"{demo.name}: throughput as users rise",
        x_label="concurrent users",
        y_label="throughput",
        y_unit="req/s",
        log_x="auto",
        ceiling={row: sorted(set(values)) for row, values in ceilings.items()} or None,
    )


def _throughput_bars(demo: Demo, ok: list[Point]) -> str:
    bars: dict[str, dict[str, float | None]] = {}
    for point in ok:
        bars[row_name(point)] = {"throughput": point.throughput_rps}
        if (own := own_ceiling(point)) is not None:
            bars[row_name(point)]["own ceiling"] = own
    users = ok[0].load.users if ok else 0
    return charts.bar_chart(
        bars,
        title=f"{demo.name}: throughput at {users} users",
        value_label="throughput",
        unit="req/s",
        ceiling=ok[0].ceiling_rps if ok else None,
        ceiling_label="users / latency",
    )


def ttft_chart(demo: Demo, run: Run) -> str:
    """Time to first token and the whole stream, per row, against the mock's TTFT."""
    bars: dict[str, dict[str, float | None]] = {
        row_name(p): {
            "TTFT p50": p.value(("ttft_ms", "p50")),
            "whole stream p50": p.value(("latency_ms", "p50")),
        }
        for p in _ok(run)
    }
    return charts.bar_chart(
        bars,
        title=f"{demo.name}: time to first token",
        value_label="time",
        unit="ms",
        ceiling=run.mock.ttft_ms,
        ceiling_label="the mock's TTFT",
    )


def speedup_chart(demo: Demo, run: Run) -> str:
    """Throughput relative to the fewest workers, per scenario, against the ideal."""
    ok = _ok(run)
    series: dict[str, list[tuple[float, float]]] = {}
    for scenario in dict.fromkeys(p.scenario for p in ok):
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


def capacity_chart(demo: Demo, run: Run) -> str:
    """The calls each target held at once, beside what its model allows, as bars."""
    bars: dict[str, dict[str, float | None]] = {}
    for found in run.capacity:
        truth = expected(found)
        bars[name(found.target)] = {
            "calls held at once": float(found.users_held or 0),
            "what its model allows": truth.high if truth else None,
        }
    latency = run.capacity[0].latency.answer_ms if run.capacity else 0.0
    return charts.bar_chart(
        bars,
        title=f"{demo.name}: LLM calls held at once on one core ({latency:,.0f} ms answers)",
        value_label="calls in flight at >= 90 % of users / latency",
        unit="calls",
    )


# --- tables -----------------------------------------------------------------------------


def _ended(found: Capacity) -> str:
    """The server's own CPU and its core's where the search ended (the first load not
    held): "45 / 98" says that other processes took the rest of the core."""
    step = ended_at(found)
    if step is None:
        return "-"
    return f"{fmt(step.server.cpu_pct, '.0f')} / {fmt(step.server_cores_busy_pct, '.0f')}"


def capacity_table(demo: Demo, run: Run) -> Table:
    """Per target: calls held (and the first load not held), what its model allows, what
    binds it, what its CPU allows, the CPU where it ended, what each call costs."""
    result = Table(title=demo.name, title_justify="left")
    columns = ("target", "held at once", "not held at", "its model allows", "bound by",
               "its CPU alone allows", "server / core CPU % at the end",
               "KiB per call in flight")  # fmt: skip
    for column in columns:
        result.add_column(column, justify="left" if column in ("target", "bound by") else "right")
    for found in run.capacity:
        truth, held = expected(found), found.in_flight
        result.add_row(
            name(found.target),
            f"{found.users_held or 0:,}",
            fmt(held.high if held else None, ",.0f"),
            "-" if truth is None else truth.cell(),
            found.limit.short(60) if found.limit else "nothing within the steps",
            fmt(cpu_allows(found), ",.0f"),
            _ended(found),
            fmt(rss_per_request_kib(found), ",.0f"),
        )
    return result


def points_table(demo: Demo, run: Run) -> Table:
    """One row per point: throughput, ceilings, efficiency, latency (and streams' TTFT)."""
    result = Table(title=demo.name, title_justify="left")
    columns = ["target", "scenario", "users", "workers", "req/s", "users/latency",
               "own ceiling", "efficiency", "p50 ms"]  # fmt: skip
    stream = any(p.scenario == "stream" for p in run.points)
    if stream:
        columns += ["TTFT p50 ms", "fidelity"]
    for column in columns:
        result.add_column(column, justify="left" if column in ("target", "scenario") else "right")
    for p in run.points:
        users = str(p.load.users)
        if not p.ok:
            result.add_row(row_name(p), p.scenario, users, "-", "[red]failed[/]")
            continue
        row = [
            row_name(p), p.scenario, users, str(p.workers), f"{p.throughput_rps:.1f}",
            fmt(p.ceiling_rps, ".0f"), fmt(own_ceiling(p), ".0f"),
            fmt(p.efficiency, ".0%"), f"{p.value(('latency_ms', 'p50')) or 0:.1f}",
        ]  # fmt: skip
        if stream:
            row += [f"{p.value(('ttft_ms', 'p50')) or 0:.1f}", f"{p.chunk_fidelity or 0:.2f}"]
        result.add_row(*row)
    return result
