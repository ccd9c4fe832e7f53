"""Reuse a keep-alive connection after a refused body, as a pooled client does (issue 12).

A client that sends a body over the 64 KiB limit gets 413. A pooled client (requests,
httpx, Locust) then sends its next request on the same connection, unless the 413 said
`Connection: close`. So after a 413 a server must either serve the next request on
that connection or have said `Connection: close` and then closed the connection cleanly
(FIN, not RST). Advertising keep-alive and then dropping the connection is the defect.

`refuse_then_reuse` plays one such client on a raw socket. Run as a script, it measures
how often each server model fails, over fresh connections:

    .venv/bin/python -m tests.services.keepalive --tries 100
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from enum import StrEnum
from urllib.parse import urlsplit

from tests.services.live import SERVER_MODELS, serve
from tests.support import mock_llm

CHUNK = 64 * 1024
# The sizes of the table: just over the limit, a few times it, and about 1 MB.
SIZES = (70_000, 200_000, 1_000_000)


class Reuse(StrEnum):
    """What became of the connection after the 413."""

    REUSED = "reused"  # 413 with keep-alive, then 200 on the same connection
    CLOSED = "closed"  # 413 with Connection: close, then a clean end of the connection
    # Failures
    SEND_FAILED = "send failed"  # the connection broke while the body was sent or answered
    NOT_413 = "not 413"
    DROPPED = "dropped"  # keep-alive announced, yet the next request got no answer
    NEXT_FAILED = "next request failed"  # the next request was answered, but not with 200
    RESET = "reset"  # Connection: close announced, then RST or no close at all

    @property
    def ok(self) -> bool:
        return self in {Reuse.REUSED, Reuse.CLOSED}


def json_body_of_size(size: int) -> bytes:
    """A body {"prompt": "xxx…"} of exactly `size` bytes."""
    shell = b'{"prompt": ""}'
    return shell[:-2] + b"x" * (size - len(shell)) + shell[-2:]


def post_request(host: str, path: str, body: bytes, *, chunked: bool = False) -> bytes:
    """An HTTP/1.1 POST of JSON, framed by Content-Length or in 64 KiB chunks."""
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    if not chunked:
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
    chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    return f"{head}Transfer-Encoding: chunked\r\n\r\n".encode() + framed + b"0\r\n\r\n"


def read_response(sock: socket.socket) -> http.client.HTTPResponse:
    """Read one whole response from the socket."""
    response = http.client.HTTPResponse(sock, method="POST")
    response.begin()
    response.read()
    return response


def ends_cleanly(sock: socket.socket, timeout_s: float) -> bool:
    """Whether the server closes the connection with a FIN (no RST) and sends nothing more."""
    sock.settimeout(timeout_s)
    try:
        return sock.recv(1) == b""
    except OSError:  # ConnectionResetError, or a timeout: the server never closed
        return False


def refuse_then_reuse(
    base_url: str, size: int, *, chunked: bool = False, timeout_s: float = 10.0
) -> Reuse:
    """Send an oversized body, then a normal /complete on the same connection."""
    url = urlsplit(base_url)
    assert url.hostname is not None and url.port is not None
    host = f"{url.hostname}:{url.port}"
    with socket.create_connection((url.hostname, url.port), timeout=timeout_s) as sock:
        try:
            sock.sendall(post_request(host, "/complete", json_body_of_size(size), chunked=chunked))
            refused = read_response(sock)
        except (OSError, http.client.HTTPException):
            return Reuse.SEND_FAILED
        if refused.status != 413:
            return Reuse.NOT_413
        if refused.will_close:
            return Reuse.CLOSED if ends_cleanly(sock, timeout_s) else Reuse.RESET
        normal = json.dumps({"prompt": "hi", "max_tokens": 1}).encode()
        try:
            sock.sendall(post_request(host, "/complete", normal))
            answer = read_response(sock)
        except (OSError, http.client.HTTPException):
            return Reuse.DROPPED
        return Reuse.REUSED if answer.status == 200 else Reuse.NEXT_FAILED


def measure(tries: int, sizes: Sequence[int], *, chunked: bool) -> None:
    """Print, per server model and body size, how many tries failed and how."""
    print(f"{tries} tries per cell, a fresh connection each; failures (kinds):")
    print("| server model | " + " | ".join(f"{size:,} B" for size in sizes) + " |")
    print("| --- |" + " ---: |" * len(sizes))
    with mock_llm("--ttft-ms", "1", "--itl-ms", "1", "--output-tokens", "1") as upstream:
        for service, server in SERVER_MODELS:
            with ExitStack() as stack:
                # Each server model's default configuration, workers included.
                live = stack.enter_context(serve(service, upstream, server, workers=None))
                cells = []
                for size in sizes:
                    outcomes = Counter(
                        refuse_then_reuse(live.base, size, chunked=chunked) for _ in range(tries)
                    )
                    failed = {kind: n for kind, n in outcomes.items() if not kind.ok}
                    kinds = ", ".join(f"{kind} {n}" for kind, n in failed.items())
                    ok = ", ".join(f"{kind} {n}" for kind, n in outcomes.items() if kind.ok)
                    cells.append(f"{sum(failed.values())} ({kinds or ok})")
            print(f"| {service.module} {server} | " + " | ".join(cells) + " |", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.services.keepalive", description=__doc__)
    parser.add_argument("--tries", type=int, default=100)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--chunked", action="store_true", help="send the bodies chunked")
    args = parser.parse_args(argv)
    measure(args.tries, args.sizes, chunked=args.chunked)


if __name__ == "__main__":
    main()
