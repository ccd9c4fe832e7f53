"""The `bench` command: one module per subcommand, the flags `run` and `capacity` share
in `common`, argument types in `args`.

bench targets | run | capacity | show | report | compare | history | demo
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bench.cli import capacity, compare, demo, history, report, run, show, targets
from bench.cli.args import EXIT_USAGE, Parser, UsageError
from bench.running.rules import PlanError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "targets": lambda _args: targets.command(),
    "run": run.command,
    "capacity": capacity.command,
    "show": show.command,
    "report": report.command,
    "compare": compare.command,
    "history": history.command,
    "demo": demo.command,
}


def build_parser() -> Parser:
    """The `bench` parser with every subcommand."""
    parser = Parser(prog="bench", description="Benchmark Python AI services.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (targets, run, capacity, show, report, compare, history, demo):
        module.add_parser(sub)
    return parser


def execute(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command; its exit status is returned."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    # A rule of a plan or its options (PlanError) is bad input like any other.
    except (UsageError, PlanError) as exc:
        print(f"bench {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
