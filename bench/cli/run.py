"""`bench run`: measure targets x scenarios x loads x repetitions into a results folder."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from bench.cli import KEY_MOVED
from bench.cli import args as a
from bench.cli.args import UsageError, console
from bench.cli.faults import SOAK_USERS, add_fault_flags, fault_plan
from bench.cli.live import add_live_flags, live_view
from bench.reports.report import write_report
from bench.reports.summary import print_summary
from bench.results import store
from bench.results.model import DEFAULT_SCENARIOS, SCENARIOS, Load, Run
from bench.running.cpus import usable_cpus
from bench.running.live import LiveView
from bench.running.plan import PRESETS, MockSettings, Plan, default_cpus
from bench.running.processes import port_is_free
from bench.running.progress import LiveProgress
from bench.running.runner import Interrupted, Options, Runner, run_folder
from bench.running.targets import DEFAULT_TARGETS, UnknownTarget, resolve, split_specs
from bench.running.variants import VariantError, prepare


def target_specs(text: str) -> list[str]:
    """--targets: specs, comma-separated; commas inside {counts} and @pins stay."""
    found = split_specs(text)
    if not found:
        raise argparse.ArgumentTypeError("give at least one target")
    return found


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


def add_target_flags(parser: argparse.ArgumentParser) -> None:
    """--targets, --clients, --workers, --threads."""
    parser.add_argument(
        "--targets",
        type=target_specs,
        help=f"comma-separated target specs (default: {','.join(DEFAULT_TARGETS)}); "
        "see `bench targets`; name@django==5.1.* runs that target with its own package "
        "versions (an environment built with uv and cached in .venv-variants/)",
    )
    parser.add_argument(
        "--clients",
        type=a.names,
        help="run each target once per upstream "
        "client (LLM_CLIENT), e.g. aiohttp,openai,openai-aiohttp,httpx",
    )
    parser.add_argument("--workers", type=a.positive_int, help="override server workers")
    parser.add_argument("--threads", type=a.positive_int, help="override threads per worker")


def add_mock_flags(parser: argparse.ArgumentParser) -> None:
    """The mock's latency model."""
    defaults = MockSettings()
    parser.add_argument(
        "--mock-ttft-ms", type=float, help=f"mock time to first token ({defaults.ttft_ms:g})"
    )
    parser.add_argument(
        "--mock-itl-ms", type=float, help=f"mock time between tokens ({defaults.itl_ms:g})"
    )
    parser.add_argument(
        "--mock-tokens", type=a.positive_int, help=f"tokens per answer ({defaults.tokens})"
    )


def add_machine_flags(parser: argparse.ArgumentParser) -> None:
    """Cores, ports, an external deployment, the output folder."""
    parser.add_argument("--server-cpus", type=a.cpus, help="cores of the server (default: half)")
    parser.add_argument("--load-cpus", type=a.cpus, help="cores of Locust and the mock (the rest)")
    parser.add_argument(
        "--target-url",
        "--host",
        help="measure this running deployment (no process management; verification still runs)",
    )
    parser.add_argument("--mock-url", help="with --target-url: the deployment's mock, for /stats")
    parser.add_argument(
        "--upstream-url",
        help="a real OpenAI-compatible base URL (…/v1) for the targets instead of the mock: "
        "vLLM, Ollama, llama.cpp, a hosted API; its latency is suffered, not set",
    )
    parser.add_argument(
        "--upstream-key",
        help="with --upstream-url: its API key (better: the BENCH_UPSTREAM_KEY variable); "
        "never written to results or logs",
    )
    parser.add_argument("--upstream-model", help="with --upstream-url: the model to ask for")
    parser.add_argument(
        "--server-quota",
        type=a.positive_float,
        help="with --target-url: the CPU quota the deployment gives its server, in cores "
        "(recorded with the results; the suite cannot see it)",
    )
    parser.add_argument("--port", type=a.positive_int, default=8000, help="target port (8000)")
    parser.add_argument("--mock-port", type=a.positive_int, default=8900, help="mock port (8900)")
    parser.add_argument("--out", help="run folder (default results/<run-id>/)")


