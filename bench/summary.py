"""Terminal summary of a run: one table per scenario (target x load)."""

from __future__ import annotations

import statistics
from typing import Any

from rich.console import Console
from rich.table import Table


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _load_label(load: dict[str, Any]) -> str:
    return f"{load['users']} users" if load["mode"] == "users" else f"{load['rate']:g} req/s"


def grouped(points: list[dict[str, Any]]) -> dict[str, dict[tuple[str, str], list[dict[str, Any]]]]:
    """Group points by scenario, then by (target, load label), in run order."""
    groups: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for point in points:
        by_scenario = groups.setdefault(point["scenario"], {})
        by_scenario.setdefault((point["target"], _load_label(point["load"])), []).append(point)
    return groups


def _median(points: list[dict[str, Any]], getter: Any) -> float | None:
    values = [v for p in points if p["status"] == "ok" and (v := getter(p)) is not None]
    return statistics.median(values) if values else None


def conditions(document: dict[str, Any]) -> str:
    """One line with the conditions every figure of the run was measured under."""
    env, mock, plan = document["environment"], document["mock"], document.get("plan", {})
    return (
        f"server cores {env['server_cpus']}, load+mock cores {env['load_cpus']} "
        f"({env['cpu_model']}); mock ttft {mock['ttft_ms']:g} ms, itl {mock['itl_ms']:g} ms, "
        f"{mock['output_tokens']} tokens ({mock.get('answer_latency_ms', 0):g} ms per answer); "
        f"window {plan.get('duration_s', '?')} s after {plan.get('warmup_s', '?')} s warm-up, "
        f"{plan.get('repeat', 1)} repetition(s)"
    )


def print_summary(document: dict[str, Any], console: Console | None = None) -> None:
    """Print the per-scenario tables of a results document (medians over repetitions)."""
    console = console or Console()
    console.print(f"[bold]Run {document['run']['id']}[/]: {conditions(document)}")
    for scenario, rows in grouped(document["points"]).items():
        table = Table(title=f"scenario: {scenario}", title_justify="left")
        for column in ("target", "load", "req/s", "p50 ms", "p99 ms", "efficiency", "warnings"):
            table.add_column(
                column, justify="left" if column in ("target", "load", "warnings") else "right"
            )
        if scenario == "stream":
            table.add_column("TTFT p50 ms", justify="right")
        for (target, load), points in rows.items():
            warnings = sorted({w for p in points for w in p["warnings"]})
            invalid = not all(p["valid"] for p in points)
            row = [
                target,
                load,
                _fmt(_median(points, lambda p: p["throughput_rps"]), ".1f"),
                _fmt(_median(points, lambda p: (p["latency_ms"] or {}).get("p50")), ".1f"),
                _fmt(_median(points, lambda p: (p["latency_ms"] or {}).get("p99")), ".1f"),
                _fmt(_median(points, lambda p: p["efficiency"]), ".0%"),
                ("[red]INVALID[/] " if invalid else "")
                + "; ".join(w.removeprefix("INVALID: ") for w in warnings)[:160],
            ]
            if scenario == "stream":
                row.append(
                    _fmt(_median(points, lambda p: (p.get("ttft_ms") or {}).get("p50")), ".1f")
                )
            table.add_row(*row)
        console.print(table)
    for skipped in document["run"].get("skipped_targets", []):
        console.print(f"[yellow]skipped[/] {skipped['target']}: {skipped['reason'][:300]}")
