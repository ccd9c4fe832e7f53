"""The calibration target: a bare ASGI hello on uvicorn, no framework.

`python -m bench.running.baseline --port 8003` serves GET /, /health and /hello. Measured
with the same load as a framework, it gives the ceiling of the server stack on the
same cores, and of the load generator.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

_BODIES = {
    "/": b'{"status":"ok","service":"baseline"}',
    "/health": b'{"status":"healthy"}',
    "/hello": b'{"message":"Hello from baseline"}',
}
_NOT_FOUND = b'{"detail":"Not Found"}'

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer the three GET routes; the whole application."""
    if scope["type"] != "http":
        return
    body = _BODIES.get(scope["path"]) if scope["method"] == "GET" else None
    await send(
        {
            "type": "http.response.start",
            "status": 200 if body else 404,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body or _NOT_FOUND})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.running.baseline", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.running.baseline:app",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--workers",
        str(args.workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--lifespan",
        "off",
        "--log-level",
        "warning",
    ]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
