"""`bench capacity`: how much each target serves, and how many LLM calls it holds at once."""

from __future__ import annotations

import argparse
import time

from bench.cli import args as a
from bench.cli import common as c
from bench.cli.args import console
from bench.cli.live import live_view
from bench.locustfiles.knobs import DEFAULT_TOKENS
from bench.reports.report import write_report
from bench.reports.summary import print_capacity
from bench.results.model import CAPACITY_SCENARIOS, Run
from bench.running.capacity import (
    CAPACITY_PRESETS,
    CUSTOM,
    DEFAULT_LATENCIES,
    LATENCIES,
    MAX_USERS,
    UPSTREAM,
    CapacityPlan,
    CapacityRunner,
)
from bench.running.plan import MockSettings, Preset
from bench.running.runner import Options, run_folder


def add_parser(sub: a.Subparsers[a.Parser]) -> None:
    """Add `bench capacity`: its search's flags, and the groups of bench.cli.common."""
    parser = sub.add_parser(
        "capacity",
        help="find each target's max throughput and max concurrency, and what binds them",
        usage=c.USAGE,
    )
    c.add_preset_flag(parser, CAPACITY_PRESETS)
    c.add_target_group(parser)
    _add_search_group(parser)
    c.add_mock_group(parser)
    c.add_upstream_group(parser)
    c.add_machine_group(parser)
    c.add_output_group(parser, "a point failed")
    c.add_live_group(parser)


def _add_search_group(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the search")
    group.add_argument(
        "--scenarios",
        type=a.names,
        help=f"of {','.join(CAPACITY_SCENARIOS)} (default both)",
    )
    group.add_argument(
        "--latencies",
        type=a.names,
        help=f"of {','.join(LATENCIES)} (default {','.join(DEFAULT_LATENCIES)}): "
        + "; ".join(f"{name} = {m.latency_ms():,.0f} ms answers" for name, m in LATENCIES.items()),
    )
    group.add_argument(
        "--max-users", type=a.positive_int, default=MAX_USERS, help=f"({MAX_USERS:,})"
    )
    group.add_argument(
        "--slo-p99-ms",
        type=a.positive_float,
        help="p99 that still counts as served (default: answer latency x 1.25 + 50 ms)",
    )
    c.add_objective_flags(group, "--slo-p99-ms")
    group.add_argument(
        "--budget-min",
        type=a.positive_float,
        help="stop searching after this many minutes and say what is unknown",
    )


def _latencies(args: argparse.Namespace, options: Options, preset: Preset | None) -> list[str]:
    """The latencies asked for; the upstream's own, or the --mock-* flags' model, is added
    to LATENCIES under its name (the plan refuses what does not go with it)."""
    asked = list(args.latencies or ())
    if not options.upstream().latency_set:
        # Only the tokens asked for matter: the latency is measured, not set.
        LATENCIES[UPSTREAM] = MockSettings(tokens=args.mock_tokens or DEFAULT_TOKENS)
        return asked or [UPSTREAM]
    custom = any(
        value is not None for value in (args.mock_ttft_ms, args.mock_itl_ms, args.mock_tokens)
    )
    if custom:
        LATENCIES[CUSTOM] = c.mock_settings(args)
        return [*asked, CUSTOM]
    return asked or list(preset.latencies if preset else DEFAULT_LATENCIES)


def plan_from_args(args: argparse.Namespace, options: Options | None = None) -> CapacityPlan:
    """The capacity plan from the flags; PlanError (or UsageError, for this machine's
    cores) names what cannot work."""
    options = options or c.options_from_args(args, run_folder(args.out))
    preset = CAPACITY_PRESETS[args.preset] if args.preset else None
    server_cpus, load_cpus = c.cpu_split(args)
    latencies = _latencies(args, options, preset)
    return CapacityPlan(
        targets=c.target_names(args, preset),
        scenarios=_ordered(
            args.scenarios or list(preset.scenarios if preset else CAPACITY_SCENARIOS)
        ),
        latencies=latencies,
        # The preset's scope stays with the latencies it names, whichever are asked for.
        in_flight_only=[name for name in preset.in_flight_only if name in latencies]
        if preset
        else [],
        max_users=args.max_users,
        slo_p99_ms=args.slo_p99_ms,
        slos=args.slo,
        slo_share=args.slo_share or 0.99,
        telemetry=args.telemetry,
        budget_min=args.budget_min,
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        workers=args.workers,
        threads=args.threads,
        preset=args.preset,
    )


def _ordered(scenarios: list[str]) -> list[str]:
    # The suite's order; names it does not search stay, last, for the plan to name.
    known = [s for s in CAPACITY_SCENARIOS if s in scenarios]
    return known + [s for s in dict.fromkeys(scenarios) if s not in CAPACITY_SCENARIOS]


def command(args: argparse.Namespace) -> int:
    """Run `bench capacity`; exit statuses as `bench run`'s."""
    out = run_folder(args.out)
    options = c.options_from_args(args, out)
    plan = plan_from_args(args, options)
    plan.check_options(options)
    c.check_new_folder(out, "use another --out")
    c.check_ports(args)
    runner = CapacityRunner(plan, options)
    searches = runner.searches()
    console.print(
        f"bench capacity: {len(searches)} searches into {out} (up to {plan.max_users:,} users"
        + (f", budget {plan.budget_min:g} min)" if plan.budget_min else ")")
        + "".join(f"; at {name} latency the max in flight only" for name in plan.in_flight_only)
    )
    started = time.monotonic()
    with live_view(args, f"bench capacity {out.name}") as view:
        runner.options.observer = view
        run = c.run_to_end(
            lambda: runner.execute(lambda message, _task: console.print(message)),
            "capacity",
            lambda: f"finished searches kept in {runner.path}",
        )
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
