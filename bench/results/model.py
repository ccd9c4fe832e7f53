"""The results model: a run, its points, the level that groups repetitions, warnings, limits.

Every consumer (analysis, summaries, reports, comparisons, lessons, demos) reads these
types, never the JSON dicts. Each record is a frozen dataclass whose fields are the
file's fields (bench.results.fields derives the file form and the JSON schema from
them; bench.results.store owns the file, its schema version and its migrations). A point
is built once, from what was measured, with its figures and verdicts; what depends on
other points (repetitions that disagree, calibration) makes new points, never changes
one. A verdict that follows from the record (`valid`) is derived, not stored into it.
"""

from __future__ import annotations

import statistics
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal

from bench.results.faults import Cancel, Faults, Growth
from bench.results.fields import (
    JSON,
    Schema,
    from_json,
    json_key,
    json_schema,
    to_json,
    unknown,
    written,
)

SCENARIOS = ("hello", "complete", "stream", "disconnect")
# What a run measures unless told: clients that hang up are a scenario of their own.
DEFAULT_SCENARIOS = ("hello", "complete", "stream")
IO_BOUND = ("complete", "stream", "disconnect")
# What `bench capacity` searches: a client that hangs up is not load a service serves.
CAPACITY_SCENARIOS = ("complete", "stream")
PERCENTILE_KEYS = ("p50", "p90", "p99", "p999", "max", "mean")

LoadMode = Literal["users", "rate"]
Status = Literal["ok", "failed"]


# --- the load, and the level that groups repetitions --------------------------------


# How requests arrive at a rate: open-loop arrivals (bench.locustfiles.arrivals), or, in
# files of schema 4 and before, closed-loop users each paced to a share of the rate.
ARRIVALS = ("poisson", "constant", "gamma", "paced")


@dataclass(frozen=True, order=True)
class Load:
    """Closed loop (`users`) or open loop (`rate`: requests per second, arriving as
    `arrivals` says; gamma arrivals have a `burstiness`)."""

    mode: LoadMode
    amount: float
    arrivals: str = ""  # a rate's: one of ARRIVALS
    burstiness: float = 1.0

    JSON_SCHEMA: ClassVar[Schema] = {
        "type": "object",
        "required": ["mode"],
        "properties": {
            "mode": {"enum": ["users", "rate"]},
            "users": {"type": "integer", "minimum": 1},
            "rate": {"type": "number", "exclusiveMinimum": 0},
            "arrivals": {"enum": list(ARRIVALS)},
            "burstiness": {"type": "number", "exclusiveMinimum": 0},
        },
    }

    def __post_init__(self) -> None:
        if self.mode == "rate" and self.arrivals not in ARRIVALS:
            raise ValueError(f"a rate's arrivals are one of {', '.join(ARRIVALS)}")

    @classmethod
    def open(cls, rate: float, arrivals: str = "poisson", burstiness: float = 1.0) -> Load:
        """Open-loop arrivals at `rate` req/s."""
        return cls("rate", rate, arrivals, burstiness if arrivals == "gamma" else 1.0)

    @property
    def users(self) -> int | None:
        return int(self.amount) if self.mode == "users" else None

    @property
    def rate(self) -> float | None:
        return self.amount if self.mode == "rate" else None

    @property
    def open_loop(self) -> bool:
        """Arrivals fixed in advance, whatever the answers (not paced users)."""
        return self.mode == "rate" and self.arrivals != "paced"

    def label(self) -> str:
        """Return "50 users", "20 req/s Poisson" or "20 req/s gamma (burstiness 0.5)"."""
        if self.mode == "users":
            return f"{self.amount:g} users"
        kind = {"poisson": "Poisson", "paced": "paced users"}.get(self.arrivals, self.arrivals)
        if self.arrivals == "gamma":
            kind += f" (burstiness {self.burstiness:g})"
        return f"{self.amount:g} req/s {kind}"

    def to_dict(self) -> dict[str, JSON]:
        if self.mode == "users":
            return {"mode": "users", "users": int(self.amount)}
        shape = {"burstiness": self.burstiness} if self.arrivals == "gamma" else {}
        return {"mode": "rate", "rate": self.amount, "arrivals": self.arrivals, **shape}

    @classmethod
    def from_dict(cls, data: Mapping[str, JSON]) -> Load:
        if data["mode"] == "users":
            return cls("users", float(data["users"]))
        arrivals = str(data.get("arrivals") or "paced")
        return cls("rate", float(data["rate"]), arrivals, float(data.get("burstiness") or 1.0))


