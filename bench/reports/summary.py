"""Terminal summary of a run: one table per scenario (target x load)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.results import intervals
from bench.results.model import Capacity, Limit, Repetitions, Run, by_scenario, repetitions


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _with_interval(reps: Repetitions, metric: str, path: tuple[str, ...], spec: str) -> str:
    """The median; for a point measured once, with its window's 95 % half-width."""
    text = _fmt(reps.median(path), spec)
    if len(reps.points) != 1:
        return text
    bounds = intervals.of_point(reps.points[0], metric).bounds(0.95)
    return text if bounds is None else f"{text} ±{format((bounds[1] - bounds[0]) / 2, spec)}"


def _row(reps: Repetitions, stream: bool) -> list[str]:
    points = reps.points
    warnings = sorted({w.text for p in points for w in p.warnings})
    invalid = not all(p.valid for p in points)
    row = [
        reps.level.target,
        reps.level.load.label(),
        _with_interval(reps, "throughput_rps", ("throughput_rps",), ".1f"),
        _fmt(reps.median(("latency_ms", "p50")), ".1f"),
        _with_interval(reps, "latency_p99_ms", ("latency_ms", "p99"), ".1f"),
        _fmt(reps.median(("efficiency",)), ".0%"),
        _fmt(reps.median(("cpu_us_per_request",)), ",.0f"),
        " / ".join(dict.fromkeys(p.limit.kind for p in points if p.limit)) or "-",
        ("[red]INVALID[/] " if invalid else "") + "; ".join(warnings)[:160],
    ]
    if stream:
        row.append(_fmt(reps.median(("ttft_ms", "p50")), ".1f"))
    return row


def print_summary(run: Run, console: Console | None = None) -> None:
    """Print the per-scenario tables of a run (medians over repetitions)."""
    console = console or Console()
    console.print(f"[bold]Run {run.info.id}[/]: {run.conditions()}")
    if any(len(reps.points) == 1 for reps in repetitions(run.points)):
        console.print(
            "± : the 95 % interval of a point measured once, from batch means of its "
            "window's seconds (docs/methodology.md)"
        )
    for scenario, levels in by_scenario(run.points).items():
        table = Table(title=f"scenario: {scenario}", title_justify="left")
        columns = ("target", "load", "req/s", "p50 ms", "p99 ms", "efficiency",
                   "CPU µs/req", "what binds it", "warnings")  # fmt: skip
        for column in columns:
            left = column in ("target", "load", "what binds it", "warnings")
            table.add_column(column, justify="left" if left else "right")
        if scenario == "stream":
            table.add_column("TTFT p50 ms", justify="right")
        for reps in levels:
            table.add_row(*_row(reps, scenario == "stream"))
        console.print(table)
    for skipped in run.info.skipped_targets:
        console.print(f"[yellow]skipped[/] {skipped.target}: {skipped.reason[:300]}")


def _limit(limit: Limit | None) -> str:
    return "-" if limit is None else limit.short()


def ranked(capacity: list[Capacity]) -> list[Capacity]:
    """Capacity results by latency and scenario, best max req/s per server core first."""
    return sorted(
        capacity,
        key=lambda c: (
            c.latency.answer_ms,
            c.scenario,
            -(c.max_rps_per_core or 0),
            c.target,
        ),
    )


def print_capacity(run: Run, console: Console | None = None) -> None:
    """Print the capacity table: each figure with the limit that binds it."""
    console = console or Console()
    console.print(f"[bold]Capacity, run {run.info.id}[/]: {run.environment.cpu_model}")
    table = Table(title="capacity (ranked per server core)", title_justify="left")
    columns = ("latency", "scenario", "target", "max req/s per core", "at users",
               "what binds it", "max in flight", "what binds it ")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right" if column.startswith(("max", "at")) else "left")
    for found in ranked(run.capacity):
        latency = f"{found.latency.name} ({found.latency.answer_ms:,.0f} ms)"
        in_flight = "-" if found.max_in_flight is None else f"{found.max_in_flight:,}"
        table.add_row(
            latency,
            found.scenario,
            found.target,
            _fmt(found.max_rps_per_core, ",.0f"),
            "-" if found.max_rps_users is None else f"{found.max_rps_users:,}",
            _limit(found.rps_limit),
            in_flight,
            _limit(found.limit) + (f" ({found.unknown})" if found.unknown else ""),
        )
    console.print(table)
    for skipped in run.info.skipped_targets:
        console.print(f"[yellow]skipped[/] {skipped.target}: {skipped.reason[:300]}")
