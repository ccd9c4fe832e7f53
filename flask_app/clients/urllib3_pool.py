"""LLM_CLIENT=urllib3: a raw urllib3.PoolManager speaking the chat API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from flask_app.config import LLMSettings
from flask_app.llm import (
    Completion,
    StreamEvent,
    UpstreamError,
    broken_error,
    chat_body,
    parse_completion,
    parse_sse,
    status_error,
    timeout_error,
)
from flask_app.request_id import HEADER


def _upstream_error(exc: HTTPError) -> UpstreamError:
    # NewConnectionError subclasses ConnectTimeoutError for history's sake: a refused
    # connection is a broken upstream (502), not a slow one (504).
    if isinstance(exc, TimeoutError) and not isinstance(exc, NewConnectionError):
        return timeout_error()
    return broken_error(type(exc).__name__)


def _chunks(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """Yield body bytes as they arrive; read(amt) and stream() on a plain body wait for amt."""
    if response.chunked:
        # stream() reads a chunked body one HTTP chunk at a time.
        return response.stream()
    return iter(lambda: response.read1(65536), b"")


class Urllib3Client:
    """Thread-safe; one instance serves every thread or greenlet of a worker."""

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        self._headers = {
            "Authorization": f"Bearer {settings.api_key.get_secret_value()}",
            "Content-Type": "application/json",
        }
        self._pool = urllib3.PoolManager(
            # block=False: past maxsize, extra connections are opened and closed after use
            # instead of making requests wait, so the pool never caps concurrency.
            maxsize=settings.max_connections,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=settings.timeout_s, read=settings.timeout_s),
            headers=self._headers,
        )
        self._url = settings.base_url.rstrip("/") + "/chat/completions"

    def _post(
        self, prompt: str, max_tokens: int, stream: bool, request_id: str | None
    ) -> urllib3.BaseHTTPResponse:
        body = orjson.dumps(chat_body(self._settings, prompt, max_tokens, stream))
        # Headers given to a request replace the pool's, rather than add to them.
        headers = self._headers
        if request_id is not None:
            headers = {**headers, HEADER: request_id}
        try:
            response = self._pool.request(
                "POST", self._url, body=body, headers=headers, preload_content=not stream
            )
        except HTTPError as exc:
            raise _upstream_error(exc) from None
        if response.status != 200:
            retry_after = response.headers.get("retry-after")
            response.drain_conn()
            response.release_conn()
            raise status_error(response.status, retry_after)
        return response

    def complete(self, prompt: str, max_tokens: int, request_id: str | None = None) -> Completion:
        return parse_completion(self._post(prompt, max_tokens, False, request_id).data)

    def stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[StreamEvent]:
        deadline = time.monotonic() + self._settings.timeout_s
        return self._events(self._post(prompt, max_tokens, True, request_id), deadline)

    @staticmethod
    def _events(response: urllib3.BaseHTTPResponse, deadline: float) -> Iterator[StreamEvent]:
        finished = False
        try:
            yield from parse_sse(_chunks(response), deadline)
            response.drain_conn()
            finished = True
        except HTTPError as exc:
            raise _upstream_error(exc) from None
        finally:
            if not finished:
                # An unfinished answer leaves the connection mid-body: drop it, keep the slot.
                response.close()
            response.release_conn()

    def close(self) -> None:
        self._pool.clear()