@dataclass(frozen=True, order=True)
class Level:
    """What repetitions share: one target at one load of one scenario, on one client.

    The client keeps apart the points of a target measured once per upstream client
    (`--clients`) even where the target's name does not say it.
    """

    target: str
    scenario: str
    load: Load
    client: str = "default"

    def label(self) -> str:
        """Return "target / scenario / load"."""
        return f"{self.target} / {self.scenario} / {self.load.label()}"


# --- warnings and limits, as data ----------------------------------------------------


@dataclass(frozen=True)
class Warning:
    """A validity warning: what it is (code), whether it invalidates, its text, its figures.

    Code decides meaning everywhere (columns, validity, filters); the text is for people
    and may be reworded freely.
    """

    code: str
    text: str
    invalid: bool = False
    figures: Mapping[str, float] = field(default_factory=dict)

    def display(self) -> str:
        """The text as reports print it: invalidating warnings start with "INVALID: "."""
        return f"INVALID: {self.text}" if self.invalid else self.text


LimitKind = Literal[
    "server-cpu",
    "target-concurrency",
    "open-files",
    "generator",
    "mock",
    "window",
    "none",
    "server-latency",
    "unexplained",
]
LIMIT_KINDS: tuple[str, ...] = typing.get_args(LimitKind)


@dataclass(frozen=True)
class Limit:
    """What binds a point: its kind, a sentence with the numbers, and the evidence."""

    kind: LimitKind
    detail: str
    evidence: Mapping[str, float] = field(default_factory=dict)

    def short(self, width: int = 70) -> str:
        """The kind and the first clause of the detail, for a table cell."""
        clause = self.detail.split(";")[0].split(": too few")[0]
        text = f"{self.kind}: {clause}"
        return text if len(text) <= width else text[: width - 1] + "\N{HORIZONTAL ELLIPSIS}"


# --- the figures of a point ----------------------------------------------------------


@dataclass(frozen=True)
class Percentiles:
    """A latency distribution's summary, in milliseconds."""

    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None
    mean: float | None = None

    @classmethod
    def of(cls, summary: Mapping[str, float | None]) -> Percentiles:
        """From a histogram's summary (bench.results.histogram)."""
        return cls(*(summary.get(key) for key in PERCENTILE_KEYS))


@dataclass(frozen=True)
class PerSecond:
    """A point's window second by second: requests completed, errors, and latency.

    Each list holds one value per whole second of the window, in order; a latency is None
    for a second in which no request completed. Streams also keep TTFT's p50.
    """

    start: int  # Unix second of the first entry
    requests: tuple[int, ...]
    errors: tuple[int, ...]
    mean_ms: tuple[float | None, ...]
    p50_ms: tuple[float | None, ...]
    p99_ms: tuple[float | None, ...]
    ttft_p50_ms: tuple[float | None, ...] | None = None
    # Open loop: the most requests the generator had in flight in each second.
    outstanding: tuple[int, ...] | None = None
    # The server tree's CPU (100 % = one core) in each second: CPU per request from one
    # window's seconds (bench.results.intervals).
    server_cpu_pct: tuple[float | None, ...] | None = None
    # With objectives: the requests that met every one, second by second (goodput).
    met: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Objectives:
    """Per-request objectives in ms (None: not an objective): a request meets `ttft` when
    its own first token came within it, `itl` when its longest gap between tokens did,
    `tpot` when its mean time per output token did, `e2e` when its whole answer did
    (bench.locustfiles.slo judges them as each request completes)."""

    ttft_ms: float | None = None
    itl_ms: float | None = None
    tpot_ms: float | None = None
    e2e_ms: float | None = None

    def text(self) -> str:
        """`ttft=600,itl=100`: how `--slo` writes them."""
        named = (("ttft", self.ttft_ms), ("itl", self.itl_ms), ("tpot", self.tpot_ms),
                 ("e2e", self.e2e_ms))  # fmt: skip
        return ",".join(f"{name}={value:g}" for name, value in named if value is not None)


@dataclass(frozen=True)
class Usage:
    """CPU (100 % = one core) and peak memory of a process tree over the window."""

    cpu_pct: float | None = None
    rss_mb: float | None = None


