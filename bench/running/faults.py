"""Put a run's upstream faults in force at the mock for one point, and take them away.

The mock's fault model changes while it serves (`POST /faults`, docs/contract.md), with
the Unix times between which it applies; the runner sends it once before each point,
with times taken from the point's window, so that faults start and end on time without
the runner having to act at those moments. After the point the model is set back to no
faults, so that nothing else (a verification, the next target's start) meets them.
"""

from __future__ import annotations

import httpx

from bench.results.faults import FaultPlan


class FaultsNotSet(RuntimeError):
    """The mock refused or did not answer a fault model."""


def arm(mock_base: str | None, plan: FaultPlan | None, window_start: float) -> None:
    """Put `plan` in force for a window starting at `window_start` (Unix seconds)."""
    if plan is None or mock_base is None:
        return
    document: dict[str, object] = {"rate": plan.rate, "codes": list(plan.codes)}
    if plan.window is not None:
        document["start"] = window_start + plan.window[0]
        document["end"] = window_start + plan.window[1]
    _post(mock_base, document)


def disarm(mock_base: str | None, plan: FaultPlan | None) -> None:
    """Set the mock back to no faults (after a point that had some)."""
    if plan is None or mock_base is None:
        return
    _post(mock_base, {"rate": 0})


def _post(mock_base: str, document: dict[str, object]) -> None:
    try:
        answer = httpx.post(f"{mock_base}/faults", json=document, timeout=5)
    except httpx.HTTPError as exc:
        raise FaultsNotSet(f"the mock at {mock_base} did not take the fault model: {exc}") from exc
    if answer.status_code != 200:
        raise FaultsNotSet(f"the mock refused the fault model: {answer.text[:200]}")
