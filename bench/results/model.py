"""The results model: a run, its points, the level that groups repetitions, warnings, limits.

Every consumer (analysis, summaries, reports, comparisons, lessons, demos) reads these
types, never the JSON dicts: `Run.from_dict` and `to_dict` are the only places that
know the file's field names (bench.results.store owns the file itself, its schema and
its migrations). Points are mutable because a run's later points change earlier ones'
warnings (repetitions that disagree, calibration).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from bench.results.faults import Cancel, Faults, Growth

SCENARIOS = ("hello", "complete", "stream", "disconnect")
# What a run measures unless told: clients that hang up are a scenario of their own.
DEFAULT_SCENARIOS = ("hello", "complete", "stream")
IO_BOUND = ("complete", "stream", "disconnect")
# What `bench capacity` searches: a client that hangs up is not load a service serves.
CAPACITY_SCENARIOS = ("complete", "stream")
PERCENTILE_KEYS = ("p50", "p90", "p99", "p999", "max", "mean")

LoadMode = Literal["users", "rate"]
Status = Literal["ok", "failed"]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


# --- the load, and the level that groups repetitions --------------------------------


@dataclass(frozen=True, order=True)
class Load:
    """Closed loop (`users`) or paced open loop (`rate`, requests per second)."""

    mode: LoadMode
    amount: float

    @property
    def users(self) -> int | None:
        return int(self.amount) if self.mode == "users" else None

    @property
    def rate(self) -> float | None:
        return self.amount if self.mode == "rate" else None

    def label(self) -> str:
        """Return "50 users" or "20 req/s"."""
        return f"{self.amount:g} users" if self.mode == "users" else f"{self.amount:g} req/s"

    def to_dict(self) -> dict[str, Any]:
        if self.mode == "users":
            return {"mode": "users", "users": int(self.amount)}
        return {"mode": "rate", "rate": self.amount}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Load:
        mode = data["mode"]
        return cls(mode, float(data["users"] if mode == "users" else data["rate"]))


@dataclass(frozen=True, order=True)
class Level:
    """What repetitions share: one target at one load of one scenario."""

    target: str
    scenario: str
    load: Load

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "invalid": self.invalid,
            "text": self.text,
            "figures": dict(self.figures),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Warning:
        return cls(data["code"], data["text"], bool(data["invalid"]), dict(data["figures"]))


LIMIT_KINDS: tuple[str, ...] = (
    "server-cpu",
    "target-concurrency",
    "open-files",
    "generator",
    "mock",
    "window",
    "none",
    "server-latency",
    "unexplained",
)


@dataclass(frozen=True)
class Limit:
    """What binds a point: its kind, a sentence with the numbers, and the evidence."""

    kind: str
    detail: str
    evidence: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "evidence": dict(self.evidence)}

    def short(self, width: int = 70) -> str:
        """The kind and the first clause of the detail, for a table cell."""
        clause = self.detail.split(";")[0].split(": too few")[0]
        text = f"{self.kind}: {clause}"
        return text if len(text) <= width else text[: width - 1] + "\N{HORIZONTAL ELLIPSIS}"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Limit:
        return cls(data["kind"], data["detail"], dict(data.get("evidence") or {}))


# --- the figures of a point ----------------------------------------------------------


@dataclass(frozen=True)
class Percentiles:
    """A latency distribution's summary, in milliseconds."""

    p50: float | None
    p90: float | None
    p99: float | None
    p999: float | None
    max: float | None
    mean: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {key: getattr(self, key) for key in PERCENTILE_KEYS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Percentiles | None:
        if data is None:
            return None
        return cls(*(_float(data.get(key)) for key in PERCENTILE_KEYS))


@dataclass(frozen=True)
class PerSecond:
    """A point's window second by second: requests completed, errors, and latency.

    Each list holds one value per whole second of the window, in order; a latency is None
    for a second in which no request completed. Streams also keep TTFT's p50 (schema 4).
    """

    start: int  # Unix second of the first entry
    requests: list[int]
    errors: list[int]
    mean_ms: list[float | None]
    p50_ms: list[float | None]
    p99_ms: list[float | None]
    ttft_p50_ms: list[float | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "start": self.start,
            "requests": list(self.requests),
            "errors": list(self.errors),
            "mean_ms": list(self.mean_ms),
            "p50_ms": list(self.p50_ms),
            "p99_ms": list(self.p99_ms),
        }
        if self.ttft_p50_ms is not None:
            data["ttft_p50_ms"] = list(self.ttft_p50_ms)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PerSecond:
        return cls(
            start=int(data["start"]),
            requests=[int(v) for v in data["requests"]],
            errors=[int(v) for v in data["errors"]],
            mean_ms=[_float(v) for v in data["mean_ms"]],
            p50_ms=[_float(v) for v in data["p50_ms"]],
            p99_ms=[_float(v) for v in data["p99_ms"]],
            ttft_p50_ms=[_float(v) for v in ttft] if (ttft := data.get("ttft_p50_ms")) else None,
        )


@dataclass
class Usage:
    """CPU (100 % = one core) and peak memory of a process tree over the window."""

    cpu_pct: float | None = None
    rss_mb: float | None = None


@dataclass
class Point:
    """One target x scenario x load x repetition: its conditions, figures and verdicts."""

    target: str
    framework: str
    worker_class: str
    variant: str | None
    workers: int
    threads: int
    tag: str
    client: str
    scenario: str
    load: Load
    repetition: int
    window_s: float
    server_model: str
    status: Status = "ok"
    locust_users: int | None = None
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    throughput_rps: float = 0.0
    latency_ms: Percentiles | None = None
    ttft_ms: Percentiles | None = None
    tpot_ms: Percentiles | None = None
    itl_ms: Percentiles | None = None
    chunk_fidelity: float | None = None
    server: Usage = field(default_factory=Usage)
    generator: Usage = field(default_factory=Usage)
    generator_processes: int | None = None
    generator_hosts: int | None = None
    mock: Usage = field(default_factory=Usage)
    upstream_calls: int | None = None
    ceiling_rps: float | None = None
    model_ceiling_rps: float | None = None
    efficiency: float | None = None
    model_efficiency: float | None = None
    achieved_rate: float | None = None
    rate_shortfall: float | None = None
    warnings: list[Warning] = field(default_factory=list)
    valid: bool = True
    failure: str | None = None
    # Schema 3: capacity.
    server_cores: int | None = None
    server_cores_busy_pct: float | None = None  # the server's cores, whoever kept them busy
    concurrency: dict[str, int] = field(default_factory=dict)  # declared limits, whole server
    in_flight_mean: float | None = None  # the mock's requests in flight, sampled
    in_flight_peak: int | None = None
    cpu_us_per_request: float | None = None
    limit: Limit | None = None
    # The window second by second (whole seconds only): for intervals from one window.
    seconds: PerSecond | None = None
    # Schema 4: a package variant (a spec such as name@django==5.1.*): the pins asked
    # for, and the versions its own environment resolved (None: the run's environment).
    pins: list[str] = field(default_factory=list)
    packages: dict[str, str | None] | None = None
    # Injected upstream faults, client disconnects, a soak's resources (bench.results.faults).
    faults: Faults | None = None
    cancel: Cancel | None = None
    growth: Growth | None = None
    # Fields of later versions or of other tools: kept as they are.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> Level:
        return Level(self.target, self.scenario, self.load)

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

    def without(self, *codes: str) -> None:
        """Drop the warnings with these codes (before they are computed again)."""
        self.warnings = [w for w in self.warnings if w.code not in codes]

    def revalidate(self) -> None:
        """Valid: finished, and no warning invalidates it."""
        self.valid = self.ok and not any(w.invalid for w in self.warnings)

    def value(self, path: Sequence[str]) -> float | None:
        """Return the number at `path` (e.g. ("latency_ms", "p99")), or None."""
        item: Any = self
        for name in path:
            item = getattr(item, name, None)
            if item is None:
                return None
        if isinstance(item, bool) or not isinstance(item, int | float):
            return None
        return float(item)

    def to_dict(self) -> dict[str, Any]:
        """The point as the results file stores it."""
        data: dict[str, Any] = {
            "target": self.target,
            "framework": self.framework,
            "worker_class": self.worker_class,
            "variant": self.variant,
            "workers": self.workers,
            "threads": self.threads,
            "tag": self.tag,
            "client": self.client,
            "scenario": self.scenario,
            "load": {**self.load.to_dict(), "locust_users": self.locust_users},
            "repetition": self.repetition,
            "window_s": self.window_s,
            "server": {
                "model": self.server_model,
                **_usage(self.server),
                "cores_busy_pct": self.server_cores_busy_pct,
            },
            "requests": self.requests,
            "errors": dict(self.errors),
            "throughput_rps": self.throughput_rps,
            "latency_ms": _percentiles(self.latency_ms),
            "generator": {
                "cpu_pct": self.generator.cpu_pct,
                "processes": self.generator_processes,
                "hosts": self.generator_hosts,
            },
            "mock": {"cpu_pct": self.mock.cpu_pct},
            "upstream_calls": self.upstream_calls,
            "ceiling_rps": self.ceiling_rps,
            "model_ceiling_rps": self.model_ceiling_rps,
            "efficiency": self.efficiency,
            "model_efficiency": self.model_efficiency,
            "warnings": [w.to_dict() for w in self.warnings],
            "valid": self.valid,
            "status": self.status,
        }
        if self.scenario == "stream":
            data.update(
                ttft_ms=_percentiles(self.ttft_ms),
                tpot_ms=_percentiles(self.tpot_ms),
                itl_ms=_percentiles(self.itl_ms),
                chunk_fidelity=self.chunk_fidelity,
            )
        if self.load.mode == "rate":
            data.update(achieved_rate=self.achieved_rate, rate_shortfall=self.rate_shortfall)
        if self.failure is not None:
            data["failure"] = self.failure
        data.update(
            server_cores=self.server_cores,
            concurrency=dict(self.concurrency),
            in_flight={"mean": self.in_flight_mean, "peak": self.in_flight_peak},
            cpu_us_per_request=self.cpu_us_per_request,
            limit=self.limit.to_dict() if self.limit is not None else None,
        )
        if self.seconds is not None:
            data["seconds"] = self.seconds.to_dict()
        if self.pins or self.packages is not None:
            data.update(pins=list(self.pins), packages=self.packages)
        for name in ("faults", "cancel", "growth"):
            record = getattr(self, name)
            if record is not None:
                data[name] = record.to_dict()
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Point:
        """Read a point of the current schema (older ones are migrated before)."""
        known = {f.name for f in fields(cls)} | {"load", "server", "generator", "mock", "in_flight"}
        server, generator = data["server"], data.get("generator") or {}
        in_flight, limit = data.get("in_flight") or {}, data.get("limit")
        return cls(
            target=data["target"],
            framework=data["framework"],
            worker_class=data["worker_class"],
            variant=data.get("variant"),
            workers=int(data["workers"]),
            threads=int(data["threads"]),
            tag=data["tag"],
            client=data.get("client", "default"),
            scenario=data["scenario"],
            load=Load.from_dict(data["load"]),
            locust_users=_int(data["load"].get("locust_users")),
            repetition=int(data["repetition"]),
            window_s=float(data["window_s"]),
            server_model=server["model"],
            status=data["status"],
            requests=int(data["requests"]),
            errors={str(k): int(v) for k, v in data["errors"].items()},
            throughput_rps=float(data["throughput_rps"]),
            latency_ms=Percentiles.from_dict(data.get("latency_ms")),
            ttft_ms=Percentiles.from_dict(data.get("ttft_ms")),
            tpot_ms=Percentiles.from_dict(data.get("tpot_ms")),
            itl_ms=Percentiles.from_dict(data.get("itl_ms")),
            chunk_fidelity=_float(data.get("chunk_fidelity")),
            server=Usage(_float(server.get("cpu_pct")), _float(server.get("rss_mb"))),
            generator=Usage(_float(generator.get("cpu_pct"))),
            generator_processes=_int(generator.get("processes")),
            generator_hosts=_int(generator.get("hosts")),
            mock=Usage(_float((data.get("mock") or {}).get("cpu_pct"))),
            upstream_calls=_int(data.get("upstream_calls")),
            ceiling_rps=_float(data.get("ceiling_rps")),
            model_ceiling_rps=_float(data.get("model_ceiling_rps")),
            efficiency=_float(data.get("efficiency")),
            model_efficiency=_float(data.get("model_efficiency")),
            achieved_rate=_float(data.get("achieved_rate")),
            rate_shortfall=_float(data.get("rate_shortfall")),
            warnings=[Warning.from_dict(w) for w in data["warnings"]],
            valid=bool(data["valid"]),
            failure=data.get("failure"),
            server_cores=_int(data.get("server_cores")),
            server_cores_busy_pct=_float(server.get("cores_busy_pct")),
            concurrency={str(k): int(v) for k, v in (data.get("concurrency") or {}).items()},
            in_flight_mean=_float(in_flight.get("mean")),
            in_flight_peak=_int(in_flight.get("peak")),
            cpu_us_per_request=_float(data.get("cpu_us_per_request")),
            limit=Limit.from_dict(limit) if limit is not None else None,
            seconds=PerSecond.from_dict(data["seconds"]) if data.get("seconds") else None,
            pins=[str(pin) for pin in data.get("pins") or []],
            packages=dict(data["packages"]) if data.get("packages") is not None else None,
            faults=Faults.from_dict(data["faults"]) if data.get("faults") else None,
            cancel=Cancel.from_dict(data["cancel"]) if data.get("cancel") else None,
            growth=Growth.from_dict(data["growth"]) if data.get("growth") else None,
            extra={k: v for k, v in data.items() if k not in known},
        )


def _usage(usage: Usage) -> dict[str, float | None]:
    return {"cpu_pct": usage.cpu_pct, "rss_mb": usage.rss_mb}


def _percentiles(value: Percentiles | None) -> dict[str, float | None] | None:
    return None if value is None else value.to_dict()


# --- the run -------------------------------------------------------------------------


@dataclass(frozen=True)
class Skipped:
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
    skipped_targets: list[Skipped] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "command": self.command,
            "preset": self.preset,
            "git_commit": self.git_commit,
            "target_url": self.target_url,
            "skipped_targets": [
                {"target": s.target, "reason": s.reason} for s in self.skipped_targets
            ],
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunInfo:
        known = {f.name for f in fields(cls)}
        return cls(
            id=str(data["id"]),
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            command=data["command"],
            preset=data["preset"],
            git_commit=data["git_commit"],
            target_url=data.get("target_url"),
            skipped_targets=[
                Skipped(str(s.get("target")), str(s.get("reason", "")))
                for s in data.get("skipped_targets") or []
            ],
            extra={k: v for k, v in data.items() if k not in known},
        )


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
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**data, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Environment:
        known = {f.name for f in fields(cls)}
        return cls(
            host=str(data["host"]),
            os=str(data["os"]),
            cpu_model=str(data["cpu_model"]),
            cores=_int(data["cores"]),
            server_cpus=list(data["server_cpus"]),
            load_cpus=list(data["load_cpus"]),
            python=str(data["python"]),
            packages=dict(data["packages"]),
            usable_cores=_int(data.get("usable_cores")),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def comparable(self) -> dict[str, Any]:
        """The parts that must match for a fair comparison of two runs."""
        return {
            "cpu_model": self.cpu_model,
            "cores": self.cores,
            "server_cpus": self.server_cpus,
            "load_cpus": self.load_cpus,
            "python": self.python,
            "packages": self.packages,
        }


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
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**data, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MockInfo:
        known = {f.name for f in fields(cls)}
        return cls(
            ttft_ms=float(data["ttft_ms"]),
            itl_ms=float(data["itl_ms"]),
            output_tokens=int(data["output_tokens"]),
            jitter=float(data.get("jitter") or 0.0),
            error_rate=float(data.get("error_rate") or 0.0),
            answer_latency_ms=_float(data.get("answer_latency_ms")),
            external=bool(data.get("external", False)),
            extra={k: v for k, v in data.items() if k not in known},
        )


@dataclass
class Run:
    """One results document: the run, its environment, the mock, the plan and the points."""

    schema_version: int
    info: RunInfo
    environment: Environment
    mock: MockInfo
    points: list[Point] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    capacity: list[Capacity] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": self.schema_version,
            "run": self.info.to_dict(),
            "environment": self.environment.to_dict(),
            "mock": self.mock.to_dict(),
        }
        if self.plan is not None:
            data["plan"] = self.plan
        data["points"] = [p.to_dict() for p in self.points]
        data["capacity"] = [c.to_dict() for c in self.capacity]
        return {**data, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        known = {"schema_version", "run", "environment", "mock", "plan", "points", "capacity"}
        return cls(
            schema_version=int(data["schema_version"]),
            info=RunInfo.from_dict(data["run"]),
            environment=Environment.from_dict(data["environment"]),
            mock=MockInfo.from_dict(data["mock"]),
            points=[Point.from_dict(p) for p in data["points"]],
            plan=data.get("plan"),
            capacity=[Capacity.from_dict(c) for c in data.get("capacity") or []],
            extra={k: v for k, v in data.items() if k not in known},
        )

    def _capacity_conditions(self) -> str:
        latencies = {
            str(c.latency.get("name")): (c.latency.get("answer_ms") or 0.0, c.slo_p99_ms)
            for c in self.capacity
        }
        described = ", ".join(
            f"{name} {answer:,.0f} ms (SLO p99 {slo:,.0f} ms)"
            for name, (answer, slo) in latencies.items()
        )
        users = max(c.max_users for c in self.capacity)
        return (
            f"{self.where()}; upstream latencies {described}; up to {users:,} users; closed "
            "loop, load ramps with steady windows of at least 3 x the SLO"
        )

    def targets(self) -> list[str]:
        """The targets in the order the run measured them."""
        return list(dict.fromkeys(p.target for p in self.points))

    def where(self) -> str:
        """Where the server and the load ran: pinned cores, or a deployment and its quota."""
        env = self.environment
        server = env.extra.get("server")
        if isinstance(server, dict):
            quota = server.get("quota_cores")
            given = f", CPU quota {quota:g} core(s) as set by the deployment" if quota else ""
            place = f"server: the deployment at {server.get('url')}{given}"
        else:
            place = f"server cores {env.server_cpus}"
        if env.extra.get("pinned") is False:
            place += " (not pinned: this system cannot pin processes to cores)"
        container = env.extra.get("container")
        if isinstance(container, dict) and container.get("cpu_quota_cores"):
            place += f"; this bench ran in a container with {container['cpu_quota_cores']:g} CPU(s)"
        return f"{place}, load+mock cores {env.load_cpus} ({env.cpu_model})"

    def upstream(self) -> str:
        """The upstream: the mock's set latency, or what was measured of a suffered one."""
        mock = self.mock
        described = mock.extra.get("upstream")
        if not isinstance(described, dict) or described.get("latency") != "suffered":
            return (
                f"mock ttft {mock.ttft_ms:g} ms, itl {mock.itl_ms:g} ms, {mock.output_tokens} "
                f"tokens ({mock.answer_latency_ms or 0:g} ms per answer)"
            )
        if described.get("kind") == "real":
            model = f", model {described['model']}" if described.get("model") else ""
            who = f"a real upstream at {described.get('url')}{model}"
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


@dataclass
class Capacity:
    """The result of one search, with every point it measured."""

    target: str
    scenario: str
    latency: dict[str, Any]  # the mock's settings: ttft_ms, itl_ms, tokens, answer_ms, ...
    slo_p99_ms: float
    max_users: int
    server_cores: int
    points: list[Point] = field(default_factory=list)
    max_rps: float | None = None
    max_rps_users: int | None = None
    max_in_flight: int | None = None
    in_flight_measured: float | None = None  # the mock's mean in-flight at that point
    rps_limit: Limit | None = None
    limit: Limit | None = None  # what stops the concurrency from going further
    unknown: str | None = None

    @property
    def max_rps_per_core(self) -> float | None:
        return None if self.max_rps is None else self.max_rps / max(self.server_cores, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "scenario": self.scenario,
            "latency": dict(self.latency),
            "slo_p99_ms": self.slo_p99_ms,
            "max_users": self.max_users,
            "server_cores": self.server_cores,
            "max_rps": self.max_rps,
            "max_rps_users": self.max_rps_users,
            "max_in_flight": self.max_in_flight,
            "in_flight_measured": self.in_flight_measured,
            "rps_limit": self.rps_limit.to_dict() if self.rps_limit else None,
            "limit": self.limit.to_dict() if self.limit else None,
            "unknown": self.unknown,
            "points": [p.to_dict() for p in self.points],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Capacity:
        def limit(value: Any) -> Limit | None:
            return Limit.from_dict(value) if value else None

        return cls(
            target=data["target"],
            scenario=data["scenario"],
            latency=dict(data["latency"]),
            slo_p99_ms=float(data["slo_p99_ms"]),
            max_users=int(data["max_users"]),
            server_cores=int(data["server_cores"]),
            points=[Point.from_dict(p) for p in data["points"]],
            max_rps=data.get("max_rps"),
            max_rps_users=data.get("max_rps_users"),
            max_in_flight=data.get("max_in_flight"),
            in_flight_measured=data.get("in_flight_measured"),
            rps_limit=limit(data.get("rps_limit")),
            limit=limit(data.get("limit")),
            unknown=data.get("unknown"),
        )


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
    """Return a copy of the point with these warnings and its validity recomputed."""
    copy = replace(point, warnings=list(warnings))
    copy.revalidate()
    return copy