@dataclass(frozen=True)
class Telemetry:
    """The server's own series (its /metrics, scraped every second of the window;
    bench.results.telemetry): per second from `start`, and over the whole window.

    Sums over the workers: requests and upstream calls in progress, AnyIO's threadpool
    (FastAPI) busy and waiting, gthread's busy threads; lags are the p99 of a loop's or
    gevent hub's lag samples in that second; GC, the pauses' total.
    """

    start: int
    scrapes: int
    missed: int  # scrapes that failed or came too late
    in_progress: tuple[float | None, ...] = ()
    upstream_in_progress: tuple[float | None, ...] = ()
    loop_lag_ms: tuple[float | None, ...] = ()
    hub_lag_ms: tuple[float | None, ...] = ()
    threadpool_busy: tuple[float | None, ...] = ()
    threadpool_waiting: tuple[float | None, ...] = ()
    threads_busy: tuple[float | None, ...] = ()
    gc_pause_ms: tuple[float | None, ...] = ()
    loop_lag_p99_ms: float | None = None
    loop_lag_max_ms: float | None = None  # the workers' largest of the last 30 to 60 s
    hub_lag_p99_ms: float | None = None
    hub_lag_max_ms: float | None = None
    threadpool_size: float | None = None
    threads_size: float | None = None
    gc_pauses: float | None = None
    gc_pause_ms_total: float | None = None
    request_ms_mean: float | None = None  # in the app, first byte seen to last sent
    upstream_ms_mean: float | None = None  # its upstream calls
    requests_served: float | None = None


