"""The `bench` command: run, targets (and, as they land, report, compare, show, demo)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from rich.console import Console

from bench import results
from bench.plan import PRESETS, Load, MockSettings, Plan, default_cpus
from bench.processes import port_is_free
from bench.targets import DEFAULT_TARGETS, SCENARIOS, TARGETS, UnknownTarget, resolve

# Off a terminal (CI logs, pipes) Rich would wrap tables at 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


class UsageError(Exception):
    """Bad input: one line for the user, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _numbers(text: str, kind: type[float] | type[int]) -> list[float]:
    try:
        values = [kind(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers, e.g. 10,50,100"
        ) from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give positive numbers, e.g. 10,50,100")
    return values


def _int_list(text: str) -> list[float]:
    return _numbers(text, int)


def _float_list(text: str) -> list[float]:
    return _numbers(text, float)


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one name")
    return names


def _cpus(text: str) -> list[int]:
    cpus: set[int] = set()
    try:
        for part in text.split(","):
            if "-" in part:
                low, high = part.split("-")
                cpus.update(range(int(low), int(high) + 1))
            elif part.strip():
                cpus.add(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a CPU list such as 0 or 0-1 or 0,2"
        ) from None
    return sorted(cpus)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _add_run(sub: argparse._SubParsersAction[_Parser]) -> None:
    run = sub.add_parser("run", help="measure targets x scenarios x loads x repetitions")
    run.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="quick (5 min), standard (30 min), full (everything); flags given as well override it",
    )
    run.add_argument(
        "--targets",
        type=_names,
        help="comma-separated target names "
        f"(default: {','.join(DEFAULT_TARGETS)}); see `bench targets`",
    )
    run.add_argument("--scenarios", type=_names, help=f"of {','.join(SCENARIOS)} (default all)")
    run.add_argument("--users", type=_int_list, help="closed loop: user counts, e.g. 10,50,200")
    run.add_argument("--rate", type=_float_list, help="paced open loop: arrival rates, req/s")
    run.add_argument("--duration", type=_positive_float, help="measured window, s (default 5)")
    run.add_argument("--warmup", type=_positive_float, help="unmeasured warm-up, s (default 2)")
    run.add_argument("--repeat", type=_positive_int, help="repetitions per point (default 1)")
    run.add_argument(
        "--clients",
        type=_names,
        help="run each target once per upstream "
        "client (LLM_CLIENT), e.g. aiohttp,openai,openai-aiohttp,httpx",
    )
    run.add_argument("--workers", type=_positive_int, help="override server workers")
    run.add_argument("--threads", type=_positive_int, help="override threads per worker")
    run.add_argument("--mock-ttft-ms", type=float, help="mock time to first token (200)")
    run.add_argument("--mock-itl-ms", type=float, help="mock time between tokens (20)")
    run.add_argument("--mock-tokens", type=_positive_int, help="tokens per answer (10)")
    run.add_argument("--server-cpus", type=_cpus, help="cores of the server (default: half)")
    run.add_argument("--load-cpus", type=_cpus, help="cores of Locust and the mock (the rest)")
    run.add_argument("--locust-processes", type=_positive_int, help="Locust processes (1)")
    run.add_argument(
        "--target-url",
        help="measure this running deployment (no process management; verification still runs)",
    )
    run.add_argument("--mock-url", help="with --target-url: the deployment's mock, for /stats")
    run.add_argument(
        "--locust-master",
        action="store_true",
        help="run Locust as a master; "
        "the load comes from --expect-workers workers started elsewhere",
    )
    run.add_argument(
        "--expect-workers",
        type=_positive_int,
        help="with --locust-master: "
        "how many Locust workers to wait for (they run `locust -f "
        "bench/locustfiles/ --worker --master-host HOST`)",
    )
    run.add_argument(
        "--master-bind-host",
        default="127.0.0.1",
        help="master's address for workers (0.0.0.0 in containers)",
    )
    run.add_argument("--master-port", type=_positive_int, default=5557, help="master's port")
    run.add_argument("--port", type=_positive_int, default=8000, help="target port (8000)")
    run.add_argument("--mock-port", type=_positive_int, default=8900, help="mock port (8900)")
    run.add_argument("--out", help="run folder (default results/<run-id>/)")
    run.add_argument("--resume", metavar="RUN_DIR", help="finish an interrupted run")
    run.add_argument("--no-summary", action="store_true", help="skip the terminal tables")


