"""The usage rules on the settings objects themselves: every way of building a plan meets
them (the command line, the demos, a resumed run), each in one line naming the flags."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.cli import main
from bench.demos.catalog import DEMOS
from bench.demos.demo import Ramp
from bench.demos.suite import claims_plan
from bench.results.faults import FaultPlan
from bench.results.model import Load
from bench.running import speed
from bench.running.capacity import (
    CAPACITY_PRESETS,
    CUSTOM,
    LATENCIES,
    UPSTREAM,
    CapacityPlan,
)
from bench.running.cpus import usable_cpus
from bench.running.plan import PRESETS, MockSettings, Plan, presets_help
from bench.running.rules import PlanError
from bench.running.runner import Options
from bench.running.settings import SOAK_USERS, FaultSettings, LoadSettings, LocustSettings

TARGET = "fastapi-uvicorn"
TWO_CORES = pytest.mark.skipif(len(usable_cpus()) < 2, reason="needs two usable cores")


def plan(**overrides: Any) -> Plan:
    """A small valid plan, changed by `overrides`."""
    fields: dict[str, Any] = {
        "targets": [TARGET],
        "scenarios": ["complete"],
        "loads": {"complete": [Load("users", 10)]},
    }
    return Plan(**{**fields, **overrides})


def options(**overrides: Any) -> Options:
    return Options(Path("out"), **overrides)


def refused(make: Callable[[], object], needle: str) -> None:
    with pytest.raises(PlanError, match=needle):
        make()


# --- Plan -------------------------------------------------------------------------------


def test_a_plan_names_an_unknown_target_or_scenario() -> None:
    refused(lambda: plan(targets=["nope"]), "unknown target nope")
    refused(lambda: plan(targets=["flask-gunicorn-sync{procs=2}"]), "counts are workers=N")
    refused(lambda: plan(scenarios=["hello", "chat"]), "unknown scenario chat")


def test_a_plan_is_closed_or_open_loop_not_both() -> None:
    mixed = {"complete": [Load("users", 10), Load.open(5.0)]}
    refused(lambda: plan(loads=mixed), "give --users .* or --rate .*, not both")
    assert plan(loads={"complete": [Load.open(5.0)]}).loads["complete"][0].rate == 5.0
    # Scenarios may differ: the quick preset offers hello at a rate, the LLM calls to users.
    quick = PRESETS["quick"].loads
    assert quick["hello"][0].open_loop and quick["complete"][0].mode == "users"
    planned = plan(loads={s: list(loads) for s, loads in quick.items()}).loads
    assert {s: tuple(loads) for s, loads in planned.items()} == quick


@TWO_CORES
def test_a_plan_keeps_the_server_and_the_load_on_their_own_cores() -> None:
    first, second = usable_cpus()[:2]
    refused(lambda: plan(server_cpus=[first], load_cpus=[first, second]), "overlap")
    assert plan(server_cpus=[first], load_cpus=[second]).server_cpus == [first]


def test_a_fault_window_leaves_time_to_recover() -> None:
    late = FaultPlan(0.1, ("429",), (3.0, 8.0))
    refused(lambda: plan(duration_s=10.0, faults=late), "must end at least 3 s before")
    assert plan(duration_s=11.0, faults=late).faults == late


def test_a_resumed_plan_meets_the_same_rules() -> None:
    data = plan().to_dict()
    assert Plan.from_dict(data) == plan()
    refused(lambda: Plan.from_dict({**data, "scenarios": ["chat"]}), "unknown scenario chat")


def test_negative_mock_latencies_are_refused() -> None:
    refused(lambda: MockSettings(ttft_ms=-1.0), "must not be negative")
    refused(lambda: MockSettings(itl_ms=-0.5), "must not be negative")
    assert MockSettings(ttft_ms=0.0, itl_ms=0.0).latency_ms() == 0.0


# --- a plan and where it runs ----------------------------------------------------------


def test_faults_need_a_mock_the_suite_can_set() -> None:
    faulty = plan(faults=FaultPlan(0.1, ("500",)))
    for where in (
        options(upstream_url="http://llm/v1"),
        options(target_url="http://deployment"),
    ):
        with pytest.raises(PlanError, match="sets the suite's mock"):
            faulty.check_options(where)
    faulty.check_options(options(target_url="http://deployment", mock_url="http://mock"))
    faulty.check_options(options())


def test_a_deployment_keeps_its_own_timeout_and_is_one_target_without_pins() -> None:
    deployment = options(target_url="http://deployment")
    refused(
        lambda: plan(upstream_timeout_s=2.0).check_options(deployment),
        "--upstream-timeout sets the targets the runner starts",
    )
    refused(
        lambda: plan(targets=[f"{TARGET}@pydantic==2.9.*"]).check_options(deployment),
        "@pins need the runner to start the target",
    )
    refused(
        lambda: plan(targets=[TARGET, "drf-uvicorn"]).check_options(deployment),
        "name the deployment's target with --targets NAME",
    )
    plan().check_options(deployment)


def test_a_real_upstream_has_no_mock_latency_to_set() -> None:
    real = options(upstream_url="http://llm/v1")
    refused(
        lambda: plan(mock=MockSettings(ttft_ms=5.0)).check_options(real),
        "--upstream-url has none",
    )
    plan(mock=MockSettings(tokens=50)).check_options(real)  # the tokens asked still count


# --- Options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"upstream_url": "http://llm/v1", "target_url": "http://d"}, "already has its own"),
        ({"upstream_url": "http://llm/v1", "mock_url": "http://m"}, "not both"),
        ({"upstream_key": "k"}, "go with --upstream-url"),
        ({"upstream_model": "m"}, "go with --upstream-url"),
        ({"mock_url": "http://m"}, "give --target-url too"),
        ({"server_quota": 2.0}, "describes a deployment given with --target-url"),
    ],
)
def test_upstream_options_that_contradict_are_refused(fields: dict[str, Any], needle: str) -> None:
    refused(lambda: options(**fields), needle)


def test_upstream_options_that_go_together_are_accepted() -> None:
    real = options(upstream_url="http://llm/v1", upstream_key="k", upstream_model="m")
    assert real.upstream().kind == "real"
    deployment = options(target_url="http://d", mock_url="http://m", server_quota=1.5)
    assert deployment.upstream().kind == "deployment-mock"


# --- the flag groups' settings ---------------------------------------------------------


def test_a_soak_sets_the_window_itself() -> None:
    refused(lambda: LoadSettings(soak_min=1.0, duration_s=30.0), "drop --duration")
    soak, preset = LoadSettings(soak_min=10.0), PRESETS["quick"]
    assert soak.plan_duration_s(preset) == 600 and soak.plan_repeat(preset) == 1
    assert soak.plan_scenarios(preset) == ["complete"]
    assert soak.plan_loads(preset)["complete"] == [Load("users", SOAK_USERS)]


def test_users_and_rates_given_together_reach_the_plans_rule() -> None:
    both = LoadSettings(users=(5,), rates=(5.0,)).plan_loads(PRESETS["quick"])
    refused(lambda: plan(loads=both), "not both")


def test_locust_master_and_its_workers_go_together() -> None:
    refused(lambda: LocustSettings(master=True), "go together")
    refused(lambda: LocustSettings(expect_workers=2), "go together")
    refused(
        lambda: LocustSettings(master=True, expect_workers=2, processes=2),
        "--locust-processes is for one host",
    )
    master = LocustSettings(master=True, expect_workers=2)
    assert (master.plan_workers(), master.plan_processes()) == (2, 1)
    assert LocustSettings(processes=3).plan_workers() is None


def test_fault_codes_and_window_need_a_rate() -> None:
    refused(lambda: FaultSettings(codes=("500",)), "need --mock-error-rate")
    refused(lambda: FaultSettings(window=(3.0, 5.0)), "need --mock-error-rate")
    assert FaultSettings().plan() is None
    assert FaultSettings(0.2).plan() == FaultPlan(0.2, ("429", "500"))


# --- CapacityPlan -----------------------------------------------------------------------


def capacity(**overrides: Any) -> CapacityPlan:
    return CapacityPlan(**{"targets": [TARGET], **overrides})


def test_a_capacity_plan_names_what_it_cannot_search() -> None:
    refused(lambda: capacity(targets=["nope"]), "unknown target nope")
    refused(lambda: capacity(scenarios=["complete", "hello"]), "not hello")
    refused(lambda: capacity(latencies=["glacial"]), "unknown latency glacial")
    refused(
        lambda: capacity(latencies=["short"], in_flight_only=["llm"]),
        "in-flight-only latency llm is not searched",
    )


def test_the_mock_flags_latency_goes_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(LATENCIES, CUSTOM, MockSettings(ttft_ms=50.0))
    refused(lambda: capacity(latencies=["short", CUSTOM]), "not both")
    assert capacity(latencies=[CUSTOM]).latencies == [CUSTOM]


@TWO_CORES
def test_a_capacity_plan_keeps_its_cores_apart() -> None:
    first = usable_cpus()[0]
    refused(lambda: capacity(server_cpus=[first], load_cpus=[first]), "overlap")


def test_a_measured_upstream_has_no_latencies_to_choose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(LATENCIES, UPSTREAM, MockSettings())
    deployment = options(target_url="http://deployment")
    refused(lambda: capacity(latencies=["short"]).check_options(deployment), "--latencies set")
    capacity(latencies=[UPSTREAM]).check_options(deployment)
    refused(
        lambda: capacity(targets=[TARGET, "drf-uvicorn"]).check_options(
            options(target_url="http://d", mock_url="http://m")
        ),
        "name the deployment's target",
    )


# --- presets, demos, and the command line ----------------------------------------------


def test_every_preset_and_demo_makes_a_plan_that_meets_the_rules() -> None:
    for preset in PRESETS.values():
        loads = {s: list(values) for s, values in preset.loads.items()}
        Plan(list(preset.targets), list(preset.scenarios), loads).check_options(options())
    for found in CAPACITY_PRESETS.values():
        CapacityPlan(list(found.targets), list(found.scenarios), list(found.latencies),
                     in_flight_only=list(found.in_flight_only))  # fmt: skip
    for quick in (False, True):
        for demo in DEMOS:
            if isinstance(demo.measure, Ramp):
                for ramp in demo.measure.plans(demo.name, quick):
                    ramp.check_options(options())
            else:
                for plan in demo.measure.plans(demo.name, quick, None, None):
                    plan.check_options(options())
        claims_plan(with_stream=quick).check_options(options())


def test_the_presets_help_names_each_with_its_time_or_scope() -> None:
    assert presets_help(PRESETS) == "quick (~3 min), standard (~23 min), full (everything)"
    assert "capacity-quick (the three default ones, ~6 min)" in presets_help(CAPACITY_PRESETS)


def test_a_broken_rule_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert issubclass(PlanError, ValueError)
    assert main(["run", "--expect-workers", "2"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["bench run: --locust-master and --expect-workers N go together"]


def test_open_loop_flags_go_with_a_rate_and_a_generator_that_can_send_it() -> None:
    refused(lambda: LoadSettings(arrivals="poisson"), "--arrivals shape open-loop arrivals")
    refused(lambda: LoadSettings(users=(5,), seed=3), "--seed shape open-loop arrivals")
    refused(lambda: LoadSettings(rates=(5.0,), burstiness=0.5), "add --arrivals gamma")
    refused(lambda: LoadSettings(rates=(5.0,), arrivals="bursty"), "--arrivals must be one of")
    loads = LoadSettings(rates=(5.0, 20.0), arrivals="gamma", burstiness=0.5).plan_loads(
        PRESETS["quick"]
    )
    assert loads["complete"] == [Load.open(5.0, "gamma", 0.5), Load.open(20.0, "gamma", 0.5)]
    assert LoadSettings(rates=(5.0,)).plan_loads(PRESETS["quick"])["hello"][0].arrivals == (
        "poisson"
    )
    # One Locust process sends at most MAX_RATE_PER_PROCESS on time: more needs more.
    fast = {"complete": [Load.open(4000.0)]}
    refused(lambda: plan(loads=fast), "give --locust-processes 3")
    assert plan(loads=fast, locust_processes=3).generator_processes() == 3
    assert plan(loads=fast, expect_workers=4).generator_processes() == 4


def test_a_core_is_timed_at_a_fixed_piece_of_work_in_a_child_pinned_to_it() -> None:
    found = speed.measure(usable_cpus()[:1])
    assert found is not None and found > 0  # thousands of units a second
    assert speed.measure([]) is None  # no core of ours to time (a deployment)
