"""Terminal summary of a run: one table per scenario (target x load)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.results.model import Repetitions, Run, by_scenario


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _row(reps: Repetitions, stream: bool) -> list[str]:
    points = reps.points
    warnings = sorted({w.text for p in points for w in p.warnings})
    invalid = not all(p.valid for p in points)
    row = [
        reps.level.target,
        reps.level.load.label(),
        _fmt(reps.median(("throughput_rps",)), ".1f"),
        _fmt(reps.median(("latency_ms", "p50")), ".1f"),
        _fmt(reps.median(("latency_ms", "p99")), ".1f"),
        _fmt(reps.median(("efficiency",)), ".0%"),
        ("[red]INVALID[/] " if invalid else "") + "; ".join(warnings)[:160],
    ]
    if stream:
        row.append(_fmt(reps.median(("ttft_ms", "p50")), ".1f"))
    return row


def print_summary(run: Run, console: Console | None = None) -> None:
    """Print the per-scenario tables of a run (medians over repetitions)."""
    console = console or Console()
    console.print(f"[bold]Run {run.info.id}[/]: {run.conditions()}")
    for scenario, levels in by_scenario(run.points).items():
        table = Table(title=f"scenario: {scenario}", title_justify="left")
        for column in ("target", "load", "req/s", "p50 ms", "p99 ms", "efficiency", "warnings"):
            table.add_column(
                column, justify="left" if column in ("target", "load", "warnings") else "right"
            )
        if scenario == "stream":
            table.add_column("TTFT p50 ms", justify="right")
        for reps in levels:
            table.add_row(*_row(reps, scenario == "stream"))
        console.print(table)
    for skipped in run.info.skipped_targets:
        console.print(f"[yellow]skipped[/] {skipped.target}: {skipped.reason[:300]}")
