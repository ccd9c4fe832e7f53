"""Per-request objectives, goodput, the relay's cost per token and the request files (pure)."""

from __future__ import annotations

import csv
import gzip
from dataclasses import replace
from pathlib import Path

import pytest

from bench.locustfiles.records import RequestLog
from bench.locustfiles.slo import RequestFigures, Slos
from bench.locustfiles.totals import Totals
from bench.reports import relay
from bench.results import capacity, requests, tokens
from bench.results.model import MockInfo, Objectives, Percentiles, repetitions
from bench.results.requests import COLUMNS, Record
from bench.running import objectives
from bench.running.plan import MockSettings
from bench.running.requests import join_parts
from bench.running.rules import PlanError
from tests.bench.factories import latency, make_point, make_run, point_dict


def test_objectives_read_any_subset_and_refuse_what_is_not_one() -> None:
    assert Slos.parse("ttft=600, itl=100").text() == "ttft=600,itl=100"
    for text, needle in (("ttfb=1", "unknown SLO 'ttfb'"), ("ttft=0", "positive number"),
                         ("itl=fast", "positive number"), ("e2e", "positive number"),
                         ("", "at least one")):  # fmt: skip
        with pytest.raises(ValueError, match=needle):
            Slos.parse(text)


def test_a_request_meets_an_objective_by_its_own_figure() -> None:
    slos = Slos(ttft=200.0, itl=50.0, e2e=1000.0)
    quick = RequestFigures(e2e_ms=600.0, ttft_ms=150.0, itl_max_ms=40.0, tpot_ms=20.0)
    assert slos.judge("stream", quick) == {"ttft": True, "itl": True, "e2e": True}
    late_first = replace(quick, ttft_ms=450.0)  # a late first token, the same answer
    assert slos.judge("stream", late_first) == {"ttft": False, "itl": True, "e2e": True}
    burst = replace(quick, itl_max_ms=300.0)  # one long gap fails itl, whatever the mean
    assert not slos.judge("stream", burst)["itl"]
    assert slos.judge("complete", quick) == {"e2e": True}  # only e2e applies
    assert slos.judge("stream", None) == {"ttft": False, "itl": False, "e2e": False}


def test_the_generator_counts_the_requests_that_met_them_second_by_second() -> None:
    totals = Totals()
    totals.add_judged({"ttft": True, "e2e": True}, 100.2)
    totals.add_judged({"ttft": False, "e2e": True}, 100.7)
    totals.add_judged({"ttft": True, "e2e": True}, 101.1)
    other = Totals.from_dict(totals.to_dict())
    whole = other.between()
    assert (whole.judged, whole.met, whole.met_by) == (3, 2, {"ttft": 2, "e2e": 3})
    assert other.buckets[100].met == 1 and other.buckets[101].met == 1


def test_defaults_follow_the_mocks_schedule_and_given_ones_replace_them() -> None:
    mock = MockSettings(ttft_ms=200.0, itl_ms=20.0, tokens=10)
    stream = objectives.for_scenario(None, mock, "stream", latency_set=True)
    assert stream == Objectives(ttft_ms=300.0, itl_ms=75.0, tpot_ms=75.0, e2e_ms=525.0)
    assert objectives.for_scenario(None, mock, "hello", True) == Objectives(e2e_ms=50.0)
    given = objectives.for_scenario("ttft=250", mock, "complete", True)
    assert given == Objectives(e2e_ms=525.0)  # ttft does not apply to complete
    # A suffered latency has no defaults: only what was given.
    assert objectives.for_scenario(None, mock, "stream", latency_set=False) is None
    assert objectives.for_scenario("e2e=900", mock, "stream", False) == Objectives(e2e_ms=900)
    with pytest.raises(PlanError, match="--slo ttft applies to stream, disconnect"):
        objectives.check("ttft=300", ["hello", "complete"])
    with pytest.raises(PlanError, match="--slo: unknown SLO"):
        objectives.check("latency=3", ["stream"])
    # Capacity judges streams by their first token and gaps, complete by the whole answer.
    llm = MockSettings(ttft_ms=500.0, itl_ms=40.0, tokens=50)
    assert objectives.for_capacity(None, 3788.0, llm, "stream", e2e_set=False) == Objectives(
        ttft_ms=675.0, itl_ms=100.0
    )
    assert objectives.for_capacity(None, 3788.0, llm, "complete", False) == Objectives(
        e2e_ms=3788.0
    )


