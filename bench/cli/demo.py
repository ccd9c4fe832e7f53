"""`bench demo NAME`: a teaching demo (question, prediction, measurement, lesson)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli import args as a
from bench.cli.args import Parser, Subparsers, UsageError, console
from bench.running.processes import port_is_free


def add_parser(sub: Subparsers[Parser]) -> None:
    """Add `bench demo`."""
    demo = sub.add_parser("demo", help="teaching demos: why async matters, and when not")
    demo.add_argument("name", nargs="?", help="the demo to run (see --list)")
    demo.add_argument("--list", action="store_true", help="list the demos")
    demo.add_argument("--quick", action="store_true", help="a smaller, shorter run (< 1 min)")
    demo.add_argument("--out", help="folder (default results/demo-<name>-<run-id>/)")
    demo.add_argument("--port", type=a.positive_int, default=8000, help="target port (8000)")
    demo.add_argument("--mock-port", type=a.positive_int, default=8900, help="mock port (8900)")
    demo.add_argument("--duration", type=a.positive_float, help=argparse.SUPPRESS)
    demo.add_argument("--warmup", type=a.positive_float, help=argparse.SUPPRESS)


def command(args: argparse.Namespace) -> int:
    """List the demos, or run one."""
    from bench.demos.catalog import DEMOS, run_demo
    from bench.running.runner import Interrupted

    if args.list or not args.name:
        for demo in DEMOS.values():
            console.print(f"[bold]{demo.name}[/]: {demo.question}")
        return a.EXIT_OK if args.list else a.EXIT_USAGE
    if args.name not in DEMOS:
        raise UsageError(f"unknown demo {args.name}; known: {', '.join(DEMOS)}")
    for flag, port in (("--port", args.port), ("--mock-port", args.mock_port)):
        if not port_is_free(port):
            raise UsageError(f"port {port} is in use; pick another with {flag}")
    try:
        run_demo(
            args.name,
            console,
            quick=args.quick,
            out=Path(args.out) if args.out else None,
            port=args.port,
            mock_port=args.mock_port,
            duration_s=args.duration,
            warmup_s=args.warmup,
        )
    except Interrupted as exc:
        console.print(f"[yellow]interrupted ({exc})[/]: every server stopped")
        return a.EXIT_INTERRUPTED
    return a.EXIT_OK
