"""`bench targets`: every target, what it runs and what bounds its concurrency."""

from __future__ import annotations

from rich.table import Table

from bench.cli.args import Parser, Subparsers, console
from bench.running.cpus import child_nofile
from bench.running.targets import TARGETS


def add_parser(sub: Subparsers[Parser]) -> None:
    """Add `bench targets`."""
    sub.add_parser("targets", help="list the targets")


def command() -> int:
    """Print the targets table."""
    table = Table(title="targets")
    columns = ("name", "framework", "server", "worker class", "workers (1 core)",
               "in flight at most (1 core)", "tag", "description")  # fmt: skip
    for column in columns:
        table.add_column(column)
    nofile = child_nofile()
    for target in TARGETS:
        counts = target.counts(1, None, None)
        limits = target.declared_limits(counts, nofile)
        table.add_row(
            target.name,
            target.framework,
            target.server,
            target.worker_class,
            str(counts.workers),
            ", ".join(f"{name} {value:,}" for name, value in limits.items()) or "-",
            target.tag,
            target.description,
        )
    console.print(table)
    console.print(
        "Each limit is settable in a spec: name{workers=N,threads=N,pool=N,connections=N} "
        f"(pool: upstream connections per process; connections: gunicorn worker_connections "
        f"per process; open-files: this machine's limit of {nofile:,} per process, 2 per request)"
    )
    console.print(
        "A spec can pin packages for that target alone, after its counts: "
        "name@django==5.1.* or name@pydantic==2.9.*,starlette==0.41.* (an environment "
        "of its own, built with uv from the project's lock and cached in .venv-variants/)"
    )
    return 0
