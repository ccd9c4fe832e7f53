"""The urllib3 client (LLM_CLIENT=urllib3): pool, reads as data arrives, one call per request.

What every sync client must do (answers, fault mappings, request shape) is checked for
urllib3 too by test_drf_upstream_sync.py and test_drf_upstream_request.py.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Any, cast

import httpx
import pytest
import urllib3
from django.test import Client

from drf_app.completions import llm
from drf_app.completions.llm.base import Chunk
from drf_app.completions.llm.urllib3_client import Urllib3Client
from tests.drf_app.support import (
    COMPLETE_FAULTS,
    SHORT_TIMEOUT_S,
    STREAM_MIDWAY_FAULTS,
    STREAM_START_FAULTS,
    faulty,
    streaming,
)
from tests.services.gated import gated_upstream
from tests.services.live import mock_stats
from tests.services.sse import parse_events
from tests.support import mock_llm

pytestmark = pytest.mark.process  # a live mock

TTFT_S, ITL_S, TOKENS = 0.05, 0.04, 8
# Seconds from the first token to the last on the paced mock.
SPREAD_S = (TOKENS - 1) * ITL_S


@pytest.fixture(scope="module")
def paced_mock() -> Iterator[str]:
    """A mock of this module's own, so its /stats count only this module's requests."""
    with mock_llm(
        "--ttft-ms", str(TTFT_S * 1000), "--itl-ms", str(ITL_S * 1000),
        "--output-tokens", str(TOKENS),
    ) as base:  # fmt: skip
        yield base


def upstream_requests(base: str) -> int:
    """Return how many chat requests the mock has accepted since its last reset."""
    return int(mock_stats(base)["requests"])


def reset_stats(base: str) -> None:
    httpx.post(base.removesuffix("/v1") + "/stats/reset").raise_for_status()


@pytest.fixture
def use_urllib3(point: Callable[..., None], paced_mock: str) -> Callable[..., Urllib3Client]:
    """Point the service at the paced mock with urllib3; return the process's client."""

    def point_urllib3(base_url: str = paced_mock, **changes: Any) -> Urllib3Client:
        point(base_url, client="urllib3", **changes)
        client = llm.sync_client()
        assert isinstance(client, Urllib3Client)
        return client

    return point_urllib3


def host_pool(client: Urllib3Client, base_url: str) -> urllib3.HTTPConnectionPool:
    """Return the connection pool the client uses for the upstream's host."""
    pool = client._pool.connection_from_url(base_url)
    assert isinstance(pool, urllib3.HTTPConnectionPool)
    return pool


def kept_sockets(pool: urllib3.HTTPConnectionPool) -> list[int]:
    """Return the local ports of the open connections the pool keeps.

    num_connections counts HTTPConnection objects, and a closed one is reopened in
    place; the local port tells one TCP connection from another.
    """
    assert pool.pool is not None
    kept = [conn for conn in pool.pool.queue if conn is not None]
    return [conn.sock.getsockname()[1] for conn in kept if conn.sock is not None]


def test_pool_follows_settings(use_urllib3: Callable[..., Urllib3Client], paced_mock: str) -> None:
    client = use_urllib3(max_connections=7, timeout_s=2.5)
    assert client.complete("hello", 2).tokens_used > 2
    pool = host_pool(client, paced_mock)
    assert pool.pool is not None and pool.pool.maxsize == 7
    assert pool.block is False
    # urllib3 turns retries=False into Retry(total=False): raise at the first error.
    assert isinstance(pool.retries, urllib3.Retry) and pool.retries.total is False
    assert (pool.timeout.connect_timeout, pool.timeout.read_timeout) == (2.5, 2.5)


