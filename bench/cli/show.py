"""`bench show RUN_DIR`: the terminal summary of a stored run, or its points as JSON or CSV."""

from __future__ import annotations

import argparse

from bench.cli.args import Parser, Subparsers, UsageError, console, positive_int
from bench.reports import export
from bench.reports.requests import print_requests
from bench.reports.summary import print_capacity, print_summary
from bench.results import store

FORMATS = ("table", "json", "csv")


def add_parser(sub: Subparsers[Parser]) -> None:
    """Add `bench show`."""
    show = sub.add_parser("show", help="print the summary of a stored run")
    show.add_argument("run_dir")
    show.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default); json: the run and one object per point; csv: one row per "
        "point. Both carry every figure and each headline figure's 95 %% interval",
    )
    show.add_argument(
        "--requests",
        nargs="?",
        const=10,
        type=positive_int,
        metavar="N",
        help="the run's saved requests (bench run --save-requests): per point, and the N "
        "slowest (10) followed by their ID through the service and the upstream",
    )


def command(args: argparse.Namespace) -> int:
    """Print the run's summary; usage error when it cannot be read or is empty."""
    try:
        run = store.load(args.run_dir)
    except store.ResultsError as exc:
        raise UsageError(str(exc)) from None
    if not run.points and not run.capacity:
        raise UsageError(f"{args.run_dir}: the run has no points yet")
    if args.requests:
        print_requests(store.results_path(args.run_dir).parent, args.requests, console)
        return 0
    if args.format == "json":
        print(export.to_json(run))
    elif args.format == "csv":
        print(export.to_csv(run), end="")
    else:
        if run.points:
            print_summary(run, console)
        if run.capacity:
            # A `bench capacity` run: its points live in its searches.
            print_capacity(run, console)
    return 0
