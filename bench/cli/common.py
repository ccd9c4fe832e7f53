"""What `bench run` and `bench capacity` share: their flags, in one argument group per
function, the conversions from parsed flags to the settings objects they stand for, and
running a runner to its end.

The rules about what the flags ask for live on those objects (Plan, MockSettings,
CapacityPlan, Options and bench.running.settings), which raise PlanError;
bench.cli.commands prints it as one line with exit status 2. The checks left here are
about this machine: its cores, its ports, a results folder already there.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from bench.cli import KEY_MOVED, KEY_VARIABLE
from bench.cli import args as a
from bench.cli.args import UsageError, console
from bench.locustfiles.arrivals import KINDS
from bench.results import store
from bench.results.model import DEFAULT_SCENARIOS, SCENARIOS, Run
from bench.running import plan
from bench.running.cpus import usable_cpus
from bench.running.live import DEFAULT_PORT
from bench.running.plan import MockSettings, Preset, default_cpus, presets_help
from bench.running.processes import port_is_free
from bench.running.runner import Interrupted, Options
from bench.running.settings import FaultSettings, LoadSettings, LocustSettings
from bench.running.targets import DEFAULT_TARGETS, split_specs
from mock_llm.config import FAULT_KINDS

Group = argparse._ArgumentGroup  # the type of `add_argument_group()`'s result


# --- the flags, one group per function -------------------------------------------------

# The usage line of a command with many groups: the groups below list the flags.
USAGE = "%(prog)s [--preset NAME] [FLAG ...]"


def add_preset_flag(parser: argparse.ArgumentParser, presets: dict[str, Preset]) -> None:
    """--preset, its choices and their descriptions taken from the command's registry."""
    parser.add_argument(
        "--preset",
        choices=list(presets),
        help=f"{presets_help(presets)}; flags given as well override it",
    )


def target_specs(text: str) -> list[str]:
    """--targets: specs, comma-separated; commas inside {counts} and @pins stay."""
    found = split_specs(text)
    if not found:
        raise argparse.ArgumentTypeError("give at least one target")
    return found


def add_target_group(parser: argparse.ArgumentParser) -> Group:
    """--targets, --clients, --workers, --threads."""
    group = parser.add_argument_group("targets")
    group.add_argument(
        "--targets",
        type=target_specs,
        help=f"comma-separated target specs (default: {','.join(DEFAULT_TARGETS)}); "
        "see `bench targets`; name@django==5.1.* runs that target with its own package "
        "versions (an environment built with uv and cached in .venv-variants/)",
    )
    group.add_argument(
        "--clients",
        type=a.names,
        help="run each target once per upstream "
        "client (LLM_CLIENT), e.g. aiohttp,openai,openai-aiohttp,httpx",
    )
    group.add_argument("--workers", type=a.positive_int, help="override server workers")
    group.add_argument("--threads", type=a.positive_int, help="override threads per worker")
    return group


def add_load_group(parser: argparse.ArgumentParser) -> Group:
    """What load each point offers, and for how long: --scenarios, --users or --rate,
    --duration, --warmup, --repeat. A flag added here goes to `load_settings` too."""
    group = parser.add_argument_group("load")
    group.add_argument(
        "--scenarios",
        type=a.names,
        help=f"of {','.join(SCENARIOS)} (default {','.join(DEFAULT_SCENARIOS)})",
    )
    group.add_argument(
        "-u", "--users", type=a.int_list, help="closed loop: user counts, e.g. 10,50,200"
    )
    group.add_argument(
        "--rate",
        type=a.float_list,
        help="open loop: arrival rates, req/s over every Locust process, e.g. 10,30 "
        "(requests arrive whether or not the target keeps up; latency from each one's "
        "intended send)",
    )
    group.add_argument(
        "--arrivals",
        choices=KINDS,
        help="with --rate: how requests arrive: poisson (default; independent clients), "
        "constant, or gamma (with --burstiness)",
    )
    group.add_argument(
        "--burstiness",
        type=a.positive_float,
        help="with --arrivals gamma: the gaps' shape (1 = Poisson, below 1 burstier)",
    )
    group.add_argument(
        "--seed", type=a.non_negative_int, help="with --rate: the arrival schedule's seed (0)"
    )
    group.add_argument(
        "--max-outstanding",
        type=a.positive_int,
        help="with --rate: requests in flight per Locust process (10,000); an arrival over "
        "it is dropped, and counted",
    )
    group.add_argument("--duration", type=a.positive_float, help="measured window, s (default 5)")
    group.add_argument("--warmup", type=a.positive_float, help="unmeasured warm-up, s (default 2)")
    group.add_argument("--repeat", type=a.positive_int, help="repetitions per point (default 1)")
    return group


