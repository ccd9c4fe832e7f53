"""The tutorials' claims against measured figures: verdicts drawn from the data, pure."""

from __future__ import annotations

from typing import Any

from bench.demos import claims
from bench.results.model import Run
from tests.bench.factories import make_run, point_dict, warning

DEFAULTS = {
    "fastapi": "fastapi-uvicorn",
    "flask": "flask-gunicorn-gthread",
    "drf": "drf-gunicorn-gthread",
}


def _perf(hello: dict[str, float], complete: dict[str, float], **kw: Any) -> list[dict]:
    points = []
    for scenario, figures in (("hello", hello), ("complete", complete)):
        for framework, rps in figures.items():
            points.append(
                point_dict(
                    target=DEFAULTS[framework],
                    scenario=scenario,
                    users=50 if scenario == "hello" else 200,
                    throughput=rps,
                    server_cores=1,
                    **kw.get(f"{framework}-{scenario}", {}),
                )
            )
    return points


def _claims_run(points: list[dict], **sections: Any) -> Run:
    run = make_run(points, **sections)
    run.info.preset = "demo:claims"
    return run


def _verdict(runs: list[Run], key: str) -> claims.Verdict:
    return next(v for v in claims.evaluate(runs) if v.claim.key == key)


def test_performance_holds_only_on_hello_when_complete_is_alike() -> None:
    run = _claims_run(
        _perf(
            {"fastapi": 7000, "flask": 3500, "drf": 2000},
            {"fastapi": 1400, "flask": 1300, "drf": 1100},
            **{"fastapi-hello": {"warnings": [warning("busy", "generator-cpu")]}},
        )
    )
    verdict = _verdict([run], "performance")
    assert verdict.kind == claims.HOLDS_ONLY
    assert verdict.verdict == "holds only on hello"
    text = " ".join(verdict.figures)
    assert "2.0x Flask" in text and "3.5x DRF" in text and "1.1x Flask" in text
    assert "lower bound" in text  # FastAPI's hello was generator-bound


def test_performance_holds_and_does_not_hold() -> None:
    holds = _claims_run(_perf({"fastapi": 6000, "flask": 3000, "drf": 2000},
                              {"fastapi": 1500, "flask": 900, "drf": 600}))  # fmt: skip
    assert _verdict([holds], "performance").kind == claims.HOLDS
    fails = _claims_run(_perf({"fastapi": 3000, "flask": 2900, "drf": 2500},
                              {"fastapi": 500, "flask": 480, "drf": 470}))  # fmt: skip
    assert _verdict([fails], "performance").verdict == claims.DOES_NOT_HOLD
    against = _claims_run(_perf({"fastapi": 3000, "flask": 2900, "drf": 1500},
                                {"fastapi": 500, "flask": 480, "drf": 300}))  # fmt: skip
    assert _verdict([against], "performance").verdict == "holds only against DRF"


def _capacity(target: str, server_model: str, in_flight: list[float]) -> dict[str, Any]:
    users = [30, 300, 1000][: len(in_flight)]
    return {
        "target": target, "scenario": "complete",
        "latency": {"name": "second", "ttft_ms": 300.0, "itl_ms": 35.0, "tokens": 20,
                    "answer_ms": 965.0, "p99_ms": 1000.0},
        "slo_p99_ms": 1300.0, "max_users": 1000, "server_cores": 1,
        "max_in_flight": int(in_flight[-1]),
        "points": [
            point_dict(target=target, users=u, throughput=u, in_flight_mean=f, in_flight_peak=f,
                       server_model=server_model, server={"cpu_pct": 10.0, "rss_mb": 80.0})
            for u, f in zip(users, in_flight, strict=True)
        ],
    }  # fmt: skip


def test_orders_of_magnitude_hold_only_against_sync_workers() -> None:
    ramps = make_run(
        [],
        capacity=[
            _capacity("flask-gunicorn-sync", "gunicorn-sync", [3.0]),
            _capacity("flask-gunicorn-gthread", "gunicorn-gthread", [30.0, 290.0]),
            _capacity("fastapi-uvicorn", "uvicorn", [30.0, 300.0, 990.0]),
        ],
    )
    verdict = _verdict([ramps], "concurrency")
    assert verdict.verdict == "holds only against sync workers (flask-gunicorn-sync)"
    assert "330x sync workers (flask-gunicorn-sync)" in verdict.figures[-1]
    assert "lower bound" in verdict.note  # FastAPI kept up with the top step


def test_streaming_is_judged_as_users_see_it_and_the_api_is_not_measured() -> None:
    def stream(target: str, ttft: float, fidelity: float = 1.0) -> dict[str, Any]:
        return point_dict(target=target, scenario="stream", users=10, throughput=20,
                          ttft_ms={"p50": ttft}, chunk_fidelity=fidelity)  # fmt: skip

    alike = _claims_run([stream("fastapi-uvicorn", 203), stream("flask-gunicorn-gthread", 205),
                         stream("drf-uvicorn", 212)])  # fmt: skip
    verdict = _verdict([alike], "streaming")
    assert verdict.kind == claims.DOES_NOT_HOLD and "API" in verdict.note
    assert any("+3.0 ms after the LLM's" in f for f in verdict.figures)  # mock TTFT 200 ms
    buffered = _claims_run([stream("fastapi-uvicorn", 203), stream("drf-uvicorn", 212, 0.5),
                            stream("flask-gunicorn-gthread", 204)])  # fmt: skip
    assert _verdict([buffered], "streaming").verdict.startswith("holds only against drf-uvicorn")
    routes = _verdict([alike], "async")
    assert routes.kind == claims.NOT_MEASURABLE and "adrf" in routes.note


def test_missing_data_says_so_and_tables_render() -> None:
    verdicts = claims.evaluate([make_run([])])
    assert [v.kind for v in verdicts] == [
        claims.NOT_MEASURABLE, claims.NO_DATA, claims.NO_DATA, claims.NO_DATA
    ]  # fmt: skip
    page = claims.html_table(verdicts)
    assert page.count("<tr>") == 1 + len(claims.CLAIMS) and "no benchmark settles it" in page
    assert claims.markdown_table(verdicts).count("\n") == 2 + len(claims.CLAIMS)
