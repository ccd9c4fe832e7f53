"""`bench demo NAME`: a teaching demo (question, prediction, measurement, lesson).

`bench demo claims` puts the tutorials' claims next to this machine's figures, and
`bench demo all` runs every demo in teaching order and writes one handout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli import args as a
from bench.cli.args import Parser, Subparsers, UsageError, console
from bench.cli.common import add_live_group
from bench.cli.live import live_view
from bench.running.processes import port_is_free


def add_parser(sub: Subparsers[Parser]) -> None:
    """Add `bench demo`."""
    demo = sub.add_parser("demo", help="teaching demos: why async matters, and when not")
    demo.add_argument(
        "name", nargs="?", help="the demo to run (see --list), `claims`, or `all` (with a handout)"
    )
    demo.add_argument("--list", action="store_true", help="list the demos")
    demo.add_argument(
        "--quick",
        action="store_true",
        help="a smaller, shorter run (< 1 min, concurrency < 2; all: < 8 min)",
    )
    demo.add_argument("--out", help="folder (default results/demo-<name>-<run-id>/)")
    demo.add_argument(
        "--only", type=a.names, help="with `all`: run only these demos (still in teaching order)"
    )
    demo.add_argument("--port", type=a.positive_int, default=8000, help="target port (8000)")
    demo.add_argument("--mock-port", type=a.positive_int, default=8900, help="mock port (8900)")
    add_live_group(demo)
    demo.add_argument("--duration", type=a.positive_float, help=argparse.SUPPRESS)
    demo.add_argument("--warmup", type=a.positive_float, help=argparse.SUPPRESS)


def _check(args: argparse.Namespace, known: list[str]) -> None:
    if args.name not in (*known, "all"):
        raise UsageError(f"unknown demo {args.name}; known: {', '.join(known)}, all")
    unknown = [name for name in args.only or [] if name not in known]
    if unknown:
        raise UsageError(f"--only: unknown demo {', '.join(unknown)}; known: {', '.join(known)}")
    if args.only and args.name != "all":
        raise UsageError("--only goes with `bench demo all`")
    for flag, port in (("--port", args.port), ("--mock-port", args.mock_port)):
        if not port_is_free(port):
            raise UsageError(f"port {port} is in use; pick another with {flag}")


def _run(args: argparse.Namespace) -> None:
    from bench.demos.catalog import find
    from bench.demos.perform import run_demo
    from bench.demos.suite import Ports, run_all, run_claims

    out = Path(args.out) if args.out else None
    ports = Ports(args.port, args.mock_port)
    timing = {"duration_s": args.duration, "warmup_s": args.warmup}
    with live_view(args, f"bench demo {args.name}") as live:
        if args.name == "all":
            run_all(console, quick=args.quick, out=out, ports=ports, only=args.only, live=live,
                    **timing)  # fmt: skip
        elif args.name == "claims":
            run_claims(console, quick=args.quick, out=out, ports=ports, live=live, **timing)
        else:
            run_demo(find(args.name), console, quick=args.quick, out=out, port=args.port,
                     mock_port=args.mock_port, live=live, **timing)  # fmt: skip


def command(args: argparse.Namespace) -> int:
    """List the demos, or run one (or all of them)."""
    from bench.demos.catalog import DEMOS, names
    from bench.demos.claims import QUESTION
    from bench.running.session import Interrupted

    if args.list or not args.name:
        for demo in DEMOS:
            console.print(f"[bold]{demo.name}[/]: {demo.question}")
        console.print(f"[bold]claims[/]: {QUESTION}")
        console.print("[bold]all[/]: every demo in teaching order, then one handout (HTML)")
        return a.EXIT_OK if args.list else a.EXIT_USAGE
    _check(args, [*names(), "claims"])
    try:
        _run(args)
    except Interrupted as exc:
        console.print(f"[yellow]interrupted ({exc})[/]: every server stopped")
        return a.EXIT_INTERRUPTED
    return a.EXIT_OK
