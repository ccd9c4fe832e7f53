"""What a run measures: targets x scenarios x loads x repetitions, and the presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.results.model import Load
from bench.running.cpus import usable_cpus
from bench.running.targets import DEFAULT_TARGETS, TARGETS, Target, resolve, with_client
from bench.running.timing import PointTiming


@dataclass(frozen=True)
class MockSettings:
    """The upstream latency model of a run (the mock's flags)."""

    ttft_ms: float = 200.0
    itl_ms: float = 20.0
    tokens: int = 10

    def latency_ms(self) -> float:
        """Time to a whole answer of `tokens` tokens."""
        return self.ttft_ms + (self.tokens - 1) * self.itl_ms


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["loads"] = {s: [load.to_dict() for load in loads] for s, loads in self.loads.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        loads = {
            scenario: [Load.from_dict(item) for item in items]
            for scenario, items in data["loads"].items()
        }
        return cls(**{**data, "loads": loads, "mock": MockSettings(**data["mock"])})

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


def default_cpus() -> tuple[list[int], list[int]]:
    """Split the usable cores: the first half serves, the rest drive the load and the mock."""
    cpus = usable_cpus()
    if len(cpus) == 1:
        return cpus, cpus
    half = len(cpus) // 2
    return cpus[:half], cpus[half:]


def _users(*values: int) -> list[Load]:
    return [Load("users", value) for value in values]


PRESETS: dict[str, dict[str, Any]] = {
    # The three frameworks on their default servers plus the calibration hello:
    # a short sweep that fits in 5 minutes on 2 cores.
    "quick": {
        "targets": [*DEFAULT_TARGETS, "baseline-uvicorn"],
        "loads": {"hello": _users(50), "complete": _users(50, 200), "stream": _users(50)},
        "duration_s": 5.0,
        "warmup_s": 2.0,
        "repeat": 1,
    },
    # Every realistic target, with repetitions: within 30 minutes on 2 cores.
    "standard": {
        "targets": [t.name for t in TARGETS if t.tag in ("realistic", "calibration")],
        "loads": {"hello": _users(50), "complete": _users(200), "stream": _users(100)},
        "duration_s": 5.0,
        "warmup_s": 2.0,
        "repeat": 3,
    },
    # Everything, teaching and calibration targets included, with a wider sweep.
    "full": {
        "targets": [t.name for t in TARGETS],
        "loads": {
            "hello": _users(10, 100),
            "complete": _users(10, 100, 500),
            "stream": _users(10, 100),
        },
        "duration_s": 10.0,
        "warmup_s": 3.0,
        "repeat": 3,
    },
}
