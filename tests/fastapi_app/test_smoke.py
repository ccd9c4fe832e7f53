"""Start `python -m fastapi_app` in its sync and blocking variants against a live mock.

Every server model in the default (async) variant is checked by tests/services.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from tests.services.live import mock_stats
from tests.services.sse import post_stream
from tests.support import free_port, mock_llm, running

pytestmark = pytest.mark.process

# The mock answers a stream's first token after 100 ms, then one every 40 ms.
TTFT_S, ITL_S, TOKENS = 0.1, 0.04, 10


@pytest.fixture(scope="module")
def slow_mock() -> Iterator[str]:
    with mock_llm("--ttft-ms", "100", "--itl-ms", "40", "--output-tokens", str(TOKENS)) as url:
        yield url


@contextmanager
def serve(mock_url: str, *flags: str) -> Iterator[httpx.Client]:
    """Run the service under uvicorn with one worker; yield a client on it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["-m", "fastapi_app", "--server", "uvicorn", "--port", str(port), "--workers", "1"]
    with (
        running([*args, *flags], f"{base}/health", env={"LLM_BASE_URL": mock_url}),
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        yield client


def assert_streams_incrementally(client: httpx.Client) -> None:
    answer = post_stream(client, {"prompt": "Say hi", "max_tokens": TOKENS})
    assert answer.names == ["message"] * TOKENS + ["done"]
    # The deltas keep the mock's gaps; a buffered stream would deliver them all at once.
    assert answer.gaps_of(ITL_S) >= 3, [event.at for event in answer.events]


def test_sync_variant_is_capped_by_the_threadpool(slow_mock: str) -> None:
    with serve(slow_mock, "--variant", "sync", "--threads", "1") as client:
        assert_streams_incrementally(client)
        # One thread: three 100 ms upstream calls must run one after another.
        body = {"prompt": "Say hi", "max_tokens": 1}
        started = time.monotonic()
        with ThreadPoolExecutor(3) as pool:
            statuses = list(
                pool.map(lambda _: client.post("/complete", json=body).status_code, range(3))
            )
        assert statuses == [200] * 3
        assert time.monotonic() - started >= 3 * TTFT_S * 0.9


def test_blocking_variant_stalls_the_event_loop(slow_mock: str) -> None:
    with serve(slow_mock, "--variant", "blocking") as client:
        assert_streams_incrementally(client)
        body = {"prompt": "Say hi", "max_tokens": 5}  # answered after 100 + 4 x 40 ms
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(client.post, "/complete", json=body)
            deadline = time.monotonic() + 5
            while not mock_stats(slow_mock)["in_flight"] and time.monotonic() < deadline:
                time.sleep(0.005)  # until the worker sits in the blocking upstream call
            started = time.monotonic()
            with httpx.Client(base_url=str(client.base_url), timeout=10) as other:
                assert other.get("/hello").status_code == 200
            hello_s = time.monotonic() - started
            assert slow.result().status_code == 200
        # /hello waited for the blocking upstream call to finish.
        assert hello_s > 0.1
