"""`bench report RUN_DIR`: report.md and a self-contained report.html for a run."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli.args import Parser, Subparsers, UsageError
from bench.reports.report import write_report
from bench.results import store


def add_parser(sub: Subparsers[Parser]) -> None:
    """Add `bench report`."""
    report = sub.add_parser(
        "report", help="write report.md and a self-contained report.html for a run"
    )
    report.add_argument("run_dir", help="a run folder or its results.json")


def command(args: argparse.Namespace) -> int:
    """Write the report; usage error when the results cannot be used."""
    try:
        md_path, html_path = write_report(Path(args.run_dir))
    except store.ResultsError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {md_path} and {html_path}")
    return 0
