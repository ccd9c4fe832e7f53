"""`bench targets`: every target, what it runs and what bounds its concurrency."""

from __future__ import annotations

from rich.table import Table

from bench.cli.args import Parser, Subparsers, console
from bench.running.targets import TARGETS


def add_parser(sub: Subparsers[Parser]) -> None:
    """Add `bench targets`."""
    sub.add_parser("targets", help="list the targets")


def command() -> int:
    """Print the targets table."""
    table = Table(title="targets")
    columns = ("name", "framework", "server", "worker class", "workers (1 core)", "threads",
               "tag", "description")  # fmt: skip
    for column in columns:
        table.add_column(column)
    for target in TARGETS:
        table.add_row(
            target.name,
            target.framework,
            target.server,
            target.worker_class,
            str(target.default_workers(1)),
            str(target.default_threads()),
            target.tag,
            target.description,
        )
    console.print(table)
    return 0