def build_parser() -> _Parser:
    parser = _Parser(prog="bench", description="Benchmark Python AI services.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("targets", help="list the targets")
    _add_run(sub)
    show = sub.add_parser("show", help="print the summary of a stored run")
    show.add_argument("run_dir")
    from bench import compare, report

    report.add_parser(sub)
    compare.add_parser(sub)
    demo = sub.add_parser("demo", help="teaching demos: why async matters, and when not")
    demo.add_argument("name", nargs="?", help="the demo to run (see --list)")
    demo.add_argument("--list", action="store_true", help="list the demos")
    demo.add_argument("--quick", action="store_true", help="a smaller, shorter run (< 1 min)")
    demo.add_argument("--out", help="folder (default results/demo-<name>-<run-id>/)")
    demo.add_argument("--port", type=_positive_int, default=8000, help="target port (8000)")
    demo.add_argument("--mock-port", type=_positive_int, default=8900, help="mock port (8900)")
    demo.add_argument("--duration", type=_positive_float, help=argparse.SUPPRESS)
    demo.add_argument("--warmup", type=_positive_float, help=argparse.SUPPRESS)
    return parser


def plan_from_args(args: argparse.Namespace) -> Plan:
    """Build the plan from a preset and the flags that override it; raise UsageError."""
    preset = dict(PRESETS[args.preset]) if args.preset else dict(PRESETS["quick"])
    names = args.targets or (preset["targets"] if args.preset else list(DEFAULT_TARGETS))
    try:
        targets = resolve(names)
    except UnknownTarget as exc:
        raise UsageError(str(exc)) from None
    scenarios = args.scenarios or list(SCENARIOS)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise UsageError(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if args.users and args.rate:
        raise UsageError("give --users (closed loop) or --rate (open loop), not both")
    loads = dict(preset["loads"])
    if args.users:
        loads = {s: [Load("users", u) for u in args.users] for s in SCENARIOS}
    elif args.rate:
        loads = {s: [Load("rate", r) for r in args.rate] for s in SCENARIOS}
    server_cpus, load_cpus = _cpu_split(args)
    mock = MockSettings(
        ttft_ms=args.mock_ttft_ms if args.mock_ttft_ms is not None else MockSettings.ttft_ms,
        itl_ms=args.mock_itl_ms if args.mock_itl_ms is not None else MockSettings.itl_ms,
        tokens=args.mock_tokens or MockSettings.tokens,
    )
    if args.locust_master != bool(args.expect_workers):
        raise UsageError("--locust-master and --expect-workers N go together")
    if args.locust_master and args.rate:
        raise UsageError(
            "--rate paces users through the workers' environment; with "
            "--locust-master set BENCH_RATE_PER_USER on the workers and use --users"
        )
    if args.locust_master and args.locust_processes:
        raise UsageError(
            "--locust-processes is for one host; with --locust-master the "
            "workers are started elsewhere"
        )
    if mock.ttft_ms < 0 or mock.itl_ms < 0:
        raise UsageError("--mock-ttft-ms and --mock-itl-ms must not be negative")
    return Plan(
        targets=[t.name for t in targets],
        scenarios=[s for s in SCENARIOS if s in scenarios],
        loads=loads,
        duration_s=args.duration or preset["duration_s"],
        warmup_s=args.warmup or preset["warmup_s"],
        repeat=args.repeat or preset["repeat"],
        workers=args.workers,
        threads=args.threads,
        mock=mock,
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        locust_processes=args.locust_processes or 1,
        preset=args.preset,
        clients=args.clients,
        expect_workers=args.expect_workers if args.locust_master else None,
        master_bind_host=args.master_bind_host,
        master_port=args.master_port,
    )


def _cpu_split(args: argparse.Namespace) -> tuple[list[int], list[int]]:
    usable = sorted(os.sched_getaffinity(0))
    server, load = default_cpus()
    server = args.server_cpus or (
        [c for c in usable if c not in args.load_cpus] if args.load_cpus else server
    )
    load = args.load_cpus or ([c for c in usable if c not in server] if args.server_cpus else load)
    for name, cpus in (("--server-cpus", server), ("--load-cpus", load)):
        if not cpus:
            raise UsageError(f"{name} is empty: this machine has cores {usable}")
        if not set(cpus) <= set(usable):
            raise UsageError(f"{name} {cpus} is not within the usable cores {usable}")
    if set(server) & set(load) and len(usable) > 1:
        raise UsageError(
            f"--server-cpus {server} and --load-cpus {load} overlap; split the "
            f"cores {usable} between them"
        )
    return server, load


def _cmd_targets() -> int:
    from rich.table import Table

    table = Table(title="targets")
    for column in (
        "name",
        "framework",
        "server",
        "worker class",
        "workers (1 core)",
        "threads",
        "tag",
        "description",
    ):
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


def _cmd_run(args: argparse.Namespace) -> int:
    from bench.progress import LiveProgress
    from bench.runner import Interrupted, Options, Runner, run_folder
    from bench.summary import print_summary

    if args.resume:
        try:
            document = results.load(args.resume)
        except results.ResultsError as exc:
            raise UsageError(f"cannot resume: {exc}") from None
        if "plan" not in document:
            raise UsageError(f"cannot resume {args.resume}: it records no plan")
        plan = Plan.from_dict(document["plan"])
        out = results.results_path(args.resume).parent
    else:
        plan = plan_from_args(args)
        document = None
        out = run_folder(args.out)
        if (out / results.RESULTS_NAME).exists():
            raise UsageError(f"{out} already holds a run; use --resume {out} or another --out")
    if args.target_url is None:
        for flag, port in (("--port", args.port), ("--mock-port", args.mock_port)):
            if not port_is_free(port):
                raise UsageError(f"port {port} is in use; pick another with {flag}")
    if args.target_url and len(plan.targets) != 1:
        raise UsageError("with --target-url, name the deployment's target with --targets NAME")
    options = Options(
        out=out,
        port=args.port,
        mock_port=args.mock_port,
        target_url=args.target_url,
        mock_url=args.mock_url,
    )
    runner = Runner(plan, options, document)
    tasks = runner.tasks()
    started = time.monotonic()
    console.print(f"bench run: {len(tasks)} points into {out}")
    try:
        with LiveProgress(console, tasks, plan) as progress:
            document = runner.run(progress.update)
    except Interrupted as exc:
        console.print(
            f"[yellow]interrupted ({exc})[/]: every server stopped; "
            f"{len(runner.document['points'])} finished points kept in "
            f"{runner.path}; finish with: bench run --resume {out}"
        )
        return 130
    except RuntimeError as exc:
        console.print(f"[red]bench run failed[/]: {exc}")
        return 1
    if not args.no_summary:
        print_summary(document, console)
    console.print(f"results: {runner.path} ({time.monotonic() - started:.0f} s)")
    if document["points"]:
        from bench.report import write_report

        markdown, page = write_report(out)
        console.print(f"report: {page} (and {markdown.name})")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from bench.summary import print_summary

    try:
        document = results.load(args.run_dir)
    except results.ResultsError as exc:
        raise UsageError(str(exc)) from None
    if not document["points"]:
        raise UsageError(f"{args.run_dir}: the run has no points yet")
    print_summary(document, console)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.demos import DEMOS, run_demo
    from bench.runner import Interrupted

    if args.list or not args.name:
        for demo in DEMOS.values():
            console.print(f"[bold]{demo.name}[/]: {demo.question}")
        return 0 if args.list else 2
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
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "targets":
            return _cmd_targets()
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "show":
            return _cmd_show(args)
        if args.command == "demo":
            return _cmd_demo(args)
        if args.command == "compare":
            from bench import compare

            return compare.run(args)
        if args.command == "report":
            from bench import report

            return report.run(args)
    except UsageError as exc:
        print(f"bench {args.command}: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
