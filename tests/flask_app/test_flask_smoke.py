"""Start `python -m flask_app` under each gunicorn worker class with each upstream client.

What every server model must do is checked by tests/services; here, the worker classes
with the clients: under gevent every client must yield on its sockets (monkey-patched
before the app is imported), or a worker serves its requests one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.services.sse import post_stream
from tests.support import free_port, mock_llm, running, stop_process

pytestmark = pytest.mark.process

# A first token at 1 s: ten calls at once take about 1 s plus what a loaded machine adds
# (beside the whole suite it added 1.6 s to ten 300-ms calls), ten in a row 10 s.
TTFT_S = 1.0
ITL_S = 0.03
TOKENS = 10


@pytest.fixture(scope="module")
def slow_mock() -> Iterator[str]:
    """A mock slow enough that relaying, concurrency and buffering become visible."""
    flags = ["--ttft-ms", str(TTFT_S * 1000), "--itl-ms", str(ITL_S * 1000)]
    with mock_llm(*flags, "--output-tokens", str(TOKENS)) as base:
        yield base


def _concurrent_completes(url: str, count: int) -> float:
    """POST /complete `count` times at once, each on its own connection; return the seconds."""

    def one(_: int) -> int:
        body = {"prompt": "hi", "max_tokens": 1}
        return httpx.post(f"{url}/complete", json=body, timeout=10).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        assert list(pool.map(one, range(count))) == [200] * count
    return time.monotonic() - started


@pytest.mark.parametrize(
    ("server", "llm_client"),
    [
        ("gunicorn-sync", "urllib3"),
        ("gunicorn-gthread", "urllib3"),
        ("gunicorn-gevent", "urllib3"),
        ("gunicorn-gevent", "httpx"),
        ("gunicorn-gevent", "openai"),
    ],
)
def test_worker_class_with_client(slow_mock: str, server: str, llm_client: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "flask_app", "--server", server, "--port", str(port), "--workers", "1"]
    env = {"LLM_BASE_URL": slow_mock, "LLM_CLIENT": llm_client}
    with running(args, f"{url}/health", env=env) as proc:
        # The CLI execs gunicorn in its own process.
        assert b"gunicorn" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        with httpx.Client(base_url=url, timeout=10) as client:
            # The first request builds the worker's upstream client (and imports it).
            assert client.post("/complete", json={"prompt": "hi"}).status_code == 200
            answer = post_stream(client, {"prompt": "hi"})
        assert answer.names == ["message"] * TOKENS + ["done"]
        # Chunks leave as they come: a relayed stream keeps the mock's gaps (StreamAnswer.
        # gaps_of says why they are counted); a buffered one arrives at once.
        assert answer.events[0].at < TTFT_S + 0.2
        assert answer.gaps_of(ITL_S) >= 3, [event.at for event in answer.events]

        if server != "gunicorn-sync":
            # 10 requests of 1 s on one worker: one at a time would take 10 s; half of
            # that leaves the loaded machine's 1.6 s of overhead three times over.
            assert _concurrent_completes(url, 10) < 5 * TTFT_S

        stop_process(proc)
        assert proc.stderr is not None
        log = proc.stderr.read().decode(errors="replace")
    assert '"GET /hello' not in log and '"POST /complete' not in log  # no access log
