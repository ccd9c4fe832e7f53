"""Leave a stream early and time how long the upstream call outlives it (issue 12, part 3).

An LLM keeps generating, and billing, until its caller closes the call; so when a client
drops a stream, the service must close its upstream call at once. `leave_stream` reads a
few events of a long stream, closes the client connection, and polls the mock's /stats
until nothing is in flight. Run as a script, it measures every server model:

    .venv/bin/python -m tests.services.disconnect --tries 10
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

from tests.services.live import SERVER_MODELS, mock_stats, serve
from tests.support import mock_llm

# A stream long enough never to end on its own during a measurement: 200 tokens, 20 ms
# apart (4 s), the first after 50 ms.
TTFT_MS, ITL_MS, LONG_STREAM = 50, 20, 200
STREAM_MOCK = ("--ttft-ms", str(TTFT_MS), "--itl-ms", str(ITL_MS), "--output-tokens", "200")
EVENTS_READ = 3


@contextmanager
def stream_mock() -> Iterator[str]:
    """A mock whose streams last 4 s; yields its base URL (…/v1)."""
    with mock_llm(*STREAM_MOCK) as upstream:
        yield upstream


def in_flight(upstream: str) -> int:
    return int(mock_stats(upstream)["in_flight"])


def wait_until_idle(upstream: str, timeout_s: float) -> float:
    """Poll the mock until no call is in flight; return the seconds waited (inf on timeout)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if in_flight(upstream) == 0:
            return time.perf_counter() - started
        time.sleep(0.005)
    return float("inf")


def open_stream(base_url: str, max_tokens: int = LONG_STREAM) -> socket.socket:
    """POST /complete/stream on a raw socket; return it once `EVENTS_READ` events arrived."""
    url = urlsplit(base_url)
    assert url.hostname is not None and url.port is not None
    body = json.dumps({"prompt": "Tell me a long story.", "max_tokens": max_tokens}).encode()
    head = (
        f"POST /complete/stream HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    sock.sendall(head.encode() + body)
    received = b""
    while received.count(b'data: {"delta"') < EVENTS_READ:
        chunk = sock.recv(65536)
        if not chunk:
            sock.close()
            raise ConnectionError(f"the stream ended early: {received[-300:]!r}")
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:300]
    return sock


def leave_stream(base_url: str, upstream: str, timeout_s: float = 5.0) -> float:
    """Drop a stream after a few events; return the seconds until its upstream call closed."""
    sock = open_stream(base_url)
    assert in_flight(upstream) == 1, "the upstream stream should be in flight"
    sock.close()
    return wait_until_idle(upstream, timeout_s)


def measure(tries: int) -> None:
    """Print, per server model, the time from a client leaving to its upstream call closing."""
    print(f"{tries} streams per server model left after {EVENTS_READ} events; ITL {ITL_MS} ms")
    print("| server model | median ms | max ms |")
    print("| --- | ---: | ---: |")
    with stream_mock() as upstream:
        for service, server in SERVER_MODELS:
            with serve(service, upstream, server) as live:
                seconds = [leave_stream(live.base, upstream) for _ in range(tries)]
            median_ms, max_ms = statistics.median(seconds) * 1000, max(seconds) * 1000
            print(f"| {service.module} {server} | {median_ms:.0f} | {max_ms:.0f} |", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    prog = "python -m tests.services.disconnect"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--tries", type=int, default=10)
    measure(parser.parse_args(argv).tries)


if __name__ == "__main__":
    main()
