"""The handout of `bench demo all`: one self-contained HTML page from the stored demo results.

Pure rendering: everything comes from the demo folders' results.json (the lessons and
the claims' verdicts are drawn again from the stored figures, by the same functions that
drew them during the run), so a handout can be rebuilt from a folder at any time
(`write_handout`), and tested on fixtures. The page has, per demo in teaching
order, its question, its prediction, its chart, its table, the lesson drawn from this
run's data, what happened inside (bench.demos.mechanisms) and the conditions; then the
tutorials' claims against this machine's figures; then the machine and the packages.
It is a page of the suite's shell (bench.reports.page): no script and no URL, it opens
offline, and a browser prints it to PDF (each demo starts a page).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from bench.demos import catalog, claims, mechanisms
from bench.demos.mechanisms import prose
from bench.reports import page
from bench.results import store
from bench.results.model import Run

HANDOUT_NAME = "handout.html"
SUITE_NAME = "suite.json"  # what `bench demo all` records about itself: wall time, command
PACKAGES = ("fastapi", "starlette", "uvicorn", "flask", "django", "djangorestframework",
            "adrf", "gunicorn", "gevent", "httpx", "aiohttp", "openai", "locust")  # fmt: skip
_XMLNS = ' xmlns="http://www.w3.org/2000/svg"'


@dataclass(frozen=True)
class StoredDemo:
    """One demo's stored results: its name, folder and run (and the runs of its subfolders)."""

    name: str
    folder: Path
    run: Run
    more: list[Run] = field(default_factory=list)


def demo_name(run: Run) -> str | None:
    """The demo a run belongs to, from its preset ("demo:<name>"), or None."""
    preset = run.info.preset or ""
    return preset.removeprefix("demo:") if preset.startswith("demo:") else None


def _runs_below(folder: Path) -> list[Run]:
    return [
        store.load(child)
        for child in sorted(folder.iterdir())
        if child.is_dir() and (child / store.RESULTS_NAME).exists()
    ]


def load_sections(folder: Path) -> list[StoredDemo]:
    """The demo folders inside `folder` (or `folder` itself, one demo), in their order."""
    candidates = [folder] if (folder / store.RESULTS_NAME).exists() else sorted(folder.iterdir())
    sections = []
    for child in candidates:
        if not (child / store.RESULTS_NAME).exists():
            continue
        run = store.load(child)
        name = demo_name(run)
        if name is not None:
            sections.append(StoredDemo(name, child, run, _runs_below(child)))
    return sections


def every_run(sections: list[StoredDemo]) -> list[Run]:
    """The runs of every section and of their subfolders (what the claims draw on)."""
    return [run for s in sections for run in (s.run, *s.more)]


# --- pieces --------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text))


def _inline_svg(svg: str) -> str:
    # Inline SVG in HTML5 needs no namespace; without it the page names no URL at all.
    return svg.replace(_XMLNS, "")


def table_html(table: Table) -> str:
    """A Rich table (the one the terminal showed) as an HTML table."""
    head = "".join(f"<th>{_e(column.header)}</th>" for column in table.columns)
    columns = [list(column.cells) for column in table.columns]
    rows = []
    for cells in zip(*columns, strict=True):
        texts = [Text.from_markup(c).plain if isinstance(c, str) else str(c) for c in cells]
        rows.append("<tr>" + "".join(f"<td>{_e(t)}</td>" for t in texts) + "</tr>")
    return page.scroll(f"<table class='data'><tr>{head}</tr>{''.join(rows)}</table>")


def _qa(question: str, prediction: str) -> str:
    return (
        f"<p class='question'><b>Question.</b> {prose(question)}</p>"
        f"<p class='prediction'><b>Predict before reading on.</b> The expected answer: "
        f"{prose(prediction)}</p>"
    )


def demo_section(index: int, section: StoredDemo) -> page.Section:
    """One demo: question, prediction, chart, table, lesson, mechanism, conditions."""
    demo = catalog.find(section.name)
    lesson = demo.lesson(section.run)
    verdict = "As predicted" if lesson.confirmed else "Not as predicted"
    details = "".join(f"<li>{prose(d)}</li>" for d in lesson.details)
    return page.Section(
        section.name,
        f"{index}. {section.name}",
        f"{_qa(demo.question, demo.prediction)}"
        f"<figure>{_inline_svg(demo.chart(section.run))}</figure>"
        f"{table_html(demo.table(section.run))}"
        f"<div class='lesson {'yes' if lesson.confirmed else 'no'}'><p><b>{verdict}.</b> "
        f"{prose(lesson.headline)}</p><ul>{details}</ul></div>"
        f"<p><b>In the chart, point at</b> {prose(demo.look_at)}.</p>"
        f"{demo.mechanism.html_block()}"
        f"<p class='conditions'><b>Conditions.</b> {_e(section.run.conditions())}</p>",
    )