@dataclass(frozen=True)
class Point:
    """One target x scenario x load x repetition: what was measured, its figures, verdicts.

    Built once: the runner describes the target and the load (the identity below), the
    analysis adds what the window measured; `valid` follows from the status and warnings.
    """

    # What was measured, under which conditions (bench.running builds it in one place).
    target: str
    framework: str
    worker_class: str
    variant: str | None
    workers: int = field(metadata=json_schema(minimum=1))
    threads: int = field(metadata=json_schema(minimum=1))
    tag: str
    scenario: str = field(metadata=json_schema(enum=list(SCENARIOS)))
    load: Load
    repetition: int = field(metadata=json_schema(minimum=1))
    window_s: float
    server_model: str
    client: str = "default"
    locust_users: int | None = None
    server_cores: int | None = None
    concurrency: Mapping[str, int] = field(default_factory=dict)  # declared limits
    # A package variant (a spec such as name@django==5.1.*): the pins asked for, and the
    # versions its own environment resolved (None: the run's environment).
    pins: tuple[str, ...] = ()
    packages: Mapping[str, str | None] | None = None
    # What the window measured.
    status: Status = written("ok")
    failure: str | None = None
    requests: int = written(0, minimum=0)
    errors: Mapping[str, int] = written(factory=dict)
    throughput_rps: float = written(0.0, minimum=0)
    latency_ms: Percentiles | None = written(None)
    # The 95 % distribution-free interval of p99 (bench.results.quantiles); the high end
    # is None when too few requests completed to bound it from above.
    p99_low_ms: float | None = None
    p99_high_ms: float | None = None
    # How clumped the slowest answers were across the window's seconds (1: as independent
    # answers; bench.results.quantiles): the interval above is widened by it.
    p99_clumping: float | None = None
    ttft_ms: Percentiles | None = None
    tpot_ms: Percentiles | None = None
    itl_ms: Percentiles | None = None
    chunk_fidelity: float | None = None
    server: Usage = written(Usage())
    server_cores_busy_pct: float | None = None  # the server's cores, whoever kept them busy
    generator: Usage = written(Usage())
    generator_processes: int | None = None
    generator_hosts: int | None = None
    mock: Usage = Usage()
    upstream_calls: int | None = written(None)
    in_flight_mean: float | None = None  # the mock's requests in flight, sampled
    in_flight_peak: int | None = None
    achieved_rate: float | None = None
    # Open loop (`latency_ms` is then the response time, from the intended send): the
    # service time from the actual send, how late the generator sent, the requests it
    # sent in the window and the arrivals it dropped at its cap of requests in flight,
    # and the most it had in flight.
    service_ms: Percentiles | None = None
    lateness_ms: Percentiles | None = None
    sent: int | None = None
    dropped: int | None = None
    outstanding_peak: int | None = None
    # Objectives (`--slo`): what each request was judged against, how many were judged
    # (successes and failures), how many met every objective that applies, and each.
    objectives: Objectives | None = None
    slo_share: float = 0.99  # the share of requests that must meet them
    judged: int | None = None
    met: int | None = None
    met_clumping: float | None = None  # ... how clumped the misses were (as p99_clumping)
    met_by: Mapping[str, int] = field(default_factory=dict)
    seconds: PerSecond | None = None  # whole seconds only: intervals from one window
    telemetry: Telemetry | None = None  # the server's own /metrics over the window
    # Injected upstream faults, client disconnects, a soak's resources (bench.results.faults).
    faults: Faults | None = None
    cancel: Cancel | None = None
    growth: Growth | None = None
    # Figures derived from the measurements and the conditions when the point was built.
    ceiling_rps: float | None = written(None)
    model_ceiling_rps: float | None = None
    efficiency: float | None = written(None)
    model_efficiency: float | None = None
    rate_shortfall: float | None = None
    cpu_us_per_request: float | None = None
    goodput_rps: float | None = None  # requests a second that met every objective
    # Verdicts.
    warnings: tuple[Warning, ...] = written(())
    limit: Limit | None = None
    # A capacity step's: held, served, failed or undecided (bench.results.capacity).
    decision: str | None = field(default=None, metadata=json_schema(
        enum=["held", "served", "failed", "undecided", None]))
    # Fields of later versions or of other tools: kept as they are.
    extra: Mapping[str, JSON] = unknown()

    DERIVED: ClassVar[tuple[str, ...]] = ("valid",)

    @property
    def valid(self) -> bool:
        """Finished, and no warning invalidates it."""
        return self.ok and not any(w.invalid for w in self.warnings)

    @property
    def met_share(self) -> float | None:
        """The share of the requests judged that met every objective."""
        if not self.judged or self.met is None:
            return None
        return self.met / self.judged

    @property
    def level(self) -> Level:
        return Level(self.target, self.scenario, self.load, self.client)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def base_target(self) -> str:
        """The target without its package pins (name@django==5.1.* -> name)."""
        return self.target.split("@", 1)[0]

    @property
    def failed_requests(self) -> int:
        return sum(self.errors.values())

    def has(self, code: str) -> bool:
        """Tell whether the point carries a warning with this code."""
        return any(w.code == code for w in self.warnings)

    def without(self, *codes: str) -> Point:
        """The point without the warnings of these codes (before they are computed again)."""
        return replace(self, warnings=tuple(w for w in self.warnings if w.code not in codes))

    def warned(self, *added: Warning) -> Point:
        """The point with these warnings added."""
        return replace(self, warnings=(*self.warnings, *added))

    def value(self, path: Sequence[str]) -> float | None:
        """Return the number at `path` (e.g. ("latency_ms", "p99")), or None."""
        item: object = self
        for name in path:
            item = getattr(item, name, None)
            if item is None:
                return None
        if isinstance(item, bool) or not isinstance(item, int | float):
            return None
        return float(item)

    def to_dict(self) -> dict[str, JSON]:
        """The point as the results file stores it."""
        return to_json(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, JSON]) -> Point:
        """Read a point of the current schema (older ones are migrated before)."""
        return from_json(cls, data)


# --- the run -------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedTarget:
    """A target that was not measured, and why."""

    target: str
    reason: str




@dataclass
class RunInfo:
    """Which run this is: id, times, command line, preset, the suite's commit."""

    id: str
    started_at: str
    finished_at: str | None
    command: str
    preset: str | None
    git_commit: str | None
    target_url: str | None = None
    skipped_targets: list[SkippedTarget] = field(default_factory=list)
    extra: Mapping[str, JSON] = unknown()


@dataclass(frozen=True)
class Container:
    """The container the bench ran in, as its cgroups really give it (bench.running.containers)."""

    in_container: bool
    runtime: str
    hostname: str
    container_id: str | None = None
    cgroup_version: int | None = None
    cpu_quota_cores: float | None = None
    cpuset: Sequence[int] | None = None
    online_cpus: int | None = None
    memory_limit_bytes: int | None = None


