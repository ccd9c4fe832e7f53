"""The report's sections on faults, client disconnects and soaks.

Pure: from a run's points to titled tables with an introduction, each present only when
the run measured it (`sections`). The report renders them like its other tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bench.reports.parts import Part
from bench.reports.tables import Row, Table, TCell, num
from bench.results.faults import GROWTH_UNITS, PHASES, RECOVERY_BAND, ProbeStats
from bench.results.model import Point

FAULTS_INTRO = (
    "The mock failed a share of upstream calls during each of these points. What the "
    "clients got back is counted by status (200, or the contract's 502/503/504 with a "
    "detail) and by kind (a connection the service dropped, a stream that ended without "
    "`done` or `error`); anything but the contract's answers is off the contract and "
    "makes the point invalid. With a fault window, recovery is the time from the end of "
    "the faults until throughput is back within "
    f"{RECOVERY_BAND:.0%} (or the noise of the seconds before them) of its level before "
    "them, and the runner asks /health and "
    "/hello on a new connection every 0.2 s throughout, as a health checker would."
)
CANCEL_INTRO = (
    "Each client read a few deltas of its stream and hung up. The service must then close "
    "its upstream call, or a real model goes on generating, and billing. The mock timed "
    "each close from the moment it sent the client's last delta: the buckets' upper "
    "bounds give p50 and p99; 'never closed' counts streams generated to the end anyway."
)
SOAK_INTRO = (
    "A long window per target: the server's whole process tree sampled every half "
    "second. Growth is the least-squares slope per 10,000 requests served, over the "
    "whole window and over its second half (past any warm-up); a late slope past its "
    "limit, with a real growth over the window, is a warning on the point."
)


def _text(value: str) -> TCell:
    return TCell(value, numeric=False)


def _wrap(value: str) -> TCell:
    return TCell(value, numeric=False, wrap=True)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} x{n:,}" for kind, n in counts.items()) or "-"


def _who(point: Point) -> list[TCell]:
    return [
        _text(point.target),
        _text(point.scenario),
        _text(point.load.label()),
        TCell(str(point.repetition)),
    ]


def _css(point: Point) -> str:
    return "" if point.valid and not point.warnings else "invalid" if not point.valid else "warned"


def faults_table(points: Iterable[Point]) -> Table | None:
    rows = []
    for point in points:
        record = point.faults
        if record is None:
            continue
        recovery = (
            "-"
            if record.plan.window is None
            else "not within the window"
            if record.recovery_s is None
            else f"{record.recovery_s:g} s"
        )
        rows.append(
            Row(
                [
                    *_who(point),
                    _wrap(record.plan.describe()),
                    _wrap(_counts(record.injected)),
                    _wrap(_counts(record.responses)),
                    _wrap(_counts(record.violations) if record.violations else "none"),
                    TCell(num(record.baseline_rps)),
                    _text(recovery),
                    _wrap(_probes(record.probes.get("/health", {}))),
                ],
                _css(point),
            )
        )
    headers = [
        "target", "scenario", "load", "rep", "faults", "injected by the mock",
        "clients got", "off the contract", "req/s before", "recovery",
        "/health p99 ms before / during / after",
    ]  # fmt: skip
    return Table(headers, rows) if rows else None


def _probes(phases: dict[str, ProbeStats]) -> str:
    """The health checks' p99 by phase, and how many went unanswered."""
    if not phases:
        return "-"
    shown = " / ".join(num(phases[p].p99_ms) if p in phases else "-" for p in PHASES)
    failed = sum(stats.failed for stats in phases.values())
    return shown + (f" ({failed} unanswered)" if failed else "")


def cancel_table(points: Iterable[Point]) -> Table | None:
    rows = []
    for point in points:
        cancel = point.cancel
        if cancel is None:
            continue
        bound = "-" if cancel.p99_ms is None else f"≤ {num(cancel.p99_ms)}"
        rows.append(
            Row(
                [
                    _text(point.target),
                    _text(point.server_model),
                    _text(point.load.label()),
                    TCell(f"{cancel.streams:,}"),
                    TCell(num(cancel.mean_ms)),
                    TCell("-" if cancel.p50_ms is None else f"≤ {num(cancel.p50_ms)}"),
                    TCell(bound),
                    TCell(num(cancel.max_ms)),
                    TCell(f"{cancel.missed:,}"),
                    TCell(num(cancel.limit_ms())),
                ],
                _css(point),
            )
        )
    headers = [
        "target", "server model", "load", "dropped streams", "mean ms", "p50 ms", "p99 ms",
        "max ms", "never closed", "limit ms",
    ]  # fmt: skip
    return Table(headers, rows) if rows else None


def _trend(point: Point, name: str) -> str:
    trend = point.growth.trends.get(name) if point.growth else None
    if trend is None:
        return "-"
    return (
        f"{trend.start:,.1f} → {trend.end:,.1f}; {trend.per_10k:+.2f} "
        f"(late {trend.late_per_10k:+.2f}) {GROWTH_UNITS[name]} per 10k"
    )


def soak_table(points: Iterable[Point]) -> Table | None:
    rows = [
        Row(
            [
                *_who(point),
                TCell(f"{point.requests:,}"),
                TCell(num(point.window_s / 60)),
                _wrap(_trend(point, "rss_mb")),
                _wrap(_trend(point, "fds")),
                _wrap(_trend(point, "threads")),
            ],
            _css(point),
        )
        for point in points
        if point.growth is not None
    ]
    headers = [
        "target", "scenario", "load", "rep", "requests", "minutes", "RSS MiB", "open files",
        "threads",
    ]  # fmt: skip
    return Table(headers, rows) if rows else None


def sections(points: Sequence[Point]) -> list[Part]:
    """The sections this run's points call for, in a fixed order."""
    found = []
    for anchor, title, intro, build in (
        ("faults", "Upstream faults", FAULTS_INTRO, faults_table),
        ("disconnects", "Client disconnects", CANCEL_INTRO, cancel_table),
        ("soak", "Soak: memory, open files, threads", SOAK_INTRO, soak_table),
    ):
        table = build(points)
        if table is not None:
            found.append(Part(title, anchor, intro, table=table))
    return found
