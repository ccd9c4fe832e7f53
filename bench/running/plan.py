"""What a run measures: targets x scenarios x loads x repetitions, its rules, the presets.

A Plan checks its own content when it is made (`__post_init__`): unknown targets or
scenarios, closed and open loads mixed within one scenario, cores shared, a fault window
too late. Every way of making one, the command line's, a demo's, a resumed run's, meets
the same rules, and each broken one raises PlanError (bench.running.rules) in one line.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from bench.locustfiles.knobs import DEFAULT_DROP_AFTER, DEFAULT_PROMPT, DEFAULT_TOKENS
from bench.results.faults import FaultPlan
from bench.results.model import DEFAULT_SCENARIOS, SCENARIOS, Load
from bench.running import objectives
from bench.running.cpus import usable_cpus
from bench.running.rules import PlanError, require
from bench.running.targets import (
    DEFAULT_TARGETS,
    TARGETS,
    Target,
    UnknownTarget,
    resolve,
    with_client,
)
from bench.running.timing import PointTiming
from mock_llm.tokens import prompt_tokens

if TYPE_CHECKING:  # the runner imports this module: Options is only a type here
    from bench.running.runner import Options

# Recovery after a fault window is measured in the window's last seconds: at least these.
RECOVERY_S = 3.0
# Open loop: the arrivals one Locust process sends on time (lateness p99 within
# bench.results.limits.LATE_MS) against a real target on the 2-core machine, its mock on
# the same core (bench.locustfiles.scenario; docs/methodology.md says how it was measured).
MAX_RATE_PER_PROCESS = 1500.0
# `make bench` offers hello at a fixed open-loop rate: one Locust process serves fewer
# closed-loop requests than one server core answers for FastAPI and the framework-less
# baseline, so at 50 users their figures were the generator's (throughput, latency) and
# moved with its core between runs. 400 req/s is a quarter of what DRF, the slowest
# default stack, serves on one core of the 2-core machine, and half on a core twice as
# slow: every stack keeps up, and its latency and CPU per request are its own.
HELLO_RATE = 400.0


@dataclass(frozen=True)
class MockSettings:
    """The upstream latency model of a run (the mock's flags)."""

    ttft_ms: float = 200.0
    itl_ms: float = 20.0
    tokens: int = DEFAULT_TOKENS
    # Relative spread of ttft and itl, and of answer lengths: 0 in `bench run`, so that
    # no difference between frameworks can come from the mock; the capacity search's
    # LLM-like latency varies them so that thousands of users do not move in cohorts.
    jitter: float = 0.0
    length_spread: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        require(
            self.ttft_ms >= 0 and self.itl_ms >= 0,
            "--mock-ttft-ms and --mock-itl-ms must not be negative",
        )

    def sets_latency(self) -> bool:
        """Whether this model's latency differs from the default one (the --mock-* flags)."""
        default = MockSettings(tokens=self.tokens)
        return (self.ttft_ms, self.itl_ms) != (default.ttft_ms, default.itl_ms)

    def latency_ms(self) -> float:
        """Mean time to a whole answer of `tokens` tokens (spreads are symmetric)."""
        return self.ttft_ms + (self.tokens - 1) * self.itl_ms

    def p99_latency_ms(self, draws: int = 20_000) -> float:
        """The 99th percentile of this model's answer latency, drawn as the mock draws it.

        Without spreads it is the latency itself. With them, ttft and itl are each scaled
        by a normal factor clamped at 3 sigma, and the length is drawn uniformly within
        the spread (mock_llm.service); seeded, so the figure is the same every time.
        """
        if not self.jitter and not self.length_spread:
            return self.latency_ms()
        rng = random.Random(self.seed)
        low, high = max(1 - 3 * self.jitter, 0.0), 1 + 3 * self.jitter

        def factor() -> float:
            return min(max(rng.gauss(1.0, self.jitter), low), high) if self.jitter else 1.0

        spread = self.length_spread
        samples = sorted(
            self.ttft_ms * factor()
            + (max(1, round(self.tokens * rng.uniform(1 - spread, 1 + spread))) - 1)
            * self.itl_ms
            * factor()
            for _ in range(draws)
        )
        return samples[math.ceil(0.99 * draws) - 1]

    def max_tokens(self) -> int:
        """What clients ask for: enough that the mock's own (drawn) cap decides."""
        return math.ceil(self.tokens * (1 + self.length_spread))

    def mock_args(self) -> list[str]:
        """The mock's flags for this model."""
        return [
            "--ttft-ms", f"{self.ttft_ms:g}", "--itl-ms", f"{self.itl_ms:g}",
            "--output-tokens", str(self.tokens), "--jitter", f"{self.jitter:g}",
            "--length-spread", f"{self.length_spread:g}", "--seed", str(self.seed),
        ]  # fmt: skip

    def scenario_args(self) -> list[str]:
        """The scenario's knobs that depend on the answers: tokens asked and expected."""
        args = ["--bench-max-tokens", str(self.max_tokens())]
        if self.length_spread:
            # Each answer's length varies: fidelity counts each stream against its own.
            prompt: list[dict[str, object]] = [{"role": "user", "content": DEFAULT_PROMPT}]
            return [*args, "--bench-prompt-tokens", str(prompt_tokens(prompt))]
        return [*args, "--bench-expected-tokens", str(self.tokens)]

    def describe(self) -> dict[str, Any]:
        """The latency model as results record it."""
        return {**asdict(self), "answer_ms": self.latency_ms(), "p99_ms": self.p99_latency_ms()}


@dataclass
class Plan:
    """Everything `bench run` was asked to do; stored in results.json for --resume."""

    targets: list[str]
    scenarios: list[str]
    loads: dict[str, list[Load]]  # per scenario
    duration_s: float = 5.0
    warmup_s: float = 2.0
    repeat: int = 1
    workers: int | None = None
    threads: int | None = None
    mock: MockSettings = field(default_factory=MockSettings)
    server_cpus: list[int] = field(default_factory=list)
    load_cpus: list[int] = field(default_factory=list)
    locust_processes: int = 1
    preset: str | None = None
    clients: list[str] | None = None  # LLM_CLIENT values: each target once per client
    # Master mode: Locust workers started elsewhere (other hosts, compose) do the load.
    expect_workers: int | None = None
    master_bind_host: str = "127.0.0.1"
    master_port: int = 5557
    faults: FaultPlan | None = None  # upstream faults injected during each point
    soak: bool = False  # record the server's resources over each window (--soak)
    drop_after: int = DEFAULT_DROP_AFTER  # scenario disconnect: deltas read before hanging up
    upstream_timeout_s: float | None = None  # the targets' LLM_TIMEOUT_S (None: theirs, 30)
    # Open loop: the arrival schedule's seed, and each Locust process's cap of requests
    # in flight (None: the scenario's own, DEFAULT_MAX_OUTSTANDING).
    seed: int = 0
    max_outstanding: int | None = None
    # Per-request objectives (`--slo ttft=600,itl=100`; None: the defaults of
    # bench.running.objectives), and the share of requests that must meet them.
    slos: str | None = None
    slo_share: float = 0.99
    # The services' own /metrics (METRICS=1), scraped every second of each window. Off
    # unless asked: it costs 2 to 11 % more CPU per request on most server models, 32 %
    # on gunicorn's ASGI worker (docs/metrics.md), which a comparison would charge to them.
    telemetry: bool = False

    def __post_init__(self) -> None:
        target_names(self.targets)
        unknown = [s for s in self.scenarios if s not in SCENARIOS]
        require(
            not unknown, f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}"
        )
        # One scenario's loads are one sweep, of users or of rates; scenarios may differ
        # (the quick preset offers hello at a rate and the LLM calls to users).
        mixed = [s for s, loads in self.loads.items() if len({load.mode for load in loads}) > 1]
        require(
            not mixed,
            f"give --users (closed loop) or --rate (open loop), not both ({', '.join(mixed)} "
            "had both)",
        )
        check_cores(self.server_cpus, self.load_cpus)
        self._check_fault_window()
        self._check_rates()
        objectives.check(self.slos, self.scenarios)
        require(0 < self.slo_share <= 1, f"--slo-share must be in (0, 1], not {self.slo_share:g}")

    def generator_processes(self) -> int:
        """The Locust processes that make the load: the master's workers, or this host's."""
        return self.expect_workers or self.locust_processes

    def _check_rates(self) -> None:
        """Each Locust process schedules at most MAX_RATE_PER_PROCESS arrivals a second."""
        rates = [load.amount for loads in self.loads.values() for load in loads if load.open_loop]
        if not rates:
            return
        processes = self.generator_processes()
        need = math.ceil(max(rates) / MAX_RATE_PER_PROCESS)
        require(
            need <= processes,
            f"--rate {max(rates):g} is {max(rates) / processes:,.0f} req/s for each of "
            f"{processes} Locust process(es), which send at most {MAX_RATE_PER_PROCESS:,.0f} "
            f"req/s on time; give --locust-processes {need} (or fewer req/s)",
        )

    def _check_fault_window(self) -> None:
        window = self.faults.window if self.faults else None
        if window is not None and window[1] > self.duration_s - RECOVERY_S:
            raise PlanError(
                f"--fault-window {window[0]:g}:{window[1]:g} must end at least "
                f"{RECOVERY_S:g} s before the {self.duration_s:g} s window does, so that "
                "recovery is measured; lengthen --duration or end it sooner"
            )

    def check_options(self, options: Options) -> None:
        """The rules between what is measured and where: a deployment, another upstream."""
        upstream = options.upstream()
        require(
            not (self.faults and not upstream.latency_set),
            "--mock-error-rate sets the suite's mock; the upstream here is not one "
            "(with --target-url, give its --mock-url)",
        )
        require(
            not (self.upstream_timeout_s and options.target_url),
            "--upstream-timeout sets the targets the runner starts, not a deployment",
        )
        require(
            not (upstream.kind == "real" and self.mock.sets_latency()),
            "the --mock-* latency flags set the mock; --upstream-url has none",
        )
        if options.target_url:
            require(
                not any(t.pins for t in self.expanded_targets()),
                "@pins need the runner to start the target; not with --target-url",
            )
        check_deployment(self.targets, options)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["loads"] = {s: [load.to_dict() for load in loads] for s, loads in self.loads.items()}
        data["faults"] = self.faults.to_dict() if self.faults else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        loads = {
            scenario: [Load.from_dict(item) for item in items]
            for scenario, items in data["loads"].items()
        }
        faults = FaultPlan.from_dict(data["faults"]) if data.get("faults") else None
        return cls(
            **{**data, "loads": loads, "mock": MockSettings(**data["mock"]), "faults": faults}
        )

    def target_env(self) -> tuple[tuple[str, str], ...]:
        """Settings every target the runner starts gets from this plan."""
        settings: list[tuple[str, str]] = []
        if self.upstream_timeout_s is not None:
            settings.append(("LLM_TIMEOUT_S", f"{self.upstream_timeout_s:g}"))
        if self.telemetry:
            settings.append(("METRICS", "1"))
        return tuple(settings)

    def points(self) -> list[tuple[Target, str, Load, int]]:
        """Return every (target, scenario, load, repetition) in the order they run."""
        specs = []
        for target in self.expanded_targets():
            for scenario in self.scenarios:
                if scenario not in target.scenarios:
                    continue
                for load in self.loads[scenario]:
                    for repetition in range(1, self.repeat + 1):
                        specs.append((target, scenario, load, repetition))
        return specs

    def timing(self) -> PointTiming:
        """How long each point of this plan takes."""
        master = self.expect_workers is not None
        distributed = master or self.locust_processes > 1
        return PointTiming.of(
            self.warmup_s, self.duration_s, distributed=distributed, master=master
        )

    def expanded_targets(self) -> list[Target]:
        """Return the targets, once per upstream client when clients are given."""
        targets = resolve(self.targets)
        if not self.clients:
            return targets
        return [with_client(t, c) for t in targets for c in self.clients if t.framework != "none"]