def add_parser(sub: a.Subparsers[a.Parser]) -> None:
    """Add `bench run`."""
    run = sub.add_parser("run", help="measure targets x scenarios x loads x repetitions")
    run.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="quick (~3 min), standard (~23 min), full (everything); flags given as well "
        "override it",
    )
    add_target_flags(run)
    run.add_argument(
        "--scenarios",
        type=a.names,
        help=f"of {','.join(SCENARIOS)} (default {','.join(DEFAULT_SCENARIOS)})",
    )
    run.add_argument(
        "-u", "--users", type=a.int_list, help="closed loop: user counts, e.g. 10,50,200"
    )
    run.add_argument("--rate", type=a.float_list, help="paced open loop: arrival rates, req/s")
    run.add_argument("--duration", type=a.positive_float, help="measured window, s (default 5)")
    run.add_argument("--warmup", type=a.positive_float, help="unmeasured warm-up, s (default 2)")
    run.add_argument("--repeat", type=a.positive_int, help="repetitions per point (default 1)")
    add_mock_flags(run)
    add_fault_flags(run)
    add_machine_flags(run)
    # The flags that mean what Locust's do carry Locust's names too.
    run.add_argument(
        "--locust-processes", "--processes", type=a.positive_int, help="Locust processes (1)"
    )
    run.add_argument(
        "--locust-master",
        "--master",
        action="store_true",
        help="run Locust as a master; "
        "the load comes from --expect-workers workers started elsewhere",
    )
    run.add_argument(
        "--expect-workers",
        type=a.positive_int,
        help="with --locust-master: how many Locust workers to wait for (they run "
        "`locust -f bench/locustfiles/ --worker --master-host HOST`)",
    )
    run.add_argument(
        "--master-bind-host",
        default="127.0.0.1",
        help="master's address for workers (0.0.0.0 in containers)",
    )
    run.add_argument(
        "--master-port",
        "--master-bind-port",
        type=a.positive_int,
        default=5557,
        help="master's port",
    )
    run.add_argument("--resume", metavar="RUN_DIR", help="finish an interrupted run")
    add_live_flags(run)
    run.add_argument("--no-summary", action="store_true", help="skip the terminal tables")
    run.add_argument(
        "--allow-invalid",
        action="store_true",
        help="exit 0 even when a target was skipped or a point failed or is invalid",
    )


# --- the plan ------------------------------------------------------------------------


def target_names(args: argparse.Namespace, preset: dict[str, Any]) -> list[str]:
    """The target specs asked for, checked; raise UsageError naming a bad one."""
    names = args.targets or (preset["targets"] if args.preset else list(DEFAULT_TARGETS))
    try:
        return [target.name for target in resolve(names)]
    except UnknownTarget as exc:
        raise UsageError(str(exc)) from None


