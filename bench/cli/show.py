"""`bench show RUN_DIR`: the terminal summary of a stored run."""

from __future__ import annotations

import argparse

from bench.cli.args import Parser, Subparsers, UsageError, console
from bench.reports.summary import print_summary
from bench.results import store


def add_parser(sub: Subparsers[Parser]) -> None:
    """Add `bench show`."""
    show = sub.add_parser("show", help="print the summary of a stored run")
    show.add_argument("run_dir")


def command(args: argparse.Namespace) -> int:
    """Print the run's summary; usage error when it cannot be read or is empty."""
    try:
        run = store.load(args.run_dir)
    except store.ResultsError as exc:
        raise UsageError(str(exc)) from None
    if not run.points:
        raise UsageError(f"{args.run_dir}: the run has no points yet")
    print_summary(run, console)
    return 0