def add_mock_group(parser: argparse.ArgumentParser) -> Group:
    """The mock's latency model."""
    defaults = MockSettings()
    group = parser.add_argument_group("mock LLM (the latency model of the targets' upstream)")
    group.add_argument(
        "--mock-ttft-ms", type=float, help=f"mock time to first token ({defaults.ttft_ms:g})"
    )
    group.add_argument(
        "--mock-itl-ms", type=float, help=f"mock time between tokens ({defaults.itl_ms:g})"
    )
    group.add_argument(
        "--mock-tokens", type=a.positive_int, help=f"tokens per answer ({defaults.tokens})"
    )
    return group


def add_fault_group(parser: argparse.ArgumentParser) -> Group:
    """--mock-error-rate, --mock-error-codes, --fault-window, --upstream-timeout,
    --drop-after, --soak."""
    group = parser.add_argument_group("faults, disconnects and soaks")
    group.add_argument(
        "--mock-error-rate",
        type=a.share,
        help="share of upstream calls the mock fails, 0-1 (each point records what the "
        "clients got and checks it against the contract)",
    )
    group.add_argument(
        "--mock-error-codes",
        type=a.faults,
        help=f"faults drawn: statuses and the kinds {','.join(FAULT_KINDS)} (default 429,500)",
    )
    group.add_argument(
        "--fault-window",
        type=a.seconds_window,
        metavar="START:END",
        help="inject only from START to END seconds of each measured window, so that "
        "recovery after it is measured (default: the whole point)",
    )
    group.add_argument(
        "--upstream-timeout",
        type=a.positive_float,
        metavar="SECONDS",
        help="the services' upstream timeout, LLM_TIMEOUT_S (theirs: 30): a stalled "
        "upstream then costs this long per call before the 504",
    )
    group.add_argument(
        "--drop-after",
        type=a.positive_int,
        help="scenario disconnect: deltas each client reads before hanging up (3)",
    )
    group.add_argument(
        "--soak",
        type=a.positive_float,
        metavar="MINUTES",
        help="one long window per target (scenario complete, 50 users unless given) that "
        "records the server's memory, open files and threads and their growth",
    )
    return group


def add_upstream_group(parser: argparse.ArgumentParser) -> Group:
    """A running deployment, or a real upstream instead of the mock."""
    group = parser.add_argument_group("upstream and deployment (instead of the suite's own)")
    group.add_argument(
        "--target-url",
        "--host",
        help="measure this running deployment (no process management; verification still runs)",
    )
    group.add_argument("--mock-url", help="with --target-url: the deployment's mock, for /stats")
    group.add_argument(
        "--upstream-url",
        help="a real OpenAI-compatible base URL (…/v1) for the targets instead of the mock: "
        "vLLM, Ollama, llama.cpp, a hosted API; its latency is suffered, not set",
    )
    group.add_argument(
        "--upstream-key",
        help="with --upstream-url: its API key (better: the BENCH_UPSTREAM_KEY variable); "
        "never written to results or logs",
    )
    group.add_argument("--upstream-model", help="with --upstream-url: the model to ask for")
    group.add_argument(
        "--server-quota",
        type=a.positive_float,
        help="with --target-url: the CPU quota the deployment gives its server, in cores "
        "(recorded with the results; the suite cannot see it)",
    )
    return group


