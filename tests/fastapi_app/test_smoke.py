"""Start `python -m fastapi_app` under each server model against a live mock and use it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from tests.support import free_port, mock_llm, running

# The mock answers a stream's first token after 100 ms, then one every 40 ms; requests
# ask for TOKENS tokens, except the one that leaves early, which asks for LONG_TOKENS.
TTFT_S, ITL_S, TOKENS, LONG_TOKENS = 0.1, 0.04, 10, 50


@pytest.fixture(scope="module")
def slow_mock() -> Iterator[str]:
    flags = ("--ttft-ms", "100", "--itl-ms", "40", "--output-tokens", str(LONG_TOKENS))
    with mock_llm(*flags) as url:
        yield url


@contextmanager
def serve(mock_url: str, server: str, *flags: str) -> Iterator[str]:
    """Run the service with one worker until the block ends; yield its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["-m", "fastapi_app", "--server", server, "--port", str(port), "--workers", "1"]
    with running([*args, *flags], f"{base}/health", env={"LLM_BASE_URL": mock_url}):
        yield base


def stream_arrivals(base: str) -> tuple[list[float], list[str]]:
    """POST a stream; return each event's arrival time (s from the request) and its lines."""
    started = time.monotonic()
    arrivals, blocks, lines = [], [], []
    body = {"prompt": "Say hi", "max_tokens": TOKENS}
    with httpx.stream("POST", f"{base}/complete/stream", json=body, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line:
                lines.append(line)
                continue
            arrivals.append(time.monotonic() - started)
            blocks.append("\n".join(lines))
            lines = []
    return arrivals, blocks


def mock_in_flight(mock_url: str) -> int:
    stats = httpx.get(mock_url.removesuffix("/v1") + "/stats").json()
    in_flight: int = stats["in_flight"]
    return in_flight


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn-uvicorn", "gunicorn-asgi"])
def test_server_model(slow_mock: str, server: str) -> None:
    with serve(slow_mock, server) as base:
        hello = httpx.get(f"{base}/hello")
        assert hello.status_code == 200
        assert hello.json() == {"message": "Hello from FastAPI"}

        body = {"prompt": "Say hi", "max_tokens": TOKENS}
        complete = httpx.post(f"{base}/complete", json=body, timeout=10)
        assert complete.status_code == 200
        assert len(complete.json()["response"].split()) == TOKENS

        arrivals, blocks = stream_arrivals(base)
        assert len(blocks) == TOKENS + 1
        assert blocks[-1].startswith("event: done\n")
        assert json.loads(blocks[0].removeprefix("data: ")) == {"delta": "The"}
        # Incremental: the first delta comes at about TTFT, long before the last token.
        assert arrivals[0] < arrivals[-2] - 0.5 * (TOKENS - 1) * ITL_S

        big = httpx.post(f"{base}/complete", content=b"a" * 70000)
        assert big.status_code == 413
        assert isinstance(big.json()["detail"], str)

        # The upstream stream would run for 2 s more: leaving must end it at once.
        _client_leaves_mid_stream(base)
        deadline = time.monotonic() + 0.5 * LONG_TOKENS * ITL_S
        while mock_in_flight(slow_mock) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mock_in_flight(slow_mock) == 0, "the upstream stream was not released"


def _client_leaves_mid_stream(base: str) -> None:
    body = {"prompt": "Say hi", "max_tokens": LONG_TOKENS}
    with httpx.stream("POST", f"{base}/complete/stream", json=body, timeout=10) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                break


def test_sync_variant_is_capped_by_the_threadpool(slow_mock: str) -> None:
    with serve(slow_mock, "uvicorn", "--variant", "sync", "--threads", "1") as base:
        arrivals, blocks = stream_arrivals(base)
        assert len(blocks) == TOKENS + 1
        assert arrivals[0] < arrivals[-2] - 0.5 * (TOKENS - 1) * ITL_S

        # One thread: three 100 ms upstream calls must run one after another.
        body = {"prompt": "Say hi", "max_tokens": 1}
        started = time.monotonic()
        with ThreadPoolExecutor(3) as pool:
            answers = list(
                pool.map(lambda _: httpx.post(f"{base}/complete", json=body, timeout=10), range(3))
            )
        assert [answer.status_code for answer in answers] == [200] * 3
        assert time.monotonic() - started >= 3 * TTFT_S * 0.9


def test_blocking_variant_stalls_the_event_loop(slow_mock: str) -> None:
    with serve(slow_mock, "uvicorn", "--variant", "blocking") as base:
        _, blocks = stream_arrivals(base)
        assert len(blocks) == TOKENS + 1

        body = {"prompt": "Say hi", "max_tokens": 5}  # answered after 100 + 4 x 40 ms
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(httpx.post, f"{base}/complete", json=body, timeout=10)
            deadline = time.monotonic() + 5
            while not mock_in_flight(slow_mock) and time.monotonic() < deadline:
                time.sleep(0.005)  # until the worker sits in the blocking upstream call
            started = time.monotonic()
            assert httpx.get(f"{base}/hello").status_code == 200
            hello_s = time.monotonic() - started
            assert slow.result().status_code == 200
        # /hello waited for the blocking upstream call to finish.
        assert hello_s > 0.1
