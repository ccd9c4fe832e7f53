"""The mock's capacity benchmark: wrk output parsing and a tiny real run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mock_llm.bench import parse_wrk
from tests.support import REPO_ROOT, free_port, require_tool

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8960/v1/chat/completions
  1 threads and 2000 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   203.19ms   19.81ms   1.05s    98.46%
    Req/Sec     9.71k     3.83k   17.37k    65.59%
  Latency Distribution
     50%  201.10ms
     75%  203.20ms
     90%  210.00ms
     99%    1.04s
  93770 requests in 10.01s, 41.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:   9364.43
Transfer/sec:      4.10MB
"""


def test_parse_wrk() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert result.rps == 9364.43
    assert result.latency_ms == {"p50": 201.1, "p75": 203.2, "p90": 210.0, "p99": 1040.0}
    assert (result.non_2xx, result.socket_errors) == (5, 3)


def test_parse_wrk_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="Requests/sec"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


@pytest.mark.process  # a subprocess
def test_tiny_capacity_run_prints_every_figure() -> None:
    require_tool("wrk")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mock_llm.bench",
            "--duration",
            "1",
            "--warmup",
            "1",
            "--connections",
            "50",
            "--stream-connections",
            "20",
            "--latency-ms",
            "50",
            "--stream-tokens",
            "5",
            "--itl-ms",
            "10",
            "--port",
            str(free_port()),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for needle in ("requests/s", "peak in flight", "added", "tokens/s", "mock CPU"):
        assert needle in done.stdout
    assert done.stdout.count("errors                   0") == 2


@pytest.mark.process  # a subprocess
def test_same_core_twice_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mock_llm.bench", "--mock-cpu", "0", "--load-cpu", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "two different cores" in done.stderr or "wrk is not installed" in done.stderr
