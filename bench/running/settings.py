"""What `bench run`'s load, Locust and fault flags ask for, before it becomes a plan.

These flags do not map one to one onto a Plan's fields (--soak sets the window, the
scenario and the users; --locust-master and --expect-workers make one field), so the
rules about how they combine live here, on one settings object per group, and each
object gives the plan its part. A new flag of a group is a field here, its rule a line
of `__post_init__`, and its effect a method the command reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.locustfiles.arrivals import KINDS
from bench.results.faults import FaultPlan
from bench.results.model import SCENARIOS, Load
from bench.running.plan import Preset
from bench.running.rules import require

SOAK_USERS = 50
DEFAULT_FAULT_CODES = ("429", "500")


def _scenario_order(scenario: str) -> int:
    # Unknown names go last, so that the plan's rule names them.
    return SCENARIOS.index(scenario) if scenario in SCENARIOS else len(SCENARIOS)


@dataclass(frozen=True)
class LoadSettings:
    """The load asked for: scenarios, closed-loop users or open-loop arrival rates (how
    they arrive, their seed, the cap of requests in flight), the window, the warm-up, the
    repetitions, or a soak. What is not given comes from the preset."""

    scenarios: tuple[str, ...] = ()
    users: tuple[float, ...] = ()
    rates: tuple[float, ...] = ()
    duration_s: float | None = None
    warmup_s: float | None = None
    repeat: int | None = None
    soak_min: float | None = None
    arrivals: str | None = None  # None: Poisson
    burstiness: float | None = None
    seed: int | None = None
    max_outstanding: int | None = None

    def __post_init__(self) -> None:
        require(
            not (self.soak_min and self.duration_s),
            "--soak MINUTES sets the window; drop --duration",
        )
        require(
            self.arrivals is None or self.arrivals in KINDS,
            f"--arrivals must be one of {', '.join(KINDS)}, not {self.arrivals}",
        )
        open_only = [
            flag
            for flag, value in (("--arrivals", self.arrivals), ("--seed", self.seed),
                                ("--max-outstanding", self.max_outstanding),
                                ("--burstiness", self.burstiness))
            if value is not None
        ]  # fmt: skip
        require(
            self.rates or not open_only,
            f"{', '.join(open_only)} shape open-loop arrivals: give --rate R (req/s) too",
        )
        require(
            self.burstiness is None or self.arrivals == "gamma",
            "--burstiness is the shape of gamma arrivals: add --arrivals gamma",
        )

    def plan_scenarios(self, preset: Preset) -> list[str]:
        """The scenarios in the suite's order; a soak measures `complete` unless told."""
        asked = self.scenarios or (("complete",) if self.soak_min else preset.scenarios)
        return sorted(dict.fromkeys(asked), key=_scenario_order)

    def plan_loads(self, preset: Preset) -> dict[str, list[Load]]:
        """The loads of every scenario: the users or rates given, else the soak's or the
        preset's."""
        if self.users or self.rates:
            # Both kinds given stay both: the plan refuses the mix in one line.
            kind, shape = self.arrivals or "poisson", self.burstiness or 1.0
            given = [Load("users", u) for u in self.users]
            given += [Load.open(r, kind, shape) for r in self.rates]
            return {s: list(given) for s in SCENARIOS}
        if self.soak_min:
            return {s: [Load("users", SOAK_USERS)] for s in SCENARIOS}
        loads = {s: list(values) for s, values in preset.loads.items()}
        # A client that hangs up loads the server like a stream does, for a shorter time.
        loads.setdefault("disconnect", loads["stream"])
        return loads

    def plan_duration_s(self, preset: Preset) -> float:
        """The measured window: the soak's minutes, the flag's seconds or the preset's."""
        if self.soak_min:
            return self.soak_min * 60
        return self.duration_s or preset.duration_s

    def plan_warmup_s(self, preset: Preset) -> float:
        return self.warmup_s or preset.warmup_s

    def plan_repeat(self, preset: Preset) -> int:
        """Repetitions: the flag's, else one for a soak, else the preset's."""
        return self.repeat or (1 if self.soak_min else preset.repeat)


@dataclass(frozen=True)
class LocustSettings:
    """How Locust runs: processes on this host, or a master whose workers run elsewhere."""

    processes: int | None = None
    master: bool = False
    expect_workers: int | None = None
    master_bind_host: str = "127.0.0.1"
    master_port: int = 5557

    def __post_init__(self) -> None:
        require(
            self.master == bool(self.expect_workers),
            "--locust-master and --expect-workers N go together",
        )
        require(
            not (self.master and self.processes),
            "--locust-processes is for one host; with --locust-master the workers are "
            "started elsewhere",
        )

    def plan_processes(self) -> int:
        return self.processes or 1

    def plan_workers(self) -> int | None:
        """The workers a master waits for; None when Locust runs here alone."""
        return self.expect_workers if self.master else None


@dataclass(frozen=True)
class FaultSettings:
    """The upstream faults asked for: a share of calls, the faults drawn, a window."""

    rate: float | None = None
    codes: tuple[str, ...] = ()
    window: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        require(
            self.rate is not None or not (self.codes or self.window),
            "--mock-error-codes and --fault-window need --mock-error-rate",
        )

    def plan(self) -> FaultPlan | None:
        """The faults of the plan; None when none are asked for."""
        if self.rate is None:
            return None
        return FaultPlan(self.rate, self.codes or DEFAULT_FAULT_CODES, self.window)
