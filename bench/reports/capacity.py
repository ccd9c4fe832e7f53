"""The capacity section of a report: the table ranked per server core, charts, a headline.

Pure: from a run's `capacity` list (bench.results.model.Capacity) to a table model,
inline SVG charts and sentences that name, for every figure, the limit that binds it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.reports import charts
from bench.reports.summary import ranked
from bench.reports.tables import Row, Table, TCell, num
from bench.results.model import Capacity, Limit, Point

INTRO = (
    "How much each stack serves on its server cores, and how many upstream calls it holds "
    "at once, found by a search over the number of users (load ramps with steady windows). "
    "Max req/s: the highest throughput with errors at most 1 % and p99 within the SLO. Max "
    "in flight: the most users held at 90 % or more of users / latency within the same SLO. "
    "Next to each figure, what binds it: the server's CPU, a declared concurrency limit "
    "(workers, threads, worker_connections, an upstream pool), the load generator, the "
    "mock, or a window too short to trust."
)
HEADERS = [
    "latency",
    "scenario",
    "target",
    "max req/s per core",
    "at users",
    "what binds it",
    "max in flight",
    "what binds it (in flight)",
    "CPU µs per request",
    "points",
]


def count(value: float | None) -> str:
    """Users and requests in flight are whole numbers."""
    return "-" if value is None else f"{round(value):,}"


def _latency(found: Capacity) -> str:
    name = found.latency.name
    return f"{name} ({num(found.latency.answer_ms)} ms, SLO {num(found.slo_p99_ms)} ms)"


def _limit(limit: Limit | None, unknown: str | None = None) -> str:
    text = "-" if limit is None else f"{limit.kind}: {limit.detail}"
    return f"{text} ({unknown})" if unknown else text


def cpu_cost(found: Capacity) -> float | None:
    """CPU per request at the max-throughput point (what one core's work costs)."""
    best = [p for p in found.points if p.load.users == found.max_rps_users]
    return best[0].cpu_us_per_request if best else None


def table(capacity: Sequence[Capacity]) -> Table:
    """One row per search, ranked per server core within each latency and scenario."""
    rows = []
    for found in ranked(list(capacity)):
        cells = [
            TCell(_latency(found), numeric=False),
            TCell(found.scenario, numeric=False),
            TCell(found.target, numeric=False),
            TCell(num(found.max_rps_per_core)),
            TCell(count(found.max_rps_users)),
            TCell(_limit(found.rps_limit), numeric=False, wrap=True),
            TCell(count(found.max_in_flight)),
            TCell(_limit(found.limit, found.unknown), numeric=False, wrap=True),
            TCell(num(cpu_cost(found))),
            TCell(str(len(found.points))),
        ]
        rows.append(Row(cells, "warned" if found.unknown else ""))
    return Table(HEADERS, rows)


def points_table(capacity: Sequence[Capacity]) -> Table:
    """Every point every search measured, with its limit."""
    headers = ["search", "users", "req/s", "efficiency", "p99 ms", "errors", "server CPU",
               "in flight at the mock", "what binds it"]  # fmt: skip
    rows = []
    for found in ranked(list(capacity)):
        name = f"{found.target} / {found.scenario} / {found.latency.name}"
        for point in sorted(found.points, key=lambda p: p.load.users or 0):
            rows.append(Row([
                TCell(name, numeric=False),
                TCell(count(point.load.users)),
                TCell(num(point.throughput_rps)),
                TCell("-" if point.efficiency is None else f"{point.efficiency:.0%}"),
                TCell(num(point.value(("latency_ms", "p99")))),
                TCell(str(point.failed_requests)),
                TCell("-" if point.server.cpu_pct is None else f"{point.server.cpu_pct:.0f} %"),
                TCell(count(point.in_flight_mean)),
                TCell(_limit(point.limit), numeric=False, wrap=True),
            ], "" if point.ok else "invalid"))  # fmt: skip
    return Table(headers, rows)


def _leader(group: list[Capacity], figure: str) -> Capacity | None:
    measured = [c for c in group if getattr(c, figure) is not None]
    return max(measured, key=lambda c: getattr(c, figure), default=None)


def sentences(capacity: Sequence[Capacity]) -> list[str]:
    """Per latency and scenario: who serves most per core and who holds most, and why."""
    groups: dict[tuple[str, str], list[Capacity]] = {}
    for found in ranked(list(capacity)):
        groups.setdefault((_latency(found), found.scenario), []).append(found)
    out = []
    for (latency, scenario), group in groups.items():
        rps, held = _leader(group, "max_rps_per_core"), _leader(group, "max_in_flight")
        parts = []
        if rps is not None:
            kind: str = rps.rps_limit.kind if rps.rps_limit else "unknown"
            parts.append(
                f"{rps.target} serves the most, {num(rps.max_rps_per_core)} req/s per core "
                f"(bound by {kind})"
            )
        if held is not None:
            kind = held.limit.kind if held.limit else "nothing up to the maximum users"
            parts.append(
                f"{held.target} holds the most in flight, {count(held.max_in_flight)} "
                f"(bound by {kind})"
            )
        out.append(f"{scenario} at {latency}: " + "; ".join(parts or ["nothing measured"]) + ".")
    return out


def chart_svgs(capacity: Sequence[Capacity]) -> list[str]:
    """Bars per latency and scenario: max req/s per core and max in flight."""
    groups: dict[tuple[str, str], list[Capacity]] = {}
    for found in ranked(list(capacity)):
        groups.setdefault((_latency(found), found.scenario), []).append(found)
    svgs = []
    for (latency, scenario), group in groups.items():
        for figure, title, unit in (
            ("max_rps_per_core", "max req/s per server core", "req/s"),
            ("max_in_flight", "max requests in flight", "in flight"),
        ):
            bars = {c.target: {title: _value(c, figure)} for c in group}
            if all(v[title] is None for v in bars.values()):
                continue
            svgs.append(
                charts.bar_chart(
                    bars,
                    title=f"capacity: {scenario} at {latency}: {title}",
                    value_label=title,
                    unit=unit,
                    warned={c.target for c in group if c.unknown},
                    standalone=False,
                )
            )
    return svgs


def _value(found: Capacity, figure: str) -> float | None:
    value = getattr(found, figure)
    return None if value is None else float(value)


def limits_of(points: Sequence[Point]) -> dict[str, int]:
    """How many points each limit kind binds (for the run's validity sentence)."""
    counts: dict[str, int] = {}
    for point in points:
        if point.limit is not None:
            counts[point.limit.kind] = counts.get(point.limit.kind, 0) + 1
    return counts
