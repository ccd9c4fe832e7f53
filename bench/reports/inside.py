"""The report's "Inside the server": each point's telemetry (the services' /metrics).

Pure rendering of a point's `telemetry` (bench.results.telemetry): what the server held
(requests and upstream calls in progress), its event loop's or gevent hub's lag, its
threadpool and gthread threads, garbage-collection pauses, and the time a request spent
in the app against its upstream call; and charts of the server's own series second by
second beside the clients' p99, on one time axis.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.reports import charts
from bench.reports.parts import Part
from bench.reports.tables import Row, Table, TCell, num
from bench.results.model import Point, Run, Telemetry
from bench.results.naming import label
from bench.results.telemetry import mechanisms

INTRO = (
    "The servers' own evidence, scraped from their /metrics every second of each window "
    '(METRICS=1; docs/metrics.md, "Server metrics"): the most requests and upstream '
    "calls in progress, the event loop's or gevent hub's lag (p99 of the window, and the "
    "largest), AnyIO's threadpool and gthread's threads at their most busy against their "
    "size, garbage-collection pauses, and the mean time a request spent in the app against "
    'its upstream call. What it shows of a point\'s tail is named under "shows".'
)
HEADERS = ["target", "scenario", "load", "in progress", "upstream calls", "loop lag p99 / max ms",
           "hub lag p99 / max ms", "threads busy / size", "GC pauses, ms", "app / upstream ms",
           "shows", "scrapes (missed)"]  # fmt: skip


def _most(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _pair(a: float | None, b: float | None) -> str:
    return "-" if a is None and b is None else f"{num(a)} / {num(b)}"


def _threads(found: Telemetry) -> str:
    if found.threadpool_size:
        return _pair(_most(found.threadpool_busy), found.threadpool_size)
    if found.threads_size:
        return _pair(_most(found.threads_busy), found.threads_size)
    return "-"


def _row(point: Point, name: str, found: Telemetry) -> Row:
    answer = point.ceiling_rps and point.load.users and point.load.users / point.ceiling_rps * 1000
    said = [m for m in mechanisms(found, point.window_s, answer or None) if "in the app" not in m]
    return Row([
        TCell(name, numeric=False),
        TCell(point.scenario, numeric=False),
        TCell(point.load.label(), numeric=False),
        TCell(num(_most(found.in_progress))),
        TCell(num(_most(found.upstream_in_progress))),
        TCell(_pair(found.loop_lag_p99_ms, found.loop_lag_max_ms)),
        TCell(_pair(found.hub_lag_p99_ms, found.hub_lag_max_ms)),
        TCell(_threads(found)),
        TCell(f"{num(found.gc_pauses)}, {num(found.gc_pause_ms_total)}"),
        TCell(_pair(found.request_ms_mean, found.upstream_ms_mean)),
        TCell("; ".join(said) or "-", numeric=False, wrap=True),
        TCell(f"{found.scrapes} ({found.missed})"),
    ])  # fmt: skip


def inside_parts(run: Run, with_charts: bool) -> list[Part]:
    """The telemetry table (and charts), when the run scraped any."""
    points = [p for p in run.points if p.telemetry is not None]
    if not points:
        return []
    rows = [_row(p, label(p, points), p.telemetry) for p in points if p.telemetry]
    svgs = _charts(points) if with_charts else []
    return [Part("Inside the server", "inside", INTRO, table=Table(HEADERS, rows), charts=svgs)]


def _charts(points: list[Point]) -> list[str]:
    """Per scenario, at its highest load: the server's series and the clients' p99."""
    svgs = []
    for scenario in dict.fromkeys(p.scenario for p in points):
        found = [p for p in points if p.scenario == scenario]
        top = max(p.load.amount for p in found)
        chosen = [p for p in found if p.load.amount == top and p.repetition == 1]
        for title, series in (("requests in progress (server)", _series(chosen, "in")),
                              ("loop or hub lag p99 (server)", _series(chosen, "lag")),
                              ("p99 latency (clients)", _series(chosen, "p99"))):  # fmt: skip
            if any(series.values()):
                svgs.append(charts.line_chart(
                    series, title=f"{scenario} at {chosen[0].load.label()}: {title}",
                    x_label="second of the window", y_label=title, x_unit="s",
                    y_unit="" if title.startswith("requests") else "ms", standalone=False,
                ))  # fmt: skip
    return svgs


def _series(points: list[Point], what: str) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for point in points:
        found, seconds = point.telemetry, point.seconds
        if what == "p99" and seconds is not None:
            values: Sequence[float | None] = seconds.p99_ms
        elif found is None:
            continue
        elif what == "in":
            values = found.in_progress
        else:
            values = found.loop_lag_ms if any(found.loop_lag_ms) else found.hub_lag_ms
        out[label(point, points)] = [(float(i), v) for i, v in enumerate(values) if v is not None]
    return out
