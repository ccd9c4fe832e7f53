"""`bench history RUN...` as text: a table per scenario, and one JSON document.

What the history holds, and how each change is judged, is bench.results.history; this
module and bench.reports.history_html only render it.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from bench.reports import charts, terminal
from bench.results import conditions as cond
from bench.results.history import CONDITIONS_DIFFER, CONFIDENCE, Entry, History, Reading
from bench.results.significance import IMPROVEMENT, REGRESSION, Settings

MARKS = {REGRESSION: "▼", IMPROVEMENT: "▲", CONDITIONS_DIFFER: "≠"}


# --- text -----------------------------------------------------------------------------


def cell(reading: Reading | None) -> str:
    """A reading as a table cell: "526 ±4 ▼" (the mark: the change from the run before)."""
    if reading is None:
        return "-"
    text = charts.format_value(reading.value)
    if reading.low is not None and reading.high is not None:
        text += f" ±{charts.format_value((reading.high - reading.low) / 2)}"
    mark = MARKS.get(reading.decision or "")
    return f"{text} {mark}" if mark else text


LEGEND = (
    "▲ improvement, ▼ regression: significant by the test of `bench compare` (p < "
    "{alpha:g} and a change beyond {effect:.0%}) against the run before that measured "
    "it; ≠ conditions differ: not compared. ± is the half-width of the 95 % interval."
)


def legend(settings: Settings) -> str:
    return LEGEND.format(alpha=settings.alpha, effect=settings.min_effect)


def changed_conditions(found: list[Entry]) -> list[str]:
    """One line per run whose conditions differ from the run before."""
    lines = []
    for entry in found:
        unintended = cond.unintended(entry.differences, entry.varying)
        if unintended:
            what = "; ".join(d.text() for d in unintended)
            lines.append(f"#{entry.index} {entry.run.info.id}: {what}")
    return lines


def render_table(history: History, console: Console) -> None:
    """One Rich table per scenario: a row per timeline, a column per run."""
    found = history.entries
    console.print(Text(f"bench history: {len(found)} runs, in the order they started"))
    for entry in found:
        meant = cond.describe(entry.differences, entry.varying) if entry.index > 1 else "first"
        mark = " ≠ conditions differ" if entry.differs else ""
        console.print(Text(f"  {entry.short()}  {entry.run.info.id}  ({meant}){mark}"))
    scenarios = list(dict.fromkeys(t.scenario for t in history.timelines))
    for scenario in scenarios:
        table = terminal.table(Text(f"scenario: {scenario}"))
        terminal.column(table, Text("figure"))
        for entry in found:
            header = Text(entry.short() + (" ≠" if entry.differs else ""))
            terminal.column(table, header, numeric=True)
        for timeline in (t for t in history.timelines if t.scenario == scenario):
            cells = [Text(cell(r), style=_style(r)) for r in timeline.readings]
            table.add_row(Text(f"{timeline.title} ({timeline.unit})"), *cells)
        console.print(table)
    console.print(Text(legend(history.settings)))
    for line in changed_conditions(found):
        console.print(Text(f"≠ {line}", style="bold red"))


def _style(reading: Reading | None) -> str:
    if reading is None or reading.decision is None:
        return ""
    return {REGRESSION: "bold red", IMPROVEMENT: "bold green",
            CONDITIONS_DIFFER: "yellow"}.get(reading.decision, "")  # fmt: skip


# --- JSON -----------------------------------------------------------------------------


def _reading_json(entry: Entry, reading: Reading | None) -> dict[str, Any]:
    base: dict[str, Any] = {"run": entry.run.info.id, "index": entry.index}
    if reading is None:
        return {**base, "value": None}
    return {
        **base,
        "value": reading.value,
        "low": reading.low,
        "high": reading.high,
        "n": reading.n,
        "change": reading.decision,
        "significant": reading.significant,
        "ratio": reading.ratio,
        "reason": reading.reason,
    }


def to_json(history: History) -> str:
    """The history as one JSON document: runs, their condition changes, every timeline."""
    settings = history.settings
    document = {
        "settings": {
            "alpha": settings.alpha,
            "min_effect": settings.min_effect,
            "varying": list(settings.varying),
            "confidence": CONFIDENCE,
        },
        "runs": [
            {
                "index": e.index,
                "id": e.run.info.id,
                "location": e.named.label,
                "started_at": e.run.info.started_at,
                "git_commit": e.run.info.git_commit,
                "conditions_differ": e.differs,
                "differences": [d.to_dict(e.varying) for d in e.differences],
            }
            for e in history.entries
        ],
        # "series" and "figures": the names the document has always had.
        "series": [
            {
                "key": t.key,
                "scenario": t.scenario,
                "metric": t.metric,
                "unit": t.unit,
                "higher_is_better": t.higher_is_better,
                "figures": [
                    _reading_json(e, r) for e, r in zip(history.entries, t.readings, strict=True)
                ],
            }
            for t in history.timelines
        ],
    }
    return json.dumps(document, indent=1, allow_nan=False)
