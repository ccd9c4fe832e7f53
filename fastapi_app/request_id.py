"""Request IDs (docs/contract.md): one per request, on its response, its upstream call and its logs.

`RequestIdMiddleware`, a pure ASGI middleware, keeps the client's `X-Request-ID` when it
is sane and makes one otherwise, puts it in the `request_id` ContextVar, and writes it on
the response. The upstream clients read the ContextVar (`upstream_headers`), and
`RequestIdFilter` puts it on every log record. With REQUEST_LOG=1 the middleware also
writes one access line per request.

Pure ASGI rather than BaseHTTPMiddleware, which wraps every response in a task and a
stream of its own: a cost per request and per streamed chunk that the benchmark would
charge to FastAPI.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_HEADER_KEY = b"x-request-id"  # ASGI servers lower-case header names
# The contract's rule: 1 to 128 characters, each one of A-Z a-z 0-9 - _ . : / + =
# Anything else (too long, a space, a control or non-ASCII byte) is replaced, never echoed.
SANE_ID = re.compile(rb"[A-Za-z0-9_.:/+=-]{1,128}")

# Set by the middleware in the request's own task: ASGI servers (uvicorn, gunicorn's ASGI
# workers) run each request in a task of its own, whose context is a copy, so the value
# never outlives its request; AnyIO copies it into the threadpool for `def` endpoints and
# sync streams. It is not reset on the way out: the 500 handler, which Starlette runs
# outside every user middleware, reads it too.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

access_logger = logging.getLogger("fastapi_app.access")


def accept(raw: bytes | None) -> str:
    """Return the request's own ID when it is sane, else a new one (uuid4, 32 hex)."""
    if raw is not None and SANE_ID.fullmatch(raw):
        return raw.decode("ascii")
    return uuid.uuid4().hex


def upstream_headers() -> dict[str, str] | None:
    """Return the header that passes the current request's ID upstream (None outside one)."""
    current = request_id.get()
    return None if current is None else {HEADER: current}


def _sent_header(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == _HEADER_KEY:
            sent: bytes = value
            return sent
    return None


class RequestIdMiddleware:
    """Give each HTTP request its ID and put it on the response; log it when asked."""

    def __init__(self, app: ASGIApp, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        current = accept(_sent_header(scope))
        request_id.set(current)
        header = (_HEADER_KEY, current.encode("ascii"))
        if self.access_log:
            await self._logged(scope, receive, send, header)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)

    async def _logged(
        self, scope: Scope, receive: Receive, send: Send, header: tuple[bytes, bytes]
    ) -> None:
        started = time.perf_counter()
        # An error before any answer reaches Starlette's outermost middleware, which
        # answers 500 once this one has returned.
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # After the last byte of the body, a stream's included.
            log_access(scope["method"], scope["path"], status, started)


def log_access(method: str, path: str, status: int, started: float) -> None:
    """Write the access line of the current request (docs/contract.md, REQUEST_LOG)."""
    elapsed_ms = (time.perf_counter() - started) * 1000
    # The path is percent-encoded again: a decoded one could carry spaces or newlines.
    access_logger.info(
        "method=%s path=%s status=%d ms=%.1f",
        method,
        quote(path, safe="/:@!$&'()*+,;=-._~"),
        status,
        elapsed_ms,
    )


class RequestIdFilter(logging.Filter):
    """Put the current request's ID (or "-" outside any request) on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or "-"
        return True