def add_locust_group(parser: argparse.ArgumentParser) -> Group:
    """Locust's processes, or a master and its workers elsewhere."""
    group = parser.add_argument_group("Locust, the load generator (its own flag names work too)")
    group.add_argument(
        "--locust-processes", "--processes", type=a.positive_int, help="Locust processes (1)"
    )
    group.add_argument(
        "--locust-master",
        "--master",
        action="store_true",
        help="run Locust as a master; "
        "the load comes from --expect-workers workers started elsewhere",
    )
    group.add_argument(
        "--expect-workers",
        type=a.positive_int,
        help="with --locust-master: how many Locust workers to wait for (they run "
        "`locust -f bench/locustfiles/ --worker --master-host HOST`)",
    )
    group.add_argument(
        "--master-bind-host",
        default="127.0.0.1",
        help="master's address for workers (0.0.0.0 in containers)",
    )
    group.add_argument(
        "--master-port",
        "--master-bind-port",
        type=a.positive_int,
        default=5557,
        help="master's port",
    )
    return group


def add_machine_group(parser: argparse.ArgumentParser) -> Group:
    """The cores of the server and of the load, and the ports the runner starts on."""
    group = parser.add_argument_group("this machine: cores and ports")
    group.add_argument("--server-cpus", type=a.cpus, help="cores of the server (default: half)")
    group.add_argument("--load-cpus", type=a.cpus, help="cores of Locust and the mock (the rest)")
    group.add_argument("--port", type=a.positive_int, default=8000, help="target port (8000)")
    group.add_argument("--mock-port", type=a.positive_int, default=8900, help="mock port (8900)")
    return group


def add_output_group(
    parser: argparse.ArgumentParser, bad_points: str, requests: bool = False
) -> Group:
    """--out, --no-summary and --allow-invalid (accepting a skipped target or `bad_points`);
    with `requests`, --save-requests."""
    group = parser.add_argument_group("output and exit status")
    group.add_argument("--out", help="run folder (default results/<run-id>/)")
    group.add_argument("--no-summary", action="store_true", help="skip the terminal tables")
    group.add_argument(
        "--telemetry",
        action="store_true",
        help="turn the services' /metrics on (METRICS=1) and scrape it every second: the "
        "servers' own evidence (loop lag, threadpools, GC) in each point; it costs 2-11 %% "
        "more CPU per request, 32 %% on gunicorn's ASGI worker (docs/metrics.md)",
    )
    if requests:
        group.add_argument(
            "--save-requests",
            action="store_true",
            help="keep every request: one row each in <out>/requests/<point>.csv.gz, with "
            "the mock's log of its calls and the services' access lines (bench show RUN "
            "--requests)",
        )
    group.add_argument(
        "--allow-invalid",
        action="store_true",
        help=f"exit 0 even when a target was skipped or {bad_points}",
    )
    return group


def add_live_group(parser: argparse.ArgumentParser) -> Group:
    """--live and --live-port."""
    group = parser.add_argument_group("live view")
    group.add_argument(
        "--live",
        action="store_true",
        help="serve a live view of the run on 127.0.0.1 (the URL is printed at start)",
    )
    group.add_argument(
        "--live-port",
        type=a.positive_int,
        help=f"port of the live view ({DEFAULT_PORT}); implies --live",
    )
    return group


# --- from the flags to the settings objects -------------------------------------------


def target_names(args: argparse.Namespace, preset: Preset | None) -> list[str]:
    """The target specs asked for (else the preset's, else the defaults), as named in
    results; PlanError naming an unknown one."""
    names = args.targets or (list(preset.targets) if preset else list(DEFAULT_TARGETS))
    return plan.target_names(names)


def load_settings(args: argparse.Namespace) -> LoadSettings:
    """The load group's flags (and --soak) as one object with its rules."""
    return LoadSettings(
        scenarios=tuple(args.scenarios or ()),
        users=tuple(args.users or ()),
        rates=tuple(args.rate or ()),
        duration_s=args.duration,
        warmup_s=args.warmup,
        repeat=args.repeat,
        soak_min=args.soak,
        arrivals=args.arrivals,
        burstiness=args.burstiness,
        seed=args.seed,
        max_outstanding=args.max_outstanding,
    )