def target_names(specs: list[str]) -> list[str]:
    """The targets' names as results write them; PlanError naming a spec that is unknown."""
    try:
        return [target.name for target in resolve(specs)]
    except UnknownTarget as exc:
        raise PlanError(str(exc)) from None


def check_cores(server: list[int], load: list[int]) -> None:
    """The server's and the load's cores are apart (unless the machine has only one)."""
    if set(server) & set(load) and len(usable_cpus()) > 1:
        raise PlanError(
            f"--server-cpus {server} and --load-cpus {load} overlap; split the "
            f"cores {usable_cpus()} between them"
        )


def check_deployment(targets: list[str], options: Options) -> None:
    """A deployment given with --target-url is one target, named."""
    require(
        not (options.target_url and len(targets) != 1),
        "with --target-url, name the deployment's target with --targets NAME",
    )


def default_cpus() -> tuple[list[int], list[int]]:
    """Split the usable cores: the first half serves, the rest drive the load and the mock."""
    cpus = usable_cpus()
    if len(cpus) == 1:
        return cpus, cpus
    half = len(cpus) // 2
    return cpus[:half], cpus[half:]


@dataclass(frozen=True)
class Preset:
    """A named plan of one command: what it measures, on which targets, for how long.

    `bench run` reads its loads, window, warm-up and repetitions; `bench capacity` its
    scenarios and latencies (its search sets the loads). Flags given beside a preset
    override its parts.
    """

    name: str
    measures: str  # what it measures, in a sentence
    about: str  # a few words for --help: its time, or its scope
    targets: tuple[str, ...]
    loads: dict[str, tuple[Load, ...]] = field(default_factory=dict)
    duration_s: float = 5.0
    warmup_s: float = 2.0
    repeat: int = 1
    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
    latencies: tuple[str, ...] = ()  # bench capacity's upstream latencies
    # ... and those at which it searches only the max in flight (CapacityPlan's).
    in_flight_only: tuple[str, ...] = ()