def test_pool_keeps_max_connections_without_capping_concurrency(
    use_urllib3: Callable[..., Urllib3Client], paced_mock: str
) -> None:
    client = use_urllib3(max_connections=2)
    count = 6
    started = time.monotonic()
    with ThreadPoolExecutor(count) as threads:
        answers = list(threads.map(lambda _: client.complete("hello", TOKENS), range(count)))
    elapsed = time.monotonic() - started
    assert all(answer.tokens_used > TOKENS for answer in answers)
    # block=False: all six ran at once (serial would take 6 x one answer), and the
    # pool then keeps only LLM_MAX_CONNECTIONS of the six connections it opened.
    assert elapsed < 3 * (TTFT_S + SPREAD_S) + 0.3
    pool = host_pool(client, paced_mock)
    assert pool.num_connections == count
    assert len(kept_sockets(pool)) == 2


def test_finished_requests_give_their_connection_back(
    use_urllib3: Callable[..., Urllib3Client], paced_mock: str
) -> None:
    client = use_urllib3()
    assert client.complete("hello", 2).tokens_used > 2
    pool = host_pool(client, paced_mock)
    [first] = kept_sockets(pool)
    # Whole answers, whole streams (read to the end of the body after [DONE]) and error
    # answers all leave the one connection ready for the next request.
    assert list(client.open_stream("hello", 3))[-1].tokens_used
    assert kept_sockets(pool) == [first]
    with pytest.raises(llm.UpstreamError):
        client.complete("hello [mock-error:429]", 2)
    assert kept_sockets(pool) == [first]
    with pytest.raises(llm.UpstreamError):
        client.open_stream("hello [mock-error:500]", 2)
    assert kept_sockets(pool) == [first]
    assert client.complete("hello", 2).tokens_used > 2
    assert kept_sockets(pool) == [first]
    assert pool.num_connections == 1


def test_a_stream_left_early_drops_its_connection_only(
    use_urllib3: Callable[..., Urllib3Client], paced_mock: str
) -> None:
    client = use_urllib3()
    assert client.complete("hello", 2).tokens_used > 2
    pool = host_pool(client, paced_mock)
    [first] = kept_sockets(pool)
    chunks = cast(Generator[Chunk, None, None], client.open_stream("hello", TOKENS))
    assert next(chunks).delta
    chunks.close()  # the reader went away mid-stream (the relay is closed)
    # The connection, left mid-body, is closed; its pool slot is not lost.
    assert kept_sockets(pool) == []
    assert client.complete("hello", 2).tokens_used > 2
    [second] = kept_sockets(pool)
    assert second != first


def test_a_stream_dropped_unread_gives_its_slot_back(
    use_urllib3: Callable[..., Urllib3Client], paced_mock: str
) -> None:
    client = use_urllib3(max_connections=3)
    assert client.complete("hello", 2).tokens_used > 2
    pool = host_pool(client, paced_mock)
    assert pool.pool is not None
    chunks = client.open_stream("hello", TOKENS)
    assert pool.pool.qsize() == 2  # one slot out, with the stream's connection
    # Never iterated (a test client that reads only the headers), then dropped: the
    # generator's own `finally` never runs.
    del chunks
    assert pool.pool.qsize() == 3
    assert kept_sockets(pool) == []  # closed, not left open mid-body for the next request


def test_stream_yields_each_chunk_as_the_upstream_sends_it(
    use_urllib3: Callable[..., Urllib3Client],
) -> None:
    # A buffered read could not hand over the first delta while the gated upstream still
    # holds the rest (tests/services/gated.py); timing the spread could not tell on a
    # loaded machine.
    with gated_upstream() as gate:
        client = use_urllib3(gate.base)
        deltas = []
        for chunk in client.open_stream("hello", TOKENS):
            if chunk.delta:
                deltas.append(chunk.delta)
                gate.released.set()
    assert deltas == gate.deltas
    assert gate.waits == [True], "the upstream held its stream until it gave up waiting"


