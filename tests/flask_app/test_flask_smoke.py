"""Start `python -m flask_app` under each gunicorn worker class against a live mock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.flask_app.sse_parse import parse_events
from tests.support import free_port, mock_llm, running, stop_process

TTFT_S = 0.3
ITL_S = 0.03
TOKENS = 10


@pytest.fixture(scope="module")
def slow_mock() -> Iterator[str]:
    """A mock slow enough that relaying, concurrency and buffering become visible."""
    flags = ["--ttft-ms", str(TTFT_S * 1000), "--itl-ms", str(ITL_S * 1000)]
    with mock_llm(*flags, "--output-tokens", str(TOKENS)) as base:
        yield base


def _stream_timings(url: str) -> list[tuple[float, str]]:
    """Return (seconds since the request, line) for each line as it arrives."""
    started = time.monotonic()
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", f"{url}/complete/stream", json={"prompt": "hi"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [(time.monotonic() - started, line) for line in response.iter_lines()]


def _concurrent_completes(url: str, count: int) -> float:
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
        # Under gevent every client must yield on its sockets, or requests run one by one.
        ("gunicorn-gevent", "httpx"),
        ("gunicorn-gevent", "openai"),
    ],
)
def test_server_model_serves_the_contract(slow_mock: str, server: str, llm_client: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "flask_app", "--server", server, "--port", str(port), "--workers", "1"]
    env = {"LLM_BASE_URL": slow_mock, "LLM_CLIENT": llm_client}
    with running(args, f"{url}/health", env=env) as proc:
        # The CLI execs gunicorn in its own process.
        assert b"gunicorn" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert httpx.get(f"{url}/hello").json() == {"message": "Hello from Flask"}
        answer = httpx.post(f"{url}/complete", json={"prompt": "hi"}, timeout=10).json()
        assert answer["tokens_used"] > TOKENS and answer["response"]

        timings = _stream_timings(url)
        events = parse_events("\n".join(line for _, line in timings) + "\n")
        assert [name for name, _ in events] == ["message"] * TOKENS + ["done"]
        first_delta, last_line = timings[0][0], timings[-1][0]
        assert timings[0][1].startswith("data: ")
        # Chunks leave as they come: the first token arrives a whole stream before the end.
        assert first_delta < TTFT_S + 0.15
        assert last_line - first_delta > (TOKENS - 1) * ITL_S * 0.7

        if server != "gunicorn-sync":
            # 10 requests of 300 ms on one worker: serial would take 3 s.
            assert _concurrent_completes(url, 10) < 4 * TTFT_S

        stop_process(proc)
        assert proc.stderr is not None
        log = proc.stderr.read().decode(errors="replace")
    assert '"GET /hello' not in log and '"POST /complete' not in log  # no access log


def test_real_server_answers_json_errors(slow_mock: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "flask_app", "--server", "gunicorn-gthread", "--port", str(port)]
    with running([*args, "--workers", "1"], f"{url}/health", env={"LLM_BASE_URL": slow_mock}):
        too_big = httpx.post(f"{url}/complete", json={"prompt": "x" * 70000})
        assert too_big.status_code == 413 and isinstance(too_big.json()["detail"], str)

        def chunked() -> Iterator[bytes]:
            yield b'{"prompt": "'
            yield b"x" * 70000
            yield b'"}'

        unsized = httpx.post(
            f"{url}/complete", content=chunked(), headers={"Content-Type": "application/json"}
        )
        assert unsized.status_code == 413 and isinstance(unsized.json()["detail"], str)

        malformed = httpx.post(
            f"{url}/complete", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["body"]
        assert httpx.get(f"{url}/docs").headers["content-type"].startswith("text/html")
        assert httpx.get(f"{url}/openapi.json").json()["paths"]
