"""The mock's HTTP server, /stats, workers and command line."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from urllib.parse import urlsplit

import httpx
import pytest

from mock_llm.config import parse_config
from tests.support import REPO_ROOT, mock_llm

HEADERS = {"Authorization": "Bearer sk-mock-local"}
BODY = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


def _raw(base: str, payload: bytes) -> bytes:
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(payload)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


@pytest.mark.process  # a live mock or a subprocess
def test_pipelined_requests_are_answered_in_order(fast_mock: str) -> None:
    one = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = _raw(fast_mock, one + one + last)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.rindex(b"HTTP/1.1 404") > answer.rindex(b"HTTP/1.1 200")


@pytest.mark.process  # a live mock or a subprocess
def test_garbage_gets_400_and_the_server_lives_on(fast_mock: str) -> None:
    assert _raw(fast_mock, b"\x00\x01 not http at all\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert httpx.get(fast_mock.removesuffix("/v1") + "/health").json() == {"status": "ok"}


@pytest.mark.process  # a live mock or a subprocess
def test_expect_100_continue(fast_mock: str) -> None:
    body = httpx.Request("POST", "http://x", json=BODY).content
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-mock-local\r\n"
        b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    answer = _raw(fast_mock, head + body)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")


@pytest.mark.process  # a live mock or a subprocess
def test_stats_count_requests_in_flight_and_reset(fast_mock: str) -> None:
    root = fast_mock.removesuffix("/v1")
    httpx.post(f"{root}/stats/reset").raise_for_status()
    slow = {**BODY, "max_tokens": 20}  # 30 ms + 19 x 5 ms
    threads = [
        threading.Thread(
            target=httpx.post,
            args=(f"{fast_mock}/chat/completions",),
            kwargs={"json": slow, "headers": HEADERS},
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = httpx.get(f"{root}/stats").json()
    assert stats["requests"] == stats["completed"] == 8
    assert stats["in_flight"] == 0
    assert 2 <= stats["peak_in_flight"] <= 8
    assert stats["config"]["ttft_ms"] == 30
    assert "api_key" not in stats["config"]
    reset = httpx.post(f"{root}/stats/reset").json()
    assert reset["requests"] == 0 and reset["resets"] == stats["resets"] + 1


@pytest.mark.process  # a live mock or a subprocess
def test_two_workers_share_the_port_and_the_counters() -> None:
    with mock_llm("--workers", "2", "--ttft-ms", "1", "--itl-ms", "0") as base:
        with httpx.Client(headers=HEADERS) as client:
            for _ in range(40):
                # A new connection each time, so that both workers get some.
                client.post(
                    f"{base}/chat/completions", json=BODY, headers={"Connection": "close"}
                ).raise_for_status()
        stats = httpx.get(base.removesuffix("/v1") + "/stats").json()
    assert stats["workers"] == 2
    assert stats["requests"] == stats["completed"] == 40


def test_environment_variables_set_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_LLM_TTFT_MS", "12.5")
    monkeypatch.setenv("MOCK_LLM_ERROR_CODES", "429,stall")
    config = parse_config(["--itl-ms", "3"])
    assert (config.ttft_ms, config.itl_ms, config.error_codes) == (12.5, 3.0, ("429", "stall"))


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--error-rate", "2"], {}, "--error-rate"),
        (["--error-codes", "200"], {}, "--error-codes"),
        (["--ttft-ms", "-1"], {}, "--ttft-ms"),
        ([], {"MOCK_LLM_OUTPUT_TOKENS": "zero"}, "--output-tokens"),
    ],
)
@pytest.mark.process  # a live mock or a subprocess
def test_bad_settings_exit_2_with_one_line(
    args: list[str], env: dict[str, str], needle: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mock_llm", *args],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert needle in done.stderr.strip().splitlines()[-1]


@pytest.mark.process  # a live mock or a subprocess
def test_occupied_port_exits_2(fast_mock: str) -> None:
    port = str(urlsplit(fast_mock).port)
    done = subprocess.run(
        [sys.executable, "-m", "mock_llm", "--port", port],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
