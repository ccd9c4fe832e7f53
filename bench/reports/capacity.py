"""The capacity section of a report: the three figures per search, charts, a headline.

Pure rendering: from a run's `capacity` list (bench.results.model.Capacity) to a table
model, inline SVG charts and sentences; who leads, and whether the lead is more than
noise, is decided in bench.results.capacity (`leads`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.reports import charts
from bench.reports.summary import ranked
from bench.reports.tables import Row, Table, TCell, num
from bench.results.capacity import FIGURE_NAMES, FIGURES, figure_of, leads
from bench.results.model import Capacity, Figure, Limit, Point
from bench.results.naming import label

INTRO = (
    "Three figures per stack, scenario and upstream latency, each with its 95 % interval "
    "and what binds it. Saturation throughput: the most requests per second completed, "
    "whatever their latency (closed-loop users climbing until throughput stops growing, "
    "each step past the knee measured 5 s at least; what wrk and TechEmpower publish), per server "
    "core. Goodput rate: the highest open-loop Poisson arrival rate whose p99 response "
    "time, counted from each request's intended send, is within the SLO with errors at "
    'most 1 % (its interval: the last rate held and the first decided not held, "?" '
    "when no rate above it was decided; its value: the highest rate in that interval "
    "whose own p99 estimate was within, decided or not). Max in "
    "flight: the most closed-loop users held at 90 % or more of users / latency within the "
    "same SLO (its interval and value likewise). Each step runs until the 95 % interval of its p99 "
    "lies on one side of the SLO, widened when its slowest answers came in clumps (a pause "
    "delays every request in flight at once), or until its cap: then it is undecided. "
    "What binds a figure: the server's CPU, a "
    "declared concurrency limit (workers, threads, worker_connections, an upstream pool), "
    'the load generator, the mock, or the time the server adds. A figure shown "-" was '
    "not searched (the capacity preset searches only the max in flight at LLM latency)."
)
HEADERS = [
    "latency",
    "scenario",
    "target",
    "saturation req/s per core",
    "what binds it",
    "goodput req/s",
    "what binds it (goodput)",
    "max in flight",
    "what binds it (in flight)",
    "CPU µs per request",
    "steps",
]


def count(value: float | None) -> str:
    """Users and requests in flight are whole numbers."""
    return "-" if value is None else f"{round(value):,}"


def _latency(found: Capacity) -> str:
    name = found.latency.name
    return f"{name} ({num(found.latency.answer_ms)} ms, SLO {num(found.slo_p99_ms)} ms)"


def _in_flight_note(found: Capacity, held: Figure | None) -> str | None:
    """What a reader must know of the in-flight figure: the search's and the figure's own."""
    notes = [found.unknown, held.note if held is not None else None]
    return "; ".join(note for note in notes if note) or None


def _limit(limit: Limit | None, note: str | None = None) -> str:
    text = "-" if limit is None else f"{limit.kind}: {limit.detail}"
    return f"{text} ({note})" if note else text


def shown(figure: Figure | None, whole: bool = False, per: float = 1.0) -> str:
    """A figure with its interval: "1,234 (1,190 to 1,270)"; "-" when not measured."""
    if figure is None:
        return "-"
    fmt = count if whole else num

    def scaled(value: float | None) -> str:
        return "?" if value is None else fmt(value / per)

    if figure.low is None and figure.high is None:
        return fmt(figure.value / per)
    return f"{fmt(figure.value / per)} ({scaled(figure.low)} to {scaled(figure.high)})"


def cpu_cost(found: Capacity) -> float | None:
    """CPU per request at the saturation step (what one core's work costs)."""
    figure = found.saturation
    if figure is None or figure.load is None:
        return None
    best = [p for p in found.points if p.load.users == figure.load]
    return best[0].cpu_us_per_request if best else None


def table(capacity: Sequence[Capacity]) -> Table:
    """One row per search, ranked per server core within each latency and scenario."""
    rows = []
    for found in ranked(list(capacity)):
        sat, good, held = found.saturation, found.goodput, found.in_flight
        cores = float(max(found.server_cores, 1))
        cells = [
            TCell(_latency(found), numeric=False, wrap=True),
            TCell(found.scenario, numeric=False),
            TCell(label(found, capacity), numeric=False),
            TCell(shown(sat, per=cores)),
            TCell(_limit(sat.limit if sat else None, sat.note if sat else None),
                  numeric=False, wrap=True),
            TCell(shown(good)),
            TCell(_limit(good.limit if good else None, good.note if good else None),
                  numeric=False, wrap=True),
            TCell(shown(held, whole=True)),
            TCell(_limit(found.limit, _in_flight_note(found, held)), numeric=False, wrap=True),
            TCell(num(cpu_cost(found))),
            TCell(str(len(found.points))),
        ]  # fmt: skip
        rows.append(Row(cells, "warned" if found.unknown or found.undecided else ""))
    return Table(HEADERS, rows)


def points_table(capacity: Sequence[Capacity]) -> Table:
    """Every step every search measured, with its verdict and its limit."""
    headers = ["search", "load", "req/s", "efficiency", "p99 ms (95 % interval)",
               "window s", "errors", "server CPU", "in flight at the mock", "verdict",
               "what binds it"]  # fmt: skip
    rows = []
    for found in ranked(list(capacity)):
        name = f"{label(found, capacity)} / {found.scenario} / {found.latency.name}"
        ordered = sorted(found.points, key=lambda p: (p.load.mode, p.load.amount))
        for point in ordered:
            rows.append(Row([
                TCell(name, numeric=False),
                TCell(point.load.label(), numeric=False),
                TCell(num(point.throughput_rps)),
                TCell("-" if point.efficiency is None else f"{point.efficiency:.0%}"),
                TCell(_p99(point)),
                TCell(f"{point.window_s:g}"),
                TCell(str(point.failed_requests)),
                TCell("-" if point.server.cpu_pct is None else f"{point.server.cpu_pct:.0f} %"),
                TCell(count(point.in_flight_mean)),
                TCell(point.decision or "-", numeric=False),
                TCell(_limit(point.limit), numeric=False, wrap=True),
            ], "" if point.ok else "invalid"))  # fmt: skip
    return Table(headers, rows)


def _p99(point: Point) -> str:
    p99 = point.value(("latency_ms", "p99"))
    if p99 is None:
        return "-"
    low, high = point.p99_low_ms, point.p99_high_ms
    if low is None:
        return num(p99)
    return f"{num(p99)} ({num(low)} to {'?' if high is None else num(high)})"


def sentences(capacity: Sequence[Capacity]) -> list[str]:
    """Per latency, scenario and figure: the leader where its interval separates it from
    the runner-up's, and otherwise that the leading stacks cannot be told apart."""
    out = []

    def name(found: Capacity | None) -> str:
        return "-" if found is None else label(found, capacity)

    for lead in leads(capacity):
        top, second = figure_of(lead.leader, lead.figure), None
        if lead.runner_up is not None:
            second = figure_of(lead.runner_up, lead.figure)
        assert top is not None
        what = FIGURE_NAMES[lead.figure]
        whole = lead.figure == "in_flight"
        unit = "" if whole else " req/s"
        at = f"{lead.scenario} at {lead.latency}"
        if lead.separated:
            kind = top.limit.kind if top.limit else "nothing found"
            out.append(
                f"{at}, {what}: {name(lead.leader)} leads, {shown(top, whole)}{unit} "
                f"(bound by {kind}), above {name(lead.runner_up)}'s {shown(second, whole)}."
            )
        else:
            out.append(
                f"{at}, {what}: no leader; {name(lead.leader)} {shown(top, whole)}{unit} and "
                f"{name(lead.runner_up)} {shown(second, whole)} overlap within their intervals."
            )
    return out


def chart_svgs(capacity: Sequence[Capacity]) -> list[str]:
    """Bars per latency, scenario and figure."""
    groups: dict[tuple[str, str], list[Capacity]] = {}
    for found in ranked(list(capacity)):
        groups.setdefault((_latency(found), found.scenario), []).append(found)
    svgs = []
    units = {"saturation": "req/s", "goodput": "req/s", "in_flight": "in flight"}
    for (latency, scenario), group in groups.items():
        for name in FIGURES:
            title = FIGURE_NAMES[name]
            bars = {label(c, capacity): {title: _value(c, name)} for c in group}
            if all(v[title] is None for v in bars.values()):
                continue
            svgs.append(
                charts.bar_chart(
                    bars,
                    title=f"capacity: {scenario} at {latency}: {title}",
                    value_label=title,
                    unit=units[name],
                    warned={label(c, capacity) for c in group if c.unknown},
                    standalone=False,
                )
            )
    return svgs


def _value(found: Capacity, name: str) -> float | None:
    figure = figure_of(found, name)
    return None if figure is None else float(figure.value)


def limits_of(points: Sequence[Point]) -> dict[str, int]:
    """How many points each limit kind binds (for the run's validity sentence)."""
    counts: dict[str, int] = {}
    for point in points:
        if point.limit is not None:
            counts[point.limit.kind] = counts.get(point.limit.kind, 0) + 1
    return counts
