"""The locustfiles and their plugin: pure parts in-process, the rest through the real CLI.

The real runs start the contract stub (tests/bench/contract_stub.py) under uvicorn and
the `locust` command line in subprocesses on loopback, then compare the plugin's
document with what the stub says it served.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.locustfiles.knobs import DEFAULT_PROMPT, LoadConfig, body_failure
from bench.locustfiles.sse import (
    StreamEventError,
    StreamFigures,
    StreamIncomplete,
    StreamMalformed,
    parse_events,
    read_stream,
)
from bench.locustfiles.totals import Totals, Window, error_kind
from bench.results.files import write_json_atomic
from bench.results.histogram import Histogram
from tests.support import REPO_ROOT, free_port, running

STUB_ENV = {"STUB_DELAY_MS": "50", "STUB_TTFT_MS": "100", "STUB_ITL_MS": "20", "STUB_TOKENS": "10"}


# --- pure parts -------------------------------------------------------------------


def fake_stream(*lines: bytes) -> Iterator[bytes]:
    yield from lines
    while True:
        yield b""


def read(*lines: bytes) -> tuple[list[float], Exception | None, int]:
    chunks = fake_stream(*lines)
    ticks = iter(range(1, 1000))
    timing = read_stream(lambda: next(chunks), clock=lambda: float(next(ticks)))
    return timing.token_times, timing.error, timing.n_bytes


def test_read_stream_times_every_text_event_and_skips_empty_ones() -> None:
    times, error, n_bytes = read(
        b": keep-alive comment\n",
        b'data: {"delta": "Hel"}\n',
        b"\n",
        b'data: {"delta": ""}\n',
        b"\n",
        b'data:{"delta": "lo"}\r\n',
        b"\r\n",
        b"event: done\n",
        b'data: {"tokens_used": 2}\n',
        b"\n",
    )
    assert (times, error) == ([2.0, 6.0], None)
    assert n_bytes == sum(
        len(x)
        for x in [
            b": keep-alive comment\n",
            b'data: {"delta": "Hel"}\n',
            b"\n",
            b'data: {"delta": ""}\n',
            b"\n",
            b'data:{"delta": "lo"}\r\n',
            b"\r\n",
            b"event: done\n",
            b'data: {"tokens_used": 2}\n',
            b"\n",
        ]
    )


def test_read_stream_failures() -> None:
    delta = (b'data: {"delta": "a"}\n', b"\n")
    _, error, _ = read(*delta, b"event: error\n", b'data: {"detail": "x"}\n', b"\n")
    assert isinstance(error, StreamEventError)
    _, error, _ = read(*delta)
    assert isinstance(error, StreamIncomplete)
    _, error, _ = read(b"data: not json\n", b"\n")
    assert isinstance(error, StreamMalformed)
    # An event is complete only with its blank line: a `done` without one does not count.
    _, error, _ = read(*delta, b"event: done\n", b'data: {"tokens_used": 1}\n')
    assert isinstance(error, StreamIncomplete)

    def broken() -> bytes:
        raise ConnectionResetError("peer reset")

    assert isinstance(read_stream(broken).error, ConnectionResetError)


def test_stream_figures_follow_the_definitions() -> None:
    chunks = fake_stream(
        *[line for _ in range(3) for line in (b'data: {"delta": "x"}\n', b"\n")],
        b"event: done\n",
        b"data: {}\n",
        b"\n",
    )
    clock = iter([0.100, 0.101, 0.120, 0.121, 0.150, 0.151, 0.151, 0.152, 0.155, 0.160])
    timing = read_stream(lambda: next(chunks), clock=lambda: next(clock))
    figures = StreamFigures.of(0.0, timing)
    assert figures.ttft_ms == pytest.approx(100.0)
    assert figures.itl_ms == pytest.approx([20.0, 30.0])
    assert figures.tpot_ms == pytest.approx(25.0)
    assert figures.e2e_ms == pytest.approx(160.0)
    one = StreamFigures.of(0.0, read_stream(lambda: b"", clock=lambda: 1.0))
    assert (one.ttft_ms, one.tpot_ms, one.itl_ms) == (None, None, [])


def test_window_and_error_kinds() -> None:
    window = Window.from_env({"BENCH_WINDOW_START": "10", "BENCH_WINDOW_END": "20.5"})
    assert [window.contains(t) for t in (9.99, 10.0, 20.49, 20.5)] == [False, True, True, False]
    assert Window.from_env({}).contains(0.0)
    assert error_kind(RuntimeError(), 503) == "503"
    assert error_kind(ConnectionRefusedError(), 0) == "ConnectionRefusedError"
    assert error_kind(None, None) == "unknown"


def test_totals_merge_and_round_trip(tmp_path: Path) -> None:
    one, two = Totals(), Totals()
    one.add_success("/a", 1.5, 100.2)
    one.add_failure("/a", "503", 100.9)
    two.add_failure("/a", "503", 101.0)
    two.add_failure("/b", "ConnectionResetError", 101.5)
    two.add_figure("itl", 0.25, 101.5)
    two.add_fidelity(9, 10, 101.5)
    one.merge(Totals.from_dict(json.loads(json.dumps(two.to_dict()))))
    doc = one.to_dict()
    assert doc["requests"]["/a"]["count"] == 1
    assert doc["requests"]["/a"]["errors"] == {"503": 2}
    assert doc["requests"]["/b"] == {
        "count": 0,
        "errors": {"ConnectionResetError": 1},
        "latency": Histogram().to_dict(),
        "service": Histogram().to_dict(),
    }
    assert doc["stream"]["fidelity"] == {"events": 9, "expected": 10, "streams": 1}
    # Each figure sits in the bucket of the second it completed in.
    assert sorted(doc["series"]) == ["100", "101"]
    assert doc["series"]["100"]["requests"]["/a"]["errors"] == {"503": 1}
    assert one.between(101, 102).to_dict()["requests"]["/a"]["errors"] == {"503": 1}
    assert one.between(100, 101).requests["/a"].count == 1
    with pytest.raises(ValueError, match="metric"):
        one.add_figure("ttfb", 1.0, 100.0)
    target = tmp_path / "deep" / "result.json"
    write_json_atomic(target, {"stream": doc["stream"]})
    assert json.loads(target.read_text())["stream"]["fidelity"]["events"] == 9
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]


def test_load_config_from_env() -> None:
    assert LoadConfig.from_env({}) == LoadConfig()
    config = LoadConfig.from_env(
        {"BENCH_MAX_TOKENS": "8", "BENCH_RATE_PER_USER": "2.5", "BENCH_TIMEOUT_S": "5"}
    )
    assert (config.max_tokens, config.expected_tokens, config.rate_per_user) == (8, 8, 2.5)
    assert config.body() == {"prompt": DEFAULT_PROMPT, "max_tokens": 8}
    with pytest.raises(ValueError, match="rate-per-user"):
        LoadConfig.from_env({"BENCH_RATE_PER_USER": "0"})


def test_body_failure() -> None:
    assert body_failure(200, b'{"message": "hi"}', "message") is None
    assert body_failure(200, b'{"other": 1}', "message") == "the body has no 'message'"
    assert body_failure(200, b"<html>", "message") == "the body is not JSON"
    assert body_failure(204, b"", "message") == "status 204, expected 200"
    assert body_failure(503, b"", "message") is None  # Locust fails it by status
    assert body_failure(0, None, "message") is None  # and a connection error by its exception


# --- real processes ---------------------------------------------------------------


@dataclass
class Stub:
    url: str

    def reset(self) -> None:
        httpx.post(f"{self.url}/stats/reset").raise_for_status()

    def served(self, path: str, status: str | None = None, window: Window | None = None) -> int:
        window = window or Window()
        rows = httpx.get(f"{self.url}/stats").json()
        return sum(
            1 for p, s, at in rows if p == path and status in (None, s) and window.contains(at)
        )


@pytest.fixture(scope="module")
def stub() -> Iterator[Stub]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "uvicorn", "tests.bench.contract_stub:app", "--port", str(port)]
    args += ["--log-level", "critical", "--no-access-log"]
    with running(args, f"{url}/hello", env=STUB_ENV):
        yield Stub(url)


@dataclass
class Run:
    doc: dict[str, Any]
    returncode: int
    locust_stats: list[dict[str, Any]]

    def request(self, name: str) -> dict[str, Any]:
        entry: dict[str, Any] = self.doc["requests"][name]
        return entry

    def summary(self, name: str) -> dict[str, Any]:
        return Histogram.from_dict(self.request(name)["latency"]).summary()

    def stream(self, metric: str) -> dict[str, Any]:
        return Histogram.from_dict(self.doc["stream"][metric]).summary()


def run_locust(
    scenario: str,
    stub: Stub,
    tmp_path: Path,
    users: int,
    run_time_s: int,
    env: dict[str, str] | None = None,
    processes: int | None = None,
    also: str | None = None,
) -> Run:
    stub.reset()
    result, stats = tmp_path / "result.json", tmp_path / "locust"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCH_", "LOCUST_"))}
    full_env = {**base_env, "BENCH_RESULT_FILE": str(result), **(env or {})}
    files = f"bench/locustfiles/{scenario}.py" + (f",bench/locustfiles/{also}.py" if also else "")
    args = [sys.executable, "-m", "locust", "-f", files]
    args += ["--headless", "-u", str(users), "-r", str(users), "--run-time", f"{run_time_s}s"]
    args += ["--host", stub.url, "--only-summary", "--json-file", str(stats)]
    if processes:
        args += ["--processes", str(processes)]
    done = subprocess.run(
        args, cwd=REPO_ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )
    assert result.exists(), f"no result file (exit {done.returncode}):\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    locust_stats = json.loads((tmp_path / "locust.json").read_text())
    return Run(json.loads(result.read_text()), done.returncode, locust_stats)


def locust_count(run: Run, method: str, name: str) -> tuple[int, int]:
    for entry in run.locust_stats:
        if (entry["method"], entry["name"]) == (method, name):
            return entry["num_requests"], entry["num_failures"]
    return 0, 0


@pytest.mark.process
@pytest.mark.measures
def test_hello_counts_what_the_stub_served(stub: Stub, tmp_path: Path) -> None:
    run = run_locust("hello", stub, tmp_path, users=4, run_time_s=3)
    assert run.returncode == 0
    hello = run.request("/hello")
    served = stub.served("/hello", "200")
    # users killed at the end may have been served without reading the answer
    assert hello["count"] <= served <= hello["count"] + 4
    assert hello["count"] > 100
    assert hello["errors"] == {}
    assert locust_count(run, "GET", "/hello") == (hello["count"], 0)
    assert run.doc["processes"] == 1
    window = run.doc["window"]
    # the window opens once every user is spawned, which a busy machine delays by
    # up to a second of the 3 s run; it never outlasts the run
    assert 1.0 < window["end"] - window["start"] < 4.0


@pytest.mark.process
@pytest.mark.measures
def test_complete_errors_are_counted_by_status(stub: Stub, tmp_path: Path) -> None:
    env = {"BENCH_PROMPT": "x fail"}
    run = run_locust("complete", stub, tmp_path, users=2, run_time_s=2, env=env)
    assert run.returncode == 1  # Locust's own verdict: there were failures
    complete = run.request("/complete")
    failed = complete["errors"]["503"]
    assert complete["count"] == 0
    assert set(complete["errors"]) == {"503"}
    assert failed <= stub.served("/complete", "503") <= failed + 2
    assert locust_count(run, "POST", "/complete") == (failed, failed)


@pytest.mark.process
@pytest.mark.measures
def test_stream_figures_match_the_stubs_timing(stub: Stub, tmp_path: Path) -> None:
    env = {"BENCH_MAX_TOKENS": "10"}
    run = run_locust("stream", stub, tmp_path, users=2, run_time_s=3, env=env)
    assert run.returncode == 0
    streams = run.request("/complete/stream")
    assert streams["errors"] == {}
    assert streams["count"] <= stub.served("/complete/stream", "200") <= streams["count"] + 2
    assert streams["count"] >= 10
    assert run.doc["stream"]["fidelity"] == {
        "events": 10 * streams["count"],
        "expected": 10 * streams["count"],
        "streams": streams["count"],
    }
    ttft, itl, tpot = run.stream("ttft"), run.stream("itl"), run.stream("tpot")
    assert ttft["count"] == tpot["count"] == streams["count"]
    assert itl["count"] == 9 * streams["count"]
    assert 100.0 <= ttft["p50"] <= 106.0
    assert 18.0 <= itl["p50"] <= 22.0
    assert 19.0 <= tpot["mean"] <= 21.0
    e2e = run.summary("/complete/stream")
    # 100 + 9 x 20 ms to the body's last byte, within the histogram's 0.5 %
    assert 278.0 <= e2e["p50"] <= 290.0
    # One request event per stream: Locust's own aggregate counts streams, not twice.
    assert locust_count(run, "TTFT", "/complete/stream") == (0, 0)
    posted, _ = locust_count(run, "POST", "/complete/stream")
    assert sum(entry["num_requests"] for entry in run.locust_stats) == posted


@pytest.mark.process
@pytest.mark.parametrize(
    ("scenario", "kind"), [("complete", "502 without detail"), ("stream", "StreamMalformed")]
)
def test_an_error_without_the_contracts_detail_is_its_own_kind(
    stub: Stub, tmp_path: Path, scenario: str, kind: str
) -> None:
    # 4 s, as below: beside the whole suite, Locust's start-up took most of a 2-s run once
    # (2 errors where each of the 2 users makes several a second).
    run = run_locust(scenario, stub, tmp_path, users=2, run_time_s=4, env={"BENCH_PROMPT": "bare"})
    name = "/complete" if scenario == "complete" else "/complete/stream"
    errors = run.request(name)["errors"]
    assert set(errors) == {kind}
    assert errors[kind] >= 4


@pytest.mark.process
@pytest.mark.measures
def test_a_disconnecting_client_reads_its_deltas_and_hangs_up(stub: Stub, tmp_path: Path) -> None:
    env = {"BENCH_DROP_AFTER": "3"}
    run = run_locust("disconnect", stub, tmp_path, users=2, run_time_s=3, env=env)
    streams = run.request("/complete/stream")
    assert streams["errors"] == {}
    assert streams["count"] >= 10
    # Timed to the third delta (100 + 2 x 20 ms), not to the end of the stream (280 ms).
    assert 135.0 <= run.summary("/complete/stream")["p50"] <= 170.0
    # No stream was read to the end: each connection closed after its third delta.
    assert stub.served("/complete/stream", "200") == 0
    # The stub notices a hang-up at its next write, a token later: the last one may be
    # noticed just after Locust has exited (once, 37 of 38 were counted at that moment).
    deadline = time.monotonic() + 2.0
    while stub.served("/complete/stream", "gone") < streams["count"]:
        assert time.monotonic() < deadline, (stub.served("/complete/stream"), streams)
        time.sleep(0.05)
    assert run.doc["stream"]["fidelity"]["streams"] == 0


@pytest.mark.process
@pytest.mark.parametrize(
    ("prompt", "kind"), [("fail", "StreamEventError"), ("cut", "HTTPParseError")]
)
def test_stream_failures_are_counted_by_kind(
    stub: Stub, tmp_path: Path, prompt: str, kind: str
) -> None:
    # 4 s: beside the whole suite, Locust's start-up once took most of a 2-s run (2 failures).
    run = run_locust("stream", stub, tmp_path, users=2, run_time_s=4, env={"BENCH_PROMPT": prompt})
    streams = run.request("/complete/stream")
    assert streams["count"] == 0
    assert set(streams["errors"]) == {kind}
    assert streams["errors"][kind] >= 4
    assert run.doc["stream"]["fidelity"]["streams"] == 0
    assert run.stream("ttft")["count"] == 0


@pytest.mark.process
@pytest.mark.measures
def test_window_counts_only_requests_completed_inside_it(stub: Stub, tmp_path: Path) -> None:
    now = time.time()
    window = Window(now + 1.5, now + 3.0)
    env = {"BENCH_WINDOW_START": str(window.start), "BENCH_WINDOW_END": str(window.end)}
    run = run_locust("complete", stub, tmp_path, users=4, run_time_s=4, env=env)
    assert run.doc["window"] == {"start": window.start, "end": window.end}
    complete = run.request("/complete")
    in_window = stub.served("/complete", "200", window)
    assert abs(complete["count"] - in_window) <= 4  # client and stub clocks see the edges apart
    assert complete["count"] < stub.served("/complete", "200") - 20
    # Little's law, closed loop without think time: throughput = users / latency
    mean_s = run.summary("/complete")["mean"] / 1000
    assert complete["count"] / 1.5 == pytest.approx(4 / mean_s, rel=0.15)


@pytest.mark.process
@pytest.mark.measures
def test_processes_merge_every_workers_totals(stub: Stub, tmp_path: Path) -> None:
    now = time.time()
    # Two processes take a few seconds to start on a busy machine: open the window after.
    window = Window(now + 4.0, now + 5.5)
    env = {"BENCH_WINDOW_START": str(window.start), "BENCH_WINDOW_END": str(window.end)}
    run = run_locust("complete", stub, tmp_path, users=4, run_time_s=6, env=env, processes=2)
    assert run.returncode == 0
    assert run.doc["processes"] == 2
    complete = run.request("/complete")
    assert abs(complete["count"] - stub.served("/complete", "200", window)) <= 4
    assert complete["count"] == run.summary("/complete")["count"]
    mean_s = run.summary("/complete")["mean"] / 1000
    assert complete["count"] / 1.5 == pytest.approx(4 / mean_s, rel=0.15)


def test_one_reader_joins_multi_line_data_and_skips_comments() -> None:
    body = (
        ": a comment\n"
        "event: done\n"
        'data: {"tokens_used":\n'
        "data: 3}\n"
        "\n"
        "data:no space\n"
        "\r\n"
        "data: unterminated\n"
    )
    events = parse_events(body)
    assert [(e.name, e.data) for e in events] == [
        ("done", '{"tokens_used":\n3}'),
        ("message", "no space"),
    ]
    assert events[0].json() == {"tokens_used": 3}


def _open_env(window: Window, rate: float, **extra: str) -> dict[str, str]:
    return {"BENCH_WINDOW_START": str(window.start), "BENCH_WINDOW_END": str(window.end),
            "BENCH_ARRIVALS": "poisson", "BENCH_RATE": f"{rate:g}", **extra}  # fmt: skip


@pytest.mark.process
@pytest.mark.measures
@pytest.mark.parametrize("processes", [None, 2], ids=["one-process", "two-processes"])
def test_open_loop_sends_its_rate_whatever_the_answers(
    stub: Stub, tmp_path: Path, processes: int | None
) -> None:
    now = time.time()
    # Two processes take a few seconds to start on a busy machine: open the window after.
    window = Window(now + 4.0, now + 7.0)
    run = run_locust("complete", stub, tmp_path, users=processes or 1, run_time_s=8,
                     env=_open_env(window, 100.0), processes=processes)  # fmt: skip
    assert run.returncode == 0
    complete = run.request("/complete")
    # 100 req/s for 3 s: 300 Poisson arrivals, whose count varies by sqrt(300) = 17; the
    # stub answers in 50 ms, far below its capacity: 300 +/- 70 (4 sigma) are answered.
    assert 230 <= complete["count"] <= 370, complete["count"]
    assert abs(complete["count"] - stub.served("/complete", "200", window)) <= 10
    response: dict[str, Any] = Histogram.from_dict(complete["latency"]).summary()
    service: dict[str, Any] = Histogram.from_dict(complete["service"]).summary()
    assert service["count"] == complete["count"] and service["p50"] >= 49.0  # the stub's 50 ms
    # The response time counts from the intended send: never shorter than the service time.
    assert response["p50"] >= service["p50"] and response["min"] >= service["min"]
    opened = Totals.from_dict(run.doc).between()
    # Every request sent in the window was timed late or not; a loaded CI machine may
    # delay a send by milliseconds, never by the 50 ms of an answer at the median.
    assert opened.lateness.count >= complete["count"] - 10
    assert (opened.lateness.percentile(50) or 0.0) < 50.0
    assert opened.dropped == 0 and 1 <= opened.outstanding <= 100


@pytest.mark.process
@pytest.mark.measures
def test_a_new_rate_takes_over_at_once_even_from_a_near_stop(stub: Stub, tmp_path: Path) -> None:
    # The capacity search pauses arrivals (1 req/s) while a queue drains, then sets the
    # next rate. Here the first rate is far slower still (an arrival every 100 s on
    # average): a dispatcher that slept to its next arrival would send nothing in the
    # window, or, once awake, every arrival the new rate had meant to send, at once.
    control = tmp_path / "control.json"
    write_json_atomic(control, {"step": 1, "rate": 0.01})
    now = time.time()
    window = Window(now + 4.0, now + 7.0)
    env = _open_env(window, 0.01, BENCH_CONTROL_FILE=str(control))
    timer = threading.Timer(3.0, write_json_atomic, (control, {"step": 2, "rate": 100.0}))
    timer.start()
    try:
        run = run_locust("complete", stub, tmp_path, users=1, run_time_s=8, env=env,
                         also="control")  # fmt: skip
    finally:
        timer.cancel()
    complete = run.request("/complete")
    # 100 req/s for 3 s, from a second after the change: 300 +/- 70 (4 sigma) arrivals.
    assert 230 <= complete["count"] <= 370, complete["count"]
    # Each answered in the stub's 50 ms, counted from its intended send: a burst of
    # arrivals sent late would count its delay (seconds) in the tail.
    response: dict[str, Any] = Histogram.from_dict(complete["latency"]).summary()
    assert response["p99"] < 500.0, response


@pytest.mark.process
@pytest.mark.measures
def test_open_loop_drops_and_counts_the_arrivals_over_its_cap(stub: Stub, tmp_path: Path) -> None:
    now = time.time()
    window = Window(now + 1.5, now + 3.5)
    env = _open_env(window, 100.0, BENCH_MAX_OUTSTANDING="2")
    run = run_locust("complete", stub, tmp_path, users=1, run_time_s=4, env=env)
    opened = Totals.from_dict(run.doc).between()
    # 100 req/s of 50-ms answers hold 5 in flight on average: with a cap of 2, most
    # arrivals find it full; they are counted, never sent.
    assert opened.outstanding == 2
    assert opened.dropped > 50 and opened.lateness.count > 20
    assert 150 <= opened.dropped + opened.lateness.count <= 250  # 200 +/- 50 arrivals
