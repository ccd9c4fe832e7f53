"""`bench run`: measure targets x scenarios x loads x repetitions into a results folder."""

from __future__ import annotations

import argparse
import time

from bench.cli import args as a
from bench.cli import common as c
from bench.cli.args import UsageError, console
from bench.cli.live import live_view
from bench.locustfiles.knobs import DEFAULT_DROP_AFTER
from bench.reports.report import write_report
from bench.reports.summary import print_summary
from bench.results import store
from bench.results.model import Run
from bench.running.live import LiveView
from bench.running.plan import PRESETS, Plan
from bench.running.progress import LiveProgress
from bench.running.runner import Runner, run_folder
from bench.running.variants import VariantError, prepare


def add_parser(sub: a.Subparsers[a.Parser]) -> None:
    """Add `bench run`: its flags in groups, each group from bench.cli.common."""
    run = sub.add_parser(
        "run", help="measure targets x scenarios x loads x repetitions", usage=c.USAGE
    )
    c.add_preset_flag(run, PRESETS)
    c.add_target_group(run)
    c.add_objective_flags(c.add_load_group(run))
    c.add_mock_group(run)
    c.add_fault_group(run)
    c.add_upstream_group(run)
    c.add_locust_group(run)
    c.add_machine_group(run)
    output = c.add_output_group(run, "a point failed or is invalid", requests=True)
    output.add_argument("--resume", metavar="RUN_DIR", help="finish an interrupted run")
    c.add_live_group(run)


# --- the plan ------------------------------------------------------------------------


def plan_from_args(args: argparse.Namespace) -> Plan:
    """Build the plan from a preset and the flags that override it; PlanError (or
    UsageError, for this machine's cores) names what cannot work."""
    preset = PRESETS[args.preset or "quick"]
    locust, load = c.locust_settings(args), c.load_settings(args)
    faults = c.fault_settings(args)
    server_cpus, load_cpus = c.cpu_split(args)
    return Plan(
        targets=c.target_names(args, preset if args.preset else None),
        scenarios=load.plan_scenarios(preset),
        loads=load.plan_loads(preset),
        duration_s=load.plan_duration_s(preset),
        warmup_s=load.plan_warmup_s(preset),
        repeat=load.plan_repeat(preset),
        workers=args.workers,
        threads=args.threads,
        mock=c.mock_settings(args),
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        locust_processes=locust.plan_processes(),
        preset=args.preset,
        clients=args.clients,
        expect_workers=locust.plan_workers(),
        master_bind_host=locust.master_bind_host,
        master_port=locust.master_port,
        faults=faults.plan(),
        soak=bool(args.soak),
        drop_after=args.drop_after or DEFAULT_DROP_AFTER,
        upstream_timeout_s=args.upstream_timeout,
        seed=load.seed or 0,
        max_outstanding=load.max_outstanding,
        slos=args.slo,
        slo_share=args.slo_share or 0.99,
        telemetry=args.telemetry,
    )


def prepare_variants(plan: Plan) -> None:
    """Build (or find) the environment of every target with @pins; UsageError if one fails."""
    pinned = [t for t in plan.expanded_targets() if t.pins]
    if not pinned:
        return
    console.print(f"package variants: {len(pinned)} target(s), environments in .venv-variants/")
    try:
        prepare(pinned)
    except VariantError as exc:
        raise UsageError(str(exc)) from None


# --- the command -----------------------------------------------------------------------


def exit_status(run: Run, allow_invalid: bool) -> int:
    """0 when everything was measured and is valid; 3 for a skipped target, 4 for a bad point."""
    if allow_invalid:
        return a.EXIT_OK
    if run.info.skipped_targets:
        return a.EXIT_SKIPPED
    if any(not p.valid for p in run.points):
        return a.EXIT_INVALID
    return a.EXIT_OK


def _resumed(location: str) -> tuple[Plan, Run]:
    try:
        run = store.load(location)
    except store.ResultsError as exc:
        raise UsageError(f"cannot resume: {exc}") from None
    if run.plan is None:
        raise UsageError(f"cannot resume {location}: it records no plan")
    return Plan.from_dict(dict(run.plan)), run


def runner_from_args(args: argparse.Namespace) -> Runner:
    """The runner of a new or resumed run; PlanError or UsageError for what cannot work."""
    out = store.results_path(args.resume).parent if args.resume else run_folder(args.out)
    options = c.options_from_args(args, out)
    if args.resume:
        plan, previous = _resumed(args.resume)
    else:
        plan, previous = plan_from_args(args), None
        c.check_new_folder(out, f"use --resume {out} or another --out")
    plan.check_options(options)
    c.check_ports(args)
    c.check_requests_folder(options)
    prepare_variants(plan)
    return Runner(plan, options, previous)


def measure(runner: Runner, view: LiveView | None = None) -> Run | int:
    """Run every remaining point with progress; an exit status when the run broke off."""
    tasks = runner.tasks()
    console.print(f"bench run: {len(tasks)} points into {runner.options.out}")

    def execute() -> Run:
        with LiveProgress(console, tasks, runner.plan) as progress:
            if view is not None:  # --live: the progress line shows the live req/s
                view.listen(progress.rate)
            return runner.execute(progress.update)

    def kept() -> str:
        return (
            f"{len(runner.points)} finished points kept in {runner.path}; "
            f"finish with: bench run --resume {runner.options.out}"
        )

    return c.run_to_end(execute, "run", kept)


def command(args: argparse.Namespace) -> int:
    """Run `bench run`; see the exit statuses in bench.cli.args."""
    runner = runner_from_args(args)
    started = time.monotonic()
    with live_view(args, f"bench run {runner.options.out.name}") as view:
        runner.options.observer = view
        run = measure(runner, view)
    if isinstance(run, int):
        return run
    if not args.no_summary:
        print_summary(run, console)
    console.print(f"results: {runner.path} ({time.monotonic() - started:.0f} s)")
    if run.points:
        markdown, page = write_report(runner.options.out)
        console.print(f"report: {page} (and {markdown.name})")
    status = exit_status(run, args.allow_invalid)
    if status != a.EXIT_OK:
        console.print(_status_line(status, run))
    return status


def _status_line(status: int, run: Run) -> str:
    if status == a.EXIT_SKIPPED:
        names = ", ".join(s.target for s in run.info.skipped_targets)
        return f"exit {status}: target(s) skipped: {names} (--allow-invalid accepts this)"
    bad = sum(1 for p in run.points if not p.valid)
    return f"exit {status}: {bad} point(s) failed or invalid (--allow-invalid accepts this)"
