"""`bench show RUN --requests`: a run's saved requests in the terminal.

Per point, how many requests there were and their response times; then the slowest,
each followed by its ID: what the client saw, the time the service gave it in its access
line, and when the mock received it, sent its first token and finished.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.results import requests


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_requests(run_dir: Path, slowest: int, console: Console) -> None:
    """Print the per-point table and the slowest requests followed through the stack."""
    rows = requests.read(run_dir)
    if not rows:
        console.print(f"{run_dir}: no saved requests (measure with bench run --save-requests)")
        return
    table = Table(title="requests, per point", title_justify="left")
    for column in ("point", "requests", "failed", "p50 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "point" else "right")
    for found in requests.summarise(rows):
        table.add_row(found.point, f"{found.requests:,}", f"{found.failed:,}",
                      _ms(found.p50_ms), _ms(found.p99_ms), _ms(found.max_ms))  # fmt: skip
    console.print(table)
    console.print(_followed(run_dir, requests.slowest(rows, slowest)))


def _followed(run_dir: Path, rows: list[requests.Row]) -> Table:
    table = Table(
        title="the slowest requests, by ID: client, service, upstream (ms from the client's send)",
        title_justify="left",
    )
    columns = ("request ID", "point", "status", "client response", "client first token",
               "service's own", "upstream received", "upstream first token",
               "upstream done")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("request ID", "point") else "right")
    for found in requests.follow(run_dir, rows):
        row, call = found.row, found.upstream
        start = row.sent_at or row.ended_at

        def since(at: float | None, origin: float = start) -> str:
            return "-" if at is None else f"{(at - origin) * 1000:,.1f}"

        table.add_row(
            row.request_id, row.point, row.error or str(row.status), _ms(row.response_ms),
            since(row.first_token_at), _ms(found.service_ms),
            since(call.received_at) if call else "-",
            since(call.first_token_at) if call else "-",
            since(call.ended_at) if call else "-",
        )  # fmt: skip
    return table
