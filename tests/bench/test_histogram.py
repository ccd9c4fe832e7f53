"""The latency histogram: precision, exact merge, round trip, edge cases."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.results.histogram import Histogram, bucket_index, bucket_midpoint, nearest_rank

QUANTILES = [0.0, 0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0]
durations = st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False)


def exact_percentile(values: list[float], q: float) -> float:
    return sorted(values)[nearest_rank(q, len(values)) - 1]


def filled(values: list[float]) -> Histogram:
    hist = Histogram()
    for value in values:
        hist.record(value)
    return hist


@settings(max_examples=200, deadline=None)
@given(st.lists(durations, min_size=1, max_size=300))
def test_every_percentile_is_within_one_percent(values: list[float]) -> None:
    hist = filled(values)
    for q in QUANTILES:
        exact = exact_percentile(values, q)
        assert hist.percentile(q) == pytest.approx(exact, rel=0.01), q


@settings(max_examples=100, deadline=None)
@given(st.lists(durations, max_size=100), st.lists(durations, max_size=100))
def test_merge_equals_recording_everything(left: list[float], right: list[float]) -> None:
    merged = filled(left)
    merged.merge(filled(right))
    together = filled(right + left)
    assert merged == together
    assert merged.to_dict() == together.to_dict()
    assert merged.total == math.fsum(left + right)
    assert merged.count == len(left) + len(right)


@settings(max_examples=100, deadline=None)
@given(st.lists(durations, max_size=100))
def test_round_trip_through_json_is_exact(values: list[float]) -> None:
    hist = filled(values)
    again = Histogram.from_dict(json.loads(json.dumps(hist.to_dict())))
    assert again == hist
    assert again.summary() == hist.summary()
    assert again.total == hist.total


def test_exact_extremes_mean_and_total() -> None:
    values = [0.1, 0.2, 0.3, 1000.0, 12.5]
    hist = filled(values)
    assert (hist.min, hist.max, hist.count) == (0.1, 1000.0, 5)
    assert hist.total == math.fsum(values)
    assert hist.mean == math.fsum(values) / 5
    assert hist.percentile(0) == 0.1
    assert hist.percentile(100) == 1000.0


def test_sum_does_not_depend_on_order() -> None:
    values = [1e6, 0.001, 0.3, 1e-3, 7.77] * 50
    shuffled = values[:]
    random.Random(1).shuffle(shuffled)
    assert filled(values).to_dict() == filled(shuffled).to_dict()


def test_record_with_count_equals_repeated_records() -> None:
    many = Histogram()
    many.record(0.1, count=7)
    assert many == filled([0.1] * 7)
    assert many.total == math.fsum([0.1] * 7)


def test_empty_histogram_is_none_safe() -> None:
    hist = Histogram()
    assert hist.summary() == {
        "p50": None,
        "p90": None,
        "p99": None,
        "p999": None,
        "max": None,
        "mean": None,
        "min": None,
        "count": 0,
    }
    assert hist.percentile(50) is None
    assert Histogram.from_dict(json.loads(json.dumps(hist.to_dict()))) == hist
    other = filled([3.0])
    other.merge(hist)
    assert other == filled([3.0])


def test_sub_millisecond_values_keep_their_precision() -> None:
    values = [0.0123 + i * 0.0001 for i in range(200)]  # 12.3 µs to 32.2 µs
    hist = filled(values)
    for q in QUANTILES:
        assert hist.percentile(q) == pytest.approx(exact_percentile(values, q), rel=0.005)


def test_values_below_the_first_bucket_are_clamped_to_the_exact_extremes() -> None:
    hist = filled([0.0, 0.0002, 0.0004])
    assert bucket_index(0.0002) == 0
    assert hist.percentile(0) == 0.0
    assert hist.percentile(50) == 0.0004  # the bucket midpoint, clamped to max
    assert hist.percentile(100) == 0.0004


def test_bucket_midpoint_is_within_half_a_percent_of_its_values() -> None:
    for value in [0.001, 0.0105, 0.73, 1.0, 199.9, 200.0, 5e5]:
        assert bucket_midpoint(bucket_index(value)) == pytest.approx(value, rel=0.00501)


def test_nearest_rank_reads_q_as_a_decimal() -> None:
    assert nearest_rank(99.9, 1000) == 999
    assert nearest_rank(50, 4) == 2
    assert nearest_rank(0, 10) == 1
    assert nearest_rank(100, 10) == 10


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_rejects_values_that_are_not_durations(bad: float) -> None:
    with pytest.raises(ValueError, match="duration"):
        Histogram().record(bad)


def test_rejects_bad_count_and_quantile() -> None:
    with pytest.raises(ValueError, match="count"):
        Histogram().record(1.0, count=0)
    with pytest.raises(ValueError, match="q must"):
        filled([1.0]).percentile(100.5)


def test_refuses_to_load_another_layout() -> None:
    data = filled([1.0]).to_dict()
    data["ratio"] = 1.02
    with pytest.raises(ValueError, match="layout"):
        Histogram.from_dict(data)