def claims_section(index: int, section: StoredDemo, runs: list[Run]) -> page.Section:
    """The tutorials' claims, with the verdicts drawn from every run of the handout."""
    verdicts = claims.evaluate(runs)
    names = [demo_name(run) for run in runs if run is not section.run]
    others = [name for name in names if name and name != "claims"]
    borrowed = (
        f" The other figures come from {', '.join(dict.fromkeys(others))}, under their own "
        "conditions."
        if others
        else ""
    )
    return page.Section(
        "claims",
        f"{index}. The common claims, measured",
        f"{_qa(claims.QUESTION, claims.PREDICTION)}"
        f"<figure>{_inline_svg(claims.chart(runs))}</figure>"
        f"{page.scroll(claims.html_table(verdicts))}"
        f"<p class='note'>Thresholds: {_e(claims.THRESHOLDS)}</p>"
        f"{mechanisms.CLAIMS.html_block()}"
        f"<p class='conditions'><b>Conditions</b> of the claims' own points: "
        f"{_e(section.run.conditions())}.{_e(borrowed)}</p>",
    )


def _facts(sections: list[StoredDemo], suite: Mapping[str, Any]) -> list[tuple[str, str]]:
    env = sections[0].run.environment
    packages = ", ".join(f"{n} {env.packages[n]}" for n in PACKAGES if env.packages.get(n))
    first, last = sections[0].run.info, sections[-1].run.info
    facts = [
        ("machine", f"{env.cpu_model}, {env.cores} cores ({env.os}, host {env.host})"),
        ("cores", f"server {env.server_cpus}, load generator and mock {env.load_cpus}"),
        ("Python", env.python),
        ("packages", packages),
        ("measured", f"{first.started_at} to {last.finished_at or 'unfinished'}"),
        ("suite commit", first.git_commit or "unknown"),
    ]
    if suite.get("wall_time_s") is not None:
        facts.append(("wall time", f"{float(suite['wall_time_s']) / 60:.1f} min"))
    if suite.get("command"):
        facts.append(("command", str(suite["command"])))
    return facts


def render(
    sections: list[StoredDemo],
    suite: Mapping[str, Any] | None = None,
    claims_runs: list[Run] | None = None,
) -> str:
    """The whole handout page (the claims drawn from `claims_runs`, default every section's)."""
    if not sections:
        raise ValueError("no demo results to make a handout of")
    suite = suite or {}
    runs = claims_runs if claims_runs is not None else every_run(sections)
    parts = []
    for index, section in enumerate(sections, 1):
        if section.name == "claims":
            parts.append(claims_section(index, section, runs))
        elif section.name in catalog.BY_NAME:
            parts.append(demo_section(index, section))
    toc = "".join(f"<li><a href='#{_e(s.name)}'>{_e(s.name)}</a></li>" for s in sections)
    facts = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _facts(sections, suite))
    quick = " (quick)" if suite.get("quick") else ""
    lead = (
        "<p>Each demo asks a question, states a prediction, measures on the machine below, "
        "and draws its lesson from the figures it measured (it says so when they contradict "
        "the prediction). The last part puts the tutorials' comparison table next to "
        f"these figures.</p><ol>{toc}</ol>"
        f"<h2 id='conditions'>Conditions</h2><dl class='facts'>{facts}</dl>"
    )
    title = f"Why async matters, and when not: the demos{quick}"
    return page.render(page.Page(title, parts, lead=lead, kind="handout"))


def write_handout(folder: Path) -> Path:
    """Render the handout of the demo folders in `folder` into folder/handout.html."""
    suite_file = folder / SUITE_NAME
    suite = json.loads(suite_file.read_text()) if suite_file.exists() else {}
    page = render(load_sections(folder), suite)
    path = folder / HANDOUT_NAME
    path.write_text(page)
    return path
