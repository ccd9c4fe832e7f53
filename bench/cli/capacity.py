"""`bench capacity`: how much each target serves, and how many LLM calls it holds at once."""

from __future__ import annotations

import argparse
import time

from bench.cli import args as a
from bench.cli.args import UsageError, console
from bench.cli.live import add_live_flags, live_view
from bench.cli.run import (
    add_machine_flags,
    add_mock_flags,
    add_target_flags,
    check_ports,
    check_upstream,
    cpu_split,
    mock_settings,
    options_from_args,
    target_names,
)
from bench.locustfiles.knobs import DEFAULT_TOKENS
from bench.reports.report import write_report
from bench.reports.summary import print_capacity
from bench.results import store
from bench.results.model import CAPACITY_SCENARIOS, Run
from bench.running.capacity import (
    DEFAULT_LATENCIES,
    LATENCIES,
    MAX_USERS,
    CapacityPlan,
    CapacityRunner,
)
from bench.running.plan import MockSettings
from bench.running.runner import Interrupted, run_folder
from bench.running.targets import DEFAULT_TARGETS, TARGETS

PRESETS = {
    # Every realistic target, both scenarios, both latencies.
    "capacity": [t.name for t in TARGETS if t.tag == "realistic"],
    # The three frameworks on their default servers.
    "capacity-quick": list(DEFAULT_TARGETS),
}


def add_parser(sub: a.Subparsers[a.Parser]) -> None:
    """Add `bench capacity`."""
    parser = sub.add_parser(
        "capacity",
        help="find each target's max throughput and max concurrency, and what binds them",
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="capacity: every realistic target; capacity-quick: the three default ones",
    )
    add_target_flags(parser)
    parser.add_argument("--scenarios", type=a.names, help="of complete,stream (default both)")
    parser.add_argument(
        "--latencies",
        type=a.names,
        help=f"of {','.join(LATENCIES)} (default {','.join(DEFAULT_LATENCIES)}): "
        + "; ".join(f"{name} = {m.latency_ms():,.0f} ms answers" for name, m in LATENCIES.items()),
    )
    add_mock_flags(parser)
    add_machine_flags(parser)
    parser.add_argument(
        "--max-users", type=a.positive_int, default=MAX_USERS, help=f"({MAX_USERS:,})"
    )
    parser.add_argument(
        "--slo-p99-ms",
        type=a.positive_float,
        help="p99 that still counts as served (default: answer latency x 1.25 + 50 ms)",
    )
    parser.add_argument(
        "--budget-min",
        type=a.positive_float,
        help="stop searching after this many minutes and say what is unknown",
    )
    add_live_flags(parser)
    parser.add_argument("--no-summary", action="store_true", help="skip the terminal tables")
    parser.add_argument(
        "--allow-invalid",
        action="store_true",
        help="exit 0 even when a target was skipped or a point failed",
    )


def _latencies(args: argparse.Namespace) -> list[str]:
    if args.upstream_url or (args.target_url and not args.mock_url):
        if args.latencies:
            raise UsageError("--latencies set the mock; this upstream's latency is measured")
        # Only the tokens asked for matter: the latency is measured, not set.
        LATENCIES["upstream"] = MockSettings(tokens=args.mock_tokens or DEFAULT_TOKENS)
        return ["upstream"]
    custom = any(
        value is not None for value in (args.mock_ttft_ms, args.mock_itl_ms, args.mock_tokens)
    )
    if custom:
        if args.latencies:
            raise UsageError("give --latencies or the --mock-* flags, not both")
        LATENCIES["custom"] = mock_settings(args)
        return ["custom"]
    names = args.latencies or list(DEFAULT_LATENCIES)
    unknown = [n for n in names if n not in LATENCIES]
    if unknown:
        raise UsageError(f"unknown latency {', '.join(unknown)}; known: {', '.join(LATENCIES)}")
    return names


def plan_from_args(args: argparse.Namespace) -> CapacityPlan:
    """The capacity plan from the flags; raise UsageError for what cannot work."""
    check_upstream(args)
    preset = {"targets": PRESETS[args.preset]} if args.preset else {}
    scenarios = args.scenarios or list(CAPACITY_SCENARIOS)
    bad = [s for s in scenarios if s not in CAPACITY_SCENARIOS]
    if bad:
        searched = ", ".join(CAPACITY_SCENARIOS)
        raise UsageError(f"capacity searches {searched}, not {', '.join(bad)}")
    server_cpus, load_cpus = cpu_split(args)
    return CapacityPlan(
        targets=target_names(args, preset),
        scenarios=[s for s in CAPACITY_SCENARIOS if s in scenarios],
        latencies=_latencies(args),
        max_users=args.max_users,
        slo_p99_ms=args.slo_p99_ms,
        budget_min=args.budget_min,
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        workers=args.workers,
        threads=args.threads,
        preset=args.preset,
    )


def command(args: argparse.Namespace) -> int:
    """Run `bench capacity`; exit statuses as `bench run`'s."""
    plan = plan_from_args(args)
    out = run_folder(args.out)
    if (out / store.RESULTS_NAME).exists():
        raise UsageError(f"{out} already holds a run; use another --out")
    check_ports(args)
    if args.target_url and len(plan.targets) != 1:
        raise UsageError("with --target-url, name the deployment's target with --targets NAME")
    runner = CapacityRunner(plan, options_from_args(args, out))
    searches = runner.searches()
    console.print(
        f"bench capacity: {len(searches)} searches into {out} (up to {plan.max_users:,} users"
        + (f", budget {plan.budget_min:g} min)" if plan.budget_min else ")")
    )
    started = time.monotonic()
    with live_view(args, f"bench capacity {out.name}") as view:
        runner.options.observer = view
        run = _execute(runner)
    if isinstance(run, int):
        return run
    if not args.no_summary:
        print_capacity(run, console)
    console.print(f"results: {runner.path} ({(time.monotonic() - started) / 60:.1f} min)")
    markdown, page = write_report(out)
    console.print(f"report: {page} (and {markdown.name})")
    return capacity_status(run, args.allow_invalid)


def capacity_status(run: Run, allow_invalid: bool) -> int:
    """Like `bench run`'s, except that overload points are the search's purpose: only a
    point that failed outright (the target died, Locust wrote nothing) counts as bad."""
    if allow_invalid:
        return a.EXIT_OK
    if run.info.skipped_targets:
        return a.EXIT_SKIPPED
    if any(not p.ok for found in run.capacity for p in found.points):
        return a.EXIT_INVALID
    return a.EXIT_OK


def _execute(runner: CapacityRunner) -> Run | int:
    try:
        return runner.execute(lambda message, _task: console.print(message))
    except Interrupted as exc:
        console.print(
            f"[yellow]interrupted ({exc})[/]: every server stopped; finished searches kept "
            f"in {runner.path}"
        )
        return a.EXIT_INTERRUPTED
    except RuntimeError as exc:
        console.print(f"[red]bench capacity failed[/]: {exc}")
        return a.EXIT_FAILED
