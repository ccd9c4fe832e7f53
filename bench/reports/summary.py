"""Terminal summary of a run: one table per scenario (target x load).

Every column wraps (bench.reports.terminal): a warning is printed whole, over as many
lines as it takes, never cut.
"""

from __future__ import annotations

from rich.console import Console

from bench.reports import terminal
from bench.results import intervals
from bench.results.model import Capacity, Figure, Limit, Repetitions, Run, by_scenario, repetitions
from bench.results.naming import label


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _with_interval(reps: Repetitions, metric: str, path: tuple[str, ...], spec: str) -> str:
    """The median; for a point measured once, with its window's 95 % half-width."""
    text = _fmt(reps.median(path), spec)
    if len(reps.points) != 1:
        return text
    bounds = intervals.of_point(reps.points[0], metric).bounds(0.95)
    return text if bounds is None else f"{text} ±{format((bounds[1] - bounds[0]) / 2, spec)}"


def _row(reps: Repetitions, stream: bool, name: str) -> list[str]:
    points = reps.points
    warnings = sorted({w.text for p in points for w in p.warnings})
    invalid = not all(p.valid for p in points)
    row = [
        name,
        reps.level.load.label(),
        _with_interval(reps, "throughput_rps", ("throughput_rps",), ".1f"),
        _goodput(reps),
        _fmt(reps.median(("latency_ms", "p50")), ".1f"),
        _with_interval(reps, "latency_p99_ms", ("latency_ms", "p99"), ".1f"),
        _fmt(reps.median(("efficiency",)), ".0%"),
        _fmt(reps.median(("cpu_us_per_request",)), ",.0f"),
        " / ".join(dict.fromkeys(p.limit.kind for p in points if p.limit)) or "-",
        ("[red]INVALID[/] " if invalid else "") + "; ".join(warnings),
    ]
    if stream:
        row.append(_fmt(reps.median(("ttft_ms", "p50")), ".1f"))
    return row


def _goodput(reps: Repetitions) -> str:
    """Goodput, and the share of requests that met every objective (and which missed)."""
    rate, share = reps.median(("goodput_rps",)), reps.median(("met_share",))
    if rate is None:
        return "-"
    missed = _missed(reps)
    return f"{rate:.1f} ({share or 0:.0%}{'; ' + missed if missed else ''})"


def _missed(reps: Repetitions) -> str:
    """The objectives fewer than the required share of requests met (first point's)."""
    point = reps.points[0]
    if not point.judged or point.objectives is None:
        return ""
    return ", ".join(
        f"{name} missed"
        for name, met in sorted(point.met_by.items())
        if met / point.judged < point.slo_share
    )


def print_summary(run: Run, console: Console | None = None) -> None:
    """Print the per-scenario tables of a run (medians over repetitions)."""
    console = console or Console()
    console.print(f"[bold]Run {run.info.id}[/]: {run.conditions()}")
    if not run.capacity:
        console.print(
            "Capacity's three figures (saturation, goodput within the SLO, most in flight) "
            "come from `bench capacity --preset capacity-quick` (the default targets, about 6 "
            "min); "
            "below, the figures of each load this run set."
        )
    if any(len(reps.points) == 1 for reps in repetitions(run.points)):
        console.print(
            "± : the 95 % interval of a point measured once, from batch means of its "
            "window's seconds (docs/methodology.md)"
        )
    for scenario, levels in by_scenario(run.points).items():
        table = terminal.table(f"scenario: {scenario}")
        columns = ("target", "load", "req/s", "goodput req/s (met)", "p50 ms", "p99 ms",
                   "efficiency", "CPU µs/req", "what binds it", "warnings")  # fmt: skip
        for column in columns:
            left = column in ("target", "load", "what binds it", "warnings")
            terminal.column(table, column, numeric=not left)
        if scenario == "stream":
            terminal.column(table, "TTFT p50 ms", numeric=True)
        for reps in levels:
            table.add_row(*_row(reps, scenario == "stream", label(reps, levels)))
        console.print(table)
    for skipped in run.info.skipped_targets:
        console.print(f"[yellow]skipped[/] {skipped.target}: {skipped.reason[:300]}")


def _limit(limit: Limit | None) -> str:
    return "-" if limit is None else limit.short()


def ranked(capacity: list[Capacity]) -> list[Capacity]:
    """Capacity results by latency and scenario, best saturation per server core first."""
    return sorted(
        capacity,
        key=lambda c: (
            c.latency.answer_ms,
            c.scenario,
            -(c.per_core(c.saturation) or 0),
            c.target,
        ),
    )


def _figure(figure: Figure | None, per: float = 1.0) -> str:
    if figure is None:
        return "-"
    text = f"{figure.value / per:,.0f}"
    if figure.low is not None or figure.high is not None:
        low = "?" if figure.low is None else f"{figure.low / per:,.0f}"
        high = "?" if figure.high is None else f"{figure.high / per:,.0f}"
        text += f" ({low}-{high})"
    return text


def _bound(figure: Figure | None) -> str:
    if figure is None or figure.limit is None:
        return "-"
    return figure.limit.short(40) + (" *" if figure.note else "")


def print_capacity(run: Run, console: Console | None = None) -> None:
    """Print the capacity table: the three figures, each with what binds it."""
    console = console or Console()
    console.print(f"[bold]Capacity, run {run.info.id}[/]: {run.environment.cpu_model}")
    table = terminal.table("capacity (ranked by saturation per server core; 95 % intervals)")
    columns = ("latency", "scenario", "target", "saturation req/s/core", "binds",
               "goodput req/s", "binds ", "max in flight", "binds  ")  # fmt: skip
    for column in columns:
        numeric = column.startswith(("saturation", "goodput", "max"))
        terminal.column(table, column, numeric=numeric)
    for found in ranked(run.capacity):
        latency = f"{found.latency.name} ({found.latency.answer_ms:,.0f} ms)"
        cores = float(max(found.server_cores, 1))
        table.add_row(
            latency, found.scenario, label(found, run.capacity),
            _figure(found.saturation, cores), _bound(found.saturation),
            _figure(found.goodput), _bound(found.goodput),
            _figure(found.in_flight), _bound(found.in_flight),
        )  # fmt: skip
    console.print(table)
    notes: dict[str, list[str]] = {}
    for c in run.capacity:
        for f in (c.saturation, c.goodput, c.in_flight):
            if f is not None and f.note:
                notes.setdefault(f.note, []).append(f"{c.target} / {c.scenario} / {c.latency.name}")
    for note, searches in notes.items():
        where = searches[0] if len(searches) == 1 else f"{len(searches)} searches"
        console.print(f"* {where}: {note}")
    for skipped in run.info.skipped_targets:
        console.print(f"[yellow]skipped[/] {skipped.target}: {skipped.reason[:300]}")