def presets_help(presets: dict[str, Preset]) -> str:
    """The presets as --help names them: `name (about), ...`."""
    return ", ".join(f"{p.name} ({p.about})" for p in presets.values())


def _users(*values: int) -> tuple[Load, ...]:
    return tuple(Load("users", value) for value in values)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="quick",
            measures="the three frameworks on their default servers plus the calibration "
            "hello: a short sweep that fits in 5 minutes on 2 cores",
            about="~3 min",
            targets=(*DEFAULT_TARGETS, "baseline-uvicorn"),
            loads={
                "hello": (Load.open(HELLO_RATE),),
                "complete": _users(50, 200),
                "stream": _users(50),
            },
        ),
        Preset(
            name="standard",
            measures="every realistic target, with repetitions: within 30 minutes on 2 cores",
            about="~23 min",
            targets=tuple(t.name for t in TARGETS if t.tag in ("realistic", "calibration")),
            loads={"hello": _users(50), "complete": _users(200), "stream": _users(100)},
            repeat=3,
        ),
        Preset(
            name="full",
            measures="everything, teaching and calibration targets included, with a wider sweep",
            about="everything",
            targets=tuple(t.name for t in TARGETS),
            loads={
                "hello": _users(10, 100),
                "complete": _users(10, 100, 500),
                "stream": _users(10, 100),
            },
            duration_s=10.0,
            warmup_s=3.0,
            repeat=3,
        ),
    )
}