def _scenarios(args: argparse.Namespace) -> list[str]:
    scenarios = args.scenarios or (["complete"] if args.soak else list(DEFAULT_SCENARIOS))
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise UsageError(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return [s for s in SCENARIOS if s in scenarios]


def _loads(args: argparse.Namespace, preset: dict[str, Any]) -> dict[str, list[Load]]:
    if args.users and args.rate:
        raise UsageError("give --users (closed loop) or --rate (open loop), not both")
    if args.users:
        return {s: [Load("users", u) for u in args.users] for s in SCENARIOS}
    if args.rate:
        return {s: [Load("rate", r) for r in args.rate] for s in SCENARIOS}
    if args.soak:
        return {s: [Load("users", SOAK_USERS)] for s in SCENARIOS}
    loads = dict(preset["loads"])
    # A client that hangs up loads the server like a stream does, for a shorter time.
    loads.setdefault("disconnect", loads["stream"])
    return loads


def mock_settings(args: argparse.Namespace) -> MockSettings:
    """The mock's latency model from the flags (defaults where not given)."""
    defaults = MockSettings()
    mock = MockSettings(
        ttft_ms=args.mock_ttft_ms if args.mock_ttft_ms is not None else defaults.ttft_ms,
        itl_ms=args.mock_itl_ms if args.mock_itl_ms is not None else defaults.itl_ms,
        tokens=args.mock_tokens or defaults.tokens,
    )
    if mock.ttft_ms < 0 or mock.itl_ms < 0:
        raise UsageError("--mock-ttft-ms and --mock-itl-ms must not be negative")
    return mock


def _check_master(args: argparse.Namespace) -> None:
    if args.locust_master != bool(args.expect_workers):
        raise UsageError("--locust-master and --expect-workers N go together")
    if args.locust_master and args.locust_processes:
        raise UsageError(
            "--locust-processes is for one host; with --locust-master the "
            "workers are started elsewhere"
        )


def cpu_split(args: argparse.Namespace) -> tuple[list[int], list[int]]:
    """The server's and the load's cores from the flags; raise UsageError when they clash."""
    usable = usable_cpus()
    server, load = default_cpus()
    server = args.server_cpus or (
        [c for c in usable if c not in args.load_cpus] if args.load_cpus else server
    )
    load = args.load_cpus or ([c for c in usable if c not in server] if args.server_cpus else load)
    for name, chosen in (("--server-cpus", server), ("--load-cpus", load)):
        if not chosen:
            raise UsageError(f"{name} is empty: this machine has cores {usable}")
        if not set(chosen) <= set(usable):
            raise UsageError(f"{name} {chosen} is not within the usable cores {usable}")
    if set(server) & set(load) and len(usable) > 1:
        raise UsageError(
            f"--server-cpus {server} and --load-cpus {load} overlap; split the "
            f"cores {usable} between them"
        )
    return server, load


def plan_from_args(args: argparse.Namespace) -> Plan:
    """Build the plan from a preset and the flags that override it; raise UsageError."""
    preset = dict(PRESETS[args.preset or "quick"])
    _check_master(args)
    server_cpus, load_cpus = cpu_split(args)
    if args.soak and args.duration:
        raise UsageError("--soak MINUTES sets the window; drop --duration")
    duration = args.soak * 60 if args.soak else args.duration or preset["duration_s"]
    plan = Plan(
        targets=target_names(args, preset),
        scenarios=_scenarios(args),
        loads=_loads(args, preset),
        duration_s=duration,
        warmup_s=args.warmup or preset["warmup_s"],
        repeat=args.repeat or (1 if args.soak else preset["repeat"]),
        workers=args.workers,
        threads=args.threads,
        mock=mock_settings(args),
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        locust_processes=args.locust_processes or 1,
        preset=args.preset,
        clients=args.clients,
        expect_workers=args.expect_workers if args.locust_master else None,
        master_bind_host=args.master_bind_host,
        master_port=args.master_port,
        faults=fault_plan(args, duration),
        soak=bool(args.soak),
    )
    if args.drop_after:
        plan.drop_after = args.drop_after
    if args.upstream_timeout:
        if args.target_url:
            raise UsageError(
                "--upstream-timeout sets the targets the runner starts, not a deployment"
            )
        plan.upstream_timeout_s = args.upstream_timeout
    return plan


# --- the command -----------------------------------------------------------------------


def check_ports(args: argparse.Namespace) -> None:
    """Refuse ports in use (where the runner starts servers) with one line."""
    if args.target_url is not None:
        return
    ports = [("--port", args.port)]
    if not args.upstream_url:
        ports.append(("--mock-port", args.mock_port))
    for flag, port in ports:
        if not port_is_free(port):
            raise UsageError(f"port {port} is in use; pick another with {flag}")


def check_upstream(args: argparse.Namespace) -> None:
    """Refuse flags that contradict each other about the upstream."""
    if args.upstream_url and args.target_url:
        raise UsageError(
            "--upstream-url points the targets the runner starts at another upstream; a "
            "deployment given with --target-url already has its own"
        )
    if args.upstream_url and args.mock_url:
        raise UsageError("give --upstream-url or --mock-url, not both")
    key_given = args.upstream_key or os.environ.get(KEY_MOVED)
    if (key_given or args.upstream_model) and not args.upstream_url:
        raise UsageError("--upstream-key and --upstream-model go with --upstream-url")
    if args.mock_url and not args.target_url:
        raise UsageError("--mock-url reads a deployment's mock: give --target-url too")


def options_from_args(args: argparse.Namespace, out: Path) -> Options:
    """Where and against what the run measures (not part of what is measured)."""
    check_upstream(args)
    if args.server_quota and not args.target_url:
        raise UsageError("--server-quota describes a deployment given with --target-url")
    options = Options(out, args.port, args.mock_port, args.target_url, args.mock_url)
    options.server_quota = args.server_quota
    options.upstream_url, options.upstream_model = args.upstream_url, args.upstream_model
    options.upstream_key = args.upstream_key
    return options


def exit_status(run: Run, allow_invalid: bool) -> int:
    """0 when everything was measured and is valid; 3 for a skipped target, 4 for a bad point."""
    if allow_invalid:
        return a.EXIT_OK
    if run.info.skipped_targets:
        return a.EXIT_SKIPPED
    if any(not p.valid for p in run.points):
        return a.EXIT_INVALID
    return a.EXIT_OK


def _resumed(location: str) -> tuple[Plan, Run, Path]:
    try:
        run = store.load(location)
    except store.ResultsError as exc:
        raise UsageError(f"cannot resume: {exc}") from None
    if run.plan is None:
        raise UsageError(f"cannot resume {location}: it records no plan")
    return Plan.from_dict(dict(run.plan)), run, store.results_path(location).parent


def runner_from_args(args: argparse.Namespace) -> Runner:
    """The runner of a new or resumed run; raise UsageError for what cannot work."""
    check_upstream(args)
    if args.resume:
        plan, previous, out = _resumed(args.resume)
    else:
        plan, previous, out = plan_from_args(args), None, run_folder(args.out)
        if args.upstream_url and any(
            value is not None for value in (args.mock_ttft_ms, args.mock_itl_ms)
        ):
            raise UsageError("the --mock-* latency flags set the mock; --upstream-url has none")
        if (out / store.RESULTS_NAME).exists():
            raise UsageError(f"{out} already holds a run; use --resume {out} or another --out")
    check_ports(args)
    if args.target_url and any(t.pins for t in plan.expanded_targets()):
        raise UsageError("@pins need the runner to start the target; not with --target-url")
    prepare_variants(plan)
    if args.target_url and len(plan.targets) != 1:
        raise UsageError("with --target-url, name the deployment's target with --targets NAME")
    return Runner(plan, options_from_args(args, out), previous)


def measure(runner: Runner, view: LiveView | None = None) -> Run | int:
    """Run every remaining point with progress; an exit status when the run broke off."""
    tasks = runner.tasks()
    console.print(f"bench run: {len(tasks)} points into {runner.options.out}")
    try:
        with LiveProgress(console, tasks, runner.plan) as progress:
            if view is not None:  # --live: the progress line shows the live req/s
                view.listen(progress.rate)
            return runner.execute(progress.update)
    except Interrupted as exc:
        console.print(
            f"[yellow]interrupted ({exc})[/]: every server stopped; "
            f"{len(runner.points)} finished points kept in "
            f"{runner.path}; finish with: bench run --resume {runner.options.out}"
        )
        return a.EXIT_INTERRUPTED
    except RuntimeError as exc:
        console.print(f"[red]bench run failed[/]: {exc}")
        return a.EXIT_FAILED


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
