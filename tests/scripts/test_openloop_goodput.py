"""The independent open-loop client's pure parts: its schedule and its verdict."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "openloop_goodput.py"


@pytest.fixture(scope="module")
def probe() -> ModuleType:
    # The script imports its neighbour scripts/pinned.py, as running it from there does.
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("openloop_goodput", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_schedule_is_poisson_at_the_rate_and_fixed_by_its_seed(probe: ModuleType) -> None:
    times = probe.schedule(400.0, 20.0, seed=3)
    # 8,000 arrivals expected; a Poisson count's standard deviation is its root (89):
    # 4 of them either side is a bound a correct schedule misses once in 15,000 seeds.
    assert abs(len(times) - 8000) < 4 * 89
    assert times == sorted(times) and times[0] > 0 and times[-1] < 20.0
    assert probe.schedule(400.0, 20.0, seed=3) == times
    assert probe.schedule(400.0, 20.0, seed=4) != times


def test_a_rate_is_held_within_the_slo_with_few_errors_and_a_client_on_time(
    probe: ModuleType,
) -> None:
    assert probe.percentile([float(v) for v in range(1, 101)], 0.99) == 99.0
    assert probe.percentile([5.0], 0.5) == 5.0
    fast = [100.0] * 990 + [170.0] * 10
    on_time = [1.0] * 1000
    assert probe.Window(500.0, 2.0, fast, on_time, 0).held(175.0)
    # the slowest 1 % past the SLO
    slow = [100.0] * 980 + [180.0] * 20
    assert not probe.Window(500.0, 2.0, slow, on_time, 0).held(175.0)
    # 2 % failed
    assert not probe.Window(500.0, 2.0, fast[:980], on_time, 20).held(175.0)
    # the client sent its slowest 2 % late: the figures are not the service's
    late = [1.0] * 980 + [30.0] * 20
    window = probe.Window(500.0, 2.0, fast, late, 0)
    assert not window.held(175.0) and "the client was late" in window.row(175.0)
    assert probe.Window(500.0, 2.0, [], on_time, 1000).row(175.0).endswith("failed")
