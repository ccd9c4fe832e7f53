"""`bench compare <reference> <changed> [more...]` as text: a table, Markdown, HTML or JSON.

What is matched and how each change is judged is bench.results.comparison and
bench.results.significance (whose docstring states the rule); this module only lays the
judged changes out, the same sections in every format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bench.reports import page, parts, terminal
from bench.reports.page import esc
from bench.reports.parts import Part
from bench.reports.tables import text_table
from bench.results import conditions as cond
from bench.results import intervals, stats, store
from bench.results.comparison import MetricChange, Named, RunComparison
from bench.results.intervals import Interval
from bench.results.model import Figure, Level
from bench.results.naming import DEFAULT_CLIENT, label
from bench.results.significance import (
    CANNOT,
    DECISIONS,
    IMPROVEMENT,
    NOT_SIGNIFICANT,
    REGRESSION,
    Settings,
    words,
)

FORMATS = ("table", "markdown", "html", "json")


def point_label(key: Level, group: Sequence[Level] = ()) -> str:
    """Name a matched point: target (and client, when the group's differ), scenario, load."""
    return f"{label(key, group or [key])} / {key.scenario} / {key.load.label()}"


def _sample_text(values: list[float], unit: str, window: Interval | None = None) -> str:
    centre, spread = stats.mean(values), stats.stdev(values)
    if centre is None:
        return f"- (n={len(values)})"
    if window is not None:
        bounds = window.bounds(0.95)
        if bounds is None:
            return f"{centre:.1f} {unit} (n=1)"
        return f"{centre:.1f} {unit} [{bounds[0]:.1f}, {bounds[1]:.1f}] (n=1, 95 % CI)"
    sd = f" ± {spread:.1f}" if spread is not None else ""
    return f"{centre:.1f}{sd} {unit} (n={len(values)})"


def _row_cells(row: MetricChange, group: Sequence[Level]) -> list[str]:
    flags = f" [{'; '.join(row.flags)}]" if row.flags else ""
    change = row.words
    if row.change is not None:
        change += f" ({row.change:+.1%})"
    test = "-"
    if row.outcome is not None and row.outcome.p_value is not None:
        test = f"{row.outcome.test} p={row.outcome.p_value:.2g}"
    ci = "-" if row.ci is None else f"{row.ci[0]:+.1%} .. {row.ci[1]:+.1%}"
    return [
        point_label(row.key, group) + flags,
        row.metric.label,
        _sample_text(row.reference, row.metric.unit, row.windows[0] if row.windows else None),
        _sample_text(row.changed, row.metric.unit, row.windows[1] if row.windows else None),
        change,
        test,
        ci,
        row.limits,
        row.reason,
    ]


def runs_title(comparison: RunComparison) -> str:
    """One line naming the two runs."""
    return f"{comparison.changed.label} against the reference {comparison.reference.label}"


def subject(comparison: RunComparison) -> str | None:
    """What the comparison is about: the declared variable's change ("Django 5.1.4 → 5.2.8").

    None when nothing declared changed and the default (the code) was not declared.
    """
    if not comparison.intended() and comparison.varying == cond.DEFAULT_VARYING:
        return None
    return cond.describe(comparison.differences, comparison.varying)


def title(comparison: RunComparison) -> str:
    """The comparison's title: the declared variable's change, then the two runs."""
    about = subject(comparison)
    runs = runs_title(comparison)
    return runs if about is None else f"{about} ({runs})"


TEST_NAMES = {
    "auto": "Welch's t-test (Mann-Whitney U for skewed samples)",
    stats.WELCH: "Welch's t-test",
    stats.MANN_WHITNEY: "Mann-Whitney U",
    intervals.METHOD: "Welch's t-test on batch means of each window's seconds",
}


def summary(comparison: RunComparison, settings: Settings) -> str:
    """One line: the counts per decision and the rule that made them."""
    counts = ", ".join(f"{d}: {comparison.count(d)}" for d in DECISIONS)
    rule = (
        f"{counts}. Significant = {TEST_NAMES[settings.test]} over the repetitions gives "
        f"p < {settings.alpha:g} AND the mean changed by more than {settings.min_effect:.0%}."
    )
    if any(row.windows is not None for row in comparison.rows):
        rule += (
            f" Points measured once: {TEST_NAMES[intervals.METHOD]}, plus the noise "
            "between runs that no window sees, instead of the repetitions "
            "(docs/methodology.md)."
        )
    return rule


PROSE = ("point", "reference", "changed", "why", "verdict")


def _decided(comparison: RunComparison, columns: list[str]) -> list[Part]:
    group = comparison.levels()

    def rows_of(decision: str) -> list[list[str]]:
        return [_row_cells(r, group) for r in comparison.rows if r.decision == decision]

    return [
        Part(heading, table=text_table(columns, rows_of(decision), PROSE), empty="none")
        for heading, decision in (
            ("Significant regressions", REGRESSION),
            ("Significant improvements", IMPROVEMENT),
            ("Not significant", NOT_SIGNIFICANT),
            ("Cannot compute (never significant)", CANNOT),
        )
    ]


def _geometric(comparison: RunComparison) -> list[list[str]]:
    rows = []
    for scenario, (value, count) in comparison.geometric_means.items():
        shown = "-" if value is None else f"{value:.3f}"
        said = "-" if value is None else words(value, True)
        rows.append([scenario, shown, said, str(count)])
    return rows


def _capacity(comparison: RunComparison) -> list[list[str]]:
    return [
        [row.search, row.figure, _figure(row.reference), _figure(row.changed),
         "-" if row.ratio is None else f"{row.ratio:.2f}x", row.verdict, row.limits]
        for row in comparison.capacity
    ]  # fmt: skip


def sections(comparison: RunComparison, settings: Settings) -> list[Part]:
    """Lay a comparison out as the sections every text format prints, in order."""
    columns = ["point", "metric", "reference", "changed", "change", "test"]
    columns += [f"{1 - settings.alpha:.0%} CI of change", "what binds it", "why"]
    group = comparison.levels()
    unmatched = [[point_label(k, group), "reference"] for k in comparison.only_reference]
    unmatched += [[point_label(k, group), "changed"] for k in comparison.only_changed]
    invalid = [[point_label(k, group), "; ".join(w) or "-"] for k, w in comparison.became_invalid]
    capacity_columns = ["search", "figure", "reference", "changed", "ratio", "verdict"]
    return [
        *_decided(comparison, columns),
        Part(
            "Points that became invalid in the changed run",
            table=text_table(["point", "why"], invalid, PROSE),
            empty="none",
        ),
        Part(
            "Unmatched points",
            table=text_table(["point", "only in"], unmatched, PROSE),
            empty="none",
        ),
        Part(
            "Throughput ratio changed/reference per scenario (geometric mean, valid points)",
            table=text_table(["scenario", "ratio", "in words", "points"], _geometric(comparison)),
            empty="no matched points",
        ),
        Part(
            "Capacity (a figure changed only where the two runs' intervals part; one "
            "open above is a lower bound)",
            table=text_table([*capacity_columns, "what binds it"], _capacity(comparison), PROSE),
            empty="no capacity searches in both runs",
        ),
    ]


def _figure(value: Figure | None) -> str:
    if value is None:
        return "-"
    if value.low is None and value.high is None:
        return f"{value.value:,.1f}"
    low = "?" if value.low is None else f"{value.low:,.1f}"
    high = "?" if value.high is None else f"{value.high:,.1f}"
    return f"{value.value:,.1f} ({low} to {high})"


def warning_lines(comparisons: list[RunComparison]) -> list[str]:
    """Every difference nobody declared as varying, one line each, naming the changed run."""
    return [f"{c.changed.label}: {d.text()}" for c in comparisons for d in c.unintended()]


WARNING_TITLE = (
    "WARNING: THE RUNS WERE MEASURED UNDER DIFFERENT CONDITIONS - "
    "a difference below may come from the machine, not from the change"
)


def render_table(comparisons: list[RunComparison], settings: Settings, console: Console) -> None:
    """Print Rich tables to the terminal."""
    lines = warning_lines(comparisons)
    if lines:
        body = Text("\n".join(lines))
        console.print(Panel(body, title=Text(WARNING_TITLE), style="bold red"))
    for comparison in comparisons:
        console.rule(Text(title(comparison)))
        console.print(Text(summary(comparison, settings)))
        for part in sections(comparison, settings):
            if part.table is None or not part.table.rows:
                console.print(Text(f"{part.title}: {part.empty}"))
                continue
            table = terminal.table(Text(part.title))
            for column in part.table.headers:
                terminal.column(table, Text(column))
            for row in part.table.rows:
                table.add_row(*(Text(cell.text) for cell in row.cells))
            console.print(table)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(comparisons: list[RunComparison], settings: Settings) -> str:
    """Return the comparison as Markdown."""
    out: list[str] = ["# bench compare", ""]
    lines = warning_lines(comparisons)
    if lines:
        out += [f"> **{WARNING_TITLE}**", ">"] + [f"> - {_md_cell(line)}" for line in lines]
        out.append("")
    for comparison in comparisons:
        out += [f"## {title(comparison)}", "", summary(comparison, settings), ""]
        for part in sections(comparison, settings):
            out += parts.markdown(part, level=3)
    return "\n".join(out)


def _comparison_section(index: int, comparison: RunComparison, settings: Settings) -> page.Section:
    body = [f"<p>{esc(summary(comparison, settings))}</p>"]
    for part in sections(comparison, settings):
        body += [f"<h3>{esc(part.title)}</h3>", parts.body(part)]
    return page.Section(f"comparison-{index}", title(comparison), "".join(body))


def _warning_html(lines: list[str]) -> str:
    if not lines:
        return ""
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return f'<div class="warning" role="alert"><p>{esc(WARNING_TITLE)}</p><ul>{items}</ul></div>'


def render_html(comparisons: list[RunComparison], settings: Settings) -> str:
    """Return a self-contained HTML page (the suite's page shell, no URL)."""
    reference = comparisons[0].reference.run if comparisons else None
    conditions = [f"Reference conditions: {reference.conditions()}."] if reference else []
    return page.render(
        page.Page(
            "bench compare",
            [_comparison_section(i, c, settings) for i, c in enumerate(comparisons, start=1)],
            conditions=conditions,
            lead=_warning_html(warning_lines(comparisons)),
            kind="compare",
        )
    )


def _key_json(key: Level) -> dict[str, Any]:
    found = {"target": key.target, "scenario": key.scenario, "load": key.load.to_dict()}
    # The client only where it is not the default: what keeps apart a target's clients.
    return found if key.client == DEFAULT_CLIENT else {**found, "client": key.client}


def _side_json(values: list[float], window: Interval | None, alpha: float) -> dict[str, Any]:
    side: dict[str, Any] = {
        "values": values,
        "mean": stats.mean(values),
        "stdev": stats.stdev(values),
    }
    if window is not None:
        side["interval"] = window.to_dict(1 - alpha)
    return side


def _row_json(row: MetricChange, alpha: float = 0.05) -> dict[str, Any]:
    outcome = row.outcome
    windows = row.windows or (None, None)
    return {
        **_key_json(row.key),
        "metric": row.metric.name,
        "unit": row.metric.unit,
        "higher_is_better": row.metric.higher_is_better,
        "method": row.method,
        "reference": _side_json(row.reference, windows[0], alpha),
        "changed": _side_json(row.changed, windows[1], alpha),
        "ratio": row.ratio,
        "relative_change": row.change,
        "words": row.words,
        "test": None if outcome is None else outcome.test,
        "p_value": None if outcome is None else outcome.p_value,
        "statistic": None if outcome is None else outcome.statistic,
        "relative_change_ci": None if row.ci is None else list(row.ci),
        "decision": row.decision,
        "significant": row.judgement.significant,
        "reason": row.reason,
        "flags": list(row.flags),
        "limits": row.limits,
    }


def _comparison_json(c: RunComparison, settings: Settings) -> dict[str, Any]:
    return {
        "reference": c.reference.label,
        "changed": c.changed.label,
        "title": title(c),
        "subject": subject(c),
        "varying": list(c.varying),
        "environment_differences": [d.to_dict(c.varying) for d in c.differences],
        "packages": [
            {k: v for k, v in d.to_dict(c.varying).items() if k not in ("field", "category")}
            for d in c.differences
            if d.package is not None
        ],
        "counts": {d: c.count(d) for d in DECISIONS},
        "points": [_row_json(row, settings.alpha) for row in c.rows],
        "became_invalid": [{**_key_json(k), "warnings": w} for k, w in c.became_invalid],
        "only_in_reference": [_key_json(k) for k in c.only_reference],
        "only_in_changed": [_key_json(k) for k in c.only_changed],
        "throughput_geometric_mean": {
            s: {"ratio": v, "points": n} for s, (v, n) in c.geometric_means.items()
        },
        "capacity": [
            {**asdict(row), "ratio": row.ratio, "verdict": row.verdict} for row in c.capacity
        ],
    }


def render_json(comparisons: list[RunComparison], settings: Settings) -> str:
    """Return every decision, p-value, ratio and CI as one JSON document."""
    document = {
        "settings": {
            "test": settings.test,
            "alpha": settings.alpha,
            "min_effect": settings.min_effect,
            "varying": list(settings.varying),
            "rule": "significant = test p < alpha AND |mean(changed)/mean(reference) - 1| "
            "> min_effect; a test that cannot be computed is never significant; points "
            "measured once are tested on batch means of their window's seconds",
        },
        "environment_warning": WARNING_TITLE if warning_lines(comparisons) else None,
        "warnings": warning_lines(comparisons),
        "significant_regression": any(c.count(REGRESSION) for c in comparisons),
        "comparisons": [_comparison_json(c, settings) for c in comparisons],
    }
    return json.dumps(document, indent=1, allow_nan=False)


# --- command line ----------------------------------------------------------------


class InputError(Exception):
    """An input that cannot be compared: one line for the user, exit status 2."""


def load_run(location: str) -> Named:
    """Load one input; raise InputError with one line when it cannot be used."""
    try:
        run = store.load(location)
    except store.ResultsError as exc:
        raise InputError(str(exc)) from None
    if not run.points and not run.capacity:
        raise InputError(f"{store.results_path(location)}: the run has no points")
    return Named(f"{run.info.id or '?'} ({location})", run)


def render(comparisons: list[RunComparison], settings: Settings, output: str) -> str:
    """Render as text in one of FORMATS but "table" (markdown, html or json)."""
    if output == "markdown":
        return render_markdown(comparisons, settings)
    if output == "html":
        return render_html(comparisons, settings)
    return render_json(comparisons, settings)
