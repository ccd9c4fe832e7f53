"""Per-second CPU from a sampler's trace (pure)."""

from __future__ import annotations

import pytest

from bench.running.resources import per_second


def test_cpu_per_second_interpolates_the_samples_around_each_second() -> None:
    # Half a core for two seconds, then a whole core, sampled every half second.
    trace = [(100.0, 0.0), (100.5, 0.25), (101.0, 0.5), (101.5, 0.75), (102.0, 1.0),
             (102.5, 1.5), (103.0, 2.0)]  # fmt: skip
    assert per_second(trace, 100, 103) == pytest.approx([50.0, 50.0, 100.0])
    # Samples off the whole seconds: interpolated; a sampler that started up to a
    # quarter second after a second counts from it; outside the trace: unknown.
    shifted = [(100.2, 0.0), (100.7, 0.25), (101.2, 0.5), (101.7, 0.75)]
    assert per_second(shifted, 100, 102) == pytest.approx([40.0, None])
    late = [(100.5, 0.0), (101.0, 0.25), (101.5, 0.5)]
    assert per_second(late, 100, 101) == [None]
    assert per_second([(100.2, 0.0), (102.2, 1.0)], 101, 102) == pytest.approx([50.0])
