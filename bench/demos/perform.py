"""Run one demo: its question and prediction, the measurement, its table, lesson and pages.

The measurement is the suite's own engine (bench.running.runner for points,
bench.running.capacity for ramps): a demo is a small fixed plan, not a second way of
measuring. The folder it leaves holds the usual results.json (so `bench show` and
`bench report` work on it) beside demo.html, demo.md and chart.svg.
"""

from __future__ import annotations

import html
from pathlib import Path

from rich.console import Console

from bench.demos.demo import Demo, Ramp
from bench.demos.lessons import Lesson
from bench.results.model import Run
from bench.running.capacity import CapacityRunner
from bench.running.live import LiveView
from bench.running.progress import LiveProgress
from bench.running.runner import Options, Runner, new_run_id


def _write_outputs(folder: Path, demo: Demo, run: Run, lesson: Lesson) -> None:
    svg = demo.chart(run)
    (folder / "chart.svg").write_text(svg)
    details = "\n".join(f"- {d}" for d in lesson.details)
    verdict = "As predicted" if lesson.confirmed else "Not as predicted"
    markdown = (
        f"# Demo: {demo.name}\n\n**Question.** {demo.question}\n\n"
        f"**Prediction.** {demo.prediction}\n\n**Conditions.** {run.conditions()}\n\n"
        f"**{verdict}.** {lesson.headline}\n\n{details}\n\n![chart](chart.svg)\n\n"
        f"**In the chart, point at** {demo.look_at}.\n\n{demo.mechanism.markdown()}"
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
        f"{demo.mechanism.html_block()}</body></html>\n"
    )
    (folder / "demo.html").write_text(page)


def _measure(
    demo: Demo,
    console: Console,
    options: Options,
    quick: bool,
    timing: tuple[float | None, float | None],
) -> Run:
    """Measure the demo: a ramp of capacity searches, or its plans one after another into
    one run (each plan's points added to the run the one before it left)."""
    live = options.observer if isinstance(options.observer, LiveView) else None
    run: Run | None = None
    if isinstance(demo.measure, Ramp):
        for ramp in demo.measure.plans(demo.name, quick):
            searches = CapacityRunner(ramp, options, run)
            run = searches.execute(lambda message, _task: console.print(message))
        assert run is not None, "a ramp searches at least one target"
        return run
    for plan in demo.measure.plans(demo.name, quick, *timing):
        runner = Runner(plan, options, run)
        with LiveProgress(console, runner.tasks(), plan) as progress:
            if live is not None:
                live.listen(progress.rate)
            run = runner.execute(progress.update)
    assert run is not None, "a demo measures at least one plan"
    return run


def run_demo(
    demo: Demo,
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
    folder = out or Path("results") / f"demo-{demo.name}-{new_run_id()}"
    console.print(f"[bold]Demo {demo.name}[/]{' (quick)' if quick else ''}")
    console.print(f"[bold]Question:[/] {demo.question}")
    console.print(f"[bold]Prediction:[/] {demo.prediction}")
    options = Options(out=folder, port=port, mock_port=mock_port, observer=live)
    if live is not None:
        live.section(f"Demo {demo.name}", f"{demo.question}\nPrediction: {demo.prediction}")
    run = _measure(demo, console, options, quick, (duration_s, warmup_s))
    lesson = demo.lesson(run)
    console.print(demo.table(run))
    _write_outputs(folder, demo, run, lesson)
    console.print(lesson.text())
    console.print(demo.mechanism.terminal())
    console.print(f"chart and report: {folder / 'demo.html'}")
    return folder, lesson