CORE_DRIFT = 0.20  # a run whose cores' speed moved by more than this says so (as
# bench.results.conditions.SPEED_TOLERANCE: less is one machine's own noise)


@dataclass(frozen=True)
class CoreSpeed:
    """How fast the server's cores ran a fixed piece of Python work (bench.running.speed),
    in thousands of units a second, as the run started and as it ended."""

    start: float | None
    end: float | None = None

    def drift(self) -> float | None:
        """How much faster (+) or slower (-) the cores ran at the end, as a fraction."""
        if not self.start or self.end is None:
            return None
        return self.end / self.start - 1.0


@dataclass(frozen=True)
class Deployment:
    """A server the bench did not start (--target-url) and the CPU quota it was given."""

    url: str
    quota_cores: float | None = None


@dataclass
class Environment:
    """What the numbers depend on: machine, cores, Python, package versions."""

    host: str
    os: str
    cpu_model: str
    cores: int | None
    server_cpus: list[int]
    load_cpus: list[int]
    python: str
    packages: dict[str, str | None]
    usable_cores: int | None = None
    pinned: bool | None = None  # None: not recorded (older files)
    nofile: int | None = None  # the open-file limit every child of the run got
    container: Container | None = None
    server: Deployment | None = None
    core_speed: CoreSpeed | None = None  # None: not measured (older files, a deployment)
    extra: Mapping[str, JSON] = unknown()

    def comparable(self) -> dict[str, object]:
        """The parts that must match for a fair comparison of two runs."""
        return {
            "cpu_model": self.cpu_model,
            "cores": self.cores,
            "server_cpus": self.server_cpus,
            "load_cpus": self.load_cpus,
            "python": self.python,
            "packages": self.packages,
        }


@dataclass(frozen=True)
class UpstreamInfo:
    """An upstream other than the suite's own mock: what it is (never its key)."""

    kind: str  # "real", "deployment-mock", "deployment"
    url: str | None
    model: str | None
    latency: Literal["set", "suffered"]


@dataclass
class MockInfo:
    """The upstream's latency model and faults in force during the run."""

    ttft_ms: float
    itl_ms: float
    output_tokens: int
    jitter: float = 0.0
    error_rate: float = 0.0
    answer_latency_ms: float | None = None
    external: bool = False
    length_spread: float = 0.0
    upstream: UpstreamInfo | None = None
    extra: Mapping[str, JSON] = unknown()

    def to_dict(self) -> dict[str, JSON]:
        return to_json(self)