def test_a_capacity_step_holds_when_the_share_that_met_them_is_met_at_95_percent() -> None:
    criteria = capacity.Criteria(175.0, 0.99, objectives=Objectives(ttft_ms=300.0))
    step = replace(make_point(users=10, throughput=100.0, ceiling_rps=100.0, efficiency=1.0),
                   latency_ms=Percentiles.of(latency(100.0)))  # fmt: skip
    assert criteria.verdict(replace(step, judged=1000, met=1000), final=False) == "held"
    assert criteria.verdict(replace(step, judged=1000, met=900), final=False) == "failed"
    assert criteria.verdict(replace(step, judged=1000, met=990), final=False) is None
    assert criteria.verdict(replace(step, judged=1000, met=990), final=True) == "undecided"
    few = replace(step, judged=40, met=40)  # too few to bound the share: all of them
    assert criteria.verdict(few, final=False) is None and criteria.verdict(few, True) == "held"


def test_the_relay_cost_is_what_a_stream_took_beyond_the_mocks_schedule() -> None:
    stream = make_point(scenario="stream", users=10, throughput=40.0, cpu_us_per_request=500.0,
                        ttft_ms={**latency(210.0), "p99": 240.0},
                        itl_ms={**latency(21.0), "p99": 35.0}, chunk_fidelity=1.0)  # fmt: skip
    mock = MockInfo(ttft_ms=200.0, itl_ms=20.0, output_tokens=10)
    [cost] = [tokens.relay_cost(level, mock) for level in repetitions([stream])]
    assert cost.ttft_added_p50_ms == pytest.approx(10.0)
    assert cost.ttft_added_p99_ms == pytest.approx(40.0)
    assert cost.itl_added_p50_ms == pytest.approx(1.0)
    assert cost.itl_jitter_p99_ms == pytest.approx(15.0)
    assert cost.cpu_us_per_token == pytest.approx(50.0) and cost.fidelity == 1.0
    assert not cost.in_bursts


def test_tokens_held_back_and_delivered_together_are_said_to_come_in_bursts() -> None:
    # As measured at 1,000 streams on a saturated core: most gaps 0 ms, the rest ~300 ms.
    mock = {"ttft_ms": 500.0, "itl_ms": 40.0, "output_tokens": 50}
    points = [
        point_dict(target=target, scenario="stream", users=1000, throughput=300.0,
                   ttft_ms=latency(1200.0), itl_ms={**latency(p50), "p99": 355.0},
                   chunk_fidelity=1.0)
        for target, p50 in (("fastapi-uvicorn", 0.0), ("flask-gunicorn-gthread", 39.8))
    ]  # fmt: skip
    run = make_run(points, mock=mock)
    costs = tokens.relay_costs(run.points, run.mock)
    assert {c.target: c.in_bursts for c in costs} == {
        "fastapi-uvicorn": True, "flask-gunicorn-gthread": False,
    }  # fmt: skip
    [part] = relay.relay_parts(run, with_charts=False)
    assert "(fastapi-uvicorn at 1000 users) means most tokens" in part.intro
    assert "flask" not in part.intro


def _record(request_id: str, sent: float, ended: float, **extra: object) -> Record:
    fields = {"request_id": request_id, "process": "h-1", "intended_at": None,
              "sent_at": sent, "first_byte_at": None, "first_token_at": None,
              "last_token_at": None, "ended_at": ended, "status": 200, "error": "",
              "tokens": None, "bytes": 10}  # fmt: skip
    return Record(**{**fields, **extra})  # type: ignore[arg-type]


def test_request_rows_survive_in_parts_then_join_and_follow_their_id(tmp_path: Path) -> None:
    base = tmp_path / "requests" / "001-t-complete-users10-r1"
    log = RequestLog(str(base))
    log.write(_record("a-1", 100.0, 100.2))
    log.flush()  # what a process that dies keeps
    with log.path.open() as kept:
        assert [line[0] for line in csv.reader(kept)] == ["request_id", "a-1"]
    log.write(_record("a-2", 100.1, 100.9, status=503, error="503"))
    log.close()
    joined = join_parts(base)
    assert joined is not None and joined.name.endswith(".csv.gz") and not log.path.exists()
    with gzip.open(joined, "rt") as lines:
        assert next(csv.reader(lines)) == list(COLUMNS)
    (tmp_path / "requests" / "mock.csv").write_text(
        "request_id,received_at,first_token_at,ended_at,status,stream,tokens,fault\n"
        "a-2,100.12,,100.85,200,0,10,\n"
    )
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "t.log").write_text(
        "INFO: t.access: request_id=a-2 method=POST path=/complete status=503 ms=770.5\n"
    )
    rows = requests.read(tmp_path)
    [summary] = requests.summarise(rows)
    assert (summary.requests, summary.failed) == (2, 1)
    [slow] = requests.follow(tmp_path, requests.slowest(rows, 1))
    assert slow.row.request_id == "a-2" and slow.service_ms == 770.5
    assert slow.upstream is not None and slow.upstream.received_at == 100.12
    assert slow.row.response_ms == pytest.approx(800.0)
