"""The headline's ranking: a leader only where the ratio is clear and the intervals part."""

from __future__ import annotations

from typing import Any

from bench.reports.report import ranking_sentence
from bench.results.model import repetitions
from bench.results.ranking import Ratio, rank
from tests.bench.factories import make_run, windowed_point

STEADY = [1.0, 1.02, 0.98, 1.01, 0.99]
SHAKY = [1.0, 1.4, 0.6, 1.3, 0.7]


def _ranked(fast: list[float], slow: list[float], lead: float) -> str:
    points = [
        windowed_point([round(100 * lead * f) for f in fast], target="fastapi-uvicorn", users=50),
        windowed_point([round(100 * f) for f in slow], target="flask-gunicorn-gthread", users=50),
    ]
    levels = repetitions(make_run(points).points)
    return ranking_sentence(rank("complete", levels))


def test_a_lead_whose_intervals_part_is_named_with_them() -> None:
    sentence = _ranked(STEADY, STEADY, 1.2)
    assert "fastapi-uvicorn leads with 120 req/s [" in sentence
    assert "1.20x the runner-up flask-gunicorn-gthread (100 req/s [" in sentence
    assert "ratio alone" not in sentence


def test_a_clear_ratio_whose_intervals_overlap_is_no_lead() -> None:
    # 20 % apart, but each window's seconds swing by 40 %: the intervals overlap.
    sentence = _ranked(SHAKY, SHAKY, 1.2)
    assert sentence.startswith("complete at 50 users: no clear lead: fastapi-uvicorn (120 req/s [")
    assert "overlap in their 95 % intervals (1.20x)" in sentence


def test_repetitions_rank_by_their_t_interval() -> None:
    points = [
        windowed_point([v] * 5, target=target, users=50, repetition=rep)
        for target, values in (("fastapi-uvicorn", (150, 152, 148)), ("flask-gunicorn-gthread",
                                                                     (100, 101, 99)))
        for rep, v in enumerate(values, start=1)
    ]  # fmt: skip
    ranking = rank("complete", repetitions(make_run(points).points))
    assert ranking.leader == "fastapi-uvicorn"
    low, high = ranking.spans[ranking.ranked[0][0].level]
    assert 140 < low < 150 < high < 160


def test_a_ratio_carries_the_interval_its_two_figures_allow() -> None:
    # 100 (90 to 110) over 10 (8 to 12): each end against the other's far end.
    ratio = Ratio.of(100.0, 10.0, (90.0, 110.0), (8.0, 12.0))
    assert (ratio.value, ratio.low, ratio.high) == (10.0, 7.5, 13.75)
    assert ratio.at_least(7.5) and not ratio.at_least(8.0)
    assert ratio.below(14.0) and not ratio.below(13.0)
    assert ratio.text() == "10.0x (95 % interval 7.5x to 13.8x)"
    # Without an interval on either side, the value alone decides, and says no more.
    alone = Ratio.of(100.0, 10.0, (90.0, 110.0), None)
    assert alone.at_least(9.0) and alone.text(0) == "10x"
    # A lower figure whose interval reaches 0 leaves the ratio unbounded above.
    assert Ratio.of(100.0, 10.0, (90.0, 110.0), (0.0, 20.0)).text() == (
        "10.0x (95 % interval 4.5x and up)"
    )


RATE = {"mode": "rate", "rate": 400.0, "arrivals": "poisson"}
KEPT_UP = {"kind": "none", "detail": "their rate binds", "evidence": {}}


def _hello(target: str, cpu: float | None, served: int = 400, **fields: Any) -> dict[str, Any]:
    tag = "calibration" if target.startswith("baseline") else "realistic"
    point = windowed_point(
        [served] * 5,
        cpu_pct=None if cpu is None else [cpu] * 5,
        target=target,
        scenario="hello",
        load=RATE,
        tag=tag,
        **fields,
    )
    if cpu is None:
        point["server"] = {"cpu_pct": None, "rss_mb": None}
    return point  # fmt: skip


def test_hello_at_an_offered_rate_ranks_by_cpu_per_request() -> None:
    # Every target answered the 400 req/s offered: the throughput is the rate's, and the
    # server CPU each request cost ranks them (the baseline is shown by its cost).
    points = [_hello("fastapi-uvicorn", 16.0, limit=KEPT_UP),
              _hello("flask-gunicorn-gthread", 40.0, limit=KEPT_UP),
              _hello("baseline-uvicorn", 8.0, limit=KEPT_UP)]  # fmt: skip
    ranking = rank("hello", repetitions(make_run(points).points))
    assert ranking.by_cpu and ranking.offered and ranking.leader == "fastapi-uvicorn"
    sentence = ranking_sentence(ranking)
    assert sentence.startswith(
        "hello at 400 req/s Poisson: every target served the offered rate, so ranked by the "
        "server CPU each request cost: fastapi-uvicorn leads with 400 µs of server CPU per "
        "request (~2,500 ["
    )
    assert "the framework-less baseline-uvicorn costs 200 µs of server CPU per request" in (
        sentence
    )


def test_hello_at_a_rate_one_target_fell_short_of_ranks_by_throughput() -> None:
    # flask answered 300 of the 400 req/s: the rate did not set its throughput, so the
    # sentence must not say that every target served it.
    short = {"kind": "server-cpu", "detail": "its core was full", "evidence": {}}
    points = [_hello("fastapi-uvicorn", 16.0, limit=KEPT_UP),
              _hello("flask-gunicorn-gthread", 99.0, served=300, limit=short)]  # fmt: skip
    ranking = rank("hello", repetitions(make_run(points).points))
    assert not ranking.by_cpu and not ranking.offered
    assert "offered rate" not in ranking_sentence(ranking)
    assert ranking.ranked[0][1] == 400.0


def test_hello_without_server_cpu_ranks_by_throughput_not_as_invalid() -> None:
    # A deployment measured from outside has no server CPU: its points stay ranked.
    points = [_hello("fastapi-uvicorn", None, limit=KEPT_UP),
              _hello("flask-gunicorn-gthread", None, limit=KEPT_UP)]  # fmt: skip
    ranking = rank("hello", repetitions(make_run(points).points))
    assert not ranking.by_cpu and len(ranking.ranked) == 2 and not ranking.unranked