@dataclass
class Run:
    """One results document: the run, its environment, the mock, the plan and the points."""

    schema_version: int
    info: RunInfo = field(metadata=json_key("run"))
    environment: Environment
    mock: MockInfo
    # The plan as the command that made the run stored it (bench run's or bench
    # capacity's: bench.running reads it back; results only read its window).
    plan: Mapping[str, JSON] | None = None
    points: list[Point] = written(factory=list)
    capacity: list[Capacity] = field(default_factory=list)
    extra: Mapping[str, JSON] = unknown()

    def to_dict(self) -> dict[str, JSON]:
        return to_json(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, JSON]) -> Run:
        return from_json(cls, data)

    def _capacity_conditions(self) -> str:
        latencies = {c.latency.name: (c.latency.answer_ms, c.slo_p99_ms) for c in self.capacity}
        described = ", ".join(
            f"{name} {answer:,.0f} ms (SLO p99 {slo:,.0f} ms)"
            for name, (answer, slo) in latencies.items()
        )
        users = max(c.max_users for c in self.capacity)
        arrivals = (
            ", open-loop Poisson arrivals for goodput"
            if any(c.goodput is not None for c in self.capacity)
            else ""
        )
        return (
            f"{self.where()}; upstream latencies {described}; up to {users:,} users; "
            f"closed-loop users for saturation and in flight{arrivals}; each step measured "
            "until its p99's 95 % interval lies on one side of the SLO, or its cap"
        )

    def targets(self) -> list[str]:
        """The targets in the order the run measured them."""
        return list(dict.fromkeys(p.target for p in self.points))

    def where(self) -> str:
        """Where the server and the load ran: pinned cores, or a deployment and its quota."""
        env = self.environment
        if env.server is not None:
            quota = env.server.quota_cores
            given = f", CPU quota {quota:g} core(s) as set by the deployment" if quota else ""
            place = f"server: the deployment at {env.server.url}{given}"
        else:
            place = f"server cores {env.server_cpus}"
        if env.pinned is False:
            place += " (not pinned: this system cannot pin processes to cores)"
        if env.container is not None and env.container.cpu_quota_cores:
            place += (
                f"; this bench ran in a container with {env.container.cpu_quota_cores:g} CPU(s)"
            )
        return f"{place}, load+mock cores {env.load_cpus} ({env.cpu_model}){self._speed()}"

    def _speed(self) -> str:
        """How fast the server's cores ran Python at the start and end (bench.running.speed)."""
        speed = self.environment.core_speed
        if speed is None or not speed.start:
            return ""
        text = f"; server core speed {speed.start:.0f}"
        drift = speed.drift()
        if drift is not None:
            text += f" at the start, {speed.end:.0f} at the end"
        text += " (a calibration loop, thousands a second)"
        if drift is not None:
            if abs(drift) > CORE_DRIFT:
                text += f", {abs(drift):.0%} {'faster' if drift > 0 else 'slower'} at the end: "
                text += "figures bound by the server's CPU moved with it"
        return text

    def upstream(self) -> str:
        """The upstream: the mock's set latency, or what was measured of a suffered one."""
        mock = self.mock
        described = mock.upstream
        if described is None or described.latency != "suffered":
            return (
                f"mock ttft {mock.ttft_ms:g} ms, itl {mock.itl_ms:g} ms, {mock.output_tokens} "
                f"tokens ({mock.answer_latency_ms or 0:g} ms per answer)"
            )
        if described.kind == "real":
            model = f", model {described.model}" if described.model else ""
            who = f"a real upstream at {described.url}{model}"
        else:
            who = "the deployment's own upstream"
        return f"{who}, its latency suffered, not set ({self._measured_latency()})"

    def _measured_latency(self) -> str:
        """At the lowest load: answers' p50 and streams' TTFT p50 (ceilings: users / p50)."""
        found = []
        for scenario, path in (("complete", ("latency_ms", "p50")), ("stream", ("ttft_ms", "p50"))):
            points = [p for p in self.points if p.scenario == scenario and p.ok]
            lowest = min(points, key=lambda p: p.load.amount, default=None)
            value = lowest.value(path) if lowest else None
            if value is not None and lowest is not None:
                what = "answers" if scenario == "complete" else "streams' first token"
                found.append(f"{what} p50 {value:,.0f} ms at {lowest.load.label()}")
        if not found:
            return "not measured"
        return "measured: " + ", ".join(found) + "; a ceiling is about users / that latency"

    def conditions(self) -> str:
        """One line with the conditions every figure of the run was measured under."""
        if self.capacity and not self.points:
            return self._capacity_conditions()
        plan = self.plan or {}
        return (
            f"{self.where()}; {self.upstream()}; "
            f"window {plan.get('duration_s', '?')} s after {plan.get('warmup_s', '?')} s "
            f"warm-up, {plan.get('repeat', 1)} repetition(s)"
        )


# --- capacity ------------------------------------------------------------------------


@dataclass(frozen=True)
class LatencyModel:
    """The upstream latency a capacity search ran at: the mock's settings, or measured."""

    name: str
    ttft_ms: float
    itl_ms: float
    tokens: int
    answer_ms: float  # mean time to a whole answer
    p99_ms: float  # its 99th percentile (spreads drawn as the mock draws them)
    jitter: float = 0.0
    length_spread: float = 0.0
    seed: int = 0
    measured: bool = False  # a suffered upstream's, measured at one user


@dataclass(frozen=True)
class Figure:
    """One capacity figure: its value, its 95 % interval (for a boundary found by a search,
    the bracket between the last load held and the first decided not held; the value is
    then the highest load in it whose own estimates leaned held), what binds it, the load
    it was measured at (users or req/s), and what a reader must know about it."""

    value: float
    low: float | None
    high: float | None
    limit: Limit | None
    load: float | None
    note: str | None = None

    def separated_from(self, other: Figure) -> bool:
        """Its interval lies wholly above the other's: a difference, not noise."""
        return self.low is not None and other.high is not None and self.low > other.high


