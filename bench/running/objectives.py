"""The per-request objectives a point is judged against: given (`--slo`), or derived.

Defaults follow the mock's own schedule with the capacity SLO's room: each objective is
the mock's figure x 1.25 + 50 ms (TTFT, the time between tokens for ITL and TPOT, and the
99th percentile of a whole answer for E2E); hello, which never reaches the mock, has an
E2E objective of 50 ms. An objective given with `--slo` replaces its default. An upstream
whose latency is suffered, not set, has no defaults: only the objectives given apply.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bench.locustfiles.slo import APPLIES, Slos
from bench.results.capacity import SLO_FACTOR, SLO_SLACK_MS
from bench.results.model import Objectives
from bench.running.rules import PlanError, require

if TYPE_CHECKING:  # the plan imports this module for its rules
    from bench.running.plan import MockSettings


def parse(text: str | None) -> Slos | None:
    """`--slo ttft=600,itl=100` as objectives; PlanError in one line when it is wrong."""
    if not text:
        return None
    try:
        return Slos.parse(text)
    except ValueError as exc:
        raise PlanError(f"--slo: {exc}") from None


def check(text: str | None, scenarios: list[str]) -> None:
    """Every objective given applies to some planned scenario; the text reads."""
    given = parse(text)
    if given is None:
        return
    for name, _ in given.items():
        applies = [s for s, names in APPLIES.items() if name in names]
        require(
            any(s in scenarios for s in applies),
            f"--slo {name} applies to {', '.join(applies)}, and none of them is planned",
        )


def _room(value_ms: float) -> float:
    return value_ms * SLO_FACTOR + SLO_SLACK_MS


def defaults(mock: MockSettings, scenario: str) -> Objectives:
    """The objectives derived from the mock's schedule (the module docstring)."""
    if scenario == "hello":
        return Objectives(e2e_ms=SLO_SLACK_MS)
    return Objectives(
        ttft_ms=_room(mock.ttft_ms),
        itl_ms=_room(mock.itl_ms),
        tpot_ms=_room(mock.itl_ms),
        e2e_ms=_room(mock.p99_latency_ms()),
    )


def for_scenario(
    text: str | None, mock: MockSettings, scenario: str, latency_set: bool
) -> Objectives | None:
    """What a point of this scenario is judged against: the defaults (with a set latency)
    with the objectives given in their place; None when nothing applies."""
    base = defaults(mock, scenario) if latency_set else Objectives()
    given = parse(text)
    if given is not None:
        base = replace(base, **{f"{name}_ms": value for name, value in given.items()})
    applying = set(APPLIES.get(scenario, ()))
    kept = {f"{n}_ms": getattr(base, f"{n}_ms") for n in ("ttft", "itl", "tpot", "e2e")
            if n in applying}  # fmt: skip
    found = Objectives(**kept)
    return found if found.text() else None


def for_capacity(
    text: str | None, slo_p99_ms: float, mock: MockSettings, scenario: str, e2e_set: bool
) -> Objectives:
    """What a capacity step is judged against: complete, its whole answer within the
    search's SLO; streams, their first token and every gap between tokens within the
    mock's figures with room (and their whole answer where --slo-p99-ms or --slo e2e
    sets it); the objectives given with --slo in their place."""
    if scenario == "complete":
        base = Objectives(e2e_ms=slo_p99_ms)
    else:
        base = Objectives(ttft_ms=_room(mock.ttft_ms), itl_ms=_room(mock.itl_ms),
                          e2e_ms=slo_p99_ms if e2e_set else None)  # fmt: skip
    given = parse(text)
    if given is not None:
        applying = APPLIES.get(scenario, ())
        chosen = {f"{n}_ms": v for n, v in given.items() if n in applying}
        base = replace(base, **chosen)
    return base


def knob(objectives: Objectives | None) -> list[str]:
    """The scenario's `--bench-slo` argument for these objectives."""
    return ["--bench-slo", objectives.text()] if objectives and objectives.text() else []
