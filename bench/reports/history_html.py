"""The history as one page of the suite's shell (bench.reports.page): SVG, no script, no URL.

One small chart per timeline (a level's throughput or p99, a capacity figure): the runs
on the x axis in order, each value with its interval as a whisker, a line joining
consecutive runs that share their conditions, broken (with a dashed rule marked ≠)
where the conditions differ, and a red ▼ or green ▲ on a change that is significant.
The table under the charts holds every number.
"""

from __future__ import annotations

from bench.reports import charts, page
from bench.reports.history import cell, changed_conditions, legend
from bench.results import conditions as cond
from bench.results.history import CONDITIONS_DIFFER, Entry, History, Reading, Timeline
from bench.results.significance import IMPROVEMENT, REGRESSION

WIDTH, HEIGHT = 430, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 30, 44
COLORS = {REGRESSION: "#D00000", IMPROVEMENT: "#007A3D"}
LINE = charts.COLORS[0]
CELL_CLASSES = {
    REGRESSION: "regression",
    IMPROVEMENT: "improvement",
    CONDITIONS_DIFFER: "differ",
}


def _esc(text: object) -> str:
    return page.esc(text)


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span / 2 if count == 1 else span * index / (count - 1))


def _floor(reading: Reading) -> float | None:
    """The interval's low end, never below zero for a reading that cannot be negative.

    A wide interval of a small p99 (106 ± 116 ms) would otherwise stretch the axis to
    negative latencies that no run can have.
    """
    if reading.low is None:
        return None
    return max(reading.low, 0.0) if reading.value >= 0 else reading.low


def _axis(timeline: Timeline) -> charts.Axis:
    values = [
        v
        for f in timeline.readings
        if f is not None
        for v in (f.value, _floor(f), f.high)
        if v is not None
    ]
    return charts.linear_axis(values or [0.0, 1.0], from_zero=False)


def _y(axis: charts.Axis, value: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * axis.fraction(value)


def _frame(axis: charts.Axis, timeline: Timeline, entries: list[Entry]) -> list[str]:
    out = [f'<text x="8" y="18" font-size="12" font-weight="bold">{_esc(timeline.title)}</text>']
    for tick in axis.ticks:
        y = _y(axis, tick)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{_esc(charts.format_number(tick))}</text>"
        )
    for i, entry in enumerate(entries):
        x = _x(i, len(entries))
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
            f'text-anchor="middle">#{entry.index}</text>'
        )
        if entry.differs:
            out.append(
                f'<line x1="{x - 6:.1f}" x2="{x - 6:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
                'stroke="#B8860B" stroke-dasharray="4 3"/>'
                f'<text x="{x - 6:.1f}" y="{TOP - 2}" font-size="11" fill="#B8860B" '
                'text-anchor="middle">≠</text>'
            )
    unit = f"{timeline.unit} (higher is better)" if timeline.higher_is_better else timeline.unit
    out.append(
        f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="10" fill="#555">{_esc(unit)}; '
        "runs in order</text>"
    )
    return out


def _tip(entry: Entry, reading: Reading, unit: str) -> str:
    text = f"#{entry.index} {entry.run.info.id}: {cell(reading)} {unit}"
    if reading.decision is not None:
        text += f" ({reading.decision}: {reading.reason})"
    return _esc(text)


def _marker(x: float, y: float, reading: Reading) -> str:
    color = COLORS.get(reading.decision or "")
    dot = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color or LINE}"/>'
    if color is None:
        return dot
    up = reading.decision == IMPROVEMENT
    tip_y = y - 16 if up else y + 16
    base_y = y - 8 if up else y + 8
    triangle = (
        f'<polygon points="{x - 6:.1f},{base_y:.1f} {x + 6:.1f},{base_y:.1f} '
        f'{x:.1f},{tip_y:.1f}" fill="{color}"/>'
    )
    return dot + triangle


