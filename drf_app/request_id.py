"""Request IDs (docs/contract.md): one per request, on its response, its upstream call and its logs.

`RequestIdMiddleware`, first in MIDDLEWARE, keeps the client's `X-Request-ID` when it is
sane and makes one otherwise, sets it on the request (`request.request_id`, which the
views pass to the upstream client) and writes it on the response: every response Django
makes, its JSON 400, 404, 413, 422 and 5xx included. It works in both of Django's modes,
so under ASGI it costs no thread hop. `RequestIdFilter` puts it on every log record.

With REQUEST_LOG=1 it also writes one access line per request: when the response is
ready, or for a stream when the stream ends (or its client leaves), as Django's own
GZipMiddleware wraps a response's `streaming_content`.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from functools import partial
from typing import Any
from urllib.parse import quote

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
# The contract's rule: 1 to 128 characters, each one of A-Z a-z 0-9 - _ . : / + =
# Anything else (too long, a space, a control or non-ASCII character) is replaced,
# never echoed.
SANE_ID = re.compile(r"[A-Za-z0-9_.:/+=-]{1,128}")

# The ID of the request being handled, for log records that do not carry the request.
# Set and reset around each request: a gthread worker's thread serves many in turn.
_current: ContextVar[str | None] = ContextVar("request_id", default=None)

access_logger = logging.getLogger("drf_app.access")


def accept(raw: str | None) -> str:
    """Return the request's own ID when it is sane, else a new one (uuid4, 32 hex)."""
    if raw is not None and SANE_ID.fullmatch(raw):
        return raw
    return uuid.uuid4().hex


def _assign(request: HttpRequest) -> str:
    # The header as the server passed it: one dict lookup, no HttpHeaders object.
    current = accept(request.META.get(_META_KEY))
    request.request_id = current  # type: ignore[attr-defined]
    return current


def request_id_of(request: HttpRequest) -> str:
    """Return the ID that RequestIdMiddleware gave the request (a DRF Request reads through)."""
    current: str = request.request_id  # type: ignore[attr-defined]
    return current


GetResponse = Callable[[HttpRequest], Any]


class RequestIdMiddleware:
    """Give each request its ID, on the request and on its response; log it when asked."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.access_log: bool = settings.REQUEST_LOG
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.async_mode:
            return self.__acall__(request)
        started = time.perf_counter() if self.access_log else 0.0
        current = _assign(request)
        token = _current.set(current)
        try:
            response: HttpResponseBase = self.get_response(request)
        finally:
            _current.reset(token)
        return self._answer(request, response, current, started)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter() if self.access_log else 0.0
        current = _assign(request)
        token = _current.set(current)
        try:
            response: HttpResponseBase = await self.get_response(request)
        finally:
            _current.reset(token)
        return self._answer(request, response, current, started)

    def _answer(
        self, request: HttpRequest, response: HttpResponseBase, current: str, started: float
    ) -> HttpResponseBase:
        response[HEADER] = current
        if self.access_log:
            line = partial(
                log_access, current, request.method or "", request.path, response.status_code
            )
            if isinstance(response, StreamingHttpResponse):
                _log_when_streamed(response, partial(line, started))
            else:
                line(started)
        return response


def _log_when_streamed(response: StreamingHttpResponse, line: Callable[[], None]) -> None:
    content = response.streaming_content
    if isinstance(content, AsyncIterator):
        response.streaming_content = _alogged(content, line)
    else:
        response.streaming_content = _logged(content, line)


def _logged(content: Iterator[bytes], line: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield from content
    finally:
        line()


async def _alogged(content: AsyncIterator[bytes], line: Callable[[], None]) -> AsyncIterator[bytes]:
    try:
        async for chunk in content:
            yield chunk
    finally:
        line()


def log_access(request_id: str, method: str, path: str, status: int, started: float) -> None:
    """Write one access line (docs/contract.md, REQUEST_LOG)."""
    elapsed_ms = (time.perf_counter() - started) * 1000
    # The path is percent-encoded again: a decoded one could carry spaces or newlines.
    # The ID is passed on: a stream ends after the middleware has returned.
    access_logger.info(
        "method=%s path=%s status=%d ms=%.1f",
        method,
        quote(path, safe="/:@!$&'()*+,;=-._~"),
        status,
        elapsed_ms,
        extra={"request_id": request_id},
    )


class RequestIdFilter(logging.Filter):
    """Put the request's ID (or "-" outside any request) on every log record.

    Django's own records of a request (django.request) carry the request itself, and
    are written after the middleware has returned.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or _current.get() or "-"
        return True
