"""Each server model, started by `python -m drf_app`, with its upstream client.

What every server model must do is checked by tests/services; here, what is DRF's own:
under gevent every client must yield on its sockets, gthread and gevent workers serve
requests side by side, and a chunked request body reaches Django (drf_app/chunked.py)
under WSGI and ASGI servers alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.services.sse import post_stream
from tests.support import free_port, mock_llm, running

pytestmark = pytest.mark.process

# (server model, LLM_CLIENT); None runs the view set's default client.
SERVERS = [
    ("gunicorn-gthread", "urllib3"),
    ("gunicorn-sync", "urllib3"),
    # Under gevent a client must yield on its sockets, or requests run one at a time.
    ("gunicorn-gevent", "urllib3"),
    ("gunicorn-gevent", "httpx"),
    ("uvicorn", None),
    ("gunicorn-uvicorn", None),
]
TTFT_S, ITL_S, TOKENS = 0.1, 0.04, 8


@pytest.fixture(scope="module")
def slow_mock() -> Iterator[str]:
    """A mock whose tokens are far enough apart to tell streaming from buffering."""
    flags = ("--ttft-ms", str(TTFT_S * 1000), "--itl-ms", str(ITL_S * 1000))
    with mock_llm(*flags, "--output-tokens", str(TOKENS)) as base:
        yield base


def in_chunks(body: bytes, size: int) -> Iterator[bytes]:
    """A generator body: httpx sends it with Transfer-Encoding: chunked, no Content-Length."""
    return (body[i : i + size] for i in range(0, len(body), size))


def assert_chunked_bodies_are_read(http: httpx.Client) -> None:
    """Django and DRF size a body by Content-Length only; drf_app.chunked fills it in."""
    json_type = {"Content-Type": "application/json"}
    small = json.dumps({"prompt": "hi", "max_tokens": 2}).encode()
    for path in ("/complete", "/complete/stream"):
        answer = http.post(path, content=in_chunks(small, 4), headers=json_type)
        assert answer.status_code == 200, answer.text
    shell = b'{"prompt": ""}'
    for size, status in ((65536, 422), (65537, 413), (300000, 413)):
        body = shell[:-2] + b"x" * (size - len(shell)) + shell[-2:]
        answer = http.post("/complete", content=in_chunks(body, 8192), headers=json_type)
        assert answer.status_code == status, answer.text
        if status == 422:  # read whole: too long a prompt, not a missing one
            assert answer.json()["detail"][0]["type"] == "max_length"


def concurrent_completes(base: str, count: int) -> float:
    """POST /complete `count` times at once, each on its own connection; return the seconds."""

    def one(_: int) -> int:
        return httpx.post(f"{base}/complete", json={"prompt": "hi"}, timeout=10).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(count) as threads:
        assert list(threads.map(one, range(count))) == [200] * count
    return time.monotonic() - started


@pytest.mark.parametrize(("server", "llm_client"), SERVERS)
def test_server(slow_mock: str, server: str, llm_client: str | None) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["-m", "drf_app", "--server", server, "--port", str(port), "--workers", "1"]
    env = {"LLM_BASE_URL": slow_mock}
    if llm_client is not None:
        env["LLM_CLIENT"] = llm_client
    with (
        running(args, f"{base}/health", env=env),
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        answer = post_stream(http, {"prompt": "hi"})
        assert answer.names == ["message"] * TOKENS + ["done"]
        # Incremental: the deltas keep the mock's gaps; a buffered stream would deliver
        # them all at once.
        assert answer.gaps_of(ITL_S) >= 3, [event.at for event in answer.events]
        if server in ("gunicorn-gthread", "gunicorn-gevent"):
            # 10 answers of TTFT + (TOKENS - 1) x ITL on one worker: serial is 10 of them.
            # Beside the whole suite Flask's gevent worker took 4.2 x one (its smoke test):
            # 6 x tells concurrent from serial here too.
            one = TTFT_S + (TOKENS - 1) * ITL_S
            assert concurrent_completes(base, 10) < 6 * one
        assert_chunked_bodies_are_read(http)