def _points(axis: charts.Axis, timeline: Timeline, entries: list[Entry]) -> list[str]:
    out, previous = [], None
    for i, (entry, reading) in enumerate(zip(entries, timeline.readings, strict=True)):
        if reading is None:
            continue
        x, y = _x(i, len(entries)), _y(axis, reading.value)
        joined = previous is not None and reading.decision != CONDITIONS_DIFFER
        if joined and previous is not None:
            out.append(
                f'<line x1="{previous[0]:.1f}" y1="{previous[1]:.1f}" x2="{x:.1f}" '
                f'y2="{y:.1f}" stroke="{LINE}" stroke-width="1.8"/>'
            )
        low = _floor(reading)
        if low is not None and reading.high is not None:
            top, bottom = _y(axis, reading.high), _y(axis, low)
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" '
                f'stroke="{LINE}" stroke-width="1.2"/>'
                f'<line x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{top:.1f}" y2="{top:.1f}" '
                f'stroke="{LINE}"/><line x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{bottom:.1f}" '
                f'y2="{bottom:.1f}" stroke="{LINE}"/>'
            )
        out.append(
            f"<g><title>{_tip(entry, reading, timeline.unit)}</title>{_marker(x, y, reading)}</g>"
        )
        previous = (x, y)
    return out


def chart(timeline: Timeline, entries: list[Entry]) -> str:
    """One timeline as an inline SVG."""
    axis = _axis(timeline)
    body = _frame(axis, timeline, entries) + _points(axis, timeline, entries)
    return (
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{_esc(timeline.title)}" font-family="system-ui, sans-serif">'
        + "".join(body)
        + "</svg>"
    )


def _runs_table(entries: list[Entry]) -> str:
    columns = ("#", "run", "started", "commit", "change from the run before", "conditions")
    head = "".join(f"<th>{c}</th>" for c in columns)
    # Its cells are sentences: they wrap, left-aligned, instead of widening the page.
    rows = []
    for e in entries:
        meant = cond.describe(e.differences, e.varying) if e.index > 1 else "first run"
        unintended = cond.unintended(e.differences, e.varying)
        condition = "; ".join(d.text() for d in unintended) or "same"
        css = ' class="differ"' if unintended else ""
        commit = (e.run.info.git_commit or "-")[:12]
        rows.append(
            f"<tr><td>{e.index}</td><td>{_esc(e.named.label)}</td>"
            f"<td>{_esc(e.run.info.started_at)}</td><td>{_esc(commit)}</td>"
            f"<td>{_esc(meant)}</td><td{css}>{_esc(condition)}</td></tr>"
        )
    return page.scroll(
        f'<table class="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _values_table(history: History) -> str:
    head = "".join(
        f"<th{' class=differ' if e.differs else ''}>{_esc(e.short())}</th>" for e in history.entries
    )
    rows = []
    for timeline in history.timelines:
        cells = []
        for reading in timeline.readings:
            css = CELL_CLASSES.get((reading and reading.decision) or "", "")
            attr = f' class="{css}"' if css else ""
            cells.append(f"<td{attr}>{_esc(cell(reading))}</td>")
        name = f"{_esc(timeline.title)} ({_esc(timeline.unit)})"
        rows.append(f"<tr><td>{name}</td>{''.join(cells)}</tr>")
    return page.scroll(
        f'<table class="values"><thead><tr><th>figure</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _lead(history: History) -> str:
    out = f'<p class="note">{_esc(legend(history.settings))}</p>'
    differ = changed_conditions(history.entries)
    if differ:
        items = "".join(f"<li>{_esc(line)}</li>" for line in differ)
        out += (
            '<div class="warning" role="alert"><p>Runs measured under other conditions than '
            f"the run before them (marked ≠, never joined):</p><ul>{items}</ul></div>"
        )
    return out


def _conditions(entries: list[Entry]) -> list[str]:
    first, last = entries[0].run, entries[-1].run
    span = f"{len(entries)} runs started {first.info.started_at} to {last.info.started_at}"
    return [f"{span}; the conditions of the latest: {last.conditions()}."]


def render(history: History) -> str:
    """The whole page: the runs, one small chart per timeline by scenario, every value."""
    entries = history.entries
    sections = [page.Section("runs", "Runs", _runs_table(entries))]
    scenarios = list(dict.fromkeys(t.scenario for t in history.timelines))
    for scenario in scenarios:
        svgs = "".join(chart(t, entries) for t in history.timelines if t.scenario == scenario)
        body = f'<div class="charts small">{svgs}</div>'
        sections.append(page.Section(f"scenario-{scenario}", scenario, body))
    sections.append(page.Section("values", "Every value", _values_table(history)))
    return page.render(
        page.Page(
            f"bench history: {len(entries)} runs",
            sections,
            conditions=_conditions(entries) if entries else [],
            lead=_lead(history),
            kind="history",
        )
    )
