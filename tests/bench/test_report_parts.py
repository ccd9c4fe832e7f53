"""The report's newer parts on fixtures: goodput beside throughput, the cost per token,
inside the server (pure)."""

from __future__ import annotations

import io

from rich.console import Console

from bench.reports import report
from bench.reports.summary import print_summary
from tests.bench.factories import latency, make_run, point_dict

TELEMETRY = {
    "start": 1_800_000_000, "scrapes": 6, "missed": 0,
    "in_progress": [40.0, 42.0], "upstream_in_progress": [40.0, 41.0],
    "loop_lag_ms": [3.0, 35.0], "hub_lag_ms": [], "threadpool_busy": [], "threadpool_waiting": [],
    "threads_busy": [], "gc_pause_ms": [0.0, 12.0], "loop_lag_p99_ms": 35.0,
    "loop_lag_max_ms": 60.0, "gc_pauses": 3, "gc_pause_ms_total": 12.0,
    "request_ms_mean": 215.0, "upstream_ms_mean": 201.0, "requests_served": 400.0,
}  # fmt: skip


def _stream() -> dict[str, object]:
    return point_dict(
        scenario="stream", users=40, throughput=180.0, cpu_us_per_request=900.0,
        ttft_ms={**latency(212.0), "p99": 260.0}, itl_ms={**latency(21.0), "p99": 33.0},
        tpot_ms=latency(21.0), chunk_fidelity=1.0,
        objectives={"ttft_ms": 300.0, "itl_ms": 75.0, "tpot_ms": 75.0, "e2e_ms": 525.0},
        judged=900, met=880, met_by={"ttft": 880, "itl": 900, "tpot": 900, "e2e": 900},
        goodput_rps=176.0, telemetry=TELEMETRY,
    )  # fmt: skip


def test_goodput_the_cost_per_token_and_the_servers_own_figures_are_reported() -> None:
    run = make_run([_stream()])
    built = report.build(run, with_charts=True)
    markdown = report.to_markdown(built)
    assert "| goodput req/s | met objectives |" in markdown.replace("req/s median", "x")
    assert "## What each stack adds to every token" in markdown
    # The mock's TTFT is 200 ms: 12 ms added at the median, 60 at p99; 1 ms per gap.
    assert "| fastapi-uvicorn | 40 users | 12.0 | 60.0 | 1.00 | 13.0 | 1.00 | 90.0 |" in markdown
    assert "## Inside the server" in markdown and "event-loop lag p99 35 ms" in markdown
    assert "215 / 201" in markdown and "<svg" in report.to_html(built)


def test_the_terminal_shows_goodput_and_the_objective_missed() -> None:
    out = io.StringIO()
    print_summary(make_run([_stream()]), Console(file=out, width=200))
    assert "176.0 (98%; ttft missed)" in out.getvalue()