class PacedSSE(BaseHTTPRequestHandler):
    """An SSE upstream that sends one line group every PAUSE_S, in any body framing.

    The path picks the framing: /chunked (Transfer-Encoding: chunked), /length
    (Content-Length of the whole body, sent bit by bit), /close (HTTP/1.0, the body
    ends when the connection closes).
    """

    PAUSE_S = 0.1
    EVENTS = [
        *(
            b"data: " + json.dumps({"choices": [{"delta": {"content": f"t{i}"}}]}).encode()
            for i in range(4)
        ),
        b'data: {"choices": [], "usage": {"total_tokens": 9}}',
        b"data: [DONE]",
    ]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        framing = self.path.split("/")[1]  # /<framing>/v1/chat/completions
        assert framing in ("chunked", "length", "close"), framing
        parts = [event + b"\n\n" for event in self.EVENTS]
        self.protocol_version = "HTTP/1.0" if framing == "close" else "HTTP/1.1"
        # One connection per request, so each request runs its own framing.
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        if framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif framing == "length":
            self.send_header("Content-Length", str(sum(map(len, parts))))
        self.end_headers()
        if framing == "chunked":
            parts = [b"%x\r\n%s\r\n" % (len(part), part) for part in parts]
        for part in parts:
            self.wfile.write(part)
            self.wfile.flush()
            time.sleep(self.PAUSE_S)
        if framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def paced_sse() -> Iterator[str]:
    """Yield the base URL of a PacedSSE server (append /<framing>/v1)."""

    class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), PacedSSE)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# Timed to 100 ms per line: it runs alone (Makefile, `-m measures`); beside another
# test a line arrived 185 ms late.
@pytest.mark.measures
@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_stream_yields_each_line_as_it_arrives_in_any_framing(
    use_urllib3: Callable[..., Urllib3Client], paced_sse: str, framing: str
) -> None:
    # urllib3's stream(amt) and line iteration wait for amt bytes on a body that is
    # not chunked; the client reads with read1, which returns what has arrived.
    client = use_urllib3(f"{paced_sse}/{framing}/v1")
    arrivals, chunks = [], []
    started = time.monotonic()
    for chunk in client.open_stream("hello", 4):
        arrivals.append(time.monotonic() - started)
        chunks.append(chunk)
    assert [chunk.delta for chunk in chunks] == ["t0", "t1", "t2", "t3", ""]
    assert chunks[-1].tokens_used == 9
    assert arrivals[0] < PacedSSE.PAUSE_S
    assert arrivals[-1] - arrivals[0] > 3 * PacedSSE.PAUSE_S


CASES = (
    [("/complete", fault, status) for fault, status in COMPLETE_FAULTS]
    + [("/complete", "stall", 504), ("/complete/stream", "stall", 504)]
    + [("/complete/stream", fault, status) for fault, status in STREAM_START_FAULTS]
    + [("/complete/stream", fault, 200) for fault in STREAM_MIDWAY_FAULTS]
)


@pytest.mark.parametrize(("path", "fault", "status"), CASES)
def test_each_upstream_fault_is_one_call_mapped_to_its_status(
    use_urllib3: Callable[..., Urllib3Client], paced_mock: str, path: str, fault: str, status: int
) -> None:
    use_urllib3(timeout_s=SHORT_TIMEOUT_S)
    reset_stats(paced_mock)
    response = Client().post(path, json.dumps(faulty(fault)), content_type="application/json")
    assert response.status_code == status
    if status == 200:  # a fault after the stream started: the error event ends it
        events = parse_events(b"".join(streaming(response)))
        assert [event.name for event in events[:-1]] == ["message"] * 4
        assert events[-1].name == "error"
    else:
        assert isinstance(response.json()["detail"], str)
    if fault == "429":
        assert response["Retry-After"] == "1"
    assert upstream_requests(paced_mock) == 1  # retries=False: no second attempt


def test_stream_past_the_whole_request_deadline_ends_with_504_event(
    use_urllib3: Callable[..., Urllib3Client],
) -> None:
    # Every read is quicker than the timeout, the whole stream is not.
    use_urllib3(timeout_s=TTFT_S + SPREAD_S / 2)
    response = Client().post(
        "/complete/stream",
        json.dumps({"prompt": "hello", "max_tokens": TOKENS}),
        content_type="application/json",
    )
    assert response.status_code == 200
    events = parse_events(b"".join(streaming(response)))
    assert 0 < len(events) - 1 < TOKENS
    assert (events[-1].name, events[-1].data) == ("error", {"detail": "upstream timed out"})