@dataclass
class Capacity:
    """The result of one search (target x scenario x upstream latency), with its steps.

    Three figures (bench.results.capacity): `saturation` (the most req/s completed,
    whatever the latency), `goodput` (the highest open-loop Poisson rate held within the
    SLO) and `in_flight` (the most closed-loop users held within it).
    """

    target: str
    scenario: str = field(metadata=json_schema(enum=list(SCENARIOS)))
    latency: LatencyModel
    slo_p99_ms: float
    max_users: int
    server_cores: int
    points: list[Point] = field(default_factory=list)
    # What each step's requests were judged against, and the share that had to meet it.
    objectives: Objectives | None = None
    slo_share: float = 0.99
    saturation: Figure | None = None
    goodput: Figure | None = None
    in_flight: Figure | None = None
    in_flight_measured: float | None = None  # the mock's mean in flight at that point
    undecided: int = 0  # steps whose window reached its cap before a verdict
    unknown: str | None = None

    @property
    def client(self) -> str:
        """The upstream client its steps ran with (bench.results.naming names it so)."""
        return self.points[0].client if self.points else "default"

    @property
    def max_in_flight(self) -> int | None:
        return None if self.in_flight is None else int(self.in_flight.value)

    @property
    def users_held(self) -> int | None:
        """The most users a verdict held (the in-flight figure's lower end): what a
        sentence saying "held" may cite, where the figure is the best estimate."""
        return None if self.in_flight is None else int(self.in_flight.low or 0)

    @property
    def limit(self) -> Limit | None:
        """What stops the concurrency from going further."""
        return None if self.in_flight is None else self.in_flight.limit

    def per_core(self, figure: Figure | None) -> float | None:
        """A throughput figure per server core."""
        return None if figure is None else figure.value / max(self.server_cores, 1)


# --- grouping repetitions ------------------------------------------------------------


def by_level(points: Iterable[Point]) -> dict[Level, list[Point]]:
    """Group points by level, in the order the run measured them."""
    groups: dict[Level, list[Point]] = {}
    for point in points:
        groups.setdefault(point.level, []).append(point)
    return groups


@dataclass
class Repetitions:
    """Every repetition of one level: medians, spans and flags over them."""

    level: Level
    points: list[Point]

    @property
    def target(self) -> str:
        return self.level.target

    @property
    def client(self) -> str:
        return self.level.client

    @property
    def load(self) -> Load:
        return self.level.load

    @property
    def tag(self) -> str:
        return self.points[0].tag

    @property
    def invalid(self) -> bool:
        return any(not p.valid for p in self.points)

    @property
    def warned(self) -> bool:
        return any(p.warnings for p in self.points)

    def values(self, path: Sequence[str], valid_only: bool = False) -> list[float]:
        """The values at `path` of the points that finished (and are valid, if asked)."""
        chosen = [p for p in self.points if p.ok and (p.valid or not valid_only)]
        return [v for p in chosen if (v := p.value(path)) is not None]

    def median(self, path: Sequence[str], valid_only: bool = False) -> float | None:
        """The median over repetitions (None when nothing was measured)."""
        values = self.values(path, valid_only)
        return statistics.median(values) if values else None

    def span(self, path: Sequence[str]) -> tuple[float, float] | None:
        """(min, max) over repetitions when there are several, else None."""
        values = self.values(path)
        return (min(values), max(values)) if len(values) > 1 else None


def repetitions(points: Iterable[Point]) -> list[Repetitions]:
    """Every level's repetitions, ordered by scenario, target (run order), then load."""
    points = list(points)
    order = list(dict.fromkeys(p.target for p in points))
    groups = by_level(points)
    keys = sorted(
        groups,
        key=lambda lv: (_scenario_rank(lv.scenario), order.index(lv.target), lv.load),
    )
    return [Repetitions(key, groups[key]) for key in keys]


def by_scenario(points: Iterable[Point]) -> dict[str, list[Repetitions]]:
    """`repetitions`, grouped by scenario."""
    grouped: dict[str, list[Repetitions]] = {}
    for reps in repetitions(points):
        grouped.setdefault(reps.level.scenario, []).append(reps)
    return grouped


def _scenario_rank(scenario: str) -> int:
    return SCENARIOS.index(scenario) if scenario in SCENARIOS else len(SCENARIOS)


def with_warnings(point: Point, warnings: Iterable[Warning]) -> Point:
    """Return a copy of the point with these warnings (its validity follows)."""
    return replace(point, warnings=tuple(warnings))