def mock_settings(args: argparse.Namespace) -> MockSettings:
    """The mock's latency model from the flags (defaults where not given)."""
    defaults = MockSettings()
    return MockSettings(
        ttft_ms=args.mock_ttft_ms if args.mock_ttft_ms is not None else defaults.ttft_ms,
        itl_ms=args.mock_itl_ms if args.mock_itl_ms is not None else defaults.itl_ms,
        tokens=args.mock_tokens or defaults.tokens,
    )


def fault_settings(args: argparse.Namespace) -> FaultSettings:
    """The faults asked for (their window is checked by the plan, against its own)."""
    return FaultSettings(args.mock_error_rate, args.mock_error_codes or (), args.fault_window)


def locust_settings(args: argparse.Namespace) -> LocustSettings:
    """How Locust runs, from the Locust group."""
    return LocustSettings(
        processes=args.locust_processes,
        master=args.locust_master,
        expect_workers=args.expect_workers,
        master_bind_host=args.master_bind_host,
        master_port=args.master_port,
    )


def cpu_split(args: argparse.Namespace) -> tuple[list[int], list[int]]:
    """The server's and the load's cores from the flags, each within this machine's usable
    cores (UsageError); the plan refuses them when they overlap."""
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
    return server, load


def _key_given(args: argparse.Namespace) -> str | None:
    # A key given as a flag was moved into the environment before (bench.cli): it still
    # counts as given, unlike a key the environment held all along.
    if args.upstream_key:
        return str(args.upstream_key)
    return os.environ.get(KEY_VARIABLE) if os.environ.get(KEY_MOVED) else None


def options_from_args(args: argparse.Namespace, out: Path) -> Options:
    """Where and against what the run measures (not part of what is measured); the
    upstream's rules are checked once, by Options itself."""
    return Options(
        out,
        args.port,
        args.mock_port,
        args.target_url,
        args.mock_url,
        server_quota=args.server_quota,
        upstream_url=args.upstream_url,
        upstream_model=args.upstream_model,
        upstream_key=_key_given(args),
        save_requests=bool(getattr(args, "save_requests", False)),
    )


# --- this machine, and the run itself --------------------------------------------------


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


def add_objective_flags(group: Group, e2e_flag: str | None = None) -> None:
    """--slo and --slo-share: the per-request objectives and the share that must meet them."""
    also = f" ({e2e_flag} sets e2e too)" if e2e_flag else ""
    group.add_argument(
        "--slo",
        help="per-request objectives, any of ttft=MS,itl=MS,tpot=MS,e2e=MS: a request meets "
        "ttft when its own first token came within it, itl when its longest gap between "
        "tokens did (default: the mock's figures x 1.25 + 50 ms; docs/metrics.md)" + also,
    )
    group.add_argument(
        "--slo-share",
        type=a.fraction_or_one,
        help="the share of requests that must meet them (0.99)",
    )


def check_requests_folder(options: Options) -> None:
    """--save-requests: refuse a folder that cannot be written, in one line."""
    folder = options.requests_dir
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".writable"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"--save-requests cannot write {folder}: {exc.strerror or exc}; give another --out"
        ) from None


def check_new_folder(out: Path, instead: str) -> None:
    """Refuse a folder that already holds a run; `instead` says what to do."""
    if (out / store.RESULTS_NAME).exists():
        raise UsageError(f"{out} already holds a run; {instead}")


def run_to_end(execute: Callable[[], Run], command: str, kept: Callable[[], str]) -> Run | int:
    """The run `execute` measures, or the exit status when it broke off: interrupted
    (`kept` says what was kept, and how to go on) or failed."""
    try:
        return execute()
    except Interrupted as exc:
        console.print(f"[yellow]interrupted ({exc})[/]: every server stopped; {kept()}")
        return a.EXIT_INTERRUPTED
    except RuntimeError as exc:
        console.print(f"[red]bench {command} failed[/]: {exc}")
        return a.EXIT_FAILED
