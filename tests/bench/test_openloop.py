"""The open-vs-closed demo's plans, lesson, table and chart, on a real quick run's stored
results (tests/bench/fixtures/demo-all-quick/03-open-vs-closed) and variations of it."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.demos import openloop
from bench.results import store
from bench.results.model import Run

FIXTURE = Path(__file__).parent / "fixtures" / "demo-all-quick" / "03-open-vs-closed"


@pytest.fixture
def run() -> Run:
    return store.load(FIXTURE)


def test_the_plans_closed_loop_users_by_littles_law_then_poisson_arrivals() -> None:
    assert [openloop.users_for(rate) for rate in openloop.RATES] == [1, 3]
    closed, opened = openloop.plans(quick=True)
    assert [load.users for load in closed.loads["complete"]] == [1, 3]
    assert [(load.rate, load.arrivals) for load in opened.loads["complete"]] == [
        (10.0, "poisson"),
        (30.0, "poisson"),
    ]
    assert closed.targets == opened.targets == ["flask-gunicorn-sync{workers=2}"]
    assert closed.mock.latency_ms() == 100.0
    assert closed.duration_s == openloop.QUICK_WINDOW_S
    assert openloop.plans()[0].duration_s == openloop.WINDOW_S


def test_the_lesson_from_the_stored_figures(run: Run) -> None:
    lesson = openloop.lesson(run)
    assert lesson.confirmed, lesson.text()
    assert (
        "at 10 req/s, the mean rate of 1 closed-loop user, Poisson arrivals met a p99 of 213 "
        "ms against the closed loop's 107 ms" in lesson.headline
    )
    assert (
        "M/D/2 predicted that tail within one window's scatter (p99 wait 169 ms, measured 110, "
        "-35%, where 99% of 7-s windows fall under it: 53 to 334 ms)" in lesson.headline
    )
    assert "At 30 req/s their queue grew second by second" in lesson.headline
    assert lesson.details[0].startswith("D, one request alone (1 closed-loop user's mean): 103.0")
    assert "the queue grew by 12.1 requests a second (lambda - c / D = 10.6)" in lesson.details[2]
    assert (
        "3 closed-loop users, the same rate by Little's law, got 19.4 req/s" in (lesson.details[2])
    )


def test_the_prediction_is_m_d_2_with_the_measured_service_time(run: Run) -> None:
    d_ms = openloop.service_ms(run)
    low, high = openloop.pairs(run)
    assert low.open is not None and high.open is not None
    steady = openloop.predict(low.open, d_ms)
    assert steady.model == "M/D/2" and steady.rho == pytest.approx(10 * d_ms / 2000)
    assert steady.mean_wait_ms == pytest.approx(20, abs=1)
    assert steady.p99_wait_ms == pytest.approx(169, abs=1)
    overload = openloop.predict(high.open, d_ms)
    assert overload.mean_wait_ms is None
    assert overload.growth_per_s == pytest.approx(30 - 2000 / d_ms)


def _with(run: Run, rate: float, **changes: object) -> Run:
    points = [
        dataclasses.replace(p, **changes) if p.load.rate == rate else p  # type: ignore[arg-type]
        for p in run.points
    ]
    return dataclasses.replace(run, points=points)


def test_a_queue_that_did_not_grow_is_not_as_predicted(run: Run) -> None:
    overload = next(p for p in run.points if p.load.rate == 30.0)
    kept_up = _with(run, 30.0, sent=overload.requests)
    lesson = openloop.lesson(kept_up)
    assert not lesson.confirmed and "no queue grew" in lesson.headline


def test_a_model_far_off_says_which_way(run: Run) -> None:
    steady = next(p for p in run.points if p.load.rate == 10.0)
    assert steady.latency_ms is not None
    slow = dataclasses.replace(steady.latency_ms, p99=1000.0)
    lesson = openloop.lesson(_with(run, 10.0, latency_ms=slow))
    assert not lesson.confirmed
    assert "the tail is longer than M/D/2 predicts (p99 wait 169 ms, measured 897" in (
        lesson.headline
    )


def test_a_run_without_both_rates_says_so(run: Run) -> None:
    closed_only = dataclasses.replace(run, points=[p for p in run.points if p.load.users])
    assert "lacks an open-loop point" in openloop.lesson(closed_only).headline


def test_the_table_and_chart(run: Run) -> None:
    table = openloop.table(run)
    loads = list(table.columns[0].cells)
    assert loads == ["closed, 1 user", "closed, 3 users", "open, 10 req/s", "open, 30 req/s"]
    predicted = list(table.columns[6].cells)
    assert predicted[2] == "20 / 169" and predicted[3] == "queue +10.6/s"
    svg = openloop.chart(run)
    ET.fromstring(svg)
    for series in ("closed, 1 user", "open, 30 req/s", "M/D/2 p99, 10 req/s"):
        assert series in svg
